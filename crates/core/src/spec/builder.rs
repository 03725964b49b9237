//! Building a study in code rather than from a study file.

use std::path::PathBuf;
use std::time::Duration;

use super::parse::{
    self, Problem, DEFAULT_GRACE, DEFAULT_HEARTBEAT, DEFAULT_RETRIES, DEFAULT_WORKERS,
};
use super::{
    Budget, BuiltinSpec, CommandSpec, HypervolumeSpec, PrunerSpec, RunnerSpec, SamplerSpec,
    SpecError, SpecOrigin, StudySpec,
};
use crate::objective::{Direction, Objective, Objectives};
use crate::space::validate::{self, Syntax};
use crate::space::{SearchSpace, SpaceError};

/// The file name of a spec built in code: [`SpecOrigin::file`] of a built
/// spec and [`SpecError::file`] of the builder's errors.
pub const CODE_ORIGIN: &str = "<code>";

/// The runner kind of a study built without a runner
/// ([`RunnerSpec::Other`] with this kind and no options): the program
/// evaluates the trials itself (a closure objective, or ask and tell), and
/// a runner registry asked to build it refuses it as unknown.
pub const NO_RUNNER: &str = "none";

fn err(field: impl Into<String>, message: impl Into<String>, help: impl Into<String>) -> SpecError {
    SpecError {
        file: PathBuf::from(CODE_ORIGIN),
        line: None,
        column: None,
        field: field.into(),
        message: message.into(),
        help: Some(help.into()),
    }
}

fn located(field: impl Into<String>, p: Problem) -> SpecError {
    err(field, p.message, p.help)
}

/// A [`SpaceError`] as a study error on `search_space.<parameter>.<field>`
/// of a spec built in code, so that a function building both can use `?`.
impl From<SpaceError> for SpecError {
    fn from(e: SpaceError) -> Self {
        let (field, message, help) = e.parts();
        let field = if field.is_empty() {
            "search_space".to_string()
        } else {
            format!("search_space.{field}")
        };
        err(field, message, help)
    }
}

impl CommandSpec {
    /// A command runner for `argv` (with `{param}` placeholders) and the
    /// defaults of a study file's `[runner]` table: no timeout, 5 s grace,
    /// no extra environment, and the working directory `.`.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Self {
        CommandSpec {
            command: argv.into_iter().map(Into::into).collect(),
            profile_command: None,
            timeout: None,
            grace: DEFAULT_GRACE,
            workdir: parse::folder_of(CODE_ORIGIN.as_ref()),
            env: Default::default(),
            log_limit: super::DEFAULT_LOG_LIMIT,
        }
    }
}

