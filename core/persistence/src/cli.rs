//! Building blocks for the `rekko journal` commands.
//!
//! - `rekko journal events --persistence-id ID [--config FILE]`: [`journal_from_config`] then
//!   [`write_events`], one line per event.
//! - `rekko journal ids [--config FILE]`: [`journal_from_config`] then [`persistence_ids`].
//!
//! The journal is the one named by `pekko.persistence.journal.plugin` in the config file, or
//! `jdbc-journal` when that is empty, configured from its section (`slick.db.url`, ...).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;

use crate::config::{load_config_file, reference_config};
use crate::journal::Journal;
use crate::model::EventRecord;
use crate::plugin::PluginRegistry;
use crate::query::ReadJournal;
use crate::serialization::render_payload;
use crate::settings::{section, string_at, JdbcJournalSettings};
use crate::{PersistenceError, Result};

/// The configured journal: `pekko.persistence.journal.plugin` (default `jdbc-journal`) of the
/// HOCON file over the bundled reference (or the reference alone without a file).
pub async fn journal_from_config(config_file: Option<&Path>) -> Result<(Arc<dyn Journal>, usize)> {
    let root = match config_file {
        Some(f) => load_config_file(f)?,
        None => reference_config()?,
    };
    let id = string_at(&root, "pekko.persistence.journal.plugin")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "jdbc-journal".to_string());
    let batch = section::<JdbcJournalSettings>(&root, &id)
        .map(|s| s.replay_batch_size)
        .unwrap_or(400);
    let registry = PluginRegistry::new(root);
    let journal = registry.journal(&id).await?;
    Ok((journal, batch))
}

/// One line: sequence number, serializer id, manifest, tags (comma-separated, `-` if none),
/// write timestamp (epoch ms), payload as JSON when decodable, hex otherwise; tab-separated.
pub fn format_event_line(e: &EventRecord) -> String {
    let r = &e.repr;
    let tags = if r.tags.is_empty() {
        "-".to_string()
    } else {
        r.tags.join(",")
    };
    let manifest = if r.payload.manifest.is_empty() {
        "-"
    } else {
        r.payload.manifest.as_str()
    };
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        r.sequence_nr,
        r.payload.serializer_id,
        manifest,
        tags,
        r.timestamp,
        render_payload(&r.payload)
    )
}

/// Writes every non-deleted event of `persistence_id`, one line each; returns how many.
pub async fn write_events(
    journal: Arc<dyn Journal>,
    persistence_id: &str,
    batch_size: usize,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut events =
        ReadJournal::replay(journal, persistence_id, 1, i64::MAX, u64::MAX, batch_size);
    let mut n = 0;
    while let Some(e) = events.next().await {
        let line = format_event_line(&e?);
        writeln!(out, "{line}").map_err(|e| PersistenceError::Config {
            path: "<stdout>".into(),
            reason: e.to_string(),
        })?;
        n += 1;
    }
    Ok(n)
}

/// All persistence ids with events, sorted.
pub async fn persistence_ids(journal: &dyn Journal) -> Result<Vec<String>> {
    let mut ids = journal.persistence_ids().await?;
    ids.sort();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AtomicWrite, PersistentRepr, SerializedPayload};

    #[tokio::test]
    async fn events_and_ids_from_a_sqlite_journal_config() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("app.conf");
        std::fs::write(
            &conf,
            format!(
                "pekko.persistence.journal.plugin = jdbc-journal\njdbc-journal.slick.db.url = \"jdbc:sqlite:{}\"\n",
                dir.path().join("j.db").display()
            ),
        )
        .unwrap();
        let (journal, batch) = journal_from_config(Some(&conf)).await.unwrap();
        assert_eq!(batch, 400);
        let mut e1 = PersistentRepr::new(
            "Cart|1",
            1,
            SerializedPayload::new(31, "a.Added", &br#"{"n":1}"#[..]),
            "w",
        )
        .with_tags(["t1", "t2"]);
        e1.timestamp = 1700000000000;
        let mut e2 = PersistentRepr::new(
            "Cart|1",
            2,
            SerializedPayload::new(2, "p.M", vec![0xde, 0xad]),
            "w",
        );
        e2.timestamp = 1700000000001;
        journal
            .write(&[AtomicWrite::new(vec![e1, e2]).unwrap()])
            .await
            .unwrap();
        let mut out = Vec::new();
        let n = write_events(journal.clone(), "Cart|1", batch, &mut out)
            .await
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1\t31\ta.Added\tt1,t2\t1700000000000\t{\"n\":1}\n2\t2\tp.M\t-\t1700000000001\tdead\n"
        );
        assert_eq!(
            persistence_ids(&*journal).await.unwrap(),
            vec!["Cart|1".to_string()]
        );
    }
}
