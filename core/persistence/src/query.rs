//! Persistence queries (Pekko's `ReadJournal`): events by persistence id, events by tag in
//! `ordering` order, persistence ids; each as a "current" stream that completes and a live
//! stream that keeps polling every `refresh-interval`. Streams are pull-based: a page is read
//! only when the consumer asks for more (back-pressure).
//!
//! Offsets are `Sequence(ordering)` and exclusive: resuming from an event's ordering does not
//! deliver that event again.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};

use crate::journal::Journal;
use crate::model::EventRecord;
use crate::settings::JdbcReadJournalSettings;
use crate::Result;

/// Query settings (from `jdbc-read-journal`).
#[derive(Clone, Debug)]
pub struct QuerySettings {
    /// Pause of live queries once caught up.
    pub refresh_interval: Duration,
    /// Events per page.
    pub max_buffer_size: usize,
    /// Orderings read per gap scan.
    pub sequence_batch_size: usize,
    /// Scans a gap in `ordering` must survive before live tag queries pass it.
    pub sequence_max_tries: usize,
}

impl Default for QuerySettings {
    fn default() -> Self {
        QuerySettings::from(&JdbcReadJournalSettings::default())
    }
}

impl From<&JdbcReadJournalSettings> for QuerySettings {
    fn from(s: &JdbcReadJournalSettings) -> Self {
        QuerySettings {
            refresh_interval: s.refresh_interval,
            max_buffer_size: s.max_buffer_size.max(1),
            sequence_batch_size: s.journal_sequence_retrieval.batch_size.max(1),
            sequence_max_tries: s.journal_sequence_retrieval.max_tries,
        }
    }
}

/// Tracks the highest `ordering` below which no row can still appear (sans-I/O).
///
/// Orderings come from a database sequence: concurrent transactions commit out of order, and
/// rolled-back ones leave permanent holes. Like pekko-persistence-jdbc's journal sequence actor,
/// a hole is only passed once it has been seen in `max_tries` consecutive scans; everything up
/// to the max ordering that existed at start is assumed complete after `max_tries` scans.
#[derive(Clone, Debug)]
pub struct OrderingTracker {
    safe: i64,
    max_tries: usize,
    gap_at: Option<i64>,
    gap_tries: usize,
    scans: usize,
    assume_complete_up_to: i64,
}

impl OrderingTracker {
    /// Starts at `safe` (known complete) with the journal's current max ordering.
    pub fn new(safe: i64, max_ordering_at_start: i64, max_tries: usize) -> Self {
        OrderingTracker {
            safe,
            max_tries,
            gap_at: None,
            gap_tries: 0,
            scans: 0,
            assume_complete_up_to: max_ordering_at_start,
        }
    }

    /// The highest ordering that is safe to read up to.
    pub fn safe(&self) -> i64 {
        self.safe
    }

    /// Where the next scan should start (exclusive).
    pub fn scan_from(&self) -> i64 {
        self.safe
    }

    /// Feeds the ascending orderings found above [`scan_from`](Self::scan_from); returns the
    /// new safe ordering.
    pub fn observe(&mut self, orderings: &[i64]) -> i64 {
        self.scans += 1;
        if self.scans >= self.max_tries && self.assume_complete_up_to > self.safe {
            self.safe = self.assume_complete_up_to;
        }
        for &o in orderings {
            if o <= self.safe {
                continue;
            }
            if o == self.safe + 1 {
                self.safe = o;
                continue;
            }
            // A hole between safe + 1 and o - 1.
            let hole = self.safe + 1;
            if self.gap_at == Some(hole) {
                self.gap_tries += 1;
            } else {
                self.gap_at = Some(hole);
                self.gap_tries = 1;
            }
            if self.gap_tries >= self.max_tries.max(1) {
                self.gap_at = None;
                self.gap_tries = 0;
                self.safe = o;
                continue;
            }
            return self.safe;
        }
        self.gap_at = None;
        self.gap_tries = 0;
        self.safe
    }
}

/// Persistence queries over a journal.
#[derive(Clone)]
pub struct ReadJournal {
    journal: Arc<dyn Journal>,
    settings: QuerySettings,
}

struct PageState {
    buffer: VecDeque<EventRecord>,
    next: i64,
    done: bool,
    first: bool,
}

impl ReadJournal {
    /// Queries over `journal`.
    pub fn new(journal: Arc<dyn Journal>, settings: QuerySettings) -> Self {
        ReadJournal { journal, settings }
    }

    /// The journal queried.
    pub fn journal(&self) -> &Arc<dyn Journal> {
        &self.journal
    }

