//! A Rekko node in its own process, driven by line commands (used by the
//! interop tests to kill a Rekko node with SIGKILL).
//!
//! Usage: `echo_node [SYSTEM]`. Starts a node on 127.0.0.1 with a free
//! port, registers an echo endpoint at `/user/echo` and prints
//! `READY <address>`. Commands on stdin: `stop <path>` unregisters an
//! endpoint (its remote watchers get `Terminated`) and prints `STOPPED`;
//! `quit` shuts the node down and prints `BYE`.

use rekko_remote::{RemoteNode, RemoteSettings};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let system = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "RekkoNode".into());
    let node = RemoteNode::start(RemoteSettings::new(&system, "127.0.0.1", 0)).await?;
    node.register_echo("/user/echo");
    println!("READY {}", node.address());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next()) {
            (Some("stop"), Some(path)) => {
                node.unregister(path);
                println!("STOPPED");
            }
            (Some("quit"), _) => break,
            (Some(other), _) => println!("ERROR unknown command: {other}"),
            (None, _) => {}
        }
    }
    node.shutdown().await;
    println!("BYE");
    Ok(())
}
