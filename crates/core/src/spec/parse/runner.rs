//! `[runner]`: a command (whose `{placeholders}` must name parameters), a
//! built-in problem, or another crate's runner with its table kept whole.

use std::collections::BTreeMap;
use std::path::Path;

use super::super::locate::suggest;
use super::super::template::placeholders;
use super::super::walk::Field;
use super::super::{BuiltinSpec, CommandSpec, RunnerSpec, SpecError};
use super::helpers::{folder_of, normalize, top_level_hint, Problem};
use super::DEFAULT_GRACE;
use crate::space::SearchSpace;

const COMMAND_KEYS: &[&str] = &[
    "kind",
    "command",
    "profile_command",
    "timeout",
    "grace",
    "workdir",
    "env",
];

/// Check one argument of a command: its `{placeholders}` parse and all
/// name parameters (`names`). On failure, the byte offset in `arg` of the
/// placeholder at fault.
pub(crate) fn check_placeholders(arg: &str, names: &[&str]) -> Result<(), (usize, Problem)> {
    let found = placeholders(arg).map_err(|e| {
        (
            e.offset,
            Problem::new(
                format!("{} in `{arg}`", e.message),
                "placeholders are `{name}`; write `{{` and `}}` for literal braces",
            ),
        )
    })?;
    for (offset, name) in found {
        if !names.contains(&name.as_str()) {
            let known = names
                .iter()
                .map(|n| format!("{{{n}}}"))
                .collect::<Vec<_>>()
                .join(", ");
            let help = match suggest(&name, names) {
                Some(s) => {
                    format!("did you mean `{{{s}}}`? (write `{{{{` for a literal brace)")
                }
                None => "use one of the parameters, or write `{{` for a literal brace".into(),
            };
            return Err((
                offset,
                Problem::new(
                    format!("`{{{name}}}` is not a parameter (known: {known})"),
                    help,
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn parse_runner(
    f: &Field<'_>,
    space: &SearchSpace,
    file: &Path,
) -> Result<RunnerSpec, SpecError> {
    let t = f.table("write a [runner] table with kind = \"command\" or \"builtin\"")?;
    let kind = t
        .require(
            "kind",
            "add kind = \"command\" (or \"builtin\", or a runner such as \"torch\")",
        )?
        .non_empty_str()?
        .to_string();
    match kind.as_str() {
        "command" => {
            t.deny_unknown(COMMAND_KEYS, top_level_hint)?;
            let help = "write command = [\"python3\", \"train.py\", \"--lr\", \"{lr}\"]";
            let command = check_argv(&t.require("command", help)?, space, help)?;
            let profile_command = match t.get("profile_command") {
                Some(pf) => Some(check_argv(
                    &pf,
                    space,
                    "write profile_command = [\"python3\", \"profile.py\", \"--width\", \"{width}\"]",
                )?),
                None => None,
            };
            let timeout = t.get("timeout").map(|f| f.duration()).transpose()?;
            let grace = t
                .get("grace")
                .map(|f| f.duration())
                .transpose()?
                .unwrap_or(DEFAULT_GRACE);
            let base = folder_of(file);
            let workdir = match t.get("workdir") {
                Some(w) => normalize(&base.join(w.non_empty_str()?)),
                None => base,
            };
            let mut env = BTreeMap::new();
            if let Some(ef) = t.get("env") {
                let et = ef.table("write env = { NAME = \"value\" }")?;
                for k in et.keys() {
                    let v = et.get(k).expect("listed key exists");
                    env.insert(k.to_string(), v.str()?.to_string());
                }
            }
            Ok(RunnerSpec::Command(CommandSpec {
                command,
                profile_command,
                timeout,
                grace,
                workdir,
                env,
            }))
        }
        "builtin" => {
            t.deny_unknown(&["kind", "problem"], top_level_hint)?;
            let problem = t
                .require("problem", "add problem = \"zdt1\"")?
                .non_empty_str()?
                .to_string();
            Ok(RunnerSpec::Builtin(BuiltinSpec { problem }))
        }
        _ => Ok(RunnerSpec::Other {
            options: t.options(&["kind"]),
            kind,
        }),
    }
}

/// An argv whose `{placeholders}` all name parameters.
fn check_argv(f: &Field<'_>, space: &SearchSpace, help: &str) -> Result<Vec<String>, SpecError> {
    let args = f.string_list(help)?;
    let names: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
    let mut out = Vec::with_capacity(args.len());
    for (arg, af) in args {
        // Offset of the argument's text inside its written form, when the
        // string has no escapes (so byte offsets line up).
        let raw = af
            .span
            .as_ref()
            .and_then(|s| af.src.text.get(s.clone()))
            .unwrap_or("");
        let inner = if raw.len() == arg.len() + 2 && raw.get(1..raw.len() - 1) == Some(arg.as_str())
        {
            Some(1)
        } else {
            None
        };
        check_placeholders(&arg, &names).map_err(|(offset, p)| match inner {
            Some(i) => af.err_at_offset(i + offset, p.message, p.help),
            None => af.err(p.message, p.help),
        })?;
        out.push(arg);
    }
    Ok(out)
}