/// Builds a [`StudySpec`] in code, with the defaults and the checks that
/// the study-file parser applies.
///
/// Required: at least one objective ([`minimize`](Self::minimize),
/// [`maximize`](Self::maximize) or [`objective`](Self::objective)), a
/// [`space`](Self::space) and a budget of [`trials`](Self::trials).
/// Everything else takes the value a study file gets when the key is left
/// out: seed 0, no storage, heartbeat 5 s, `stale_after` the longer of
/// 60 s and two heartbeats, 1 retry, sampler `auto` without options, no
/// pruner, 1 worker, no time limit. Unlike a study file, a study built in
/// code may leave the runner out (a program that evaluates its trials
/// itself needs none): its runner is then [`RunnerSpec::Other`] of kind
/// [`NO_RUNNER`]; name one with [`builtin`](Self::builtin),
/// [`command`](Self::command) or [`runner`](Self::runner).
///
/// [`build`](Self::build) checks in the order of a study file (study,
/// objectives, search space, sampler, pruner, runner, budget) with the
/// parser's own rules, and returns the first [`SpecError`]: its file is
/// [`CODE_ORIGIN`], its field the dotted path the same mistake has in a
/// study file (`study.heartbeat`, `search_space.lr.low`, `budget.trials`),
/// and it names the fix. The built spec's [`SpecOrigin`] has that file name
/// and no text, so errors that other crates locate with
/// [`SpecOrigin::error_at`] point at line 1; [`StudySpec::fingerprint`]
/// and [`StudySpec::to_json`] are those of the same study parsed from a
/// file.
///
/// ```
/// use std::time::Duration;
/// use paretosearch_core::spec::RunnerSpec;
/// use paretosearch_core::{SearchSpace, StudySpec};
///
/// let space = SearchSpace::builder()
///     .float("x0", 0.0, 1.0)
///     .float("x1", 0.0, 1.0)
///     .build()?;
/// let spec = StudySpec::builder("zdt1-demo")
///     .minimize("f1")
///     .minimize("f2")
///     .space(space)
///     .seed(7)
///     .sampler("tpe")
///     .sampler_option("n_startup", 10)
///     .builtin("zdt1")
///     .heartbeat(Duration::from_secs(2))
///     .trials(100)
///     .workers(2)
///     .build()?;
/// assert_eq!(spec.stale_after, Duration::from_secs(60)); // as in a study file
/// assert_eq!(spec.sampler.options["n_startup"].as_integer(), Some(10));
/// assert!(matches!(spec.runner, RunnerSpec::Builtin(_)));
///
/// // Checked like a study file:
/// let err = StudySpec::builder("s")
///     .minimize("f1")
///     .space(SearchSpace::builder().float("x", 0.0, 1.0).build()?)
///     .command(["python3", "f.py", "--x={y}"])
///     .trials(10)
///     .build()
///     .unwrap_err();
/// assert_eq!(err.field, "runner.command[2]");
/// assert!(err.message.contains("`{y}` is not a parameter"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct StudySpecBuilder {
    name: String,
    seed: u64,
    storage: Option<String>,
    heartbeat: Option<Duration>,
    stale_after: Option<Duration>,
    retries: u32,
    objectives: Vec<Objective>,
    space: Option<SearchSpace>,
    sampler: Option<String>,
    sampler_options: toml::Table,
    pruner: Option<String>,
    pruner_options: toml::Table,
    runner: Option<RunnerSpec>,
    trials: Option<u64>,
    budget_timeout: Option<Duration>,
    workers: usize,
}

impl StudySpec {
    /// A [`StudySpecBuilder`] for a study named `name`, to write a study in
    /// code.
    pub fn builder(name: impl Into<String>) -> StudySpecBuilder {
        StudySpecBuilder::new(name)
    }
}

impl StudySpecBuilder {
    /// A builder for a study named `name` (same as [`StudySpec::builder`]).
    pub fn new(name: impl Into<String>) -> Self {
        StudySpecBuilder {
            name: name.into(),
            seed: 0,
            storage: None,
            heartbeat: None,
            stale_after: None,
            retries: DEFAULT_RETRIES,
            objectives: Vec::new(),
            space: None,
            sampler: None,
            sampler_options: toml::Table::new(),
            pruner: None,
            pruner_options: toml::Table::new(),
            runner: None,
            trials: None,
            budget_timeout: None,
            workers: DEFAULT_WORKERS,
        }
    }

    /// The master seed (`[study] seed`, default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The storage URL (`[study] storage`, e.g. `sqlite://study.db`).
    pub fn storage(mut self, url: impl Into<String>) -> Self {
        self.storage = Some(url.into());
        self
    }

