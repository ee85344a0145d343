//! Group commit: concurrent writes of many entities are coalesced into one transaction of up to
//! `batchSize` events, with at most `parallelism` transactions in flight — the write path of
//! pekko-persistence-jdbc's journal (`bufferSize`/`batchSize`/`parallelism`).
//!
//! Atomic writes are never split across transactions. When a transaction of several callers'
//! writes fails, each caller's writes are retried in a transaction of their own, so that one
//! entity's bad write (say, a sequence number already taken) fails only that entity; the JVM
//! plugin fails every write of the transaction instead.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::inflight::InFlightWrites;
use crate::journal::Journal;
use crate::model::{AtomicWrite, EventRecord};
use crate::{PersistenceError, Result};

type Reply = oneshot::Sender<std::result::Result<(), String>>;

/// A journal whose writes are batched across callers; reads go straight to the inner journal.
pub struct BatchingJournal {
    inner: Arc<dyn Journal>,
    queue: mpsc::Sender<(Vec<AtomicWrite>, Reply)>,
    in_flight: Arc<InFlightWrites>,
}

impl BatchingJournal {
    /// Wraps `inner`; must be called inside a Tokio runtime (it spawns the batching task).
    pub fn new(inner: Arc<dyn Journal>, batch_size: usize, parallelism: usize) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Vec<AtomicWrite>, Reply)>(1024);
        let batch_size = batch_size.max(1);
        let permits = Arc::new(Semaphore::new(parallelism.max(1)));
        let journal = inner.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let mut events: usize = first.0.iter().map(|w| w.events().len()).sum();
                let mut batch = vec![first];
                while events < batch_size {
                    match rx.try_recv() {
                        Ok(next) => {
                            events += next.0.iter().map(|w| w.events().len()).sum::<usize>();
                            batch.push(next);
                        }
                        Err(_) => break,
                    }
                }
                let journal = journal.clone();
                tokio::spawn(async move {
                    write_batch(&*journal, batch).await;
                    drop(permit);
                });
            }
        });
        BatchingJournal {
            inner,
            queue: tx,
            in_flight: Arc::new(InFlightWrites::default()),
        }
    }
}

/// Writes the callers' writes in one transaction; if that fails and there are several callers,
/// retries each caller's writes on their own, so a failure reaches only the callers it belongs
/// to. Answers every caller.
async fn write_batch(journal: &dyn Journal, batch: Vec<(Vec<AtomicWrite>, Reply)>) {
    let writes: Vec<AtomicWrite> = batch.iter().flat_map(|(w, _)| w.iter().cloned()).collect();
    let result = journal.write(&writes).await.map_err(|e| e.to_string());
    if result.is_ok() || batch.len() == 1 {
        for (_, reply) in batch {
            let _ = reply.send(result.clone());
        }
        return;
    }
    if let Err(reason) = &result {
        tracing::debug!(
            callers = batch.len(),
            %reason,
            "group commit failed; writing each caller's events on their own"
        );
    }
    let retries = batch.iter().map(|(w, _)| journal.write(w));
    let results = futures::future::join_all(retries).await;
    for ((_, reply), r) in batch.into_iter().zip(results) {
        let _ = reply.send(r.map_err(|e| e.to_string()));
    }
}

#[async_trait]
impl Journal for BatchingJournal {
    async fn write(&self, writes: &[AtomicWrite]) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let _guard = self
            .in_flight
            .begin(writes.iter().map(|w| w.persistence_id()));
        let (tx, rx) = oneshot::channel();
        let closed =
            || PersistenceError::InvalidWrite("the journal's write queue is closed".into());
        self.queue
            .send((writes.to_vec(), tx))
            .await
            .map_err(|_| closed())?;
        match rx.await.map_err(|_| closed())? {
            Ok(()) => Ok(()),
            Err(reason) => Err(PersistenceError::Store {
                backend: "batch",
                operation: format!("write of {}", writes[0].persistence_id()),
                source: reason.into(),
            }),
        }
    }

    async fn highest_sequence_nr(&self, persistence_id: &str) -> Result<i64> {
        self.in_flight.wait_idle(persistence_id).await;
        self.inner.highest_sequence_nr(persistence_id).await
    }

    async fn delete_to(&self, persistence_id: &str, to: i64) -> Result<()> {
        self.inner.delete_to(persistence_id, to).await
    }

    async fn read_events(
        &self,
        persistence_id: &str,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>> {
        self.inner
            .read_events(persistence_id, from, to, limit)
            .await
    }

    async fn read_tagged(
        &self,
        tag: &str,
        after: i64,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>> {
        self.inner.read_tagged(tag, after, up_to, limit).await
    }

    async fn max_ordering(&self) -> Result<i64> {
        self.inner.max_ordering().await
    }

    async fn orderings_after(&self, after: i64, limit: usize) -> Result<Vec<i64>> {
        self.inner.orderings_after(after, limit).await
    }

    async fn persistence_ids(&self) -> Result<Vec<String>> {
        self.inner.persistence_ids().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::inmem::InMemoryJournal;
    use crate::model::{PersistentRepr, SerializedPayload};

    fn aw(pid: &str, seq: i64) -> AtomicWrite {
        AtomicWrite::new(vec![PersistentRepr::new(
            pid,
            seq,
            SerializedPayload::new(4, "", vec![1u8]),
            "w",
        )])
        .unwrap()
    }

    #[tokio::test]
    async fn concurrent_writes_all_land_and_failures_reach_their_callers() {
        let j = Arc::new(BatchingJournal::new(
            Arc::new(InMemoryJournal::new()),
            10,
            2,
        ));
        let mut tasks = Vec::new();
        for e in 0..20 {
            let j = j.clone();
            tasks.push(tokio::spawn(async move {
                for s in 1..=5 {
                    j.write(&[aw(&format!("P|{e}"), s)]).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for e in 0..20 {
            assert_eq!(j.highest_sequence_nr(&format!("P|{e}")).await.unwrap(), 5);
        }
        let err = j.write(&[aw("P|0", 5)]).await.unwrap_err();
        assert!(err.to_string().contains("P|0"), "{err}");
    }
}
