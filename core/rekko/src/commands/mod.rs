//! What each subcommand does.

mod config_resolve;
mod journal;
mod node;
mod remote;

use std::process::ExitCode;

use crate::cli::{Cli, Command, ConfigCommand, JournalCommand};

/// Exit status of a failed operation (bad input, timeout, refused association, not found).
pub(crate) const FAILED: u8 = 1;

/// Runs the parsed command and returns the process exit status.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Config(ConfigCommand::Resolve(args)) => config_resolve::run(&args),
        Command::Send(args) => remote::send(&args),
        Command::Identify(args) => remote::identify(&args),
        Command::Node(args) => node::run(&args),
        Command::Journal(JournalCommand::Events(args)) => journal::events(&args),
        Command::Journal(JournalCommand::Ids(args)) => journal::ids(&args),
    }
}
