//! Runners by kind: what `[runner] kind = "..."` builds.
//!
//! The engine knows two runners of its own (`command`, `builtin`); every
//! other kind is looked up in a [`Registry`], to which a program adds the
//! kinds it links in. The `paretosearch` facade registers `torch` when
//! built with its `torch` feature, so the engine never depends on libtorch
//! and never matches on a kind's name.

use std::collections::BTreeMap;
use std::sync::Arc;

use paretosearch_core::spec::{RunnerSpec, SpecError, NO_RUNNER};
use paretosearch_core::StudySpec;
use paretosearch_runner::{BuiltinRunner, CommandRunner, Runner};

/// Builds a runner of one kind from the study and its `[runner]` table,
/// for a process that runs `workers` trials at once. Errors are located in
/// the study file (`spec.origin`).
pub type RunnerFactory =
    dyn Fn(&StudySpec, &toml::Table, usize) -> Result<Arc<dyn Runner>, SpecError> + Send + Sync;

/// Runner kinds beyond `command` and `builtin`, by name.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: BTreeMap<String, Arc<RunnerFactory>>,
    /// Kinds this build knows of but cannot run, with the reason.
    missing: BTreeMap<String, String>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .field("missing", &self.missing)
            .finish()
    }
}

impl Registry {
    /// A registry with only the built-in kinds (`command`, `builtin`).
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Add (or replace) the runner kind `kind`.
    pub fn register(
        &mut self,
        kind: &str,
        factory: impl Fn(&StudySpec, &toml::Table, usize) -> Result<Arc<dyn Runner>, SpecError>
            + Send
            + Sync
            + 'static,
    ) -> &mut Registry {
        self.missing.remove(kind);
        self.kinds.insert(kind.to_string(), Arc::new(factory));
        self
    }

    /// Say that `kind` exists but this build cannot run it, and why (e.g.
    /// built without the `torch` feature): naming it then fails with `why`.
    pub fn unavailable(&mut self, kind: &str, why: &str) -> &mut Registry {
        if !self.kinds.contains_key(kind) {
            self.missing.insert(kind.to_string(), why.to_string());
        }
        self
    }

    /// Every kind this registry can build, built-in ones first.
    pub fn kinds(&self) -> Vec<String> {
        ["command", "builtin"]
            .into_iter()
            .map(String::from)
            .chain(self.kinds.keys().cloned())
            .collect()
    }

    /// Build the runner of `spec` for `workers` concurrent trials.
    #[allow(clippy::result_large_err)] // the located error of the whole spec API
    pub fn build(&self, spec: &StudySpec, workers: usize) -> Result<Arc<dyn Runner>, SpecError> {
        match &spec.runner {
            // The spec already resolved `workdir` against the study file's folder.
            RunnerSpec::Command(c) => Ok(Arc::new(CommandRunner::new(c.clone()))),
            RunnerSpec::Builtin(b) => match BuiltinRunner::new(&b.problem) {
                Ok(r) => {
                    let r = r.with_delay(b.delay);
                    let objectives = spec.objectives.names();
                    if let Err(m) = r.check_study(&spec.space, &objectives) {
                        let path: Vec<&str> = m.path.iter().map(String::as_str).collect();
                        return Err(spec.origin.error_at(&path, m.message, Some(&m.help)));
                    }
                    Ok(Arc::new(r))
                }
                Err(e) => Err(spec
                    .origin
                    .error_at(&["runner", "problem"], e.to_string(), None)),
            },
            // No [runner] in the file (or none given to the builder): the
            // study is evaluated elsewhere.
            RunnerSpec::Other { kind, .. } if kind == NO_RUNNER && !self.kinds.contains_key(kind) => {
                Err(spec.origin.error_at(
                    &["runner"],
                    "this study has no [runner]; add one or use ask/tell",
                    Some("a [runner] table evaluates the trials `run` starts, e.g. kind = \"command\" and command = [\"python3\", \"train.py\", \"--lr\", \"{lr}\"]; without one, `paretosearch ask` hands out trials and `paretosearch tell` records them"),
                ))
            }
            RunnerSpec::Other { kind, options } => {
                if let Some(factory) = self.kinds.get(kind) {
                    return factory(spec, options, workers);
                }
                let (message, help) = match self.missing.get(kind) {
                    Some(why) => (
                        format!("runner kind `{kind}` is not available: {why}"),
                        None,
                    ),
                    None => (
                        format!("unknown runner kind `{kind}`"),
                        Some(format!(
                            "use {}",
                            self.kinds()
                                .iter()
                                .map(|k| format!("\"{k}\""))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    ),
                };
                Err(spec
                    .origin
                    .error_at(&["runner", "kind"], message, help.as_deref()))
            }
        }
    }
}
