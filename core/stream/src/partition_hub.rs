//! `PartitionHub`: one stream routed to a dynamic set of consumers by a partitioner.
//!
//! The hub keeps one queue per consumer and counts every element it holds (queued for a
//! consumer or waiting for the first consumers) against one total `buffer_size`; while
//! that is full the hub does not pull, so the consumer that falls behind on the elements
//! routed to it back-pressures the producer (Pekko's semantics).

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures::future::{poll_fn, BoxFuture};
use futures::{Stream, StreamExt};
use parking_lot::Mutex;

use crate::dsl::{Elems, Sink, Source};
use crate::error::StreamError;

/// Pekko's default `bufferSize` of `PartitionHub.sink`.
pub const PARTITION_HUB_DEFAULT_BUFFER: usize = 256;

/// What a stateful partitioner sees about the attached consumers (Pekko
/// `PartitionHub.ConsumerInfo`). Consumers are ordered by id, oldest first.
pub struct ConsumerInfo<'a> {
    ids: &'a [u64],
    queue_len: &'a dyn Fn(u64) -> usize,
}

impl ConsumerInfo<'_> {
    /// The ids of all attached consumers.
    pub fn consumer_ids(&self) -> &[u64] {
        self.ids
    }

    /// The id of the consumer at `idx` (`0..size()`), `None` out of range.
    pub fn consumer_id_by_idx(&self, idx: usize) -> Option<u64> {
        self.ids.get(idx).copied()
    }

    /// How many elements wait in the queue of consumer `id` (0 for an unknown id); a
    /// larger value than the others hints at a slow consumer.
    pub fn queue_size(&self, id: u64) -> usize {
        (self.queue_len)(id)
    }

    /// Number of attached consumers (never 0 when the partitioner is called).
    pub fn size(&self) -> usize {
        self.ids.len()
    }
}

