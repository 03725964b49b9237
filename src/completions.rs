//! `paretosearch completions SHELL`: shell completion scripts (clap_complete).

use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

/// Print the completion script for a shell on stdout.
pub fn completions(args: CompletionsArgs) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "paretosearch", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
