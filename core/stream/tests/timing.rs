//! Timing operators under tokio's paused clock: time only advances when every task is
//! idle, so these tests are deterministic and take no wall-clock time.

use std::time::Duration;

use rekko_stream::prelude::*;
use rekko_stream::testkit::{Probe, Signal};
use rekko_stream::TimeoutKind;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn tick_emits_at_interval_and_drops_ticks_without_demand() {
    let start = Instant::now();
    let (s, cancel) = Source::tick(100 * MS, 50 * MS, "t").into_stream_mat();
    let mut p = Probe::new(s);
    p.request_next().await.element();
    assert_eq!(start.elapsed(), 100 * MS);
    p.request_next().await.element();
    assert_eq!(start.elapsed(), 150 * MS);
    // no demand for 120 ms: the ticks at 200 and 250 are dropped
    tokio::time::sleep(120 * MS).await;
    p.request_next().await.element();
    assert_eq!(start.elapsed(), 300 * MS);
    cancel.cancel();
    assert!(matches!(p.request_next().await, Signal::Complete));
}

#[tokio::test(start_paused = true)]
async fn throttle_shapes_to_rate_with_burst() {
    let start = Instant::now();
    let mut times = Vec::new();
    let mut p = Probe::of(Source::iter(0..6).throttle(1, 100 * MS, 2, ThrottleMode::Shaping));
    for _ in 0..6 {
        p.request_next().await.element();
        times.push(start.elapsed().as_millis());
    }
    // bucket starts full with 2 tokens, then one token per 100 ms
    assert_eq!(times, vec![0, 0, 100, 200, 300, 400]);
    assert!(matches!(p.request_next().await, Signal::Complete));
}

#[tokio::test(start_paused = true)]
async fn throttle_enforcing_fails_on_excess() {
    let mut p = Probe::of(Source::iter(0..5).throttle(1, 100 * MS, 1, ThrottleMode::Enforcing));
    assert_eq!(p.request_next().await.element(), 0);
    assert!(matches!(
        p.request_next().await,
        Signal::Error(StreamError::RateExceeded)
    ));
}

#[tokio::test(start_paused = true)]
async fn delay_shifts_each_element() {
    let start = Instant::now();
    let mut p =
        Probe::of(Source::iter(vec![1, 2]).delay(200 * MS, DelayOverflowStrategy::Backpressure));
    assert_eq!(p.request_next().await.element(), 1);
    assert_eq!(start.elapsed(), 200 * MS);
    assert_eq!(p.request_next().await.element(), 2);
    assert_eq!(start.elapsed(), 200 * MS, "both were pulled at t=0");
    assert!(matches!(p.request_next().await, Signal::Complete));
}

#[tokio::test(start_paused = true)]
async fn delay_emit_early_when_full() {
    let s = Source::iter(0..20)
        .delay(Duration::from_secs(10), DelayOverflowStrategy::EmitEarly)
        .with_attributes(Attributes::input_buffer(4));
    let start = Instant::now();
    let mut p = Probe::of(s);
    assert_eq!(p.request_next().await.element(), 0);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "emitted early because the buffer was full"
    );
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_fails_after_inactivity() {
    let start = Instant::now();
    let mut p = Probe::of(
        Source::single(1)
            .concat(Source::never())
            .idle_timeout(300 * MS),
    );
    assert_eq!(p.request_next().await.element(), 1);
    match p.request_next().await {
        Signal::Error(StreamError::Timeout {
            kind: TimeoutKind::Idle,
            ..
        }) => {}
        other => panic!("expected idle timeout, got {other:?}"),
    }
    assert_eq!(start.elapsed(), 300 * MS);
}

#[tokio::test(start_paused = true)]
async fn completion_timeout_fails_a_long_stream_but_not_a_short_one() {
    let mut p = Probe::of(Source::tick(Duration::ZERO, 100 * MS, 1).completion_timeout(250 * MS));
    let (xs, end) = p.to_end().await;
    assert_eq!(xs.len(), 3);
    assert!(matches!(
        end,
        Signal::Error(StreamError::Timeout {
            kind: TimeoutKind::Completion,
            ..
        })
    ));
    let mut ok = Probe::of(Source::iter(1..=3).completion_timeout(250 * MS));
    assert!(matches!(ok.to_end().await.1, Signal::Complete));
}

