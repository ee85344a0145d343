//! Settings read from pekko-persistence-jdbc's config sections (`jdbc-journal`,
//! `jdbc-snapshot-store`, `jdbc-read-journal`) and Pekko's `pekko.persistence` keys.
//!
//! Each struct deserializes with serde from the config section (a tree of objects, strings,
//! numbers, booleans, as HOCON renders to JSON); absent keys take the defaults restated in the
//! bundled `reference.conf` (see [`REFERENCE_CONF`]). Key spellings are the plugin's own
//! (`tableName`, `columnNames`, `replayBatchSize`, `refresh-interval`, ...). Numbers and
//! durations are accepted as numbers or as HOCON strings (`"500"`, `"1s"`, `1 second`).

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::{PersistenceError, Result};

/// The `reference.conf` this crate bundles: the Pekko and pekko-persistence-jdbc keys it
/// implements, with their defaults.
pub const REFERENCE_CONF: &str = include_str!("reference.conf");

/// Parses a HOCON duration (`"1s"`, `"500 ms"`, `"1 second"`, a bare number = milliseconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (t[..split].trim(), t[split..].trim());
    let n: f64 = num.parse().ok()?;
    let ms = match unit {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => n,
        "us" | "micro" | "micros" | "microsecond" | "microseconds" => n / 1000.0,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => n / 1_000_000.0,
        "s" | "second" | "seconds" => n * 1000.0,
        "m" | "minute" | "minutes" => n * 60_000.0,
        "h" | "hour" | "hours" => n * 3_600_000.0,
        "d" | "day" | "days" => n * 86_400_000.0,
        _ => return None,
    };
    if !ms.is_finite() || ms < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(ms / 1000.0))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrString {
    Num(f64),
    Str(String),
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    match NumOrString::deserialize(d)? {
        NumOrString::Num(n) if n >= 0.0 && n.is_finite() => Ok(Duration::from_secs_f64(n / 1000.0)),
        NumOrString::Num(n) => Err(serde::de::Error::custom(format!("invalid duration {n}"))),
        NumOrString::Str(s) => parse_duration(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid duration {s:?}"))),
    }
}

fn de_usize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<usize, D::Error> {
    match NumOrString::deserialize(d)? {
        NumOrString::Num(n) if n >= 0.0 && n.fract() == 0.0 => Ok(n as usize),
        NumOrString::Num(n) => Err(serde::de::Error::custom(format!("invalid count {n}"))),
        NumOrString::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("invalid count {s:?}"))),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrString {
    Bool(bool),
    Str(String),
}

/// HOCON booleans: `true`/`false`, `on`/`off`, `yes`/`no` (also as strings).
fn de_bool<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    match BoolOrString::deserialize(d)? {
        BoolOrString::Bool(b) => Ok(b),
        BoolOrString::Str(s) => match s.trim() {
            "true" | "on" | "yes" => Ok(true),
            "false" | "off" | "no" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "invalid boolean {other:?}"
            ))),
        },
    }
}

fn de_opt_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// `slick.db` of a plugin section.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default)]
pub struct DbSettings {
    /// JDBC URL, e.g. `jdbc:postgresql://127.0.0.1:5432/rekko` or `jdbc:sqlite:/path/journal.db`.
    #[serde(deserialize_with = "de_opt_string")]
    pub url: String,
    /// User name.
    #[serde(deserialize_with = "de_opt_string")]
    pub user: String,
    /// Password.
    #[serde(deserialize_with = "de_opt_string")]
    pub password: String,
    /// JDBC driver class (informational).
    #[serde(deserialize_with = "de_opt_string")]
    pub driver: String,
    /// Pool size upper bound (`maxConnections`).
    #[serde(rename = "maxConnections", deserialize_with = "de_usize")]
    pub max_connections: usize,
    /// Pool size lower bound (`minConnections`).
    #[serde(rename = "minConnections", deserialize_with = "de_usize")]
    pub min_connections: usize,
    /// How long to wait for a pooled connection (`connectionTimeout`, ms).
    #[serde(rename = "connectionTimeout", deserialize_with = "de_duration")]
    pub connection_timeout: Duration,
    /// Idle connections are closed after this (`idleTimeout`, ms).
    #[serde(rename = "idleTimeout", deserialize_with = "de_duration")]
    pub idle_timeout: Duration,
    /// Connections are recycled after this (`maxLifetime`, ms).
    #[serde(rename = "maxLifetime", deserialize_with = "de_duration")]
    pub max_lifetime: Duration,
}

