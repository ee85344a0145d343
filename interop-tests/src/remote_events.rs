//! Waiting for events of a Rekko [`RemoteNode`](rekko_remote::RemoteNode).

use std::time::Duration;

use rekko_remote::RemoteEvent;
use tokio::sync::broadcast;

/// The next `Terminated` event within `timeout`: the watched actor's path and whether its
/// existence was confirmed. Panics when none comes.
pub async fn next_terminated(
    rx: &mut broadcast::Receiver<RemoteEvent>,
    timeout: Duration,
) -> (String, bool) {
    loop {
        match tokio::time::timeout(timeout, rx.recv()).await {
            Ok(Ok(RemoteEvent::Terminated {
                actor,
                existence_confirmed,
                ..
            })) => return (actor, existence_confirmed),
            Ok(Ok(_)) => continue,
            other => panic!("no Terminated event: {other:?}"),
        }
    }
}
