//! The `rekko` command-line interface: run a node, inspect configuration, talk to actors.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::run(cli)
}