impl Default for DbSettings {
    fn default() -> Self {
        DbSettings {
            url: String::new(),
            user: String::new(),
            password: String::new(),
            driver: String::new(),
            max_connections: 20,
            min_connections: 20,
            connection_timeout: Duration::from_millis(180_000),
            idle_timeout: Duration::from_millis(600_000),
            max_lifetime: Duration::from_millis(1_800_000),
        }
    }
}

/// `slick` block of a plugin section.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct SlickSettings {
    /// Slick profile, e.g. `slick.jdbc.PostgresProfile$` (informational).
    #[serde(deserialize_with = "de_opt_string")]
    pub profile: String,
    /// Connection settings.
    pub db: DbSettings,
}

/// Where a database lives, derived from `slick.db.url`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    /// PostgreSQL: a `postgres://` URL for the driver (credentials from `user`/`password`).
    Postgres {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Database name.
        database: String,
        /// User given in the URL (`user:password@host`), if any.
        url_user: Option<String>,
        /// Password given in the URL, if any.
        url_password: Option<String>,
    },
    /// SQLite file (or `:memory:`).
    Sqlite {
        /// File path.
        path: String,
    },
}

impl DbSettings {
    /// Interprets `url` of the plugin section at `path` (errors name `<path>.slick.db.url`); see
    /// [`DbSettings::target_at`].
    pub fn target(&self, path: &str) -> Result<DbTarget> {
        self.target_at(&format!("{path}.slick"))
    }

    /// Interprets `url`: `jdbc:postgresql://host[:port]/db[?params]` (also without `jdbc:`, or
    /// `postgres://`) or `jdbc:sqlite:path`. `slick_path` is the config path of the `slick`
    /// block these settings come from; errors name `<slick_path>.db.url`.
    pub fn target_at(&self, slick_path: &str) -> Result<DbTarget> {
        let err = |reason: String| PersistenceError::Config {
            path: format!("{slick_path}.db.url"),
            reason,
        };
        let url = self.url.trim();
        let url = url.strip_prefix("jdbc:").unwrap_or(url);
        if let Some(p) = url.strip_prefix("sqlite:") {
            let p = p.strip_prefix("//").unwrap_or(p);
            if p.is_empty() {
                return Err(err("sqlite URL has no file path".into()));
            }
            return Ok(DbTarget::Sqlite {
                path: p.to_string(),
            });
        }
        let rest = url
            .strip_prefix("postgresql://")
            .or_else(|| url.strip_prefix("postgres://"))
            .ok_or_else(|| {
                err(format!(
                    "unsupported URL {:?}: expected jdbc:postgresql://host:port/db or jdbc:sqlite:path",
                    self.url
                ))
            })?;
        let rest = rest.split('?').next().unwrap_or_default();
        let (hostport, database) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match hostport.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, hostport),
        };
        let (url_user, url_password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((n, p)) => (Some(n.to_string()), Some(p.to_string())),
                None => (Some(u.to_string()), None),
            },
            None => (None, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse::<u16>()
                    .map_err(|_| err(format!("invalid port {p:?} in {:?}", self.url)))?,
            ),
            None => (hostport.to_string(), 5432),
        };
        if host.is_empty() {
            return Err(err(format!("no host in {:?}", self.url)));
        }
        Ok(DbTarget::Postgres {
            host,
            port,
            database: if database.is_empty() {
                "postgres".into()
            } else {
                database.to_string()
            },
            url_user,
            url_password,
        })
    }
}

macro_rules! names_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $default:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Deserialize, PartialEq)]
        #[serde(default, rename_all = "camelCase")]
        pub struct $name {
            $($(#[$fm])* pub $field: String,)*
        }
        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default.to_string(),)* }
            }
        }
    };
}

names_struct!(
    /// `tables.event_journal.columnNames`.
    EventJournalColumns {
        /// Global insertion number.
        ordering: "ordering",
        /// Deleted flag.
        deleted: "deleted",
        /// Persistence id.
        persistence_id: "persistence_id",
        /// Sequence number.
        sequence_number: "sequence_number",
        /// Writer UUID.
        writer: "writer",
        /// Write timestamp.
        write_timestamp: "write_timestamp",
        /// Adapter manifest.
        adapter_manifest: "adapter_manifest",
        /// Event bytes.
        event_payload: "event_payload",
        /// Event serializer id.
        event_ser_id: "event_ser_id",
        /// Event serializer manifest.
        event_ser_manifest: "event_ser_manifest",
        /// Metadata bytes.
        meta_payload: "meta_payload",
        /// Metadata serializer id.
        meta_ser_id: "meta_ser_id",
        /// Metadata serializer manifest.
        meta_ser_manifest: "meta_ser_manifest",
    }
);

