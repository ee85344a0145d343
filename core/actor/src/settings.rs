//! Settings read from Pekko's config keys (`pekko.actor.*`, `pekko.scheduler.*`,
//! `pekko.coordinated-shutdown.*`, `pekko.log-dead-letters*`). Defaults are Pekko's, restated in
//! the bundled `reference.conf` ([`REFERENCE_CONF`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The bundled `reference.conf` text: Pekko's keys and defaults for what this crate implements.
pub const REFERENCE_CONF: &str = include_str!("reference.conf");

/// Parses a HOCON duration such as `5s`, `5 s`, `100ms`, `5 minutes`, `2d`; a bare number is milliseconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.trim().parse().ok()?;
    let secs = match unit.trim() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => n / 1e3,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => n / 1e9,
        "us" | "micro" | "micros" | "microsecond" | "microseconds" => n / 1e6,
        "s" | "second" | "seconds" => n,
        "m" | "minute" | "minutes" => n * 60.0,
        "h" | "hour" | "hours" => n * 3600.0,
        "d" | "day" | "days" => n * 86400.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

struct DurationVisitor;
impl<'de> Visitor<'de> for DurationVisitor {
    type Value = Duration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"5s\" or a number of milliseconds")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse_duration(v).ok_or_else(|| E::custom(format!("invalid duration [{v}]")))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Ok(Duration::from_millis(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        u64::try_from(v)
            .map(Duration::from_millis)
            .map_err(|_| E::custom("negative duration"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        Duration::try_from_secs_f64(v / 1e3).map_err(|_| E::custom("invalid duration"))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Duration, A::Error> {
        let mut secs = 0u64;
        let mut nanos = 0u32;
        while let Some(k) = map.next_key::<String>()? {
            match k.as_str() {
                "secs" => secs = map.next_value()?,
                "nanos" => nanos = map.next_value()?,
                _ => {
                    let _: de::IgnoredAny = map.next_value()?;
                }
            }
        }
        Ok(Duration::new(secs, nanos))
    }
}

/// Deserializes a HOCON duration (serde `with` helper).
pub fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(DurationVisitor)
}

/// Deserializes a duration that may be `infinite`/`off` (then `None`).
pub fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Duration>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration or `infinite`")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v.trim() {
                "infinite" | "off" | "Inf" => Ok(None),
                _ => DurationVisitor.visit_str(v).map(Some),
            }
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(Duration::from_millis(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            DurationVisitor.visit_i64(v).map(Some)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// Deserializes a HOCON boolean (`on`/`off`/`yes`/`no`/`true`/`false`).
pub fn de_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean (on/off/yes/no/true/false)")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v {
                "on" | "yes" | "true" => Ok(true),
                "off" | "no" | "false" => Ok(false),
                _ => Err(E::custom(format!("invalid boolean [{v}]"))),
            }
        }
    }
    d.deserialize_any(V)
}

/// `pekko.log-dead-letters`: `off`, `on` (no limit) or how many to log before suspending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogDeadLetters {
    /// Do not log.
    Off,
    /// Log all.
    On,
    /// Log this many, then suspend for `log-dead-letters-suspend-duration`.
    Limit(u32),
}