    /// The settings.
    pub fn settings(&self) -> &QuerySettings {
        &self.settings
    }

    /// Events of one entity with `from <= seq <= to` that exist now, then completes.
    pub fn current_events_by_persistence_id(
        &self,
        persistence_id: &str,
        from_sequence_nr: i64,
        to_sequence_nr: i64,
    ) -> BoxStream<'static, Result<EventRecord>> {
        self.by_pid(persistence_id, from_sequence_nr, to_sequence_nr, false)
    }

    /// Events of one entity with `from <= seq <= to`, then new ones as they are written.
    pub fn events_by_persistence_id(
        &self,
        persistence_id: &str,
        from_sequence_nr: i64,
        to_sequence_nr: i64,
    ) -> BoxStream<'static, Result<EventRecord>> {
        self.by_pid(persistence_id, from_sequence_nr, to_sequence_nr, true)
    }

    /// Replays an entity for recovery: pages of `replayBatchSize`, at most `max` events.
    pub fn replay(
        journal: Arc<dyn Journal>,
        persistence_id: &str,
        from_sequence_nr: i64,
        to_sequence_nr: i64,
        max: u64,
        batch_size: usize,
    ) -> BoxStream<'static, Result<EventRecord>> {
        let rj = ReadJournal::new(
            journal,
            QuerySettings {
                max_buffer_size: batch_size.max(1),
                ..QuerySettings::default()
            },
        );
        rj.by_pid(persistence_id, from_sequence_nr, to_sequence_nr, false)
            .take(usize::try_from(max).unwrap_or(usize::MAX))
            .boxed()
    }

    fn by_pid(
        &self,
        persistence_id: &str,
        from: i64,
        to: i64,
        live: bool,
    ) -> BoxStream<'static, Result<EventRecord>> {
        let journal = self.journal.clone();
        let pid = persistence_id.to_string();
        let page = self.settings.max_buffer_size;
        let refresh = self.settings.refresh_interval;
        let state = PageState {
            buffer: VecDeque::new(),
            next: from.max(1),
            done: false,
            first: true,
        };
        stream::unfold(state, move |mut st| {
            let journal = journal.clone();
            let pid = pid.clone();
            async move {
                loop {
                    if let Some(e) = st.buffer.pop_front() {
                        return Some((Ok(e), st));
                    }
                    if st.done || st.next > to {
                        return None;
                    }
                    if !st.first && live {
                        tokio::time::sleep(refresh).await;
                    }
                    st.first = false;
                    match journal.read_events(&pid, st.next, to, page).await {
                        Err(e) => {
                            st.done = true;
                            return Some((Err(e), st));
                        }
                        Ok(rows) => {
                            let full = rows.len() >= page;
                            if let Some(last) = rows.last() {
                                st.next = last.repr.sequence_nr + 1;
                            }
                            st.buffer.extend(rows);
                            if full {
                                st.first = true; // read the next page without waiting
                            } else if !live {
                                st.done = true;
                            }
                        }
                    }
                }
            }
        })
        .boxed()
    }

    /// Events tagged `tag` after `offset` (an ordering; 0 = from the start) that exist now,
    /// in `ordering` order, then completes.
    pub fn current_events_by_tag(
        &self,
        tag: &str,
        offset: i64,
    ) -> BoxStream<'static, Result<EventRecord>> {
        self.by_tag(tag, offset, false)
    }

    /// Events tagged `tag` after `offset`, in `ordering` order, then new ones as they commit.
    pub fn events_by_tag(&self, tag: &str, offset: i64) -> BoxStream<'static, Result<EventRecord>> {
        self.by_tag(tag, offset, true)
    }

    fn by_tag(
        &self,
        tag: &str,
        offset: i64,
        live: bool,
    ) -> BoxStream<'static, Result<EventRecord>> {
        struct TagState {
            buffer: VecDeque<EventRecord>,
            offset: i64,
            upper: Option<i64>,
            tracker: Option<OrderingTracker>,
            done: bool,
            wait: bool,
        }
        let journal = self.journal.clone();
        let tag = tag.to_string();
        let s = self.settings.clone();
        let state = TagState {
            buffer: VecDeque::new(),
            offset: offset.max(0),
            upper: None,
            tracker: None,
            done: false,
            wait: false,
        };
        stream::unfold(state, move |mut st| {
            let journal = journal.clone();
            let tag = tag.clone();
            let s = s.clone();
            async move {
                loop {
                    if let Some(e) = st.buffer.pop_front() {
                        return Some((Ok(e), st));
                    }
                    if st.done {
                        return None;
                    }
                    if st.wait {
                        tokio::time::sleep(s.refresh_interval).await;
                        st.wait = false;
                    }
                    let result: Result<(i64, Vec<EventRecord>)> = async {
                        let up_to = if live {
                            if st.tracker.is_none() {
                                let max = journal.max_ordering().await?;
                                st.tracker =
                                    Some(OrderingTracker::new(0, max, s.sequence_max_tries));
                            }
                            let tracker = st.tracker.as_mut().expect("tracker set above");
                            loop {
                                let found = journal
                                    .orderings_after(tracker.scan_from(), s.sequence_batch_size)
                                    .await?;
                                let before = tracker.safe();
                                let full = found.len() >= s.sequence_batch_size;
                                tracker.observe(&found);
                                if !(full && tracker.safe() > before) {
                                    break;
                                }
                            }
                            tracker.safe()
                        } else {
                            match st.upper {
                                Some(u) => u,
                                None => {
                                    let u = journal.max_ordering().await?;
                                    st.upper = Some(u);
                                    u
                                }
                            }
                        };
                        let rows = journal
                            .read_tagged(&tag, st.offset, up_to, s.max_buffer_size)
                            .await?;
                        Ok((up_to, rows))
                    }
                    .await;
                    match result {
                        Err(e) => {
                            st.done = true;
                            return Some((Err(e), st));
                        }
                        Ok((up_to, rows)) => {
                            let full = rows.len() >= s.max_buffer_size;
                            match rows.last() {
                                Some(last) => st.offset = last.ordering,
                                None => st.offset = st.offset.max(up_to),
                            }
                            if !full && !rows.is_empty() {
                                // Everything tagged up to `up_to` has been read.
                                st.offset = st.offset.max(up_to);
                            }
                            st.buffer.extend(rows);
                            if !full {
                                if live {
                                    st.wait = true;
                                } else {
                                    st.done = true;
                                }
                            }
                        }
                    }
                }
            }
        })
        .boxed()
    }

    /// Persistence ids with events now, then completes (order undefined, as in the JVM).
    pub fn current_persistence_ids(&self) -> BoxStream<'static, Result<String>> {
        let journal = self.journal.clone();
        stream::once(async move { journal.persistence_ids().await })
            .flat_map(|r| match r {
                Ok(ids) => stream::iter(ids.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(e) => stream::iter(vec![Err(e)]),
            })
            .boxed()
    }

    /// Persistence ids with events, then each new id as it appears.
    pub fn persistence_ids(&self) -> BoxStream<'static, Result<String>> {
        struct IdState {
            seen: HashSet<String>,
            buffer: VecDeque<String>,
            first: bool,
            done: bool,
        }
        let journal = self.journal.clone();
        let refresh = self.settings.refresh_interval;
        let st = IdState {
            seen: HashSet::new(),
            buffer: VecDeque::new(),
            first: true,
            done: false,
        };
        stream::unfold(st, move |mut st| {
            let journal = journal.clone();
            async move {
                loop {
                    if let Some(id) = st.buffer.pop_front() {
                        return Some((Ok(id), st));
                    }
                    if st.done {
                        return None;
                    }
                    if !st.first {
                        tokio::time::sleep(refresh).await;
                    }
                    st.first = false;
                    match journal.persistence_ids().await {
                        Err(e) => {
                            st.done = true;
                            return Some((Err(e), st));
                        }
                        Ok(ids) => {
                            for id in ids {
                                if st.seen.insert(id.clone()) {
                                    st.buffer.push_back(id);
                                }
                            }
                        }
                    }
                }
            }
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_orderings_advance() {
        let mut t = OrderingTracker::new(0, 0, 3);
        assert_eq!(t.observe(&[1, 2, 3]), 3);
        assert_eq!(t.observe(&[4]), 4);
    }

    #[test]
    fn a_gap_holds_until_it_survived_max_tries_scans() {
        let mut t = OrderingTracker::new(0, 0, 3);
        assert_eq!(t.observe(&[1, 2, 4, 5]), 2);
        assert_eq!(t.observe(&[4, 5]), 2);
        // The late transaction commits: the gap closes.
        assert_eq!(t.observe(&[3, 4, 5]), 5);
        // A permanent gap is passed on the third scan.
        assert_eq!(t.observe(&[7]), 5);
        assert_eq!(t.observe(&[7]), 5);
        assert_eq!(t.observe(&[7]), 7);
    }

    #[test]
    fn history_up_to_the_start_max_is_assumed_complete_after_max_tries() {
        let mut t = OrderingTracker::new(0, 10, 2);
        assert_eq!(t.observe(&[1, 5, 10]), 1);
        assert_eq!(t.observe(&[5, 10]), 10);
    }
}
