//! Loading configuration: an application's HOCON (`application.conf`) over this crate's bundled
//! `reference.conf`, rendered as the JSON tree the settings and the plugin registry read.

use std::path::Path;

use crate::settings::REFERENCE_CONF;
use crate::{PersistenceError, Result};

fn config_err(path: &str, e: impl std::fmt::Display) -> PersistenceError {
    PersistenceError::Config {
        path: path.to_string(),
        reason: e.to_string(),
    }
}

fn to_json(cfg: &hocon_config::Config, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(&cfg.render_concise()).map_err(|e| config_err(what, e))
}

/// The bundled `reference.conf`, resolved.
pub fn reference_config() -> Result<serde_json::Value> {
    let cfg = hocon_config::Loader::new()
        .reference("rekko-persistence", REFERENCE_CONF)
        .load(&hocon_config::Config::parse_string("").map_err(|e| config_err("reference.conf", e))?)
        .map_err(|e| config_err("reference.conf", e))?;
    to_json(&cfg, "reference.conf")
}

/// An application config (HOCON text) over the bundled `reference.conf`.
pub fn load_config_str(text: &str) -> Result<serde_json::Value> {
    let app = hocon_config::Config::parse_string(text).map_err(|e| config_err("<config>", e))?;
    let cfg = hocon_config::Loader::new()
        .reference("rekko-persistence", REFERENCE_CONF)
        .load(&app)
        .map_err(|e| config_err("<config>", e))?;
    to_json(&cfg, "<config>")
}

