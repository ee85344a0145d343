//! 100,000 String messages from Rekko to the JVM echo actor and back, sent
//! in windows: every one arrives, in order.

use std::sync::Arc;
use std::time::Duration;

use rekko_interop_tests::{require_jvm, FixtureSpec, HarnessError, JvmNode};
use rekko_remote::{Delivery, RemoteNode, RemoteSettings, SerializedMessage};
use tokio::sync::mpsc;

const ANSWER: Duration = Duration::from_secs(60);
const TOTAL: usize = 100_000;
const WINDOW: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_thousand_messages_round_trip_in_order() -> Result<(), HarnessError> {
    require_jvm!();
    let jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name("artery-bulk")
                .args(["--system", "JvmBulk"]),
        )
    })?;
    let rust = RemoteNode::start(RemoteSettings::new("RekkoBulk", "127.0.0.1", 0))
        .await
        .expect("start Rekko node");
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    rust.register(
        "/user/collector",
        Arc::new(move |_: &RemoteNode, d: Delivery| {
            let _ = tx.send(d.message.as_text().unwrap_or_default());
        }),
    );
    let collector = format!("{}/user/collector", rust.address());
    let echo = format!("{}/user/echo", jvm.address());

    let mut next_expected = 0usize;
    for start in (0..TOTAL).step_by(WINDOW) {
        for i in start..(start + WINDOW).min(TOTAL) {
            rust.tell(
                &echo,
                Some(&collector),
                SerializedMessage::string(&i.to_string()),
            )
            .expect("tell");
        }
        while next_expected < (start + WINDOW).min(TOTAL) {
            let got = tokio::time::timeout(ANSWER, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("reply {next_expected} missing"))
                .expect("collector open");
            assert_eq!(got, next_expected.to_string(), "out of order");
            next_expected += 1;
        }
    }
    assert_eq!(next_expected, TOTAL);

    let report = rust.shutdown().await;
    assert_eq!(report.flush_acked, report.flush_sent);
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}
