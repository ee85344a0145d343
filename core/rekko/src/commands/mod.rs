//! What each subcommand does.

mod config_resolve;
mod node;
mod remote;

use std::process::ExitCode;

use crate::cli::{Cli, Command, ConfigCommand, JournalCommand};

/// Exit status of a failed operation (bad input, timeout, refused association, not found).
pub(crate) const FAILED: u8 = 1;
/// Exit status of a command that exists in the interface but is not available in this build.
const NOT_YET_AVAILABLE: u8 = 2;

/// Runs the parsed command and returns the process exit status.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Config(ConfigCommand::Resolve(args)) => config_resolve::run(&args),
        Command::Send(args) => remote::send(&args),
        Command::Identify(args) => remote::identify(&args),
        Command::Node(args) => node::run(&args),
        Command::Journal(JournalCommand::Events(_)) => not_yet_available("rekko journal events"),
        Command::Journal(JournalCommand::Ids(_)) => not_yet_available("rekko journal ids"),
    }
}

fn not_yet_available(command: &str) -> ExitCode {
    eprintln!("{command}: not yet available in this version of rekko");
    ExitCode::from(NOT_YET_AVAILABLE)
}
