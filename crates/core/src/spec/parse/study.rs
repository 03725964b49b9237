//! The `[study]` table: name, seed, storage, heartbeat, staleness and
//! retries, and the rules on them shared with the builder.

use std::time::Duration;

use super::super::walk::Tab;
use super::super::SpecError;
use super::helpers::{top_level_hint, Problem};
use super::{DEFAULT_HEARTBEAT, DEFAULT_RETRIES, DEFAULT_STALE_AFTER};
use crate::space::validate::Syntax;

const STUDY_KEYS: &[&str] = &[
    "name",
    "seed",
    "storage",
    "heartbeat",
    "stale_after",
    "retries",
];

/// The `[study]` table, defaults filled in.
pub(super) struct StudyTable {
    pub name: String,
    pub seed: u64,
    pub storage: Option<String>,
    pub heartbeat: Duration,
    pub stale_after: Duration,
    pub retries: u32,
}

/// A study name names the default database file: no path separators, no
/// control characters. (Emptiness is checked by the caller.)
pub(crate) fn check_name(name: &str) -> Result<(), Problem> {
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '/' | '\\') || c.is_control())
    {
        return Err(Problem::new(
            format!(
                "study name `{}` contains `{}`",
                name.escape_default(),
                c.escape_default()
            ),
            "use letters, digits, `-`, `_` and `.` (the name also names the default database file)",
        ));
    }
    Ok(())
}

/// The heartbeat period must be positive.
pub(crate) fn check_heartbeat(heartbeat: Duration, syntax: Syntax) -> Result<(), Problem> {
    if heartbeat.is_zero() {
        let help = match syntax {
            Syntax::Toml => "write e.g. \"5s\"",
            Syntax::Code => "use e.g. Duration::from_secs(5)",
        };
        return Err(Problem::new("heartbeat must be longer than zero", help));
    }
    Ok(())
}

/// A trial is stale only after more than one heartbeat.
pub(crate) fn check_stale_after(stale_after: Duration, heartbeat: Duration) -> Result<(), Problem> {
    if stale_after <= heartbeat {
        return Err(Problem::new(
            format!(
                "stale_after ({}) must be longer than heartbeat ({})",
                humantime::format_duration(stale_after),
                humantime::format_duration(heartbeat)
            ),
            "use several heartbeats, e.g. 12 times the heartbeat",
        ));
    }
    Ok(())
}

/// `stale_after` when it is not given: a minute, or two heartbeats if
/// that is longer.
pub(crate) fn default_stale_after(heartbeat: Duration) -> Duration {
    DEFAULT_STALE_AFTER.max(heartbeat * 2)
}

pub(super) fn parse_study(root: &Tab<'_>) -> Result<StudyTable, SpecError> {
    let study = root
        .require("study", "add a [study] table with name = \"my-study\"")?
        .table("write a [study] table")?;
    study.deny_unknown(STUDY_KEYS, top_level_hint)?;
    let name_f = study.require("name", "add name = \"my-study\" under [study]")?;
    let name = name_f.non_empty_str()?.to_string();
    check_name(&name).map_err(|p| name_f.err(p.message, p.help))?;
    let seed = match study.get("seed") {
        Some(f) => f.int_at_least(0)? as u64,
        None => 0,
    };
    let storage = match study.get("storage") {
        Some(f) => Some(f.non_empty_str()?.to_string()),
        None => None,
    };
    let heartbeat = match study.get("heartbeat") {
        Some(f) => {
            let d = f.duration()?;
            check_heartbeat(d, Syntax::Toml).map_err(|p| f.err(p.message, p.help))?;
            d
        }
        None => DEFAULT_HEARTBEAT,
    };
    let stale_after = match study.get("stale_after") {
        Some(f) => {
            let d = f.duration()?;
            check_stale_after(d, heartbeat).map_err(|p| f.err(p.message, p.help))?;
            d
        }
        None => default_stale_after(heartbeat),
    };
    let retries = match study.get("retries") {
        Some(f) => {
            let r = f.int_at_least(0)?;
            u32::try_from(r).map_err(|_| {
                f.err(
                    format!("{r} retries is too many"),
                    "use a small number such as 1",
                )
            })?
        }
        None => DEFAULT_RETRIES,
    };
    Ok(StudyTable {
        name,
        seed,
        storage,
        heartbeat,
        stale_after,
        retries,
    })
}
