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
/// A tell returns once the message is queued; the node is kept up for a
/// short grace period (up to the handshake timeout) so the message can
/// leave before the node shuts down.
pub async fn send_string(
    settings: RemoteSettings,
    path: &str,
    text: &str,
    ask: Option<Duration>,
) -> Result<Option<Delivery>> {
    let node = RemoteNode::start(settings).await?;
    let r = match ask {
        Some(_) => node.send_string(path, text, ask).await,
        None => {
            // Ask for the identity after the tell: the answer arrives after
            // the tell on the same ordered stream, proving it was delivered.
            let r = node.send_string(path, text, None).await;
            if r.is_ok() {
                let _ = node.identify(path, Duration::from_secs(10)).await;
            }
            r
        }
    };
    node.shutdown();
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
    node.shutdown();
    r
}
