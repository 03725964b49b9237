//! Command-line definitions (clap): every subcommand's arguments, in one
//! place. The commands' modules take these; the library never sees them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

/// Search configuration spaces for the Pareto front of several objectives.
#[derive(Debug, Parser)]
#[command(name = "paretosearch", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run (or resume) a study until its budget is spent.
    ///
    /// Example: `paretosearch run studies/zdt1.toml --trials 50 --workers 2`
    Run(RunArgs),
    /// Join a study shared through PostgreSQL (or a SQLite file) from any
    /// machine and run its trials until the budget is spent. Start as many
    /// as you like, anywhere; they share the budget. Refuses to create a
    /// study that does not exist unless given `--create`.
    ///
    /// Example: `paretosearch worker study.toml --storage postgres://user:pw@db/studies --create`
    Worker(WorkerArgs),
    /// Validate a study file without running anything: parse it, build its
    /// sampler, pruner and runner (a torch runner loads its dataset), and
    /// print what `run` would do. Exit status 2, with the file, line and
    /// field, on the first mistake. Storage is only looked at, never created.
    ///
    /// Example: `paretosearch check studies/quickstart.toml --json`
    Check(CheckArgs),
    /// Show trial counts, the Pareto set and the best trial per objective.
    ///
    /// Example: `paretosearch status studies/zdt1.toml --json`
    Status(StatusArgs),
    /// Export trials (all, or the Pareto set) as JSON, CSV or study files.
    ///
    /// Example: `paretosearch export studies/zdt1.toml --pareto --format toml --out best/`
    Export(ExportArgs),
    /// Optimise a built-in problem in memory and print the objective vectors
    /// and wall time as one JSON line (for comparisons with other optimisers).
    ///
    /// Example: `paretosearch bench --problem zdt1 --sampler random --trials 200 --seed 0`
    Bench(BenchArgs),
    /// Replay recorded learning curves through pruners and print, per
    /// workload and pruner, the epochs and time saved, the hypervolume kept
    /// and the false stops (medians over seeds, worst in brackets).
    ///
    /// Example: `paretosearch bench-pruning --arm dominated --arm mo-asha --seeds 5`
    BenchPruning(BenchPruningArgs),
    /// Run every sampler on the benchmark suite (continuous, mixed,
    /// conditional, categorical, noisy, many-objective and constrained
    /// problems) and print one table: each sampler's hypervolume as a ratio
    /// to the best front known, median over seeds, per problem and class.
    ///
    /// Example: `paretosearch bench-suite --seeds 5 --trials 100`
    BenchSuite(BenchSuiteArgs),
    /// Write figures (SVG and PNG): the Pareto front (a scatter matrix and
    /// parallel coordinates from three objectives on), the hypervolume over
    /// trials and each parameter's importance per objective.
    ///
    /// Example: `paretosearch plot studies/zdt1.toml --out plots/`
    Plot(PlotArgs),
    /// Write one self-contained HTML page: figures, the sortable Pareto
    /// table, and every trial with parameters, values, reasons and log tail.
    ///
    /// Example: `paretosearch report studies/zdt1.toml --out report.html`
    Report(ReportArgs),
    /// Serve the report page on 127.0.0.1, refreshed live while the study runs.
    ///
    /// Example: `paretosearch serve studies/zdt1.toml --port 8765`
    Serve(ServeArgs),
    /// Choose one configuration by conditions and an objective, print it
    /// and optionally write a ready-to-run study file for it. Exit status 1
    /// when no trial qualifies.
    ///
    /// Example: `paretosearch pick study.toml --where "latency_ms < 5" --best accuracy --out best.toml`
    Pick(PickArgs),
    /// Hand out the next trial (claim it, sample its parameters) for a
    /// training run that happens elsewhere; exit status 3 when the budget
    /// is spent.
    ///
    /// Example: `paretosearch ask study.toml --json`
    Ask(AskArgs),
    /// Record what happened to an asked trial: its values, a failure, a
    /// pruning, or (with --step) an intermediate report.
    ///
    /// Example: `paretosearch tell study.toml 12 --values '{"accuracy": 0.91, "latency_ms": 3.2}'`
    Tell(TellArgs),
    /// Print a shell completion script.
    ///
    /// Example: `paretosearch completions bash > ~/.local/share/bash-completion/completions/paretosearch`
    Completions(CompletionsArgs),
    /// Report the libtorch version, CUDA availability and devices.
    ///
    /// Example: `paretosearch doctor`
    Doctor,
}

