//! `paretosearch bench-suite`: every sampler on every problem class of
//! `paretosearch_runner::suite`, in memory, one table.
//!
//! Each run optimises one problem with one sampler for `--trials` trials
//! from one seed; the trials are told what the problem observes (noisy
//! where it is). A run's front is the truth of the trials it would report:
//! observed-feasible, non-dominated by observed values, truly feasible. It
//! is scored by its hypervolume against the problem's fixed reference, as
//! a ratio to the hypervolume of the best front known: the non-dominated
//! truth of every truly feasible trial of every run of the table (all
//! samplers, all seeds). A row gives each sampler's median ratio over the
//! seeds; a class's line the mean of its problems' medians; the last lines
//! say how far `auto` (when it ran) is from the best sampler of each class.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Result;
use paretosearch_core::pareto::{hypervolume, pareto_front};
use paretosearch_core::spec::SamplerSpec;
use paretosearch_core::{Trial, TrialState};
use paretosearch_runner::suite::{self, Class, SuiteProblem};
use paretosearch_samplers::StudyView;
use serde_json::json;

use crate::cli::BenchSuiteArgs;
use crate::util::median;
use crate::BadInput;

/// The samplers of the table when none is named.
const DEFAULT_SAMPLERS: [&str; 5] = ["random", "tpe", "nsga2", "gp", "auto"];

/// What one run left: the truth of its reported front, of every truly
/// feasible trial, and its sampler time.
struct Run {
    problem: usize,
    sampler: usize,
    seed: u64,
    outcome: Outcome,
}