impl<'de> Deserialize<'de> for LogDeadLetters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LogDeadLetters;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("on, off or a number")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LogDeadLetters, E> {
                Ok(if v {
                    LogDeadLetters::On
                } else {
                    LogDeadLetters::Off
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LogDeadLetters, E> {
                Ok(if v == 0 {
                    LogDeadLetters::Off
                } else {
                    LogDeadLetters::Limit(v.min(u32::MAX as u64) as u32)
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LogDeadLetters, E> {
                self.visit_u64(v.max(0) as u64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LogDeadLetters, E> {
                match v {
                    "on" | "yes" | "true" => Ok(LogDeadLetters::On),
                    "off" | "no" | "false" => Ok(LogDeadLetters::Off),
                    n => n
                        .parse::<u64>()
                        .map_err(|_| E::custom(format!("invalid log-dead-letters [{n}]")))
                        .and_then(|n| self.visit_u64(n)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `fork-join-executor` section.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", default)]
pub struct ForkJoinExecutorSettings {
    /// `parallelism-min` (8).
    pub parallelism_min: usize,
    /// `parallelism-factor` (1.0).
    pub parallelism_factor: f64,
    /// `parallelism-max` (64).
    pub parallelism_max: usize,
}

impl Default for ForkJoinExecutorSettings {
    fn default() -> Self {
        ForkJoinExecutorSettings {
            parallelism_min: 8,
            parallelism_factor: 1.0,
            parallelism_max: 64,
        }
    }
}

impl ForkJoinExecutorSettings {
    /// Threads for `cores` available processors: `clamp(ceil(cores * factor), min, max)`.
    pub fn parallelism(&self, cores: usize) -> usize {
        let n = (cores as f64 * self.parallelism_factor).ceil() as usize;
        n.clamp(
            self.parallelism_min,
            self.parallelism_max.max(self.parallelism_min),
        )
    }
}

/// A dispatcher section (`pekko.actor.default-dispatcher` and friends).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", default)]
pub struct DispatcherSettings {
    /// `type` (`Dispatcher`).
    #[serde(rename = "type")]
    pub dispatcher_type: String,
    /// `executor`: `default-executor` / `fork-join-executor` run on tokio workers,
    /// `thread-pool-executor` on tokio's blocking pool.
    pub executor: String,
    /// `throughput`: messages per actor per turn before yielding (5).
    pub throughput: usize,
    /// `throughput-deadline-time` (0ms = none).
    #[serde(deserialize_with = "de_duration")]
    pub throughput_deadline_time: Duration,
    /// `fork-join-executor` section.
    pub fork_join_executor: ForkJoinExecutorSettings,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        DispatcherSettings {
            dispatcher_type: "Dispatcher".into(),
            executor: "default-executor".into(),
            throughput: 5,
            throughput_deadline_time: Duration::ZERO,
            fork_join_executor: ForkJoinExecutorSettings::default(),
        }
    }
}

impl DispatcherSettings {
    /// Pekko's `default-blocking-io-dispatcher` defaults.
    pub fn blocking_io() -> Self {
        DispatcherSettings {
            executor: "thread-pool-executor".into(),
            throughput: 1,
            ..Default::default()
        }
    }

    /// Whether actors on this dispatcher run on the blocking pool.
    pub fn is_blocking(&self) -> bool {
        self.executor == "thread-pool-executor"
    }
}

/// A mailbox section (`pekko.actor.default-mailbox`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", default)]
pub struct MailboxSettings {
    /// `mailbox-capacity` (1000; used by bounded mailboxes only).
    pub mailbox_capacity: u32,
    /// `mailbox-type`; a type containing `Bounded` selects a bounded mailbox.
    pub mailbox_type: String,
}

impl Default for MailboxSettings {
    fn default() -> Self {
        MailboxSettings {
            mailbox_capacity: 1000,
            mailbox_type: "org.apache.pekko.dispatch.UnboundedMailbox".into(),
        }
    }
}

impl MailboxSettings {
    /// Capacity when bounded, 0 when unbounded.
    pub fn bound(&self) -> u32 {
        if self.mailbox_type.contains("Bounded") && !self.mailbox_type.contains("Unbounded") {
            self.mailbox_capacity
        } else {
            0
        }
    }
}

/// `pekko.actor.typed` section.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", default)]
pub struct TypedSettings {
    /// `restart-stash-capacity` (1000): messages kept while a supervisor restarts.
    pub restart_stash_capacity: usize,
}

impl Default for TypedSettings {
    fn default() -> Self {
        TypedSettings {
            restart_stash_capacity: 1000,
        }
    }
}

/// `pekko.actor` section.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", default)]
pub struct ActorSettings {
    /// `default-dispatcher`.
    pub default_dispatcher: DispatcherSettings,
    /// `default-blocking-io-dispatcher`.
    #[serde(default = "DispatcherSettings::blocking_io")]
    pub default_blocking_io_dispatcher: DispatcherSettings,
    /// `default-mailbox`.
    pub default_mailbox: MailboxSettings,
    /// `typed`.
    pub typed: TypedSettings,
}

/// `pekko.scheduler` section. Rekko uses tokio's timer (1 ms resolution); the keys are read
/// so that configs carrying them stay valid.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", default)]
pub struct SchedulerSettings {
    /// `tick-duration` (10ms).
    #[serde(deserialize_with = "de_duration")]
    pub tick_duration: Duration,
    /// `ticks-per-wheel` (512).
    pub ticks_per_wheel: u32,
    /// `shutdown-timeout` (5s).
    #[serde(deserialize_with = "de_duration")]
    pub shutdown_timeout: Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        SchedulerSettings {
            tick_duration: Duration::from_millis(10),
            ticks_per_wheel: 512,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

/// One phase of coordinated shutdown.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", default)]
pub struct PhaseSettings {
    /// `depends-on`: phases that must run before this one.
    pub depends_on: Vec<String>,
    /// `timeout` (default: `default-phase-timeout`).
    #[serde(deserialize_with = "de_opt_duration")]
    pub timeout: Option<Duration>,
    /// `recover` (on): continue with the next phase after a timeout or failure.
    #[serde(deserialize_with = "de_bool")]
    pub recover: bool,
    /// `enabled` (on).
    #[serde(deserialize_with = "de_bool")]
    pub enabled: bool,
}

impl Default for PhaseSettings {
    fn default() -> Self {
        PhaseSettings {
            depends_on: Vec::new(),
            timeout: None,
            recover: true,
            enabled: true,
        }
    }
}

/// `pekko.coordinated-shutdown` section.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", default)]
pub struct CoordinatedShutdownSettings {
    /// `default-phase-timeout` (5 s).
    #[serde(deserialize_with = "de_duration")]
    pub default_phase_timeout: Duration,
    /// `terminate-actor-system` (on).
    #[serde(deserialize_with = "de_bool")]
    pub terminate_actor_system: bool,
    /// `run-by-actor-system-terminate` (on).
    #[serde(deserialize_with = "de_bool")]
    pub run_by_actor_system_terminate: bool,
    /// `run-by-jvm-shutdown-hook` (on): in Rekko, run on SIGTERM.
    #[serde(deserialize_with = "de_bool")]
    pub run_by_jvm_shutdown_hook: bool,
    /// `exit-jvm` (off): exit the process with `exit-code` after a shutdown that SIGTERM started.
    #[serde(deserialize_with = "de_bool")]
    pub exit_jvm: bool,
    /// `exit-code` (0), for applications that exit after shutdown.
    pub exit_code: i32,
    /// `phases`.
    pub phases: BTreeMap<String, PhaseSettings>,
}

fn phase(deps: &[&str], timeout_s: Option<u64>) -> PhaseSettings {
    PhaseSettings {
        depends_on: deps.iter().map(|s| s.to_string()).collect(),
        timeout: timeout_s.map(Duration::from_secs),
        ..Default::default()
    }
}

impl Default for CoordinatedShutdownSettings {
    fn default() -> Self {
        let mut phases = BTreeMap::new();
        let list: [(&str, &[&str], Option<u64>); 12] = [
            ("before-service-unbind", &[], None),
            ("service-unbind", &["before-service-unbind"], None),
            ("service-requests-done", &["service-unbind"], None),
            ("service-stop", &["service-requests-done"], None),
            ("before-cluster-shutdown", &["service-stop"], None),
            (
                "cluster-sharding-shutdown-region",
                &["before-cluster-shutdown"],
                Some(10),
            ),
            ("cluster-leave", &["cluster-sharding-shutdown-region"], None),
            ("cluster-exiting", &["cluster-leave"], Some(10)),
            ("cluster-exiting-done", &["cluster-exiting"], None),
            ("cluster-shutdown", &["cluster-exiting-done"], None),
            ("before-actor-system-terminate", &["cluster-shutdown"], None),
            (
                "actor-system-terminate",
                &["before-actor-system-terminate"],
                Some(10),
            ),
        ];
        for (name, deps, t) in list {
            phases.insert(name.to_string(), phase(deps, t));
        }
        CoordinatedShutdownSettings {
            default_phase_timeout: Duration::from_secs(5),
            terminate_actor_system: true,
            run_by_actor_system_terminate: true,
            run_by_jvm_shutdown_hook: true,
            exit_jvm: false,
            exit_code: 0,
            phases,
        }
    }
}

/// Everything the actor system reads from the `pekko` config section.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", default)]
pub struct ActorSystemSettings {
    /// `pekko.actor`.
    pub actor: ActorSettings,
    /// `pekko.scheduler`.
    pub scheduler: SchedulerSettings,
    /// `pekko.coordinated-shutdown`.
    pub coordinated_shutdown: CoordinatedShutdownSettings,
    /// `pekko.log-dead-letters` (10).
    pub log_dead_letters: LogDeadLetters,
    /// `pekko.log-dead-letters-during-shutdown` (off).
    #[serde(deserialize_with = "de_bool")]
    pub log_dead_letters_during_shutdown: bool,
    /// `pekko.log-dead-letters-suspend-duration` (5 minutes; `infinite` = never resume).
    #[serde(deserialize_with = "de_opt_duration")]
    pub log_dead_letters_suspend_duration: Option<Duration>,
    /// Further dispatchers by config path, for `DispatcherSelector::FromConfig`.
    #[serde(skip)]
    pub dispatchers: HashMap<String, DispatcherSettings>,
    /// Further mailboxes by config path, for `MailboxSelector::FromConfig`.
    #[serde(skip)]
    pub mailboxes: HashMap<String, MailboxSettings>,
}

impl Default for ActorSystemSettings {
    fn default() -> Self {
        ActorSystemSettings {
            actor: ActorSettings {
                default_blocking_io_dispatcher: DispatcherSettings::blocking_io(),
                ..Default::default()
            },
            scheduler: SchedulerSettings::default(),
            coordinated_shutdown: CoordinatedShutdownSettings::default(),
            log_dead_letters: LogDeadLetters::Limit(10),
            log_dead_letters_during_shutdown: false,
            log_dead_letters_suspend_duration: Some(Duration::from_secs(300)),
            dispatchers: HashMap::new(),
            mailboxes: HashMap::new(),
        }
    }
}

impl Default for LogDeadLetters {
    fn default() -> Self {
        LogDeadLetters::Limit(10)
    }
}

impl ActorSystemSettings {
    /// Reads the settings from `config` (the application's config), falling back to the bundled
    /// [`REFERENCE_CONF`] for every key it does not set. Dispatchers (objects with
    /// `type = Dispatcher`) and mailboxes (objects with `mailbox-type`) anywhere in the config are
    /// collected by path for `DispatcherSelector::from_config` / `MailboxSelector::from_config`.
    pub fn from_config(config: &hocon_config::Config) -> Result<Self, crate::ActorError> {
        let err = |key: &str, e: hocon_config::ConfigError| crate::ActorError::InvalidSetting {
            key: key.to_string(),
            reason: e.to_string(),
        };
        let reference = hocon_config::Config::parse_string(REFERENCE_CONF)
            .map_err(|e| err("reference.conf", e))?;
        let full = config
            .with_fallback(&reference)
            .resolve()
            .map_err(|e| err("<config>", e))?;
        let mut settings: ActorSystemSettings = full.get("pekko").map_err(|e| err("pekko", e))?;
        for (path, value) in full.entry_set().map_err(|e| err("<config>", e))? {
            if let Some(section) = path.strip_suffix(".type") {
                let ty = value.as_str().unwrap_or("");
                if ty == "Dispatcher" || ty == "PinnedDispatcher" {
                    let mut d: DispatcherSettings =
                        full.get(section).map_err(|e| err(section, e))?;
                    if ty == "PinnedDispatcher" {
                        d.executor = "thread-pool-executor".into();
                    }
                    settings.dispatchers.insert(section.to_string(), d);
                }
            } else if let Some(section) = path.strip_suffix(".mailbox-type") {
                if let Ok(m) = full.get::<MailboxSettings>(section) {
                    settings.mailboxes.insert(section.to_string(), m);
                }
            }
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn without_collected(mut s: ActorSystemSettings) -> ActorSystemSettings {
        s.dispatchers.clear();
        s.mailboxes.clear();
        s
    }

    #[test]
    fn bundled_reference_conf_gives_the_defaults() {
        let s = ActorSystemSettings::from_config(&hocon_config::Config::empty());
        assert_eq!(s.map(without_collected), Ok(ActorSystemSettings::default()));
    }

    /// Pekko's own reference.conf files, read as the whole config, give our defaults.
    #[test]
    fn pekko_reference_conf_gives_the_same_settings() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/pekko-reference");
        let files = [
            dir.join("actor/reference.conf"),
            dir.join("actor-typed/reference.conf"),
        ];
        if !files.iter().all(|f| f.exists()) {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("Pekko reference.conf missing under {}", dir.display());
            }
            eprintln!(
                "skipped: Pekko reference.conf not found under {}",
                dir.display()
            );
            return;
        }
        let mut cfg = hocon_config::Config::empty();
        for f in &files {
            let c = hocon_config::Config::parse_file(f);
            assert!(c.is_ok(), "{}: {:?}", f.display(), c.err());
            if let Ok(c) = c {
                cfg = cfg.with_fallback(&c);
            }
        }
        let s = ActorSystemSettings::from_config(&cfg);
        assert_eq!(s.map(without_collected), Ok(ActorSystemSettings::default()));
    }

    #[test]
    fn application_conf_overrides_defaults() {
        let app = hocon_config::Config::parse_string(
            r#"
            pekko {
              log-dead-letters = off
              log-dead-letters-suspend-duration = infinite
              actor.default-dispatcher.throughput = 20
              actor.typed.restart-stash-capacity = 7
              coordinated-shutdown {
                default-phase-timeout = 2s
                run-by-jvm-shutdown-hook = off
                phases.service-stop.timeout = 500ms
              }
            }
            my-dispatcher {
              type = Dispatcher
              executor = "thread-pool-executor"
              throughput = 3
            }
            my-mailbox {
              mailbox-type = "org.apache.pekko.dispatch.BoundedMailbox"
              mailbox-capacity = 42
            }
            "#,
        );
        let s = app.map(|a| ActorSystemSettings::from_config(&a));
        let s = match s {
            Ok(Ok(s)) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(s.log_dead_letters, LogDeadLetters::Off);
        assert_eq!(s.log_dead_letters_suspend_duration, None);
        assert_eq!(s.actor.default_dispatcher.throughput, 20);
        assert_eq!(s.actor.typed.restart_stash_capacity, 7);
        assert_eq!(
            s.coordinated_shutdown.default_phase_timeout,
            Duration::from_secs(2)
        );
        assert!(!s.coordinated_shutdown.run_by_jvm_shutdown_hook);
        assert_eq!(
            s.coordinated_shutdown
                .phases
                .get("service-stop")
                .and_then(|p| p.timeout),
            Some(Duration::from_millis(500))
        );
        // Untouched keys keep Pekko's defaults.
        assert_eq!(s.scheduler.tick_duration, Duration::from_millis(10));
        assert_eq!(s.coordinated_shutdown.phases.len(), 12);
        let d = s.dispatchers.get("my-dispatcher");
        assert_eq!(d.map(|d| (d.is_blocking(), d.throughput)), Some((true, 3)));
        assert_eq!(s.mailboxes.get("my-mailbox").map(|m| m.bound()), Some(42));
    }

    #[test]
    fn durations_parse_like_hocon() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("5 s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("10ms"), Some(Duration::from_millis(10)));
        assert_eq!(parse_duration("5 minutes"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("x"), None);
    }

    #[test]
    fn parallelism_is_clamped() {
        let fj = ForkJoinExecutorSettings::default();
        assert_eq!(fj.parallelism(2), 8);
        assert_eq!(fj.parallelism(100), 64);
    }

    /// Every `key = value` line of the bundled reference.conf that also appears in Pekko's
    /// reference.conf for the same section must carry the same value.
    #[test]
    fn bundled_defaults_match_pekko_reference() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/pekko-reference");
        let actor = std::fs::read_to_string(dir.join("actor/reference.conf"));
        let typed = std::fs::read_to_string(dir.join("actor-typed/reference.conf"));
        let (Ok(actor), Ok(typed)) = (actor, typed) else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("Pekko reference.conf missing under {}", dir.display());
            }
            eprintln!(
                "skipped: Pekko reference.conf not found under {}",
                dir.display()
            );
            return;
        };
        let pekko = flatten(&(actor + "\n" + &typed));
        let ours = flatten(REFERENCE_CONF);
        assert!(ours.len() > 20, "bundled reference.conf has too few keys");
        for (k, v) in &ours {
            let theirs = pekko.get(k);
            assert_eq!(theirs, Some(v), "default of [{k}] differs from Pekko's");
        }
    }

    /// A tiny flattener for the simple `key = value` / `section {` layout of reference.conf
    /// files (enough to compare leaf defaults; not a HOCON parser).
    fn flatten(text: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut stack: Vec<String> = Vec::new();
        for raw in text.lines() {
            let line = raw.split(" #").next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
                continue;
            }
            if line == "}" {
                stack.pop();
                continue;
            }
            if let Some(name) = line.strip_suffix('{') {
                let name = name.trim().trim_matches('"').to_string();
                stack.push(name);
                if line.contains('}') {
                    stack.pop();
                }
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                let v = v.trim();
                if v.ends_with('{') {
                    stack.push(k.trim().to_string());
                    continue;
                }
                let mut key = stack.join(".");
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(k.trim());
                out.insert(key, v.trim_matches('"').to_string());
            }
        }
        out
    }
}