names_struct!(
    /// `tables.event_tag.columnNames`.
    EventTagColumns {
        /// The tagged event's ordering.
        event_id: "event_id",
        /// The tag.
        tag: "tag",
    }
);

names_struct!(
    /// `tables.snapshot.columnNames`.
    SnapshotColumns {
        /// Persistence id.
        persistence_id: "persistence_id",
        /// Sequence number.
        sequence_number: "sequence_number",
        /// Creation time.
        created: "created",
        /// State bytes.
        snapshot_payload: "snapshot_payload",
        /// State serializer id.
        snapshot_ser_id: "snapshot_ser_id",
        /// State serializer manifest.
        snapshot_ser_manifest: "snapshot_ser_manifest",
        /// Metadata bytes.
        meta_payload: "meta_payload",
        /// Metadata serializer id.
        meta_ser_id: "meta_ser_id",
        /// Metadata serializer manifest.
        meta_ser_manifest: "meta_ser_manifest",
    }
);

names_struct!(
    /// `tables.legacy_journal.columnNames` (legacy schema: whole `PersistentRepr` per row).
    LegacyJournalColumns {
        /// Global insertion number.
        ordering: "ordering",
        /// Deleted flag.
        deleted: "deleted",
        /// Persistence id.
        persistence_id: "persistence_id",
        /// Sequence number.
        sequence_number: "sequence_number",
        /// Unused by the plugin's DDL; kept for key compatibility.
        created: "created",
        /// Tags joined with `tagSeparator`.
        tags: "tags",
        /// `PersistentMessage` bytes (MessageSerializer, id 7).
        message: "message",
    }
);

names_struct!(
    /// `tables.legacy_snapshot.columnNames` (legacy schema: `Snapshot` wrapper, id 8).
    LegacySnapshotColumns {
        /// Persistence id.
        persistence_id: "persistence_id",
        /// Sequence number.
        sequence_number: "sequence_number",
        /// Creation time.
        created: "created",
        /// `Snapshot` wrapper bytes.
        snapshot: "snapshot",
    }
);

/// Class name of the default (new schema) journal DAO.
pub const DEFAULT_JOURNAL_DAO: &str =
    "org.apache.pekko.persistence.jdbc.journal.dao.DefaultJournalDao";
/// Class name of the legacy journal DAO.
pub const LEGACY_JOURNAL_DAO: &str =
    "org.apache.pekko.persistence.jdbc.journal.dao.legacy.ByteArrayJournalDao";
/// Class name of the default (new schema) snapshot DAO.
pub const DEFAULT_SNAPSHOT_DAO: &str =
    "org.apache.pekko.persistence.jdbc.snapshot.dao.DefaultSnapshotDao";
/// Class name of the legacy snapshot DAO.
pub const LEGACY_SNAPSHOT_DAO: &str =
    "org.apache.pekko.persistence.jdbc.snapshot.dao.legacy.ByteArraySnapshotDao";

/// Column-name sets know their table's default name.
pub trait ColumnSet: Default {
    /// The plugin's default table name.
    const DEFAULT_TABLE: &'static str;
}

impl ColumnSet for EventJournalColumns {
    const DEFAULT_TABLE: &'static str = "event_journal";
}
impl ColumnSet for EventTagColumns {
    const DEFAULT_TABLE: &'static str = "event_tag";
}
impl ColumnSet for SnapshotColumns {
    const DEFAULT_TABLE: &'static str = "snapshot";
}
impl ColumnSet for LegacyJournalColumns {
    const DEFAULT_TABLE: &'static str = "journal";
}
impl ColumnSet for LegacySnapshotColumns {
    const DEFAULT_TABLE: &'static str = "snapshot";
}

impl<C: ColumnSet> Default for Table<C> {
    fn default() -> Self {
        Table {
            table_name: C::DEFAULT_TABLE.to_string(),
            schema_name: String::new(),
            column_names: C::default(),
        }
    }
}

/// A table's name, schema and column names.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(
    default,
    bound(deserialize = "C: ColumnSet + serde::de::DeserializeOwned")
)]
pub struct Table<C: ColumnSet> {
    /// Table name.
    #[serde(rename = "tableName")]
    pub table_name: String,
    /// Schema name (`""` = the connection's default schema).
    #[serde(rename = "schemaName", deserialize_with = "de_opt_string")]
    pub schema_name: String,
    /// Column names.
    #[serde(rename = "columnNames")]
    pub column_names: C,
}