    /// How often running trials refresh their heartbeat (default 5 s).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = Some(every);
        self
    }

    /// When a RUNNING trial counts as stale (default: the longer of 60 s
    /// and two heartbeats); must be longer than the heartbeat.
    pub fn stale_after(mut self, after: Duration) -> Self {
        self.stale_after = Some(after);
        self
    }

    /// How many times a stale or interrupted trial is re-queued (default 1).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Add an objective to minimise (no constraint, not cheap).
    pub fn minimize(self, name: impl Into<String>) -> Self {
        self.direction(name.into(), Direction::Minimize)
    }

    /// Add an objective to maximise (no constraint, not cheap).
    pub fn maximize(self, name: impl Into<String>) -> Self {
        self.direction(name.into(), Direction::Maximize)
    }

    fn direction(self, name: String, direction: Direction) -> Self {
        self.objective(Objective {
            name,
            direction,
            constraint: None,
            cheap: false,
        })
    }

    /// Add an objective with everything a `[[objectives]]` table holds
    /// (constraint, cheap). Objectives keep the order they are added in.
    pub fn objective(mut self, objective: Objective) -> Self {
        self.objectives.push(objective);
        self
    }

    /// The search space, e.g. from [`SearchSpace::builder`].
    pub fn space(mut self, space: SearchSpace) -> Self {
        self.space = Some(space);
        self
    }

    /// The sampler kind (`random`, `sobol`, `tpe`, `gp`, `nsga2`, `auto`;
    /// default `auto`), validated with its options by the samplers crate.
    pub fn sampler(mut self, kind: impl Into<String>) -> Self {
        self.sampler = Some(kind.into());
        self
    }

    /// An option of the sampler (a key of `[sampler]` besides `kind`).
    pub fn sampler_option(mut self, key: impl Into<String>, value: impl Into<toml::Value>) -> Self {
        self.sampler_options.insert(key.into(), value.into());
        self
    }

    /// The pruner kind (`dominated`, `median`, `hyperband` ...; default:
    /// no pruner).
    pub fn pruner(mut self, kind: impl Into<String>) -> Self {
        self.pruner = Some(kind.into());
        self
    }

    /// An option of the pruner (a key of `[pruner]` besides `kind`).
    pub fn pruner_option(mut self, key: impl Into<String>, value: impl Into<toml::Value>) -> Self {
        self.pruner_options.insert(key.into(), value.into());
        self
    }

    /// Run a built-in analytic problem (`[runner] kind = "builtin"`).
    pub fn builtin(self, problem: impl Into<String>) -> Self {
        self.runner(RunnerSpec::Builtin(BuiltinSpec {
            problem: problem.into(),
            delay: None,
        }))
    }

    /// Run a command (`[runner] kind = "command"`) with the defaults of
    /// [`CommandSpec::new`]; for a timeout, a profile command, an
    /// environment or another working directory, pass a [`CommandSpec`]
    /// to [`runner`](Self::runner).
    pub fn command<S: Into<String>>(self, argv: impl IntoIterator<Item = S>) -> Self {
        self.runner(RunnerSpec::Command(CommandSpec::new(argv)))
    }

    /// The runner, in full (replaces an earlier [`builtin`](Self::builtin)
    /// or [`command`](Self::command)). Without one, the runner is
    /// [`NO_RUNNER`].
    pub fn runner(mut self, runner: RunnerSpec) -> Self {
        self.runner = Some(runner);
        self
    }

    /// The total number of finished trials over all runs (`[budget]
    /// trials`, required, at least 1).
    pub fn trials(mut self, trials: u64) -> Self {
        self.trials = Some(trials);
        self
    }

    /// Concurrent trials on this machine (default 1).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// The wall-clock bound of one run (`[budget] timeout`; default none).
    pub fn budget_timeout(mut self, timeout: Duration) -> Self {
        self.budget_timeout = Some(timeout);
        self
    }

    /// Check the study and build it; the first problem found is returned
    /// as a [`SpecError`] naming the field and the fix.
    pub fn build(self) -> Result<StudySpec, SpecError> {
        // [study]
        if self.name.trim().is_empty() {
            return Err(err(
                "study.name",
                "must not be empty",
                "name the study, e.g. StudySpec::builder(\"my-study\")",
            ));
        }
        parse::check_name(&self.name).map_err(|p| located("study.name", p))?;
        if self.storage.as_ref().is_some_and(|s| s.trim().is_empty()) {
            return Err(err(
                "study.storage",
                "must not be empty",
                "pass a URL such as \"sqlite://study.db\", or leave the storage out",
            ));
        }
        let heartbeat = self.heartbeat.unwrap_or(DEFAULT_HEARTBEAT);
        parse::check_heartbeat(heartbeat, Syntax::Code)
            .map_err(|p| located("study.heartbeat", p))?;
        let stale_after = match self.stale_after {
            Some(d) => {
                parse::check_stale_after(d, heartbeat)
                    .map_err(|p| located("study.stale_after", p))?;
                d
            }
            None => parse::default_stale_after(heartbeat),
        };

        // objectives
        if self.objectives.is_empty() {
            return Err(err(
                "objectives",
                "a study needs at least one objective",
                "add one with .minimize(\"loss\"), .maximize(\"accuracy\") or .objective(...)",
            ));
        }
        for (i, o) in self.objectives.iter().enumerate() {
            let at = format!("objectives[{i}]");
            parse::check_objective_name(&o.name).map_err(|p| located(format!("{at}.name"), p))?;
            if self.objectives[..i].iter().any(|p| p.name == o.name) {
                return Err(located(
                    format!("{at}.name"),
                    parse::duplicate_objective(&o.name, None),
                ));
            }
            if let Some(c) = &o.constraint {
                parse::check_constraint(c, Syntax::Code).map_err(|(bound, p)| match bound {
                    Some(b) => located(format!("{at}.constraint.{b}"), p),
                    None => located(format!("{at}.constraint"), p),
                })?;
            }
        }

        // search_space
        let Some(space) = self.space else {
            return Err(err(
                "search_space",
                "the study has no search space",
                "add one with .space(SearchSpace::builder().float(\"x\", 0.0, 1.0).build()?)",
            ));
        };
        check_space(&space)?;

        // [sampler], [pruner]
        let sampler = match self.sampler {
            Some(kind) => SamplerSpec {
                kind: kind_of("sampler", kind, &self.sampler_options, "tpe")?,
                options: self.sampler_options,
            },
            None if self.sampler_options.is_empty() => parse::default_sampler(),
            None => {
                return Err(err(
                    "sampler.kind",
                    "sampler options are given but no sampler",
                    "name the sampler the options are for, e.g. .sampler(\"tpe\")",
                ))
            }
        };
        let pruner = match self.pruner {
            Some(kind) => Some(PrunerSpec {
                kind: kind_of("pruner", kind, &self.pruner_options, "dominated")?,
                options: self.pruner_options,
            }),
            None if self.pruner_options.is_empty() => None,
            None => {
                return Err(err(
                    "pruner.kind",
                    "pruner options are given but no pruner",
                    "name the pruner the options are for, e.g. .pruner(\"dominated\")",
                ))
            }
        };

        // [runner]
        let runner = match self.runner {
            Some(runner) => {
                check_runner(&runner, &space)?;
                runner
            }
            None => RunnerSpec::Other {
                kind: NO_RUNNER.into(),
                options: toml::Table::new(),
            },
        };

        // [budget]
        let Some(trials) = self.trials else {
            return Err(err(
                "budget.trials",
                "the study has no budget of trials",
                "set the total number of trials to run, e.g. .trials(100)",
            ));
        };
        parse::check_trials(i64::try_from(trials).unwrap_or(i64::MAX), Syntax::Code)
            .map_err(|p| located("budget.trials", p))?;
        parse::check_workers(
            i64::try_from(self.workers).unwrap_or(i64::MAX),
            Syntax::Code,
        )
        .map_err(|p| located("budget.workers", p))?;

        Ok(StudySpec {
            name: self.name,
            seed: self.seed,
            storage: self.storage,
            heartbeat,
            stale_after,
            retries: self.retries,
            objectives: Objectives(self.objectives),
            space,
            sampler,
            pruner,
            runner,
            budget: Budget {
                trials,
                timeout: self.budget_timeout,
                workers: self.workers,
            },
            hypervolume: HypervolumeSpec::default(),
            origin: SpecOrigin {
                file: PathBuf::from(CODE_ORIGIN),
                text: String::new(),
                fragments: Vec::new(),
            },
        })
    }
}

