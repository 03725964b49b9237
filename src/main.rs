//! # paretosearch
//!
//! The command-line interface: `run`, `status`, `export`, `bench` and the
//! commands that grow around them. The binary is a thin client of the
//! `paretosearch` library: `run`, `worker`, `ask` and `tell` hand a study
//! file to its `Study` engine, with two observers for progress (a bar, or
//! plain lines) and the process's signals turned into a cancellation; the
//! read commands format what the library reads.
//!
//! Errors are `anyhow` here (and only here). Bad input (a malformed study
//! file, an incompatible stored study, a bad flag) exits with status 2,
//! everything else that fails with 1; the message is one readable paragraph
//! on stderr.

mod asktell;
mod bench;
mod bench_pruning;
mod bench_suite;
mod check;
mod cli;
mod completions;
mod eta;
mod export;
mod export_optuna;
mod pick;
mod plot;
mod posterior;
mod progress;
mod pruner_status;
mod report;
mod run;
mod status;
mod study;
mod term;
mod testset;
mod util;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Marks an error as the user's input being wrong (exit status 2).
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if prints_only(&cli.command) {
        // `paretosearch export ... | head` should end quietly, as Unix tools
        // do, not panic on a closed pipe. Only for commands that neither
        // spawn processes nor serve: those must survive a peer going away.
        // SAFETY: restoring the default disposition of one signal before
        // any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Run(args) => run::run(args).await,
            Command::Worker(args) => run::worker(args).await,
            Command::Check(args) => check::check(args).await,
            Command::Status(args) => status::status(args).await,
            Command::Export(args) => export::export(args).await,
            Command::Bench(args) => bench::bench(args),
            Command::BenchPruning(args) => bench_pruning::bench_pruning(args),
            Command::BenchSuite(args) => bench_suite::bench_suite(args),
            Command::Plot(args) => plot::plot(args).await,
            Command::Report(args) => report::report(args).await,
            Command::Serve(args) => report::serve::serve(args).await,
            Command::Pick(args) => pick::pick(args).await,
            Command::Ask(args) => asktell::ask(args).await,
            Command::Tell(args) => asktell::tell(args).await,
            Command::Completions(args) => completions::completions(args),
            Command::Doctor => {
                println!("paretosearch {}", env!("CARGO_PKG_VERSION"));
                #[cfg(feature = "torch")]
                println!("{}", paretosearch::torch::doctor());
                #[cfg(not(feature = "torch"))]
                println!("libtorch: not in this build (built without the `torch` feature)");
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    // Do not wait for detached blocking work (e.g. a runner that ignores
    // cancellation) when exiting.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(code) => code,
        Err(err) => {
            let bad = err.chain().any(|e| {
                e.is::<BadInput>()
                    || e.is::<paretosearch_core::spec::SpecError>()
                    || e.downcast_ref::<paretosearch::EngineError>()
                        .is_some_and(|e| e.is_bad_input())
                    || matches!(
                        e.downcast_ref::<paretosearch_store::StoreError>(),
                        Some(paretosearch_store::StoreError::Incompatible { .. })
                            | Some(paretosearch_store::StoreError::BadUrl { .. })
                            | Some(paretosearch_store::StoreError::NoSuchStudy(_))
                    )
            });
            let mut msg = String::new();
            for (i, cause) in err.chain().enumerate() {
                let s = cause.to_string();
                if i > 0 {
                    if msg.contains(&s) {
                        continue;
                    }
                    msg.push_str(": ");
                }
                msg.push_str(&s);
            }
            eprintln!("error: {msg}");
            ExitCode::from(if bad { 2 } else { 1 })
        }
    }
}

/// Commands whose only output is what they print to stdout.
fn prints_only(command: &Command) -> bool {
    matches!(
        command,
        Command::Check(_)
            | Command::Status(_)
            | Command::Export(_)
            | Command::Pick(_)
            | Command::Completions(_)
            | Command::Doctor
    )
}