impl<C: ColumnSet> Table<C> {
    /// `schema.table` or `table`.
    pub fn qualified(&self) -> String {
        if self.schema_name.is_empty() {
            self.table_name.clone()
        } else {
            format!("{}.{}", self.schema_name, self.table_name)
        }
    }
}

/// `tables` of `jdbc-journal` / `jdbc-read-journal`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct JournalTables {
    /// `event_journal`.
    pub event_journal: Table<EventJournalColumns>,
    /// `event_tag`.
    pub event_tag: Table<EventTagColumns>,
    /// `journal` of the legacy schema.
    pub legacy_journal: Table<LegacyJournalColumns>,
}

/// `tables` of `jdbc-snapshot-store`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct SnapshotTables {
    /// `snapshot`.
    pub snapshot: Table<SnapshotColumns>,
    /// `snapshot` of the legacy schema.
    pub legacy_snapshot: Table<LegacySnapshotColumns>,
}

/// The `jdbc-journal` section.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default)]
pub struct JdbcJournalSettings {
    /// Table and column names.
    pub tables: JournalTables,
    /// Rows per write transaction (`batchSize`).
    #[serde(rename = "batchSize", deserialize_with = "de_usize")]
    pub batch_size: usize,
    /// Events per replay query (`replayBatchSize`).
    #[serde(rename = "replayBatchSize", deserialize_with = "de_usize")]
    pub replay_batch_size: usize,
    /// Concurrent write transactions (`parallelism`).
    #[serde(deserialize_with = "de_usize")]
    pub parallelism: usize,
    /// DAO class: the default (new schema) or the legacy one.
    pub dao: String,
    /// Tag separator of the legacy schema's `tags` column.
    #[serde(rename = "tagSeparator")]
    pub tag_separator: String,
    /// Name of a shared database (`pekko-persistence-jdbc.shared-databases.<name>`) to use
    /// instead of `slick` (`use-shared-db`; null or empty = none).
    #[serde(rename = "use-shared-db")]
    pub use_shared_db: Option<String>,
    /// Connection settings.
    pub slick: SlickSettings,
}

impl Default for JdbcJournalSettings {
    fn default() -> Self {
        JdbcJournalSettings {
            tables: JournalTables::default(),
            batch_size: 400,
            replay_batch_size: 400,
            parallelism: 8,
            dao: DEFAULT_JOURNAL_DAO.into(),
            tag_separator: ",".into(),
            use_shared_db: None,
            slick: SlickSettings::default(),
        }
    }
}

/// The `jdbc-snapshot-store` section.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default)]
pub struct JdbcSnapshotSettings {
    /// Table and column names.
    pub tables: SnapshotTables,
    /// DAO class: the default (new schema) or the legacy one.
    pub dao: String,
    /// Name of a shared database to use instead of `slick` (`use-shared-db`).
    #[serde(rename = "use-shared-db")]
    pub use_shared_db: Option<String>,
    /// Connection settings.
    pub slick: SlickSettings,
}

impl Default for JdbcSnapshotSettings {
    fn default() -> Self {
        JdbcSnapshotSettings {
            tables: SnapshotTables::default(),
            dao: DEFAULT_SNAPSHOT_DAO.into(),
            use_shared_db: None,
            slick: SlickSettings::default(),
        }
    }
}

/// `journal-sequence-retrieval` of `jdbc-read-journal`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, rename_all = "kebab-case")]
pub struct JournalSequenceRetrieval {
    /// Orderings read per scan.
    #[serde(deserialize_with = "de_usize")]
    pub batch_size: usize,
    /// Scans a gap must survive before it is assumed permanent.
    #[serde(deserialize_with = "de_usize")]
    pub max_tries: usize,
    /// Pause between scans.
    #[serde(deserialize_with = "de_duration")]
    pub query_delay: Duration,
}

impl Default for JournalSequenceRetrieval {
    fn default() -> Self {
        JournalSequenceRetrieval {
            batch_size: 10_000,
            max_tries: 10,
            query_delay: Duration::from_secs(1),
        }
    }
}