/// A space checked by the rules of a study file's `[search_space]` (it may
/// come from [`SearchSpace::new`], which checks less).
fn check_space(space: &SearchSpace) -> Result<(), SpecError> {
    if space.is_empty() {
        return Err(err(
            "search_space",
            "the search space has no parameters",
            "add at least one parameter, e.g. SearchSpace::builder().float(\"x\", 0.0, 1.0)",
        ));
    }
    let invalid = |name: &str, f: validate::Fault| {
        SpecError::from(SpaceError::InvalidParam {
            param: name.to_string(),
            field: f.field,
            message: f.message,
            help: f.help,
        })
    };
    for p in space.params() {
        validate::check_param(p, Syntax::Code).map_err(|f| invalid(&p.name, f))?;
    }
    validate::check_conditions(space.params()).map_err(|(i, f)| invalid(&space.params()[i].name, f))
}

/// The kind of a sampler or pruner: non-empty, and not repeated among the
/// options.
fn kind_of(
    table: &str,
    kind: String,
    options: &toml::Table,
    example: &str,
) -> Result<String, SpecError> {
    if kind.trim().is_empty() {
        return Err(err(
            format!("{table}.kind"),
            "must not be empty",
            format!("name the {table}, e.g. .{table}(\"{example}\")"),
        ));
    }
    if options.contains_key("kind") {
        return Err(err(
            format!("{table}.kind"),
            format!("`kind` is not an option of the {table}"),
            format!("name the {table} with .{table}(\"{example}\") only"),
        ));
    }
    Ok(kind)
}

