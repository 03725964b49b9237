//! `auto`: pick a sampler per study, from the space and the history.
//!
//! The rule, applied afresh for every trial (so it depends only on the
//! stored history and resumes or extra workers make the same choice):
//!
//! 1. **TPE** when the space is conditional or when the study has four or
//!    more objectives. Parzen estimators model each parameter on the trials
//!    where it is active and their cost does not grow with the number of
//!    objectives, while the GP's kernel cannot tell "inactive" from a value
//!    and its hypervolume acquisition needs box decompositions (≤ 3
//!    objectives). Mostly categorical spaces go to the GP (Hamming kernel)
//!    since issue 14: measured on architecture spaces of categorical
//!    operation choices, the GP found better fronts than TPE at 100 trials
//!    over 5 seeds — public tabular benchmarks through study files, 0.92
//!    against 0.87 of the true front's hypervolume with two objectives and
//!    0.87 against 0.79 with three; the synthetic `cells` problem of
//!    `examples/quality.rs` (six edges, five operations, interactions;
//!    three objectives), median 0.975 against 0.956 (Optuna's TPE 0.957).
//! 2. Otherwise **GP** Bayesian optimisation while fewer than
//!    `gp_max_trials` (default 300) trials have finished: with few
//!    evaluations a GP's model of each objective finds much better fronts
//!    per trial than anything else here.
//! 3. Past that, **NSGA-II**: a GP's cost grows with the history, and an
//!    evolutionary search over a good population is cheap and keeps
//!    improving on long runs. NSGA-II treats the trials it did not propose
//!    as its first generation, so it continues from the GP's front.
//!
//! The rule is measured by `paretosearch bench-suite` (the README quotes
//! its table): over continuous, mixed, conditional, categorical, noisy,
//! many-objective and constrained problems at 100 trials, median of seeds
//! 0–4 and again of seeds 5–9, `auto` equals the best sampler of every
//! class (TPE on the conditional and five-objective ones, the GP on the
//! rest).
//!
//! The choice is recorded in each trial's attributes as `"auto": "<kind>"`.
//! Options: `gp_max_trials`, and sub-tables `tpe`, `gp`, `nsga2` passed to
//! the respective samplers.

use paretosearch_core::TrialState;

use crate::gp::GpSampler;
use crate::nsga2::Nsga2Sampler;
use crate::tpe::TpeSampler;
use crate::{option, reject_unknown, Proposal, Sampler, SamplerError, StudyView};

/// The trial attribute where `auto` records its choice.
pub const ATTR: &str = "auto";

/// Picks TPE, GP or NSGA-II per trial (see the module docs).
pub struct AutoSampler {
    gp_max_trials: usize,
    tpe: TpeSampler,
    gp: GpSampler,
    nsga2: Nsga2Sampler,
}

impl std::fmt::Debug for AutoSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoSampler")
            .field("gp_max_trials", &self.gp_max_trials)
            .finish_non_exhaustive()
    }
}

impl Default for AutoSampler {
    fn default() -> Self {
        Self::from_options(&toml::Table::new()).expect("defaults are valid")
    }
}

impl AutoSampler {
    /// Build from `[sampler]` options.
    pub fn from_options(options: &toml::Table) -> Result<Self, SamplerError> {
        reject_unknown(options, &["gp_max_trials", "tpe", "gp", "nsga2"])?;
        let sub = |key: &str| -> Result<toml::Table, SamplerError> {
            Ok(option::<toml::Table>(options, key)?.unwrap_or_default())
        };
        let prefixed = |key: &str, e: SamplerError| match e {
            SamplerError::BadOption { key: k, message } => SamplerError::BadOption {
                key: format!("{key}.{k}"),
                message,
            },
            other => other,
        };
        Ok(AutoSampler {
            gp_max_trials: option::<usize>(options, "gp_max_trials")?.unwrap_or(300),
            tpe: TpeSampler::from_options(&sub("tpe")?).map_err(|e| prefixed("tpe", e))?,
            gp: GpSampler::from_options(&sub("gp")?).map_err(|e| prefixed("gp", e))?,
            nsga2: Nsga2Sampler::from_options(&sub("nsga2")?).map_err(|e| prefixed("nsga2", e))?,
        })
    }