/// The `jdbc-read-journal` section.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, rename_all = "kebab-case")]
pub struct JdbcReadJournalSettings {
    /// Plugin id of the write journal.
    pub write_plugin: String,
    /// Pause of live queries when caught up.
    #[serde(deserialize_with = "de_duration")]
    pub refresh_interval: Duration,
    /// Events per query page.
    #[serde(deserialize_with = "de_usize")]
    pub max_buffer_size: usize,
    /// Caps an `eventsByTag` page window to this many buffers (0 = no cap).
    #[serde(deserialize_with = "de_usize")]
    pub events_by_tag_buffer_sizes_per_query: usize,
    /// Gap detection.
    pub journal_sequence_retrieval: JournalSequenceRetrieval,
    /// Table and column names.
    pub tables: JournalTables,
    /// Name of a shared database to use instead of `slick` (`use-shared-db`). Rekko's queries
    /// read through the `write-plugin`'s journal and its database.
    pub use_shared_db: Option<String>,
    /// Connection settings.
    pub slick: SlickSettings,
}

impl Default for JdbcReadJournalSettings {
    fn default() -> Self {
        JdbcReadJournalSettings {
            write_plugin: "jdbc-journal".into(),
            refresh_interval: Duration::from_secs(1),
            max_buffer_size: 500,
            events_by_tag_buffer_sizes_per_query: 0,
            journal_sequence_retrieval: JournalSequenceRetrieval::default(),
            tables: JournalTables::default(),
            use_shared_db: None,
            slick: SlickSettings::default(),
        }
    }
}

/// Config path of pekko-persistence-jdbc's shared databases.
pub const SHARED_DATABASES: &str = "pekko-persistence-jdbc.shared-databases";

/// The database a JDBC plugin section connects to: its own `slick` block, or the shared
/// database its `use-shared-db` names.
#[derive(Clone, Debug, PartialEq)]
pub struct Database {
    /// Connection settings.
    pub slick: SlickSettings,
    /// Config path of the block they come from (`jdbc-journal.slick`,
    /// `pekko-persistence-jdbc.shared-databases.slick`, ...).
    pub path: String,
    /// The shared database's name, when the section names one.
    pub shared: Option<String>,
}

impl Database {
    /// Where the database lives (errors name `<path>.db.url`).
    pub fn target(&self) -> Result<DbTarget> {
        self.slick.db.target_at(&self.path)
    }
}

/// The database of the plugin section at `plugin_id`, as pekko-persistence-jdbc's default
/// database provider chooses it: when `use_shared_db` is a non-blank name, the entry of that
/// name under `pekko-persistence-jdbc.shared-databases`, which must be an object with a
/// `profile` (entries without one are not databases, as the plugin's reference example is
/// not); otherwise the section's own `slick` block.
pub fn plugin_database(
    root: &serde_json::Value,
    plugin_id: &str,
    use_shared_db: Option<&str>,
    slick: &SlickSettings,
) -> Result<Database> {
    let Some(name) = use_shared_db.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(Database {
            slick: slick.clone(),
            path: format!("{plugin_id}.slick"),
            shared: None,
        });
    };
    let path = format!("{SHARED_DATABASES}.{name}");
    let entry = lookup(root, SHARED_DATABASES)
        .and_then(|all| all.get(name))
        .filter(|e| e.get("profile").is_some_and(|p| !p.is_null()))
        .ok_or_else(|| PersistenceError::Config {
            path: format!("{plugin_id}.use-shared-db"),
            reason: format!(
                "no shared database is configured under {path} (an entry needs a `profile`)"
            ),
        })?;
    let slick = SlickSettings::deserialize(entry).map_err(|e| PersistenceError::Config {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok(Database {
        slick,
        path,
        shared: Some(name.to_string()),
    })
}

/// Rust-only settings under `rekko.persistence.jdbc`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, rename_all = "kebab-case")]
pub struct RekkoJdbcSettings {
    /// Create the tables (`IF NOT EXISTS`) when a SQL backend starts.
    #[serde(deserialize_with = "de_bool")]
    pub create_tables: bool,
}

impl Default for RekkoJdbcSettings {
    fn default() -> Self {
        RekkoJdbcSettings {
            create_tables: true,
        }
    }
}

/// Reads the section at a dotted `path` of a config tree into `T` (defaults when absent).
pub fn section<T: serde::de::DeserializeOwned + Default>(
    root: &serde_json::Value,
    path: &str,
) -> Result<T> {
    match lookup(root, path) {
        None | Some(serde_json::Value::Null) => Ok(T::default()),
        Some(v) => T::deserialize(v).map_err(|e| PersistenceError::Config {
            path: path.to_string(),
            reason: e.to_string(),
        }),
    }
}

/// The value at a dotted path (keys containing dots may also be stored flat).
pub fn lookup<'a>(root: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    if let Some(v) = root.get(path) {
        return Some(v);
    }
    let mut cur = root;
    for part in path.split('.') {
        cur = cur.get(part)?;
    }
    Some(cur)
}

