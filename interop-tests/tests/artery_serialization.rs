//! User-message serialization between Rekko and a real JVM Pekko `EchoNode`:
//! String, ByteString, Long, Int, a protobuf message (id 2), a Jackson JSON
//! message (id 31) and a Jackson CBOR message (id 33), each defined on both
//! sides (`org.rekko.fixtures.WireTypes` on the JVM), asked and told in both
//! directions. An unknown serializer id or manifest drops that message on
//! either side and the association keeps working.

use std::fmt::Debug;
use std::time::Duration;

use rekko_interop_tests::{
    init_test_logs, require_jvm, FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};
use rekko_remote::{
    jackson_cbor, jackson_json, protobuf, ByteString, RemoteEvent, RemoteMessage, RemoteNode,
    RemoteSettings, SerializedMessage,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

const ANSWER: Duration = Duration::from_secs(30);

/// `org.rekko.fixtures.WireTypes$Greeting`, bound to Jackson JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Greeting {
    name: String,
    count: i32,
    tags: Vec<String>,
}
jackson_json!(Greeting, "org.rekko.fixtures.WireTypes$Greeting");

/// `org.rekko.fixtures.WireTypes$CborGreeting`, bound to Jackson CBOR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CborGreeting {
    name: String,
    count: i64,
}
jackson_cbor!(CborGreeting, "org.rekko.fixtures.WireTypes$CborGreeting");

/// `org.rekko.fixtures.WireTypes$Point`, bound to protobuf.
#[derive(Clone, PartialEq, prost::Message)]
struct Point {
    #[prost(int32, tag = "1")]
    x: i32,
    #[prost(int32, tag = "2")]
    y: i32,
    #[prost(string, tag = "3")]
    label: String,
}
protobuf!(Point, "org.rekko.fixtures.WireTypes$Point");

fn jvm_request(node: &mut JvmNode, line: &str) -> Result<String, HarnessError> {
    tokio::task::block_in_place(|| node.request(line, ANSWER))
}

