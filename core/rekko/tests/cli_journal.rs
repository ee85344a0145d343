//! `rekko journal events` and `rekko journal ids` against the embedded SQLite journal, and
//! against PostgreSQL when `REKKO_TEST_PG_URL` is set (skipped otherwise, failing under `CI=true`).

use std::path::Path;
use std::process::Command;

use rekko_interop_tests::persistence_fixture::{pg_url, TestDb};
use rekko_persistence::cli::journal_from_config;
use rekko_persistence::{AtomicWrite, PersistentRepr, SerializedPayload};

fn rekko(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rekko"))
        .args(args)
        .output()
        .expect("the rekko binary built by cargo runs")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes two events of `Cart|1` (one JSON, one undecodable protobuf) and one of `Cart|2`.
fn seed(conf: &Path) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        let (journal, _) = journal_from_config(Some(conf))
            .await
            .expect("journal from config");
        let mut e1 = PersistentRepr::new(
            "Cart|1",
            1,
            SerializedPayload::new(31, "com.example.Added", &br#"{"item":"a","n":1}"#[..]),
            "w1",
        )
        .with_tags(["carts", "big"]);
        e1.timestamp = 1_700_000_000_000;
        let mut e2 = PersistentRepr::new(
            "Cart|1",
            2,
            SerializedPayload::new(2, "com.example.Proto", vec![0x0a, 0x01, 0xff]),
            "w1",
        );
        e2.timestamp = 1_700_000_000_001;
        let mut e3 = PersistentRepr::new(
            "Cart|2",
            1,
            SerializedPayload::new(31, "com.example.Added", &br#"{"n":2}"#[..]),
            "w2",
        );
        e3.timestamp = 1_700_000_000_002;
        journal
            .write(&[
                AtomicWrite::new(vec![e1, e2]).expect("valid write"),
                AtomicWrite::new(vec![e3]).expect("valid write"),
            ])
            .await
            .expect("seed events");
    });
}

fn check_events_and_ids(conf: &str) {
    let out = rekko(&[
        "journal",
        "events",
        "--persistence-id",
        "Cart|1",
        "--config",
        conf,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let first: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(first[..3], ["1", "31", "com.example.Added"]);
    let mut tags: Vec<&str> = first[3].split(',').collect();
    tags.sort();
    assert_eq!(tags, ["big", "carts"]);
    assert_eq!(first[4], "1700000000000");
    let payload: serde_json::Value = serde_json::from_str(first[5]).expect("payload as JSON");
    assert_eq!(payload, serde_json::json!({"item": "a", "n": 1}));
    assert_eq!(
        lines[1], "2\t2\tcom.example.Proto\t-\t1700000000001\t0a01ff",
        "undecodable payloads as hex"
    );

    let out = rekko(&["journal", "ids", "--config", conf]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Cart|1\nCart|2\n");
}

#[test]
fn events_and_ids_from_the_embedded_sqlite_journal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("app.conf");
    std::fs::write(
        &conf,
        format!(
            "pekko.persistence.journal.plugin = jdbc-journal\n\
             jdbc-journal.slick.db.url = \"jdbc:sqlite:{}\"\n",
            dir.path().join("journal.db").display()
        ),
    )
    .expect("write config");
    seed(&conf);
    check_events_and_ids(&conf.display().to_string());
}

#[test]
fn events_and_ids_from_postgresql() {
    let Some(url) = pg_url("events_and_ids_from_postgresql") else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let db = rt.block_on(async { TestDb::open(&url, "rekko_cli", 1) });
    let schema = &db.schema;
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("app.conf");
    std::fs::write(
        &conf,
        format!(
            "pekko.persistence.journal.plugin = jdbc-journal\n\
             jdbc-journal.slick.db.url = \"{url}\"\n\
             jdbc-journal.tables.event_journal.schemaName = \"{schema}\"\n\
             jdbc-journal.tables.event_tag.schemaName = \"{schema}\"\n"
        ),
    )
    .expect("write config");
    seed(&conf);
    check_events_and_ids(&conf.display().to_string());
    rt.block_on(db.drop_schema());
}

#[test]
fn an_unreadable_config_fails_with_a_message() {
    let out = rekko(&[
        "journal",
        "ids",
        "--config",
        "/nonexistent/rekko-test/app.conf",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("rekko journal ids") && err.contains("/nonexistent/rekko-test/app.conf"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unreachable_database_fails_with_a_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("app.conf");
    std::fs::write(
        &conf,
        "pekko.persistence.journal.plugin = jdbc-journal\n\
         jdbc-journal.slick.db.url = \"jdbc:postgresql://127.0.0.1:1/none\"\n\
         jdbc-journal.slick.db.connectionTimeout = 2s\n",
    )
    .expect("write config");
    let conf = conf.display().to_string();
    let out = rekko(&[
        "journal",
        "events",
        "--persistence-id",
        "X|1",
        "--config",
        &conf,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("rekko journal events: "),
        "{}",
        stderr(&out)
    );
}
