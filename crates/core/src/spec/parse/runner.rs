//! `[runner]`: a command (whose `{placeholders}` must name parameters), a
//! built-in problem, or another crate's runner with its table kept whole.

use std::collections::BTreeMap;
use std::path::Path;

use super::super::locate::suggest;
use super::super::template::placeholders;
use super::super::walk::Field;
use super::super::{BuiltinSpec, CommandSpec, RunnerSpec, SpecError, DEFAULT_LOG_LIMIT};
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
    "log_limit",
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
            let log_limit = match t.get("log_limit") {
                Some(f) => byte_size(&f)?,
                None => DEFAULT_LOG_LIMIT,
            };
            Ok(RunnerSpec::Command(CommandSpec {
                command,
                profile_command,
                timeout,
                grace,
                workdir,
                env,
                log_limit,
            }))
        }
        "builtin" => {
            t.deny_unknown(&["kind", "problem", "delay"], top_level_hint)?;
            let problem = t
                .require("problem", "add problem = \"zdt1\"")?
                .non_empty_str()?
                .to_string();
            let delay = t.get("delay").map(|f| f.duration()).transpose()?;
            Ok(RunnerSpec::Builtin(BuiltinSpec { problem, delay }))
        }
        _ => Ok(RunnerSpec::Other {
            options: t.options(&["kind"]),
            kind,
        }),
    }
}

/// The smallest `log_limit`: room for the head, the tail and the markers.
const MIN_LOG_LIMIT: u64 = 1 << 10;

/// A size: an integer number of bytes, or a string such as `"10 MiB"`,
/// `"500 KiB"`, `"1.5 GB"` (B, KB, MB, GB are powers of 1000; KiB, MiB,
/// GiB of 1024).
fn byte_size(f: &Field<'_>) -> Result<u64, SpecError> {
    let help = "write a size such as \"10 MiB\", \"500 KiB\" or a number of bytes";
    let bytes = match f.int() {
        Ok(i) => u64::try_from(i).unwrap_or(0),
        Err(_) => {
            let Ok(s) = f.str() else {
                return Err(f.err(format!("expected a size, found {}", f.found()), help));
            };
            parse_byte_size(s).ok_or_else(|| f.err(format!("`{s}` is not a size"), help))?
        }
    };
    if bytes < MIN_LOG_LIMIT {
        return Err(f.err(
            format!("must be at least 1 KiB (got {bytes} bytes)"),
            "a log keeps its first and last halves: give it at least \"1 KiB\" (the default is \"10 MiB\")",
        ));
    }
    Ok(bytes)
}

fn parse_byte_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().ok()?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "kb" => 1_000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    let bytes = num * scale as f64;
    (bytes.is_finite() && bytes < u64::MAX as f64).then_some(bytes as u64)
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

#[cfg(test)]
mod tests {
    use super::parse_byte_size;

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_byte_size("10 MiB"), Some(10 << 20));
        assert_eq!(parse_byte_size("512KiB"), Some(512 << 10));
        assert_eq!(parse_byte_size("1.5 GB"), Some(1_500_000_000));
        assert_eq!(parse_byte_size("4096"), Some(4096));
        assert_eq!(parse_byte_size("10 MiBs"), None);
        assert_eq!(parse_byte_size("MiB"), None);
    }
}