/// Options shared by every command that reads a study.
#[derive(Debug, Args)]
pub struct StudyArgs {
    /// The study file (TOML).
    pub study: PathBuf,
    /// Storage URL overriding the study file's (`sqlite://path.db`,
    /// `postgres://user:pass@host/db`).
    #[arg(long, value_name = "URL")]
    pub storage: Option<String>,
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// Total trial budget (overrides `[budget] trials`).
    #[arg(long, value_name = "N")]
    pub trials: Option<u64>,
    /// Trials evaluated concurrently on this machine (overrides `[budget] workers`).
    #[arg(long, value_name = "K")]
    pub workers: Option<usize>,
    /// Wall-clock bound for this run, e.g. `30m` (overrides `[budget] timeout`).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Never draw a progress bar; print one line per finished trial.
    #[arg(long)]
    pub plain: bool,
    /// Print nothing but errors and the final summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Create the study when the storage holds none of this name (every
    /// worker of a job array may pass it: creation is atomic).
    #[arg(long)]
    pub create: bool,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Also show the posterior Pareto set: the trials Pareto-optimal by a
    /// GP's estimate of their objectives (measurement noise taken out), with
    /// the estimates, beside the observed set. Use it when objectives are
    /// noisy, so as not to pick a luckily measured configuration.
    #[arg(long)]
    pub posterior: bool,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON array of trials.
    Json,
    /// One row per trial: number, state, parameters, values, reason.
    Csv,
    /// One ready-to-run study file per trial (parameters fixed), in `--out`.
    Toml,
    /// An Optuna journal file (open it with `optuna-dashboard FILE`).
    OptunaJournal,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// Only the Pareto-optimal (feasible, non-dominated, COMPLETE) trials.
    /// With `--format optuna-journal`, every trial and the Pareto ones
    /// marked by the user attribute `pareto = true`: Optuna numbers a
    /// journal's trials in write order, and this keeps its numbers
    /// paretosearch's.
    #[arg(long)]
    pub pareto: bool,
    /// With --pareto: the posterior Pareto set (Pareto-optimal by a GP's
    /// estimate of each trial, measurement noise taken out) instead of the
    /// observed one. Every exported trial carries its estimate
    /// (`attrs.posterior`: mean, sd, noise_sd per objective; CSV columns
    /// `posterior.<objective>`, `posterior_sd.<objective>`).
    #[arg(long, requires = "pareto")]
    pub posterior: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// Output file (json, csv; default stdout) or folder (toml; required).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// optuna-journal: add this study to the journal `--out` names (it may
    /// hold other studies already) instead of replacing the file.
    #[arg(long, requires = "out")]
    pub append: bool,
    /// With --pareto, do not score the runner's held-out test set (by
    /// default the Pareto trials not yet scored are trained again from
    /// their seeds and scored; the scores are stored with them).
    #[arg(long)]
    pub no_test: bool,
    /// With --pareto, score the test set again for trials already scored.
    #[arg(long, conflicts_with = "no_test")]
    pub rescore_test: bool,
}

/// `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Built-in problem (zdt1, zdt2, zdt3, dtlz2, ...).
    #[arg(long)]
    pub problem: String,
    /// Sampler kind (random, sobol, tpe, gp, nsga2, auto).
    #[arg(long, default_value = "random")]
    pub sampler: String,
    /// Number of trials.
    #[arg(long, default_value_t = 200)]
    pub trials: u64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampler option `key=value` (TOML value), repeatable, e.g. `--option population_size=40`.
    #[arg(long = "option", value_name = "KEY=VALUE")]
    pub options: Vec<String>,
}

/// `bench-pruning`.
#[derive(Debug, Args)]
pub struct BenchPruningArgs {
    /// A recorded study as JSON, plain or `.json.gz` (repeatable), e.g. from
    /// scripts/record-curves.py; a folder: every workload in it (the
    /// project's recorded set is `bench/curves`).
    #[arg(long = "workload", value_name = "FILE|DIR")]
    pub workloads: Vec<std::path::PathBuf>,
    /// A built-in synthetic workload (power, schedule, crossing, noisy, or
    /// all; repeatable; all four when no --workload is given).
    #[arg(long, value_name = "KIND")]
    pub synthetic: Vec<String>,
    /// A pruner `kind` or `kind:key=value,...` (repeatable; default:
    /// dominated, dominated:extrapolate=linear, mo-asha, clairvoyant). The
    /// arm `clairvoyant[:warmup_steps=N,min_gain=G]` knows every final value
    /// and stops at the warm-up each trial that will not matter: the
    /// ceiling of any rule that judges against the trials finished so far.
    #[arg(long = "arm", value_name = "SPEC")]
    pub arms: Vec<String>,
    /// Seeds (orders of the trials) per workload and arm.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Trials of each synthetic workload.
    #[arg(long, default_value_t = 120)]
    pub trials: usize,
    /// Epochs of each synthetic trial.
    #[arg(long, default_value_t = 20)]
    pub steps: u64,
    /// Also print every row as one JSON line at the end.
    #[arg(long)]
    pub json: bool,
}