/// Run the suite.
pub fn bench_suite(args: BenchSuiteArgs) -> Result<ExitCode> {
    let problems: Vec<SuiteProblem> = if args.problems.is_empty() {
        suite::all().to_vec()
    } else {
        args.problems
            .iter()
            .map(|name| {
                suite::get(name).ok_or_else(|| {
                    let known: Vec<_> = suite::all().iter().map(|p| p.name).collect();
                    BadInput(format!(
                        "--problem {name}: not a suite problem; write one of {}",
                        known.join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let labels: Vec<String> = if args.samplers.is_empty() {
        DEFAULT_SAMPLERS.iter().map(|s| s.to_string()).collect()
    } else {
        args.samplers.clone()
    };
    let specs: Vec<SamplerSpec> = labels
        .iter()
        .map(|l| {
            let (kind, options) = crate::util::kind_options(l, "--sampler")?;
            let spec = SamplerSpec { kind, options };
            paretosearch_samplers::build(&spec)
                .map_err(|e| BadInput(format!("--sampler {l}: {e}")))?;
            Ok(spec)
        })
        .collect::<Result<_, BadInput>>()?;

    let jobs: Vec<(usize, usize, u64)> = (0..problems.len())
        .flat_map(|p| {
            (0..specs.len()).flat_map(move |s| {
                (args.first_seed..args.first_seed + args.seeds).map(move |k| (p, s, k))
            })
        })
        .collect();
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, jobs.len().max(1));
    eprintln!(
        "bench-suite: {} problems × {} samplers × {} seeds, {} trials each, {threads} threads",
        problems.len(),
        specs.len(),
        args.seeds,
        args.trials
    );
    let next = AtomicUsize::new(0);
    let runs: Mutex<Vec<Run>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(p, s, seed)) = jobs.get(i) else {
                    break;
                };
                if failure.lock().expect("not poisoned").is_some() {
                    break;
                }
                let posterior = args.posterior && problems[p].is_noisy();
                match run_one(&problems[p], &specs[s], args.trials, seed, posterior) {
                    Ok(outcome) => {
                        let ms = outcome.ms_per_trial;
                        if args.verbose {
                            eprintln!(
                                "  {} {} seed {seed}: {ms:.2} ms/trial",
                                problems[p].name, labels[s]
                            );
                        }
                        runs.lock().expect("not poisoned").push(Run {
                            problem: p,
                            sampler: s,
                            seed,
                            outcome,
                        });
                    }
                    Err(e) => {
                        *failure.lock().expect("not poisoned") = Some(e.context(format!(
                            "{} with {} (seed {seed})",
                            problems[p].name, labels[s]
                        )));
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let mut runs = runs.into_inner().expect("not poisoned");
    runs.sort_by_key(|r| (r.problem, r.sampler, r.seed));

    // Scores: each run's hypervolume over the best known front's.
    let mut scores = vec![vec![Vec::<f64>::new(); specs.len()]; problems.len()];
    let mut ms = vec![vec![Vec::<f64>::new(); specs.len()]; problems.len()];
    // Noisy problems with --posterior: (observed, posterior) ratio and
    // reporting error per run, by problem and sampler.
    let mut noisy: Vec<Vec<Vec<[f64; 4]>>> = vec![vec![Vec::new(); specs.len()]; problems.len()];
    let mut lines = Vec::new();
    for (p, problem) in problems.iter().enumerate() {
        let reference = problem.reference();
        let all: Vec<Vec<f64>> = runs
            .iter()
            .filter(|r| r.problem == p)
            .flat_map(|r| r.outcome.feasible.iter().cloned())
            .collect();
        let best: Vec<Vec<f64>> = pareto_front(&all)
            .into_iter()
            .map(|i| all[i].clone())
            .collect();
        let best_hv = hypervolume(&best, &reference);
        let ratio_of = |front: &[Vec<f64>]| {
            if best_hv > 0.0 {
                hypervolume(front, &reference) / best_hv
            } else {
                0.0
            }
        };
        for r in runs.iter().filter(|r| r.problem == p) {
            let o = &r.outcome;
            let ratio = ratio_of(&o.observed.front);
            scores[p][r.sampler].push(ratio);
            ms[p][r.sampler].push(o.ms_per_trial);
            let mut line = json!({
                "problem": problem.name, "class": problem.class.name(), "sampler": labels[r.sampler],
                "seed": r.seed, "trials": args.trials, "hv_ratio": ratio, "ms_per_trial": o.ms_per_trial,
                "reported_error": o.observed.error,
            });
            if let Some(post) = &o.posterior {
                let post_ratio = ratio_of(&post.front);
                line["posterior_hv_ratio"] = json!(post_ratio);
                line["posterior_reported_error"] = json!(post.error);
                noisy[p][r.sampler].push([ratio, post_ratio, o.observed.error, post.error]);
            }
            lines.push(line);
        }
    }
    if let Some(path) = &args.jsonl {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    print_table(&problems, &labels, &scores, &ms, args.trials, args.seeds);
    if args.posterior {
        print_posterior(&problems, &labels, &noisy);
    }
    Ok(ExitCode::SUCCESS)
}

/// What a run reports: the truth of its reported set (truly feasible
/// members only) and how far the reported values are from the truth
/// (mean absolute difference over the set's members and objectives).
#[derive(Default)]
struct Reported {
    front: Vec<Vec<f64>>,
    error: f64,
}

/// What one run leaves: the observed set, the posterior set (when asked),
/// the truth of every truly feasible trial, the sampler's ms per trial.
struct Outcome {
    observed: Reported,
    posterior: Option<Reported>,
    feasible: Vec<Vec<f64>>,
    ms_per_trial: f64,
}

/// Optimise `problem` with a fresh sampler from `seed`.
fn run_one(
    problem: &SuiteProblem,
    spec: &SamplerSpec,
    trials: u64,
    seed: u64,
    posterior: bool,
) -> Result<Outcome> {
    let mut sampler = paretosearch_samplers::build(spec)?;
    let space = problem.search_space();
    let objectives = problem.objectives();
    let names: Vec<String> = objectives.names().iter().map(|s| s.to_string()).collect();
    let mut history: Vec<Trial> = Vec::with_capacity(trials as usize);
    let mut truths: Vec<Vec<f64>> = Vec::with_capacity(trials as usize);
    let mut sampling = std::time::Duration::ZERO;
    for n in 0..trials {
        let view = StudyView {
            space: &space,
            objectives: &objectives,
            trials: &history,
            seed,
        };
        let start = Instant::now();
        let proposal = sampler.propose(&view, n)?;
        sampling += start.elapsed();
        let e = problem.evaluate(
            &proposal.params,
            seed.wrapping_mul(1_000_003).wrapping_add(n),
        );
        let mut t = Trial::new(n, TrialState::Complete);
        t.params = proposal.params;
        t.attrs = proposal.attrs;
        t.values = names.iter().cloned().zip(e.observed).collect();
        history.push(t);
        truths.push(e.truth);
    }
    let truly_feasible = |v: &[f64]| {
        let values = names.iter().cloned().zip(v.iter().copied()).collect();
        objectives.violation(&values) == 0.0
    };
    // A reported set: trial indices with the values reported for them.
    let report = |members: Vec<(usize, Vec<f64>)>| -> Reported {
        let n = (members.len() * names.len()).max(1) as f64;
        let error = members
            .iter()
            .map(|(i, v)| {
                v.iter()
                    .zip(&truths[*i])
                    .map(|(a, b)| (a - b).abs())
                    .sum::<f64>()
            })
            .sum::<f64>()
            / n;
        Reported {
            front: members
                .iter()
                .map(|(i, _)| truths[*i].clone())
                .filter(|v| truly_feasible(v))
                .collect(),
            error,
        }
    };
    let observed: Vec<(usize, Vec<f64>)> = history
        .iter()
        .enumerate()
        .filter(|(_, t)| objectives.violation(&t.values) == 0.0)
        .filter_map(|(i, t)| Some((i, objectives.minimised(&t.values)?)))
        .collect();
    let points: Vec<Vec<f64>> = observed.iter().map(|(_, v)| v.clone()).collect();
    let observed_set = report(
        pareto_front(&points)
            .into_iter()
            .map(|k| observed[k].clone())
            .collect(),
    );
    let posterior_set = posterior.then(|| {
        let view = StudyView {
            space: &space,
            objectives: &objectives,
            trials: &history,
            seed,
        };
        let p = paretosearch_samplers::GpSampler::default()
            .posterior(&view)
            .expect("a run has more than one COMPLETE trial");
        // Every objective of the suite is minimised: the means are the
        // minimised values.
        report(
            p.estimates
                .iter()
                .filter(|e| p.front.contains(&e.number))
                .map(|e| (e.number as usize, e.mean.clone()))
                .collect(),
        )
    });
    let feasible = truths
        .iter()
        .filter(|v| truly_feasible(v))
        .cloned()
        .collect();
    Ok(Outcome {
        observed: observed_set,
        posterior: posterior_set,
        feasible,
        ms_per_trial: 1000.0 * sampling.as_secs_f64() / trials.max(1) as f64,
    })
}

fn print_table(
    problems: &[SuiteProblem],
    labels: &[String],
    scores: &[Vec<Vec<f64>>],
    ms: &[Vec<Vec<f64>>],
    trials: u64,
    seeds: u64,
) {
    let width = labels.iter().map(|l| l.len()).max().unwrap_or(0).max(8);
    println!(
        "hypervolume / best known front's, median of {seeds} seeds, {trials} trials (worst seed of the best sampler in brackets)"
    );
    print!("{:16} {:13}", "class", "problem");
    for l in labels {
        print!(" {l:>width$}");
    }
    println!();
    let mut class_means: Vec<(Class, Vec<f64>)> = Vec::new();
    for class in Class::ALL {
        let members: Vec<usize> = (0..problems.len())
            .filter(|&p| problems[p].class == class)
            .collect();
        if members.is_empty() {
            continue;
        }
        for &p in &members {
            print!("{:16} {:13}", class.name(), problems[p].name);
            let meds: Vec<f64> = scores[p].iter().map(|v| median(v.clone())).collect();
            for m in &meds {
                print!(" {m:>width$.4}");
            }
            let best = (0..meds.len()).max_by(|&a, &b| meds[a].total_cmp(&meds[b]));
            if let Some(b) = best {
                let worst = scores[p][b].iter().copied().fold(f64::INFINITY, f64::min);
                print!("  ({} {worst:.4})", labels[b]);
            }
            println!();
        }
        let means: Vec<f64> = (0..labels.len())
            .map(|s| {
                members
                    .iter()
                    .map(|&p| median(scores[p][s].clone()))
                    .sum::<f64>()
                    / members.len() as f64
            })
            .collect();
        print!("{:16} {:13}", class.name(), "mean");
        for m in &means {
            print!(" {m:>width$.4}");
        }
        println!();
        class_means.push((class, means));
    }
    println!();
    println!("sampler time per trial, ms (median over problems of the median over seeds)");
    print!("{:30}", "");
    for l in labels {
        print!(" {l:>width$}");
    }
    println!();
    print!("{:30}", "all problems");
    for s in 0..labels.len() {
        let per_problem: Vec<f64> = ms.iter().map(|m| median(m[s].clone())).collect();
        print!(" {:>width$.2}", median(per_problem));
    }
    println!();
    let Some(auto) = labels.iter().position(|l| l == "auto") else {
        return;
    };
    println!();
    let mut worst_gap: f64 = 0.0;
    for (class, means) in &class_means {
        let (best, top) = means
            .iter()
            .enumerate()
            .filter(|(s, _)| *s != auto)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(s, m)| (s, *m))
            .unwrap_or((auto, means[auto]));
        let gap = if top > 0.0 {
            1.0 - means[auto] / top
        } else {
            0.0
        };
        worst_gap = worst_gap.max(gap);
        println!(
            "auto on {:16} {:.4} against the best other sampler ({}) {:.4}: {:+.1} %",
            class.name(),
            means[auto],
            labels[best],
            top,
            -100.0 * gap
        );
    }
    println!(
        "auto is within {:.1} % of the best sampler on every class",
        100.0 * worst_gap
    );
}

/// The noisy problems' observed and posterior sets side by side.
fn print_posterior(problems: &[SuiteProblem], labels: &[String], noisy: &[Vec<Vec<[f64; 4]>>]) {
    println!();
    println!(
        "noisy problems, observed Pareto set against the GP's posterior set (medians over seeds): hypervolume of the true values / best known, and the mean |reported - true| of the set's values"
    );
    println!(
        "{:13} {:12} {:>9} {:>9} {:>10} {:>10}",
        "problem", "sampler", "observed", "posterior", "err obs", "err post"
    );
    for (p, problem) in problems.iter().enumerate() {
        for (s, label) in labels.iter().enumerate() {
            let rows = &noisy[p][s];
            if rows.is_empty() {
                continue;
            }
            let col = |k: usize| median(rows.iter().map(|r| r[k]).collect());
            println!(
                "{:13} {:12} {:>9.4} {:>9.4} {:>10.4} {:>10.4}",
                problem.name,
                label,
                col(0),
                col(1),
                col(2),
                col(3)
            );
        }
    }
}