#[tokio::test(start_paused = true)]
async fn initial_timeout_only_guards_the_first_element() {
    let mut p = Probe::of(Source::<i32>::never().initial_timeout(100 * MS));
    assert!(matches!(
        p.request_next().await,
        Signal::Error(StreamError::Timeout {
            kind: TimeoutKind::Initial,
            ..
        })
    ));
    let slow_after_first = Source::single(1)
        .concat(Source::tick(Duration::from_secs(1), Duration::from_secs(1), 2).take(1));
    let mut p = Probe::of(slow_after_first.initial_timeout(100 * MS));
    assert_eq!(p.to_end().await.0, vec![1, 2]);
}

#[tokio::test(start_paused = true)]
async fn keep_alive_injects_when_idle() {
    let start = Instant::now();
    let mut p = Probe::of(Source::<i32>::never().keep_alive(100 * MS, || 0));
    assert_eq!(p.request_next().await.element(), 0);
    assert_eq!(start.elapsed(), 100 * MS);
    assert_eq!(p.request_next().await.element(), 0);
    assert_eq!(start.elapsed(), 200 * MS);
}

#[tokio::test(start_paused = true)]
async fn grouped_within_emits_by_size_or_time_never_empty() {
    let (s, q) = Source::<i32, _>::queue(16, OverflowStrategy::Backpressure)
        .grouped_within(3, 100 * MS)
        .into_stream_mat();
    let mut p = Probe::new(s);
    for i in 1..=4 {
        q.offer(i);
    }
    assert_eq!(p.request_next().await.element(), vec![1, 2, 3]);
    let start = Instant::now();
    assert_eq!(p.request_next().await.element(), vec![4]);
    assert!(start.elapsed() <= 100 * MS);
    // nothing arrives: no empty groups, just silence
    assert!(matches!(
        p.request_next_within(Duration::from_secs(1)).await,
        Signal::Nothing
    ));
    q.offer(5);
    q.complete();
    assert_eq!(p.request_next().await.element(), vec![5]);
    assert!(matches!(p.request_next().await, Signal::Complete));
}

#[tokio::test(start_paused = true)]
async fn conflate_under_slow_consumer_keeps_latest_sum() {
    let src = Source::tick(Duration::ZERO, 10 * MS, 1)
        .take(50)
        .conflate(|a, b| a + b);
    let out = src
        .map_async(1, |x| async move {
            tokio::time::sleep(Duration::from_millis(95)).await;
            x
        })
        .run_with(Sink::seq())
        .await
        .unwrap();
    assert_eq!(out.iter().sum::<i32>(), 50, "nothing lost: {out:?}");
    assert!(out.len() < 15, "aggregated: {out:?}");
}

#[tokio::test(start_paused = true)]
async fn source_queue_backpressure_offer_waits_for_room() {
    let (s, q) = Source::<i32, _>::queue(2, OverflowStrategy::Backpressure).into_stream_mat();
    let mut p = Probe::new(s);
    assert!(matches!(q.offer(1), QueueOfferResult::Enqueued));
    assert!(matches!(q.offer(2), QueueOfferResult::Enqueued));
    assert!(
        matches!(q.offer(3), QueueOfferResult::Dropped),
        "sync offer on a full back-pressured queue"
    );
    let q2 = q.clone();
    let waiting = tokio::spawn(async move { q2.offer_async(3).await });
    tokio::time::sleep(10 * MS).await;
    assert!(!waiting.is_finished());
    assert_eq!(p.request_next().await.element(), 1);
    assert!(matches!(waiting.await.unwrap(), QueueOfferResult::Enqueued));
    q.complete();
    assert_eq!(p.to_end().await.0, vec![2, 3]);
    assert!(q.watch_completion().await.is_ok());
    assert!(matches!(q.offer(9), QueueOfferResult::QueueClosed));
}

