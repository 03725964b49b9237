//! Command-line definitions (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Write figures (SVG and PNG): the Pareto front (a scatter matrix and
    /// parallel coordinates from three objectives on), the hypervolume over
    /// trials and each parameter's importance per objective.
    ///
    /// Example: `paretosearch plot studies/zdt1.toml --out plots/`
    Plot(crate::plot::PlotArgs),
    /// Write one self-contained HTML page: figures, the sortable Pareto
    /// table, and every trial with parameters, values, reasons and log tail.
    ///
    /// Example: `paretosearch report studies/zdt1.toml --out report.html`
    Report(crate::report::ReportArgs),
    /// Serve the report page on 127.0.0.1, refreshed live while the study runs.
    ///
    /// Example: `paretosearch serve studies/zdt1.toml --port 8765`
    Serve(crate::report::serve::ServeArgs),
    /// Choose one configuration by conditions and an objective, print it
    /// and optionally write a ready-to-run study file for it. Exit status 1
    /// when no trial qualifies.
    ///
    /// Example: `paretosearch pick study.toml --where "latency_ms < 5" --best accuracy --out best.toml`
    Pick(crate::pick::PickArgs),
    /// Hand out the next trial (claim it, sample its parameters) for a
    /// training run that happens elsewhere; exit status 3 when the budget
    /// is spent.
    ///
    /// Example: `paretosearch ask study.toml --json`
    Ask(crate::asktell::AskArgs),
    /// Record what happened to an asked trial: its values, a failure, a
    /// pruning, or (with --step) an intermediate report.
    ///
    /// Example: `paretosearch tell study.toml 12 --values '{"accuracy": 0.91, "latency_ms": 3.2}'`
    Tell(crate::asktell::TellArgs),
    /// Print a shell completion script.
    ///
    /// Example: `paretosearch completions bash > ~/.local/share/bash-completion/completions/paretosearch`
    Completions(crate::completions::CompletionsArgs),
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
    #[arg(long)]
    pub pareto: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// Output file (json, csv; default stdout) or folder (toml; required).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
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
