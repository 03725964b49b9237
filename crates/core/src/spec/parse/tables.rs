//! `[sampler]`, `[pruner]` and `[budget]`, and the rules on the budget
//! shared with the builder.

use super::super::walk::{Field, Tab};
use super::super::{Budget, PrunerSpec, SamplerSpec, SpecError};
use super::helpers::{top_level_hint, Problem};
use super::DEFAULT_WORKERS;
use crate::space::validate::Syntax;

const BUDGET_KEYS: &[&str] = &["trials", "timeout", "workers"];

fn kind_and_options(
    f: &Field<'_>,
    table: &str,
    example: &str,
) -> Result<(String, toml::Table), SpecError> {
    let t = f.table(&format!(
        "write a [{table}] table with kind = \"{example}\""
    ))?;
    let kind = t
        .require("kind", &format!("add kind = \"{example}\" under [{table}]"))?
        .non_empty_str()?
        .to_string();
    Ok((kind, t.options(&["kind"])))
}

/// `[sampler]`; without one, the samplers crate's `auto` picks a sampler.
pub(super) fn parse_sampler(root: &Tab<'_>) -> Result<SamplerSpec, SpecError> {
    Ok(match root.get("sampler") {
        Some(f) => {
            let (kind, options) = kind_and_options(&f, "sampler", "auto")?;
            SamplerSpec { kind, options }
        }
        None => default_sampler(),
    })
}

/// The sampler of a study that names none.
pub(crate) fn default_sampler() -> SamplerSpec {
    SamplerSpec {
        kind: "auto".into(),
        options: toml::Table::new(),
    }
}

/// `[pruner]`, if present.
pub(super) fn parse_pruner(root: &Tab<'_>) -> Result<Option<PrunerSpec>, SpecError> {
    match root.get("pruner") {
        Some(f) => {
            let (kind, options) = kind_and_options(&f, "pruner", "dominated")?;
            Ok(Some(PrunerSpec { kind, options }))
        }
        None => Ok(None),
    }
}

/// A budget runs at least one trial.
pub(crate) fn check_trials(trials: i64, syntax: Syntax) -> Result<(), Problem> {
    if trials < 1 {
        let help = match syntax {
            Syntax::Toml => "set the total number of trials to run, e.g. trials = 100",
            Syntax::Code => "set the total number of trials to run, e.g. .trials(100)",
        };
        return Err(Problem::new(
            format!("budget.trials must be at least 1 (got {trials})"),
            help,
        ));
    }
    Ok(())
}

/// A budget runs at least one trial at a time.
pub(crate) fn check_workers(workers: i64, syntax: Syntax) -> Result<(), Problem> {
    if workers < 1 {
        let help = match syntax {
            Syntax::Toml => "use workers = 1 for one trial at a time",
            Syntax::Code => "use .workers(1) for one trial at a time",
        };
        return Err(Problem::new(
            format!("workers must be at least 1 (got {workers})"),
            help,
        ));
    }
    if workers > crate::spec::MAX_WORKERS as i64 {
        let help = match syntax {
            Syntax::Toml => format!(
                "use workers = {} or fewer (trials at once in one process); start more processes on the same storage for more",
                crate::spec::MAX_WORKERS
            ),
            Syntax::Code => format!(
                "use .workers({}) or fewer (trials at once in one process); start more processes on the same storage for more",
                crate::spec::MAX_WORKERS
            ),
        };
        return Err(Problem::new(
            format!(
                "workers = {workers} is more than one process can run at once (at most {})",
                crate::spec::MAX_WORKERS
            ),
            help,
        ));
    }
    Ok(())
}

/// `[budget]`.
pub(super) fn parse_budget(root: &Tab<'_>) -> Result<Budget, SpecError> {
    let budget_t = root
        .require("budget", "add a [budget] table with trials = 100")?
        .table("write a [budget] table")?;
    budget_t.deny_unknown(BUDGET_KEYS, top_level_hint)?;
    let trials_f = budget_t.require("trials", "add trials = 100 under [budget]")?;
    let trials = trials_f.int()?;
    check_trials(trials, Syntax::Toml).map_err(|p| trials_f.err(p.message, p.help))?;
    let timeout = budget_t.get("timeout").map(|f| f.duration()).transpose()?;
    let workers = match budget_t.get("workers") {
        Some(f) => {
            let w = f.int()?;
            check_workers(w, Syntax::Toml).map_err(|p| f.err(p.message, p.help))?;
            w as usize
        }
        None => DEFAULT_WORKERS,
    };
    Ok(Budget {
        trials: trials as u64,
        timeout,
        workers,
    })
}
