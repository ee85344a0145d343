//! Tracks writes in flight per persistence id, so that asking for the highest sequence number
//! waits for them (Pekko's rule: after a fast restart, recovery must see the previous
//! incarnation's last write, which may still be committing).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// In-flight writes per persistence id.
#[derive(Default)]
pub struct InFlightWrites {
    map: Mutex<HashMap<String, (usize, Arc<Notify>)>>,
}

/// Marks persistence ids as being written until dropped.
pub struct WriteGuard<'a> {
    owner: &'a InFlightWrites,
    ids: Vec<String>,
}

impl InFlightWrites {
    /// Registers a write touching `ids`.
    pub fn begin<'a, I: IntoIterator<Item = &'a str>>(&self, ids: I) -> WriteGuard<'_> {
        let mut map = self.map.lock();
        let mut seen = Vec::new();
        for id in ids {
            if seen.iter().any(|s: &String| s == id) {
                continue;
            }
            let entry = map
                .entry(id.to_string())
                .or_insert_with(|| (0, Arc::new(Notify::new())));
            entry.0 += 1;
            seen.push(id.to_string());
        }
        WriteGuard {
            owner: self,
            ids: seen,
        }
    }

    /// Waits until no write of `id` is in flight.
    pub async fn wait_idle(&self, id: &str) {
        loop {
            let notify = match self.map.lock().get(id) {
                None => return,
                Some((_, n)) => n.clone(),
            };
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.map.lock().contains_key(id) {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        let mut map = self.owner.map.lock();
        for id in &self.ids {
            if let Some(entry) = map.get_mut(id) {
                entry.0 -= 1;
                if entry.0 == 0 {
                    if let Some((_, n)) = map.remove(id) {
                        n.notify_waiters();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_the_write_to_finish() {
        let w = Arc::new(InFlightWrites::default());
        w.wait_idle("a").await; // nothing in flight
        let guard = w.begin(["a", "a", "b"]);
        let w2 = w.clone();
        let waiter = tokio::spawn(async move { w2.wait_idle("a").await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(guard);
        waiter.await.unwrap();
        w.wait_idle("b").await;
    }
}