/// Registers a typed endpoint that reports each decoded message on `seen`
/// and replies with the same value.
fn typed_echo<M>(node: &RemoteNode, path: &'static str, seen: mpsc::UnboundedSender<String>)
where
    M: RemoteMessage + Debug + Send + 'static,
{
    let me = format!("{}{}", node.address(), path);
    node.register_typed::<M, _>(path, move |n, d, m| {
        let _ = seen.send(format!("{path} {m:?}"));
        if let Some(sender) = &d.sender {
            n.tell_typed(sender, Some(&me), &m).expect("typed reply");
        }
    });
}

async fn ask_jvm<M: RemoteMessage + PartialEq + Debug>(rust: &RemoteNode, jvm_echo: &str, m: M) {
    let back: M = rust.ask_typed(jvm_echo, &m, ANSWER).await.expect("ask");
    assert_eq!(back, m);
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(ANSWER, rx.recv())
        .await
        .expect("a message in time")
        .expect("channel open")
}

async fn typed_both_ways(version: PekkoVersion, system: &str) -> Result<(), HarnessError> {
    init_test_logs();
    let mut jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name(&format!("artery-serialization-{}", version.as_str()))
                .version(version)
                .args(["--system", system]),
        )
    })?;
    let rust = RemoteNode::start(RemoteSettings::new("RekkoSys", "127.0.0.1", 0))
        .await
        .expect("start Rekko node");
    let jvm_echo = format!("{}/user/echo", jvm.address());
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    typed_echo::<String>(&rust, "/user/string", seen_tx.clone());
    typed_echo::<ByteString>(&rust, "/user/bytes", seen_tx.clone());
    typed_echo::<i64>(&rust, "/user/long", seen_tx.clone());
    typed_echo::<i32>(&rust, "/user/int", seen_tx.clone());
    typed_echo::<Greeting>(&rust, "/user/json", seen_tx.clone());
    typed_echo::<CborGreeting>(&rust, "/user/cbor", seen_tx.clone());
    typed_echo::<Point>(&rust, "/user/proto", seen_tx.clone());

    let greeting = Greeting {
        name: "héllo".into(),
        count: -3,
        tags: vec!["x".into(), "ÿ".into()],
    };
    let cbor = CborGreeting {
        name: "cbor ✓".into(),
        count: i64::MAX - 5,
    };
    let point = Point {
        x: 17,
        y: -42,
        label: "p".into(),
    };

    // Rust -> JVM ask: the JVM deserializes into its classes and echoes them.
    ask_jvm(&rust, &jvm_echo, "a string".to_string()).await;
    ask_jvm(&rust, &jvm_echo, ByteString("bytes\0\u{1}".into())).await;
    ask_jvm(&rust, &jvm_echo, -1_234_567_890_123_i64).await;
    ask_jvm(&rust, &jvm_echo, 987_654_i32).await;
    ask_jvm(&rust, &jvm_echo, greeting.clone()).await;
    ask_jvm(&rust, &jvm_echo, cbor.clone()).await;
    ask_jvm(&rust, &jvm_echo, point.clone()).await;

    // Rust -> JVM tell with a Rekko sender: the echo tells the value back
    // to the typed endpoint.
    // (Sinks that do not answer, else the two echoes would ping-pong.)
    for path in ["/user/sink-json", "/user/sink-proto"] {
        let seen = seen_tx.clone();
        rust.register(
            path,
            std::sync::Arc::new(move |_: &RemoteNode, d: rekko_remote::Delivery| {
                let m = &d.message;
                let text = Greeting::from_message(m)
                    .map(|g| format!("{g:?}"))
                    .or_else(|_| Point::from_message(m).map(|p| format!("{p:?}")))
                    .unwrap_or_else(|e| e.to_string());
                let _ = seen.send(format!("{} {text}", d.recipient));
            }),
        );
    }
    let json_sink = format!("{}/user/sink-json", rust.address());
    rust.tell_typed(&jvm_echo, Some(&json_sink), &greeting)
        .expect("tell");
    assert_eq!(
        next(&mut seen).await,
        format!("/user/sink-json {greeting:?}")
    );
    let proto_sink = format!("{}/user/sink-proto", rust.address());
    rust.tell_typed(&jvm_echo, Some(&proto_sink), &point)
        .expect("tell");
    assert_eq!(next(&mut seen).await, format!("/user/sink-proto {point:?}"));

    // JVM -> Rust ask: decoded on the Rust side, the reply decoded on the JVM.
    let cases = [
        ("string", "string", "hi", "String:hi", "\"hi\"".to_string()),
        (
            "bytes",
            "bytestring",
            "hi",
            "ByteString(hi)",
            format!("{:?}", ByteString("hi".into())),
        ),
        ("long", "long", "-42", "Long:-42", "-42".to_string()),
        ("int", "int", "42", "Integer:42", "42".to_string()),
        (
            "json",
            "json",
            "hi",
            "Greeting:Greeting(hi,7,[a, b])",
            format!(
                "{:?}",
                Greeting {
                    name: "hi".into(),
                    count: 7,
                    tags: vec!["a".into(), "b".into()]
                }
            ),
        ),
        (
            "cbor",
            "cbor",
            "hi",
            "CborGreeting:CborGreeting(hi,1234567890123)",
            format!(
                "{:?}",
                CborGreeting {
                    name: "hi".into(),
                    count: 1_234_567_890_123
                }
            ),
        ),
        (
            "proto",
            "proto",
            "hi",
            "Point:Point(3,-4,hi)",
            format!(
                "{:?}",
                Point {
                    x: 3,
                    y: -4,
                    label: "hi".into()
                }
            ),
        ),
    ];
    for (endpoint, kind, arg, jvm_sees, rust_sees) in cases {
        let path = format!("{}/user/{endpoint}", rust.address());
        let answer = jvm_request(&mut jvm, &format!("ask-typed {path} {kind} {arg}"))?;
        assert_eq!(answer, format!("REPLY {jvm_sees}"), "{kind}");
        assert_eq!(
            next(&mut seen).await,
            format!("/user/{endpoint} {rust_sees}")
        );
    }

    // JVM -> Rust tell.
    let sent = jvm_request(
        &mut jvm,
        &format!("tell-typed {}/user/cbor cbor told", rust.address()),
    )?;
    assert_eq!(sent, "SENT");
    assert_eq!(
        next(&mut seen).await,
        format!(
            "/user/cbor {:?}",
            CborGreeting {
                name: "told".into(),
                count: 1_234_567_890_123
            }
        )
    );

    // JVM -> Rust: a message the endpoint is not bound to is dropped with a
    // warning naming serializer id and manifest; the next one arrives.
    let mut events = rust.subscribe();
    let sent = jvm_request(
        &mut jvm,
        &format!("tell-typed {}/user/cbor json wrong", rust.address()),
    )?;
    assert_eq!(sent, "SENT");
    let reason = loop {
        match tokio::time::timeout(ANSWER, events.recv()).await {
            Ok(Ok(RemoteEvent::MessageDropped { reason })) => break reason,
            Ok(Ok(_)) => continue,
            other => panic!("no drop event: {other:?}"),
        }
    };
    assert!(
        reason.contains("serializer id 31")
            && reason.contains("org.rekko.fixtures.WireTypes$Greeting"),
        "{reason}"
    );
    let answer = jvm_request(
        &mut jvm,
        &format!("ask-typed {}/user/cbor cbor again", rust.address()),
    )?;
    assert_eq!(
        answer,
        "REPLY CborGreeting:CborGreeting(again,1234567890123)"
    );
    assert!(next(&mut seen).await.contains("again"));

    // Rust -> JVM: an unknown serializer id and an unknown Jackson manifest
    // are dropped by the JVM; the association keeps working.
    rust.tell(
        &jvm_echo,
        None,
        SerializedMessage {
            serializer_id: 4242,
            manifest: "no.such.Manifest".into(),
            payload: "x".into(),
        },
    )
    .expect("tell unknown id");
    rust.tell(
        &jvm_echo,
        None,
        SerializedMessage {
            serializer_id: 31,
            manifest: "org.rekko.fixtures.NoSuchClass".into(),
            payload: "{}".into(),
        },
    )
    .expect("tell unknown manifest");
    ask_jvm(&rust, &jvm_echo, point).await;

    drop(seen_tx);
    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_messages_with_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    typed_both_ways(PekkoVersion::V1_7_0, "Ser17").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_messages_with_pekko_1_0_3() -> Result<(), HarnessError> {
    require_jvm!();
    typed_both_ways(PekkoVersion::V1_0_3, "Ser103").await
}
