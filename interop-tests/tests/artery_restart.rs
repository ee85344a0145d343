//! A JVM node restarts on the same port with a new uid: the Rekko node
//! re-handshakes with the new incarnation and every message sent after the
//! restart arrives.

use std::time::Duration;

use rekko_interop_tests::{free_port, require_jvm, FixtureSpec, HarnessError, JvmNode};
use rekko_remote::{RemoteNode, RemoteSettings};

const ANSWER: Duration = Duration::from_secs(30);

fn start_jvm(port: u16, name: &str) -> Result<JvmNode, HarnessError> {
    tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name(name)
                .args(["--system", "JvmRestart", "--port", &port.to_string()]),
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_reaches_a_restarted_jvm() -> Result<(), HarnessError> {
    require_jvm!();
    let port = free_port()?;
    let mut settings = RemoteSettings::new("RekkoRestart", "127.0.0.1", 0);
    settings.outbound_restart_backoff = Duration::from_millis(200);
    let rust = RemoteNode::start(settings).await.expect("start Rekko node");
    rust.register_echo("/user/echo");
    let rust_echo = format!("{}/user/echo", rust.address());

    let mut jvm1 = start_jvm(port, "artery-restart-1")?;
    let jvm_echo = format!("{}/user/echo", jvm1.address());
    let r = rust
        .send_string(&jvm_echo, "before", Some(ANSWER))
        .await
        .expect("ask")
        .expect("reply");
    assert_eq!(r.message.as_text().as_deref(), Some("before"));
    let address: rekko_remote::Address = jvm1.address().parse().expect("address");
    let uid1 = rust.peer_uid(&address).expect("uid of the first JVM");
    tokio::task::block_in_place(|| jvm1.kill())?;

    let mut jvm2 = start_jvm(port, "artery-restart-2")?;
    assert_eq!(jvm2.address(), address.to_string());
    for i in 0..10 {
        let text = format!("after restart {i}");
        let r = rust
            .send_string(&jvm_echo, &text, Some(ANSWER))
            .await
            .expect("ask after restart")
            .expect("reply");
        assert_eq!(r.message.as_text(), Some(text));
    }
    let uid2 = rust.peer_uid(&address).expect("uid of the second JVM");
    assert_ne!(uid1, uid2);

    let answer =
        tokio::task::block_in_place(|| jvm2.request(&format!("send {rust_echo} hi"), ANSWER))?;
    assert_eq!(answer, "REPLY hi");

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm2.quit(ANSWER))?;
    Ok(())
}
