//! Command-line arguments of the `rekko` binary.
//!
//! Exit statuses: 0 success, 1 the operation failed (bad input, timeout, refused association,
//! actor not found), 2 usage errors.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Rekko: a Rust actor runtime wire-compatible with Apache Pekko.
#[derive(Debug, Parser)]
#[command(name = "rekko", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `rekko`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a cluster node from a Pekko application.conf (or the embedded one-node default).
    Node(NodeArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Send a String to an actor on a Pekko or Rekko node.
    Send(SendArgs),
    /// Resolve an actor path to a reference with its uid.
    Identify(IdentifyArgs),
    /// Read an event journal.
    #[command(subcommand)]
    Journal(JournalCommand),
}

/// Arguments of `rekko node`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The application.conf to run; without it, a one-node cluster on localhost.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Subcommands of `rekko config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a resolved HOCON file as concise JSON.
    Resolve(ResolveArgs),
}

/// Arguments of `rekko config resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The HOCON file to resolve.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print only the value at this path.
    #[arg(long, value_name = "P")]
    pub path: Option<String>,
    /// Load FILE as application.conf over the bundled reference configuration.
    #[arg(long)]
    pub with_defaults: bool,
}

/// Arguments of `rekko send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The actor path, e.g. `pekko://Sys@127.0.0.1:25520/user/echo`.
    #[arg(value_name = "PATH")]
    pub path: String,
    /// The text to send as a String.
    #[arg(value_name = "TEXT")]
    pub text: String,
    /// Wait for the reply and print it.
    #[arg(long)]
    pub ask: bool,
    /// How long to wait for the association and the reply (HOCON duration).
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub timeout: String,
    /// Configuration for the short-lived sending node.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Arguments of `rekko identify`.
#[derive(Debug, Args)]
pub struct IdentifyArgs {
    /// The actor path to resolve.
    #[arg(value_name = "PATH")]
    pub path: String,
    /// How long to wait for the answer (HOCON duration).
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub timeout: String,
    /// Configuration for the short-lived node.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Subcommands of `rekko journal`.
#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Print the events of one persistence id.
    Events(JournalEventsArgs),
    /// List persistence ids.
    Ids(JournalIdsArgs),
}

/// Arguments of `rekko journal events`.
#[derive(Debug, Args)]
pub struct JournalEventsArgs {
    /// The persistence id, e.g. `ShoppingCart|cart-1`.
    #[arg(long, value_name = "ID")]
    pub persistence_id: String,
    /// The application.conf naming the journal plugin.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Arguments of `rekko journal ids`.
#[derive(Debug, Args)]
pub struct JournalIdsArgs {
    /// The application.conf naming the journal plugin.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}
