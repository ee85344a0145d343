//! One-shot helpers for the command line: start a short-lived node, do one
//! thing, shut the node down.

use std::time::Duration;

use crate::error::Result;
use crate::message::Delivery;
use crate::node::RemoteNode;
use crate::settings::RemoteSettings;

/// Starts a node with `settings` (port 0 for a short-lived node), sends
/// `text` as a String to the actor at `path`, and with `ask` waits that
/// long for the reply. Returns `Ok(None)` for a plain tell.
///
/// A tell is followed by an `Identify` of the same path on the same
/// stream, so it returns once the message has been delivered to the remote
/// node; a refused connection or handshake timeout is an error naming the
/// cause.
pub async fn send_string(
    settings: RemoteSettings,
    path: &str,
    text: &str,
    ask: Option<Duration>,
) -> Result<Option<Delivery>> {
    let node = RemoteNode::start(settings).await?;
    let r = match ask {
        Some(_) => node.send_string(path, text, ask).await,
        None => match node.send_string(path, text, None).await {
            // Identify after the tell: its answer comes back after the tell
            // was delivered on the same ordered stream, and a refused or
            // unanswered association surfaces as an error with its cause.
            Ok(_) => node
                .identify(path, settings_timeout(&node))
                .await
                .map(|_| None),
            Err(e) => Err(e),
        },
    };
    node.shutdown().await;
    r
}

/// Starts a short-lived node, resolves `path` with `Identify` and returns
/// the full path with `#uid`, or `None` when no actor is there.
pub async fn identify(
    settings: RemoteSettings,
    path: &str,
    timeout: Duration,
) -> Result<Option<String>> {
    let node = RemoteNode::start(settings).await?;
    let r = node.identify(path, timeout).await;
    node.shutdown().await;
    r
}

fn settings_timeout(node: &RemoteNode) -> Duration {
    node.settings().handshake.timeout
}