/// A string at a dotted path.
pub fn string_at(root: &serde_json::Value, path: &str) -> Option<String> {
    lookup(root, path)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("1 second"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("500 ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("180000"), Some(Duration::from_secs(180)));
        assert_eq!(parse_duration("2 fortnights"), None);
    }

    #[test]
    fn defaults_match_the_plugin() {
        let j = JdbcJournalSettings::default();
        assert_eq!(j.tables.event_journal.table_name, "event_journal");
        assert_eq!(
            j.tables.event_journal.column_names.event_ser_id,
            "event_ser_id"
        );
        assert_eq!(j.tables.event_tag.column_names.event_id, "event_id");
        assert_eq!(
            (j.batch_size, j.replay_batch_size, j.parallelism),
            (400, 400, 8)
        );
        assert_eq!(j.slick.db.max_connections, 20);
        let r = JdbcReadJournalSettings::default();
        assert_eq!(r.refresh_interval, Duration::from_secs(1));
        assert_eq!(r.max_buffer_size, 500);
        assert_eq!(r.journal_sequence_retrieval.max_tries, 10);
        let s = JdbcSnapshotSettings::default();
        assert_eq!(
            s.tables.snapshot.column_names.snapshot_ser_manifest,
            "snapshot_ser_manifest"
        );
    }

    #[test]
    fn reads_plugin_keys_including_string_numbers() {
        let root = json!({
            "jdbc-journal": {
                "tables": {"event_journal": {"tableName": "ej", "schemaName": "s",
                           "columnNames": {"eventPayload": "payload"}}},
                "replayBatchSize": 10,
                "slick": {"profile": "slick.jdbc.PostgresProfile$",
                          "db": {"url": "jdbc:postgresql://db.local:6543/app?reconnect=true",
                                 "user": "u", "password": "p", "maxConnections": "5"}}
            },
            "jdbc-read-journal": {"refresh-interval": "250ms", "max-buffer-size": "7"}
        });
        let j: JdbcJournalSettings = section(&root, "jdbc-journal").unwrap();
        assert_eq!(j.tables.event_journal.qualified(), "s.ej");
        assert_eq!(j.tables.event_journal.column_names.event_payload, "payload");
        assert_eq!(j.tables.event_journal.column_names.writer, "writer");
        assert_eq!(j.replay_batch_size, 10);
        assert_eq!(j.slick.db.max_connections, 5);
        assert_eq!(
            j.slick.db.target("jdbc-journal").unwrap(),
            DbTarget::Postgres {
                host: "db.local".into(),
                port: 6543,
                database: "app".into(),
                url_user: None,
                url_password: None,
            }
        );
        let r: JdbcReadJournalSettings = section(&root, "jdbc-read-journal").unwrap();
        assert_eq!(r.refresh_interval, Duration::from_millis(250));
        assert_eq!(r.max_buffer_size, 7);
        let bad = json!({"jdbc-journal": {"replayBatchSize": "many"}});
        let err = section::<JdbcJournalSettings>(&bad, "jdbc-journal").unwrap_err();
        assert!(err.to_string().contains("jdbc-journal"), "{err}");
    }

    #[test]
    fn postgres_url_with_credentials() {
        let db = DbSettings {
            url: "postgres://rekko:secret@127.0.0.1:5432/rekko".into(),
            ..Default::default()
        };
        assert_eq!(
            db.target("x").unwrap(),
            DbTarget::Postgres {
                host: "127.0.0.1".into(),
                port: 5432,
                database: "rekko".into(),
                url_user: Some("rekko".into()),
                url_password: Some("secret".into()),
            }
        );
    }

    #[test]
    fn sqlite_urls() {
        let db = DbSettings {
            url: "jdbc:sqlite:/tmp/j.db".into(),
            ..Default::default()
        };
        assert_eq!(
            db.target("x").unwrap(),
            DbTarget::Sqlite {
                path: "/tmp/j.db".into()
            }
        );
        let bad = DbSettings {
            url: "jdbc:mysql://h/db".into(),
            ..Default::default()
        };
        assert!(bad.target("x").is_err());
    }
}