/// `bench-suite`.
#[derive(Debug, Args)]
pub struct BenchSuiteArgs {
    /// A sampler `kind` or `kind:key=value,...` (repeatable; default:
    /// random, tpe, nsga2, gp, auto).
    #[arg(long = "sampler", value_name = "SPEC")]
    pub samplers: Vec<String>,
    /// A problem of the suite (repeatable; default: all of them).
    #[arg(long = "problem", value_name = "NAME")]
    pub problems: Vec<String>,
    /// Seeds per problem and sampler.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// The first seed (runs use `first_seed .. first_seed + seeds`).
    #[arg(long, default_value_t = 0)]
    pub first_seed: u64,
    /// Trials per run.
    #[arg(long, default_value_t = 100)]
    pub trials: u64,
    /// On the noisy problems, also score the GP's posterior Pareto set
    /// (what `status --posterior` shows) beside the observed one.
    #[arg(long)]
    pub posterior: bool,
    /// Runs at once (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Also write every run as one JSON line to this file.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<std::path::PathBuf>,
    /// Print a line as each run finishes.
    #[arg(long, short)]
    pub verbose: bool,
}

/// `ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// Total trial budget (overrides `[budget] trials`).
    #[arg(long, value_name = "N")]
    pub trials: Option<u64>,
    /// Print the trial as JSON: `{"trial", "seed", "params", "objectives", ...}`.
    #[arg(long)]
    pub json: bool,
}

/// How `tell` finishes a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TellState {
    /// Every objective measured (`--values` required).
    Complete,
    /// Stopped early; `--values` optional (the last values measured).
    Pruned,
    /// Failed; no values.
    Fail,
}

/// `tell`.
#[derive(Debug, Args)]
pub struct TellArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// The trial number `ask` printed.
    pub trial: u64,
    /// Values as a JSON object, e.g. `'{"accuracy": 0.91, "latency_ms": 3.2}'`.
    #[arg(long, value_name = "JSON")]
    pub values: Option<String>,
    /// How the trial ended (default: complete when `--values` is given).
    #[arg(long, value_enum, conflicts_with = "step")]
    pub state: Option<TellState>,
    /// Why the trial was pruned or failed (stored with it).
    #[arg(long, value_name = "TEXT", conflicts_with = "step")]
    pub reason: Option<String>,
    /// Record an intermediate report at this step (epoch) instead of
    /// finishing the trial; prints whether the pruner would stop it, and
    /// exits with status 4 when it would (0: go on). Steps must increase.
    #[arg(long, value_name = "N", requires = "values")]
    pub step: Option<u64>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// Folder for the figures (default: `<study name>-plots` next to the study file).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write SVG only (no PNG copies).
    #[arg(long)]
    pub no_png: bool,
    /// Hypervolume reference point: raw objective values in objective
    /// order, comma-separated, e.g. `--reference 1.1,1.1` (default: the
    /// study's, declared in `[hypervolume]` or frozen from its first
    /// feasible trials, as `status` uses).
    #[arg(long, value_name = "V1,V2,...", allow_hyphen_values = true)]
    pub reference: Option<String>,
    /// Print what was written, the hypervolume history and the importances as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// The HTML file to write (default: `<study name>-report.html` next to the study file).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Hypervolume reference point, as for `plot --reference`.
    #[arg(long, value_name = "V1,V2,...", allow_hyphen_values = true)]
    pub reference: Option<String>,
    /// Lines of each trial's log to include.
    #[arg(long, value_name = "N", default_value_t = 40)]
    pub log_lines: usize,
    /// KiB of log tails the page holds at most (failed trials first, then
    /// the Pareto-optimal, then the newest; the rest name their file).
    #[arg(long, value_name = "KIB", default_value_t = crate::report::data::LOG_BUDGET_KIB)]
    pub log_budget: usize,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// Port on 127.0.0.1 (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// Hypervolume reference point, as for `plot --reference`.
    #[arg(long, value_name = "V1,V2,...", allow_hyphen_values = true)]
    pub reference: Option<String>,
    /// Lines of each trial's log to include.
    #[arg(long, value_name = "N", default_value_t = 40)]
    pub log_lines: usize,
    /// KiB of log tails the page holds at most (failed trials first, then
    /// the Pareto-optimal, then the newest; the rest name their file).
    #[arg(long, value_name = "KIB", default_value_t = crate::report::data::LOG_BUDGET_KIB)]
    pub log_budget: usize,
}

/// `pick`.
#[derive(Debug, Args)]
pub struct PickArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// A condition on an objective or a parameter, `NAME OP VALUE` with OP
    /// one of `<`, `<=`, `>`, `>=`, `==` (or `=`), `!=`; repeatable, and
    /// `and` joins several in one flag. Strings compare with `==`/`!=`
    /// only. Example: `--where "latency_ms < 5" --where "optimizer == adam"`.
    #[arg(long = "where", value_name = "CONDITION")]
    pub conditions: Vec<String>,
    /// Pick the candidate best in this objective (default: the compromise
    /// closest to the ideal point among the candidates' Pareto set).
    #[arg(long, value_name = "OBJECTIVE")]
    pub best: Option<String>,
    /// Print the pick as JSON (the `export` trial form plus the rule).
    #[arg(long)]
    pub json: bool,
    /// Also write a ready-to-run study file for the pick (as `export --format toml`).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}