#[tokio::test(start_paused = true)]
async fn substreams_with_timers_are_woken() {
    let start = Instant::now();
    let s = Source::iter(0..10)
        .group_by(2, |x| x % 2)
        .delay(100 * MS, DelayOverflowStrategy::Backpressure)
        .merge_substreams();
    let mut out = s.run_with(Sink::seq()).await.unwrap();
    out.sort();
    assert_eq!(out, (0..10).collect::<Vec<_>>());
    assert!(start.elapsed() >= 100 * MS);
    let s = Source::iter(0..6)
        .split_after(|x| x % 3 == 2)
        .grouped_within(10, 50 * MS)
        .concat_substreams();
    assert_eq!(
        s.run_with(Sink::seq()).await.unwrap(),
        vec![vec![0, 1, 2], vec![3, 4, 5]]
    );
}

#[tokio::test(start_paused = true)]
async fn restart_source_restarts_with_exponential_backoff() {
    let start = Instant::now();
    // the restart count resets when no restart was scheduled for `max_restarts_within`
    // (default: min_backoff, as in Pekko); a long window lets the back-off grow
    let settings = RestartSettings::new(100 * MS, Duration::from_secs(10), 0.0)
        .with_max_restarts(100, Duration::from_secs(60));
    let s = RestartSource::with_backoff(settings, || Source::iter(vec![1, 2]));
    let mut p = Probe::of(s);
    let mut times = Vec::new();
    for _ in 0..6 {
        p.request_next().await.element();
        times.push(start.elapsed().as_millis());
    }
    // restart 1 after 100 ms, restart 2 after 200 ms more
    assert_eq!(times, vec![0, 0, 100, 100, 300, 300]);
    // with the default window the count resets after each back-off of min_backoff
    let s = RestartSource::with_backoff(
        RestartSettings::new(100 * MS, Duration::from_secs(10), 0.0),
        || Source::single(1),
    );
    let start = Instant::now();
    let mut p = Probe::of(s);
    for _ in 0..3 {
        p.request_next().await.element();
    }
    assert_eq!(start.elapsed(), 200 * MS);
}

#[tokio::test(start_paused = true)]
async fn restart_source_on_failures_completes_normally_and_gives_up_after_max() {
    let settings = RestartSettings::new(10 * MS, Duration::from_secs(1), 0.2);
    let s = RestartSource::on_failures_with_backoff(settings, || Source::iter(vec![1, 2]));
    assert_eq!(s.run_with(Sink::seq()).await.unwrap(), vec![1, 2]);
    let failing = || Source::single(7).concat(Source::failed(StreamError::msg("down")));
    let settings = RestartSettings::new(10 * MS, Duration::from_secs(1), 0.0)
        .with_max_restarts(2, Duration::from_secs(60));
    let mut p = Probe::of(RestartSource::on_failures_with_backoff(settings, failing));
    let (xs, end) = p.to_end().await;
    assert_eq!(xs, vec![7, 7, 7], "first run plus two restarts");
    assert!(
        matches!(end, Signal::Error(StreamError::Message(_))),
        "{end:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn take_within_initial_delay_and_limit() {
    let start = Instant::now();
    let out = Source::tick(Duration::ZERO, 100 * MS, 1)
        .take_within(250 * MS)
        .run_with(Sink::seq())
        .await
        .unwrap();
    assert_eq!(out.len(), 3, "ticks at 0, 100, 200");
    assert_eq!(start.elapsed(), 250 * MS);
    let start = Instant::now();
    let mut p = Probe::of(Source::iter(1..=2).initial_delay(300 * MS));
    assert_eq!(p.request_next().await.element(), 1);
    assert_eq!(start.elapsed(), 300 * MS);
    assert_eq!(p.request_next().await.element(), 2);
    assert_eq!(start.elapsed(), 300 * MS);
    assert_eq!(
        Source::iter(1..=3)
            .limit(3)
            .run_with(Sink::seq())
            .await
            .unwrap(),
        vec![1, 2, 3]
    );
    let r = Source::iter(1..=4).limit(3).run_with(Sink::seq()).await;
    assert!(matches!(r, Err(StreamError::LimitReached { limit: 3 })));
}

#[tokio::test(start_paused = true)]
async fn restart_sink_restarts_the_wrapped_sink_without_losing_elements() {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(usize, i32)>>> = Arc::default();
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let settings = RestartSettings::new(100 * MS, Duration::from_secs(10), 0.0)
        .with_max_restarts(100, Duration::from_secs(60));
    let (seen2, runs2) = (seen.clone(), runs.clone());
    // every wrapped sink takes two elements, then cancels
    let sink = RestartSink::with_backoff(settings, move || {
        let run = runs2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let seen = seen2.clone();
        Flow::new().take(2).to(Sink::for_each(move |x: i32| {
            seen.lock().unwrap().push((run, x))
        }))
    });
    let start = Instant::now();
    let done = Source::iter(0..7)
        .via_mat(Flow::watch_termination(), Keep::right)
        .to_mat(sink, Keep::left)
        .run();
    done.await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(0, 0), (0, 1), (1, 2), (1, 3), (2, 4), (2, 5), (3, 6)]
    );
    // back-off 100 ms, then 200, then 400
    assert_eq!(start.elapsed(), 700 * MS);
}