/// A runner checked like a study file's `[runner]`: commands non-empty
/// with placeholders that name parameters, problems and kinds non-empty.
fn check_runner(runner: &RunnerSpec, space: &SearchSpace) -> Result<(), SpecError> {
    let names: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
    let check_argv = |key: &str, argv: &[String]| -> Result<(), SpecError> {
        if argv.is_empty() {
            return Err(err(
                format!("runner.{key}"),
                "must not be empty",
                "pass the program and its arguments, e.g. [\"python3\", \"train.py\", \"--lr\", \"{lr}\"]",
            ));
        }
        for (i, arg) in argv.iter().enumerate() {
            parse::check_placeholders(arg, &names)
                .map_err(|(_, p)| located(format!("runner.{key}[{i}]"), p))?;
        }
        Ok(())
    };
    match runner {
        RunnerSpec::Command(c) => {
            check_argv("command", &c.command)?;
            if let Some(p) = &c.profile_command {
                check_argv("profile_command", p)?;
            }
        }
        RunnerSpec::Builtin(b) => {
            if b.problem.trim().is_empty() {
                return Err(err(
                    "runner.problem",
                    "must not be empty",
                    "name the problem, e.g. .builtin(\"zdt1\")",
                ));
            }
        }
        RunnerSpec::Other { kind, options } => {
            let fix = match kind.as_str() {
                "command" => {
                    Some("describe a command runner with .command(...) or RunnerSpec::Command")
                }
                "builtin" => {
                    Some("describe a built-in problem with .builtin(...) or RunnerSpec::Builtin")
                }
                _ => None,
            };
            if kind.trim().is_empty() {
                return Err(err(
                    "runner.kind",
                    "must not be empty",
                    "name the runner, e.g. RunnerSpec::Other { kind: \"torch\".into(), options }",
                ));
            }
            if let Some(fix) = fix {
                return Err(err(
                    "runner.kind",
                    format!("a `{kind}` runner is not an `Other` runner"),
                    fix,
                ));
            }
            if options.contains_key("kind") {
                return Err(err(
                    "runner.kind",
                    "`kind` is not an option of the runner",
                    "set the kind in RunnerSpec::Other { kind, .. } only",
                ));
            }
        }
    }
    Ok(())
}
