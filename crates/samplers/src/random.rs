//! Random search and a space-filling (scrambled Sobol) start.

use rand::Rng;

use crate::{reject_unknown, trial_rng, Proposal, Sampler, SamplerError, StudyView};

/// Independent uniform sampling in the unit view of every parameter
/// (log-uniform for log parameters, uniform over discrete values).
#[derive(Clone, Debug, Default)]
pub struct RandomSampler;

impl RandomSampler {
    /// Build from `[sampler]` options (none accepted).
    pub fn from_options(options: &toml::Table) -> Result<Self, SamplerError> {
        reject_unknown(options, &[])?;
        Ok(RandomSampler)
    }
}

impl Sampler for RandomSampler {
    fn name(&self) -> &str {
        "random"
    }

    fn propose(&mut self, study: &StudyView<'_>, number: u64) -> Result<Proposal, SamplerError> {
        let mut rng = trial_rng(study.seed, number, 0);
        let u: Vec<f64> = (0..study.space.len())
            .map(|_| rng.random::<f64>())
            .collect();
        Ok(Proposal {
            params: study.space.from_unit(&u),
            ..Default::default()
        })
    }
}

/// Owen-scrambled Sobol points: trial `n` takes point `n` of a sequence
/// scrambled by the study seed, so the first trials cover the space evenly
/// whatever order workers claim them in. Past `2^32` points it wraps.
#[derive(Clone, Debug, Default)]
pub struct SobolSampler;

impl SobolSampler {
    /// Build from `[sampler]` options (none accepted).
    pub fn from_options(options: &toml::Table) -> Result<Self, SamplerError> {
        reject_unknown(options, &[])?;
        Ok(SobolSampler)
    }

    /// The unit point of index `n` in `dims` dimensions.
    pub fn point(seed: u64, n: u64, dims: usize) -> Vec<f64> {
        let scramble = (seed ^ (seed >> 32)) as u32;
        (0..dims)
            .map(|d| {
                // sobol_burley supports 256 dimensions per seed; further
                // dimensions reuse the table with a different scramble.
                let dim = (d % sobol_burley::NUM_DIMENSIONS as usize) as u32;
                let round = (d / sobol_burley::NUM_DIMENSIONS as usize) as u32;
                sobol_burley::sample(
                    n as u32,
                    dim,
                    scramble.wrapping_add(round.wrapping_mul(0x9e37_79b9)),
                ) as f64
            })
            .collect()
    }
}

impl Sampler for SobolSampler {
    fn name(&self) -> &str {
        "sobol"
    }

    fn propose(&mut self, study: &StudyView<'_>, number: u64) -> Result<Proposal, SamplerError> {
        let u = Self::point(study.seed, number, study.space.len());
        Ok(Proposal {
            params: study.space.from_unit(&u),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::{Distribution, Objectives, Param, SearchSpace};

    fn space() -> SearchSpace {
        SearchSpace::new(
            (0..3)
                .map(|i| Param {
                    name: format!("x{i}"),
                    distribution: Distribution::Float {
                        low: 0.0,
                        high: 1.0,
                        log: false,
                        step: None,
                    },
                    when: vec![],
                    monotone: None,
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn random_is_deterministic_per_trial_number() {
        let s = space();
        let o = Objectives::default();
        let v = StudyView {
            space: &s,
            objectives: &o,
            trials: &[],
            seed: 3,
        };
        let a = RandomSampler.propose(&v, 5).unwrap();
        let _ = RandomSampler.propose(&v, 4).unwrap();
        let b = RandomSampler.propose(&v, 5).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, RandomSampler.propose(&v, 6).unwrap());
        s.validate(&a.params).unwrap();
    }

    #[test]
    fn sobol_fills_the_square_evenly() {
        // 64 Sobol points in 2-D: every cell of an 8x8 grid holds exactly one.
        let mut grid = [[0u32; 8]; 8];
        for n in 0..64 {
            let p = SobolSampler::point(11, n, 2);
            grid[(p[0] * 8.0) as usize][(p[1] * 8.0) as usize] += 1;
        }
        assert!(grid.iter().flatten().all(|&c| c == 1), "{grid:?}");
    }
}