#[tokio::test(start_paused = true)]
async fn restart_sink_cancels_upstream_at_the_restart_limit() {
    let settings = RestartSettings::new(10 * MS, Duration::from_secs(1), 0.0)
        .with_max_restarts(1, Duration::from_secs(60));
    let sink = RestartSink::with_backoff(settings, || Flow::new().take(2).to(Sink::ignore()));
    let (stats, done) =
        rekko_stream::testkit::ProbeSource::of((0..100).collect::<Vec<i32>>(), false)
            .via_mat(Flow::watch_termination(), Keep::both)
            .to_mat(sink, Keep::left)
            .run();
    done.await.unwrap();
    assert_eq!(
        stats.pulled(),
        4,
        "the first sink and one restart took two each"
    );
    assert!(stats.cancelled());
}

#[tokio::test(start_paused = true)]
async fn restart_flow_restarts_the_wrapped_flow() {
    let settings = RestartSettings::new(100 * MS, Duration::from_secs(10), 0.0)
        .with_max_restarts(100, Duration::from_secs(60));
    // each wrapped flow passes two elements, then completes: nothing is lost between flows
    let flow = RestartFlow::with_backoff(settings, || Flow::<i32, i32, ()>::new().take(2));
    let start = Instant::now();
    let got = Source::iter(0..7)
        .via(flow)
        .run_with(Sink::seq())
        .await
        .unwrap();
    assert_eq!(got, (0..7).collect::<Vec<_>>());
    assert_eq!(start.elapsed(), 700 * MS, "back-off 100, 200 and 400 ms");

    // only on failures: the element that failed the flow is lost, completion completes
    let settings = RestartSettings::new(10 * MS, Duration::from_secs(1), 0.0);
    let flow = RestartFlow::on_failures_with_backoff(settings, || {
        Flow::<i32, i32, ()>::new().try_map(|x| {
            if x == 3 {
                Err(StreamError::msg("three"))
            } else {
                Ok(x)
            }
        })
    });
    let got = Source::iter(0..7)
        .via(flow)
        .run_with(Sink::seq())
        .await
        .unwrap();
    assert_eq!(got, vec![0, 1, 2, 4, 5, 6]);

    // at the restart limit the failure is passed on and upstream cancelled
    let settings = RestartSettings::new(10 * MS, Duration::from_secs(1), 0.0)
        .with_max_restarts(1, Duration::from_secs(60));
    let flow = RestartFlow::with_backoff(settings, || {
        Flow::<i32, i32, ()>::new().try_map(|_| Err::<i32, _>(StreamError::msg("always")))
    });
    let (stats, out) =
        rekko_stream::testkit::ProbeSource::of((0..100).collect::<Vec<i32>>(), false)
            .via(flow)
            .to_mat(Sink::seq(), Keep::both)
            .run();
    assert_eq!(out.await.unwrap_err().to_string(), "always");
    assert_eq!(
        stats.pulled(),
        2,
        "the first flow and one restart took one each"
    );
    assert!(stats.cancelled());
}