    /// Which sampler the rule picks for the next trial of this study.
    pub fn choose(&self, study: &StudyView<'_>) -> &'static str {
        if study.space.is_conditional() || study.objectives.len() >= 4 {
            return "tpe";
        }
        let finished = study
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count();
        if finished < self.gp_max_trials {
            "gp"
        } else {
            "nsga2"
        }
    }
}

impl Sampler for AutoSampler {
    fn name(&self) -> &str {
        "auto"
    }

    fn propose(&mut self, study: &StudyView<'_>, number: u64) -> Result<Proposal, SamplerError> {
        let kind = self.choose(study);
        let mut proposal = match kind {
            "tpe" => self.tpe.propose(study, number)?,
            "gp" => self.gp.propose(study, number)?,
            _ => self.nsga2.propose(study, number)?,
        };
        proposal.attrs.insert(
            ATTR.to_string(),
            serde_json::Value::String(kind.to_string()),
        );
        Ok(proposal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::{
        Condition, Direction, Distribution, Objective, Objectives, Param, ParamValue, SearchSpace,
        Trial,
    };

    fn float(name: &str) -> Param {
        Param {
            name: name.into(),
            distribution: Distribution::Float {
                low: 0.0,
                high: 1.0,
                log: false,
                step: None,
            },
            when: vec![],
            monotone: None,
        }
    }

    fn objectives(n: usize) -> Objectives {
        Objectives(
            (0..n)
                .map(|i| Objective {
                    name: format!("f{i}"),
                    direction: Direction::Minimize,
                    constraint: None,
                    cheap: false,
                })
                .collect(),
        )
    }

    #[test]
    fn rule_picks_by_space_objectives_and_history() {
        let auto = AutoSampler::default();
        let numeric = SearchSpace::new(vec![float("a"), float("b")]).unwrap();
        let two = objectives(2);
        let four = objectives(4);
        let view = |space, objectives, trials| StudyView {
            space,
            objectives,
            trials,
            seed: 0,
        };
        assert_eq!(auto.choose(&view(&numeric, &two, &[])), "gp");
        let many: Vec<Trial> = (0..300)
            .map(|n| Trial::new(n, TrialState::Complete))
            .collect();
        assert_eq!(auto.choose(&view(&numeric, &two, &many)), "nsga2");
        assert_eq!(auto.choose(&view(&numeric, &four, &[])), "tpe");
        let mut child = float("c");
        child.when = vec![Condition {
            parent: "k".into(),
            values: vec![ParamValue::Str("x".into())],
        }];
        let cat = Param {
            name: "k".into(),
            distribution: Distribution::Categorical {
                choices: vec![ParamValue::Str("x".into()), ParamValue::Str("y".into())],
            },
            when: vec![],
            monotone: None,
        };
        let categorical = SearchSpace::new(vec![float("a"), cat.clone(), {
            let mut c = cat.clone();
            c.name = "k2".into();
            c
        }])
        .unwrap();
        // Mostly categorical, unconditional: the GP (measured, issue 14).
        assert_eq!(auto.choose(&view(&categorical, &two, &[])), "gp");
        let conditional = SearchSpace::new(vec![float("a"), cat, child]).unwrap();
        assert_eq!(auto.choose(&view(&conditional, &two, &[])), "tpe");
    }

    #[test]
    fn records_its_choice_and_rejects_unknown_options() {
        let space = SearchSpace::new(vec![float("a"), float("b")]).unwrap();
        let o = objectives(2);
        let mut auto = AutoSampler::default();
        let p = auto
            .propose(
                &StudyView {
                    space: &space,
                    objectives: &o,
                    trials: &[],
                    seed: 1,
                },
                0,
            )
            .unwrap();
        assert_eq!(p.attrs[ATTR], "gp");
        space.validate(&p.params).unwrap();
        let mut bad = toml::Table::new();
        bad.insert("gp_max_trial".into(), toml::Value::Integer(3));
        assert!(AutoSampler::from_options(&bad).is_err());
        let mut nested = toml::Table::new();
        let mut tpe = toml::Table::new();
        tpe.insert("nope".into(), toml::Value::Integer(3));
        nested.insert("tpe".into(), toml::Value::Table(tpe));
        let err = AutoSampler::from_options(&nested).unwrap_err().to_string();
        assert!(err.contains("tpe.nope"), "{err}");
    }
}