/// An application config file over the bundled `reference.conf` (errors name file and line).
pub fn load_config_file(file: &Path) -> Result<serde_json::Value> {
    let what = file.display().to_string();
    let cfg = hocon_config::Loader::new()
        .reference("rekko-persistence", REFERENCE_CONF)
        .load_file(file)
        .map_err(|e| config_err(&what, e))?;
    to_json(&cfg, &what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{
        section, JdbcJournalSettings, JdbcReadJournalSettings, JdbcSnapshotSettings,
        RekkoJdbcSettings,
    };

    #[test]
    fn bundled_reference_restates_the_defaults_the_code_uses() {
        let root = reference_config().unwrap();
        assert_eq!(
            section::<JdbcJournalSettings>(&root, "jdbc-journal").unwrap(),
            JdbcJournalSettings::default()
        );
        assert_eq!(
            section::<JdbcSnapshotSettings>(&root, "jdbc-snapshot-store").unwrap(),
            JdbcSnapshotSettings::default()
        );
        assert_eq!(
            section::<JdbcReadJournalSettings>(&root, "jdbc-read-journal").unwrap(),
            JdbcReadJournalSettings::default()
        );
        assert!(
            section::<RekkoJdbcSettings>(&root, "rekko.persistence.jdbc")
                .unwrap()
                .create_tables
        );
    }

    #[test]
    fn pekko_keys_match_pekkos_reference_conf() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/pekko-reference/persistence/reference.conf");
        if !dir.exists() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{} is missing under CI=true", dir.display());
            }
            eprintln!("SKIPPED: {} not found", dir.display());
            return;
        }
        let pekko = hocon_config::Config::parse_file(&dir)
            .unwrap()
            .resolve()
            .unwrap();
        let ours = reference_config().unwrap();
        for key in [
            "pekko.persistence.journal.plugin",
            "pekko.persistence.snapshot-store.plugin",
        ] {
            assert_eq!(
                crate::settings::string_at(&ours, key).unwrap(),
                pekko.get_string(key).unwrap(),
                "{key}"
            );
        }
    }

    #[test]
    fn application_overrides_reference_and_substitutions_follow() {
        let root = load_config_str(
            r#"jdbc-journal.slick.db.url = "jdbc:sqlite:/tmp/x.db"
               jdbc-journal.tables.event_journal.schemaName = "app""#,
        )
        .unwrap();
        let j: JdbcJournalSettings = section(&root, "jdbc-journal").unwrap();
        assert_eq!(j.slick.db.url, "jdbc:sqlite:/tmp/x.db");
        let r: JdbcReadJournalSettings = section(&root, "jdbc-read-journal").unwrap();
        // The plugin's reference substitutes the journal's tables into the read journal ...
        assert_eq!(r.tables.event_journal.schema_name, "app");
        // ... but not its `slick` block: each section has its own, as on the JVM.
        assert_eq!(r.slick.db.url, "");
        let snap: JdbcSnapshotSettings = section(&root, "jdbc-snapshot-store").unwrap();
        assert_eq!(snap.slick.db.url, "");
        assert!(load_config_str("a = ${missing}").is_err());
    }

    #[test]
    fn self_references_into_the_slick_blocks_resolve_to_the_plugin_defaults() {
        // Valid on the JVM: each section's `slick.db` is a plain object in the plugin's
        // reference, so a self-reference reads the default, not a cycle.
        let root = load_config_str(
            r#"jdbc-read-journal.slick.db.maxLifetime = ${jdbc-read-journal.slick.db.maxLifetime}
               jdbc-snapshot-store.slick.db.maxConnections = ${jdbc-snapshot-store.slick.db.maxConnections}
               jdbc-journal.slick = ${jdbc-journal.slick} { db.url = "jdbc:sqlite:/tmp/j.db" }"#,
        )
        .unwrap();
        let r: JdbcReadJournalSettings = section(&root, "jdbc-read-journal").unwrap();
        assert_eq!(r.slick.db.max_lifetime.as_millis(), 1_800_000);
        let snap: JdbcSnapshotSettings = section(&root, "jdbc-snapshot-store").unwrap();
        assert_eq!(snap.slick.db.max_connections, 20);
        let j: JdbcJournalSettings = section(&root, "jdbc-journal").unwrap();
        assert_eq!(j.slick.db.url, "jdbc:sqlite:/tmp/j.db");
        assert_eq!(j.slick.db.min_connections, 20);
    }

    #[test]
    fn explicit_slick_substitutions_as_in_the_docs_are_followed() {
        let root = load_config_str(
            r#"jdbc-journal.slick {
                 profile = "slick.jdbc.PostgresProfile$"
                 db { url = "jdbc:postgresql://db.internal:5432/shop", user = "shop", maxConnections = 10 }
               }
               jdbc-snapshot-store.slick = ${jdbc-journal.slick}
               jdbc-read-journal.slick = ${jdbc-journal.slick}"#,
        )
        .unwrap();
        for id in ["jdbc-snapshot-store", "jdbc-read-journal"] {
            let s: JdbcSnapshotSettings = section(&root, id).unwrap();
            assert_eq!(
                s.slick.db.url, "jdbc:postgresql://db.internal:5432/shop",
                "{id}"
            );
            assert_eq!(s.slick.db.user, "shop", "{id}");
            assert_eq!(s.slick.db.max_connections, 10, "{id}");
            assert_eq!(s.slick.profile, "slick.jdbc.PostgresProfile$", "{id}");
        }
    }

    #[test]
    fn use_shared_db_selects_the_shared_database() {
        use crate::settings::plugin_database;
        let root = load_config_str(
            r#"pekko-persistence-jdbc.shared-databases.slick {
                 profile = "slick.jdbc.PostgresProfile$"
                 db { url = "jdbc:postgresql://127.0.0.1:5432/rekko", user = "rekko", maxConnections = 4 }
               }
               jdbc-journal.use-shared-db = "slick"
               jdbc-snapshot-store.use-shared-db = " slick "
               jdbc-read-journal.use-shared-db = "slick""#,
        )
        .unwrap();
        let j: JdbcJournalSettings = section(&root, "jdbc-journal").unwrap();
        assert_eq!(j.use_shared_db.as_deref(), Some("slick"));
        let db =
            plugin_database(&root, "jdbc-journal", j.use_shared_db.as_deref(), &j.slick).unwrap();
        assert_eq!(db.shared.as_deref(), Some("slick"));
        assert_eq!(db.path, "pekko-persistence-jdbc.shared-databases.slick");
        assert_eq!(db.slick.db.url, "jdbc:postgresql://127.0.0.1:5432/rekko");
        assert_eq!(db.slick.db.user, "rekko");
        assert_eq!(db.slick.db.max_connections, 4);
        // Pool defaults of the plugin's reference entry stay under the application's values.
        assert_eq!(db.slick.db.min_connections, 20);
        let s: JdbcSnapshotSettings = section(&root, "jdbc-snapshot-store").unwrap();
        let sdb = plugin_database(
            &root,
            "jdbc-snapshot-store",
            s.use_shared_db.as_deref(),
            &s.slick,
        )
        .unwrap();
        assert_eq!(sdb, db);
        let r: JdbcReadJournalSettings = section(&root, "jdbc-read-journal").unwrap();
        assert_eq!(r.use_shared_db.as_deref(), Some("slick"));
    }

    #[test]
    fn use_shared_db_null_or_blank_uses_the_sections_slick_block() {
        use crate::settings::plugin_database;
        let root = load_config_str(
            r#"jdbc-journal.slick.db.url = "jdbc:sqlite:/tmp/own.db"
               jdbc-snapshot-store { use-shared-db = "", slick.db.url = "jdbc:sqlite:/tmp/snap.db" }"#,
        )
        .unwrap();
        let j: JdbcJournalSettings = section(&root, "jdbc-journal").unwrap();
        assert_eq!(j.use_shared_db, None);
        let db = plugin_database(&root, "jdbc-journal", None, &j.slick).unwrap();
        assert_eq!(
            (db.path.as_str(), db.shared.as_deref()),
            ("jdbc-journal.slick", None)
        );
        assert_eq!(db.slick.db.url, "jdbc:sqlite:/tmp/own.db");
        let s: JdbcSnapshotSettings = section(&root, "jdbc-snapshot-store").unwrap();
        let sdb = plugin_database(
            &root,
            "jdbc-snapshot-store",
            s.use_shared_db.as_deref(),
            &s.slick,
        )
        .unwrap();
        assert_eq!(sdb.slick.db.url, "jdbc:sqlite:/tmp/snap.db");
    }

    #[test]
    fn use_shared_db_without_such_a_database_is_an_error_naming_it() {
        use crate::settings::plugin_database;
        // The reference's "slick" entry has no profile, so it is not a database (as on the JVM).
        let root = reference_config().unwrap();
        let j: JdbcJournalSettings = section(&root, "jdbc-journal").unwrap();
        for name in ["slick", "other"] {
            let err = plugin_database(&root, "jdbc-journal", Some(name), &j.slick).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("jdbc-journal.use-shared-db"), "{text}");
            assert!(
                text.contains(&format!("pekko-persistence-jdbc.shared-databases.{name}")),
                "{text}"
            );
        }
    }

    #[test]
    fn a_section_without_url_names_where_the_url_belongs() {
        let root = reference_config().unwrap();
        let s: JdbcSnapshotSettings = section(&root, "jdbc-snapshot-store").unwrap();
        let err = s.slick.db.target("jdbc-snapshot-store").unwrap_err();
        assert!(
            err.to_string().contains("jdbc-snapshot-store.slick.db.url"),
            "{err}"
        );
    }
}
