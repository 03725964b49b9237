//! # paretosearch-engine
//!
//! The study engine: everything between a study specification and its
//! recorded trials. The CLI's `run`, `worker`, `ask` and `tell` are thin
//! clients of this crate, and so is a Rust program that trains its own
//! models (with `tch`, burn, candle, anything) and wants paretosearch to
//! choose what to train next. (Most programs depend on the `paretosearch`
//! facade, which re-exports this crate with its neighbours.)
//!
//! ## One study handle, one trial pipeline
//!
//! A [`Study`] is one study in one storage, as this process sees it: the
//! spec, the store, the sampler, the pruning rules, an incremental cache
//! of the trials, and a background heartbeat. Every way of running trials
//! goes through the same two steps, written once:
//!
//! * [`Study::ask`] claims a trial (a re-queued one first, else a new
//!   number while the budget allows, atomically across processes), has the
//!   sampler propose its parameters from every trial known (running ones
//!   included, so workers spread out), lets the runner's profile phase
//!   measure the cheap objectives without training, and applies
//!   partial-order pruning: a candidate already dominated is recorded
//!   PRUNED and the next one is asked. It hands back a [`TrialHandle`].
//! * [`Study::tell`] validates the outcome as Optuna's `tell` does (a
//!   COMPLETE missing an objective becomes a FAIL saying which), records
//!   it, and tells the observers.
//!
//! In between, [`TrialHandle::report`] stores an intermediate report,
//! keeps the trial's own reports in memory (nothing is read back), and
//! asks the early-stopping pruner, whose [`Verdict`](paretosearch_runner::Verdict)
//! says whether to go on. [`Study::optimize`] is the loop around these
//! steps, with `workers` slots, a timeout and a [`Cancel`] token.
//!
//! ## Objectives: closures or runners
//!
//! [`Study::optimize`] takes an [`Objective`]: any closure
//! `Fn(&TrialHandle) -> Result<Values, E>`, which runs on a worker thread
//! allowed to block (train synchronously, call
//! [`TrialHandle::report_blocking`] each epoch, return when
//! [`TrialHandle::should_stop`] says so), or a [`RunnerObjective`] around
//! any [`Runner`](paretosearch_runner::Runner): the command runner, the
//! built-in problems, the torch runner. Runner kinds named in study files
//! are built by a [`Registry`], so this crate never links libtorch.
//!
//! ## The engine prints nothing and never exits
//!
//! Progress is told to [`Observer`]s (trial started, reported, finished,
//! messages); the CLI's progress bar and plain log lines are two of them.
//! Cancellation is a token only: the library installs no signal handler
//! and never ends the process. A cancelled or timed-out `optimize`
//! interrupts its running trials, records them FAIL (kind
//! [`FailKind::Interrupted`](paretosearch_core::FailKind)) and re-queues
//! their parameters, so nothing is left RUNNING and nothing is lost.
//!
//! ## Crashes
//!
//! A handle dropped without `tell` (a panic, a killed process) stops
//! being heartbeated; after `stale_after` any process working on the study
//! fails it and re-queues its parameters, so the budget stays exact.
//!
//! ## Example
//!
//! ```
//! use paretosearch_core::{SearchSpace, StudySpec};
//! use paretosearch_engine::{Options, Study, TrialHandle, Values};
//!
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let space = SearchSpace::builder()
//!     .float("x", 0.0, 1.0)
//!     .float("y", 0.0, 1.0)
//!     .build()?;
//! let spec = StudySpec::builder("doc")
//!     .minimize("f1")
//!     .minimize("f2")
//!     .space(space)
//!     .sampler("random")
//!     .trials(20)
//!     .build()?;
//! let study = Study::create_or_open(spec, "sqlite::memory:").await?;
//! let objective = |t: &TrialHandle| -> Result<Values, String> {
//!     let (x, y) = (t.float("x").map_err(|e| e.to_string())?, t.float("y").map_err(|e| e.to_string())?);
//!     Ok(Values::from([("f1".into(), x), ("f2".into(), (1.0 - x) + y)]))
//! };
//! study.optimize(objective, Options::default()).await?;
//! let front = study.pareto_front().await?;
//! assert!(!front.trials.is_empty());
//! # Ok(())
//! # }
//! ```

mod ask;
mod error;
pub mod export;
mod freeze;
mod handle;
mod heartbeat;
pub mod observer;
mod optimize;
pub mod posterior;
mod pruning;
pub mod reference;
pub mod registry;
mod study;
pub mod summary;
pub mod worker;

pub use ask::Asked;
pub use error::EngineError;
pub use handle::{FromParam, ParamError, TrialHandle};
pub use observer::Observer;
pub use optimize::{Cancel, Objective, Optimized, Options, RunnerObjective, Stopped, Values};
pub use pruning::{build_pruning, with_implied_max_resource, TORCH_DEFAULT_EPOCHS};
pub use registry::Registry;
pub use study::{build_sampler, mask_url, Study};
pub use summary::{best_in, summarize, summarize_against, Front, Summary, RAISED_BUDGET_ATTR};
pub use worker::trial_seed;