/// A stateful partitioner: consumer info and element in, the chosen consumer id out
/// (`None` drops the element), or why no consumer could be chosen.
type Partitioner<T> =
    Box<dyn FnMut(&ConsumerInfo<'_>, &T) -> Result<Option<u64>, StreamError> + Send>;

struct Consumer<T> {
    queue: VecDeque<T>,
    waker: Option<Waker>,
}

struct HubState<T> {
    /// Attached consumer ids, ascending.
    ids: Vec<u64>,
    consumers: HashMap<u64, Consumer<T>>,
    /// Elements that arrived before the hub started or while no consumer was attached.
    pending: Vec<T>,
    /// Elements in all consumer queues.
    queued: usize,
    started: bool,
    next_id: u64,
    /// Upstream completed: consumers complete once their queue is drained.
    completed: bool,
    /// The hub failed: every consumer fails at once (queued elements are skipped).
    failure: Option<StreamError>,
    producer: Option<Waker>,
    /// `None` only while [`HubState::publish`] runs it.
    partitioner: Option<Partitioner<T>>,
}

impl<T> HubState<T> {
    fn held(&self) -> usize {
        self.queued + self.pending.len()
    }

    fn wake_consumer(&mut self, id: u64) {
        if let Some(w) = self.consumers.get_mut(&id).and_then(|c| c.waker.take()) {
            w.wake();
        }
    }

    fn wake_all(&mut self) {
        for c in self.consumers.values_mut() {
            if let Some(w) = c.waker.take() {
                w.wake();
            }
        }
        if let Some(w) = self.producer.take() {
            w.wake();
        }
    }

    fn wake_producer(&mut self) {
        if let Some(w) = self.producer.take() {
            w.wake();
        }
    }

    /// Routes the elements held back while the hub had not started or had no consumer,
    /// once it can; a routing failure fails the hub.
    fn flush_pending(&mut self) {
        if !self.started || self.ids.is_empty() || self.pending.is_empty() {
            return;
        }
        for x in std::mem::take(&mut self.pending) {
            if let Err(e) = self.publish(x) {
                self.fail(e);
                return;
            }
        }
    }

    /// Routes `x` to the consumer the partitioner picks; held back while the hub has not
    /// started or no consumer is attached.
    fn publish(&mut self, x: T) -> Result<(), StreamError> {
        if !self.started || self.ids.is_empty() {
            self.pending.push(x);
            return Ok(());
        }
        let Some(mut partitioner) = self.partitioner.take() else {
            return Err(StreamError::msg("PartitionHub: partitioner re-entered"));
        };
        let consumers = &self.consumers;
        let queue_len = |id: u64| consumers.get(&id).map_or(0, |c| c.queue.len());
        let info = ConsumerInfo {
            ids: &self.ids,
            queue_len: &queue_len,
        };
        let chosen = partitioner(&info, &x);
        self.partitioner = Some(partitioner);
        let Some(id) = chosen? else {
            return Ok(()); // dropped by the partitioner
        };
        let Some(c) = self.consumers.get_mut(&id) else {
            return Err(StreamError::msg(format!(
                "PartitionHub: partitioner chose consumer id {id}, which is not attached (attached: {:?})",
                self.ids
            )));
        };
        c.queue.push_back(x);
        self.queued += 1;
        self.wake_consumer(id);
        Ok(())
    }

    fn fail(&mut self, e: StreamError) {
        if self.failure.is_none() && !self.completed {
            self.failure = Some(e);
        }
        self.wake_all();
    }
}

/// Routes each element to one of a dynamic set of consumers (Pekko `PartitionHub`).
pub struct PartitionHub;

impl PartitionHub {
    /// A sink materializing a reusable [`Source`]; every materialization of that source is
    /// a consumer. `partitioner(size, &x)` picks the index (`0..size`) of the consumer,
    /// ordered oldest first, that gets `x`; `None` drops it (Pekko's `-1`). An index out of
    /// range fails the hub. Nothing is routed before `start_after_nr_of_consumers`
    /// consumers have attached (elements are held in the buffer meanwhile; with 0 the hub
    /// starts with the first consumer and may fill its buffer before). `buffer_size` is the
    /// total number of elements the hub holds for all consumers; when it is full the hub
    /// back-pressures. Completion reaches each consumer after its queued elements; a failure
    /// reaches every consumer at once; consumers attaching after the end see the same end.
    /// A consumer that cancels is removed together with its queued elements.
    pub fn sink<T, F>(
        partitioner: F,
        start_after_nr_of_consumers: usize,
        buffer_size: usize,
    ) -> Sink<T, Source<T, ()>>
    where
        T: Send + 'static,
        F: Fn(usize, &T) -> Option<usize> + Send + Sync + 'static,
    {
        let partitioner = Arc::new(partitioner);
        hub_sink(
            move || {
                let p = partitioner.clone();
                Box::new(
                    move |info: &ConsumerInfo<'_>, x: &T| match p(info.size(), x) {
                        None => Ok(None),
                        Some(i) => info.consumer_id_by_idx(i).map(Some).ok_or_else(|| {
                            StreamError::msg(format!(
                                "PartitionHub: partitioner chose index {i} of {} consumers",
                                info.size()
                            ))
                        }),
                    },
                )
            },
            start_after_nr_of_consumers,
            buffer_size,
        )
    }

    /// Like [`PartitionHub::sink`] with a partitioner that keeps state (round robin, sticky
    /// sessions, least loaded): `create` is called once per materialization of the hub and
    /// the function it returns gets the [`ConsumerInfo`] and the element and returns the id
    /// of the consumer to route to (`None` drops the element). Choosing an id that is not
    /// attached fails the hub.
    pub fn stateful_sink<T, C, P>(
        create: C,
        start_after_nr_of_consumers: usize,
        buffer_size: usize,
    ) -> Sink<T, Source<T, ()>>
    where
        T: Send + 'static,
        C: Fn() -> P + Send + Sync + 'static,
        P: FnMut(&ConsumerInfo<'_>, &T) -> Option<u64> + Send + 'static,
    {
        hub_sink(
            move || {
                let mut chosen = create();
                Box::new(move |info: &ConsumerInfo<'_>, x: &T| Ok(chosen(info, x)))
            },
            start_after_nr_of_consumers,
            buffer_size,
        )
    }
}

/// The hub: `create` makes the partitioner of each materialization.
fn hub_sink<T, C>(create: C, start_after: usize, buffer_size: usize) -> Sink<T, Source<T, ()>>
where
    T: Send + 'static,
    C: Fn() -> Partitioner<T> + Send + Sync + 'static,
{
    let buffer_size = buffer_size.max(1);
    Sink::from_materializer(move |up: Elems<T>, _| {
        let state = Arc::new(Mutex::new(HubState {
            ids: Vec::new(),
            consumers: HashMap::new(),
            pending: Vec::new(),
            queued: 0,
            started: false,
            next_id: 0,
            completed: false,
            failure: None,
            producer: None,
            partitioner: Some(create()),
        }));
        let source = consumer_source(state.clone(), start_after);
        let drive = drive(up, state, start_after, buffer_size);
        (source, Box::pin(drive) as BoxFuture<'static, ()>)
    })
}

/// Marks the hub failed if its driver is dropped before the upstream ended.
struct AbortOnDrop<T>(Arc<Mutex<HubState<T>>>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        if !st.completed && st.failure.is_none() {
            st.fail(StreamError::AbruptTermination(
                "the PartitionHub's upstream stage stopped",
            ));
        }
    }
}

async fn drive<T: Send + 'static>(
    mut up: Elems<T>,
    state: Arc<Mutex<HubState<T>>>,
    start_after: usize,
    buffer_size: usize,
) {
    let _guard = AbortOnDrop(state.clone());
    loop {
        // wait for room (and, with start_after > 0, for the hub to start)
        poll_fn(|cx| {
            let mut st = state.lock();
            if st.failure.is_some() || ((st.started || start_after == 0) && st.held() < buffer_size)
            {
                Poll::Ready(())
            } else {
                st.producer = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        if state.lock().failure.is_some() {
            return;
        }
        let next = up.next().await;
        let mut st = state.lock();
        match next {
            Some(Ok(x)) => {
                if let Err(e) = st.publish(x) {
                    st.fail(e);
                    return;
                }
            }
            Some(Err(e)) => {
                st.fail(e);
                return;
            }
            None => {
                st.completed = true;
                st.wake_all();
                return;
            }
        }
    }
}

fn consumer_source<T: Send + 'static>(
    state: Arc<Mutex<HubState<T>>>,
    start_after: usize,
) -> Source<T, ()> {
    Source::from_materializer(move |_| {
        let mut st = state.lock();
        let id = st.next_id;
        st.next_id += 1;
        if st.failure.is_none() && !st.completed {
            st.ids.push(id);
            st.consumers.insert(
                id,
                Consumer {
                    queue: VecDeque::new(),
                    waker: None,
                },
            );
            if st.ids.len() >= start_after {
                st.started = true;
            }
            st.flush_pending();
            st.wake_producer();
        }
        let consumer = HubConsumer {
            state: state.clone(),
            id,
            done: false,
        };
        (Box::pin(consumer) as Elems<T>, ())
    })
}

/// One consumer of the hub: a stream over its queue.
struct HubConsumer<T> {
    state: Arc<Mutex<HubState<T>>>,
    id: u64,
    done: bool,
}

impl<T> Stream for HubConsumer<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let id = self.id;
        let mut st = self.state.lock();
        if let Some(e) = st.failure.clone() {
            drop(st);
            self.done = true;
            return Poll::Ready(Some(Err(e)));
        }
        let completed = st.completed;
        let mut popped = None;
        if let Some(c) = st.consumers.get_mut(&id) {
            match c.queue.pop_front() {
                Some(x) => popped = Some(x),
                None if !completed => {
                    c.waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                None => {}
            }
        }
        match popped {
            Some(x) => {
                st.queued -= 1;
                st.wake_producer();
                Poll::Ready(Some(Ok(x)))
            }
            None => {
                // completed (or attached after the end)
                drop(st);
                self.done = true;
                Poll::Ready(None)
            }
        }
    }
}

impl<T> Drop for HubConsumer<T> {
    fn drop(&mut self) {
        let mut st = self.state.lock();
        if let Some(c) = st.consumers.remove(&self.id) {
            st.queued -= c.queue.len();
            st.ids.retain(|i| *i != self.id);
            st.wake_producer();
        }
    }
}
