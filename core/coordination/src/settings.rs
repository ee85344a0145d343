//! Lease settings: Pekko's `LeaseSettings` and `TimeoutSettings`.

use std::time::Duration;

use hocon_config::Config;

use crate::error::{CoordinationError, Result};

/// The crate's bundled `reference.conf`: Pekko's `pekko.coordination.lease` defaults.
pub const REFERENCE_CONF: &str = include_str!("reference.conf");

/// Config path of the defaults every lease implementation block falls back to.
pub const LEASE_DEFAULTS_PATH: &str = "pekko.coordination.lease";

/// `config` with this crate's `reference.conf` as fallback, resolved.
pub fn with_reference(config: &Config) -> Result<Config> {
    let reference = Config::parse_string(REFERENCE_CONF)?;
    Ok(config.with_fallback(&reference).resolve()?)
}

/// Timing of a lease implementation (Pekko's `TimeoutSettings`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutSettings {
    /// `heartbeat-interval`: how often the implementation confirms it still holds the lease.
    pub heartbeat_interval: Duration,
    /// `heartbeat-timeout`: how long a crashed owner's lease stays held.
    pub heartbeat_timeout: Duration,
    /// `lease-operation-timeout`: time limit of acquire and release.
    pub operation_timeout: Duration,
}

impl Default for TimeoutSettings {
    /// The values of `pekko.coordination.lease`.
    fn default() -> Self {
        TimeoutSettings {
            heartbeat_interval: Duration::from_secs(12),
            heartbeat_timeout: Duration::from_secs(120),
            operation_timeout: Duration::from_secs(5),
        }
    }
}

impl TimeoutSettings {
    /// Reads `heartbeat-timeout`, `heartbeat-interval` (an empty string means a tenth of the
    /// timeout, at least 5s) and `lease-operation-timeout` from a lease config block, and
    /// requires the interval to be less than half the timeout, as Pekko does.
    pub fn from_config(block: &Config) -> Result<TimeoutSettings> {
        let heartbeat_timeout = block.get_duration("heartbeat-timeout")?;
        let interval_is_empty = block
            .get_value("heartbeat-interval")?
            .as_str()
            .is_some_and(|s| s.trim().is_empty());
        let heartbeat_interval = if interval_is_empty {
            (heartbeat_timeout / 10).max(Duration::from_secs(5))
        } else {
            block.get_duration("heartbeat-interval")?
        };
        if heartbeat_interval >= heartbeat_timeout / 2 {
            return Err(CoordinationError::Setting {
                key: "heartbeat-interval".into(),
                reason: format!(
                    "must be less than half heartbeat-timeout ({} ms), got {} ms",
                    heartbeat_timeout.as_millis(),
                    heartbeat_interval.as_millis()
                ),
            });
        }
        Ok(TimeoutSettings {
            heartbeat_interval,
            heartbeat_timeout,
            operation_timeout: block.get_duration("lease-operation-timeout")?,
        })
    }
}

/// What a lease implementation is created with (Pekko's `LeaseSettings`).
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// Name of the lease resource (e.g. `<system>-pekko-sbr`).
    pub lease_name: String,
    /// The owner that acquires the lease, e.g. `system@host:port` of a node.
    pub owner_name: String,
    /// Timing read from the implementation's block.
    pub timeout_settings: TimeoutSettings,
    /// The implementation's config block merged with `pekko.coordination.lease`; an
    /// implementation reads its own keys (e.g. a directory or a URL) from here.
    pub lease_config: Config,
}

impl LeaseSettings {
    /// Settings from a lease config block (already merged with the defaults).
    pub fn from_config(
        block: &Config,
        lease_name: impl Into<String>,
        owner_name: impl Into<String>,
    ) -> Result<LeaseSettings> {
        Ok(LeaseSettings {
            lease_name: lease_name.into(),
            owner_name: owner_name.into(),
            timeout_settings: TimeoutSettings::from_config(block)?,
            lease_config: block.clone(),
        })
    }

    /// The same settings with other timing.
    pub fn with_timeout_settings(mut self, timeout_settings: TimeoutSettings) -> LeaseSettings {
        self.timeout_settings = timeout_settings;
        self
    }

    /// The `lease-class` of the block (empty when not set).
    pub fn lease_class(&self) -> String {
        self.lease_config
            .get_string("lease-class")
            .unwrap_or_default()
    }
}

impl std::fmt::Display for LeaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.timeout_settings;
        write!(
            f,
            "LeaseSettings({}, {}, TimeoutSettings({} ms, {} ms, {} ms))",
            self.lease_name,
            self.owner_name,
            t.heartbeat_interval.as_millis(),
            t.heartbeat_timeout.as_millis(),
            t.operation_timeout.as_millis()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(text: &str) -> Config {
        let defaults = with_reference(&Config::empty())
            .and_then(|c| Ok(c.get_config(LEASE_DEFAULTS_PATH)?))
            .unwrap();
        Config::parse_string(text)
            .unwrap()
            .with_fallback(&defaults)
            .resolve()
            .unwrap()
    }

    #[test]
    fn defaults_are_pekkos() {
        let t = TimeoutSettings::from_config(&block("")).unwrap();
        assert_eq!(t, TimeoutSettings::default());
    }

    #[test]
    fn empty_heartbeat_interval_is_a_tenth_of_the_timeout_but_at_least_5s() {
        let t = TimeoutSettings::from_config(&block(
            r#"heartbeat-interval = "", heartbeat-timeout = 200s"#,
        ))
        .unwrap();
        assert_eq!(t.heartbeat_interval, Duration::from_secs(20));
        let t = TimeoutSettings::from_config(&block(
            r#"heartbeat-interval = "", heartbeat-timeout = 20s"#,
        ))
        .unwrap();
        assert_eq!(t.heartbeat_interval, Duration::from_secs(5));
    }

    #[test]
    fn interval_must_be_less_than_half_the_timeout() {
        let err = TimeoutSettings::from_config(&block(
            "heartbeat-interval = 10s, heartbeat-timeout = 20s",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("heartbeat-interval"), "{err}");
        assert!(err.contains("less than half"), "{err}");
    }

    #[test]
    fn lease_settings_keep_the_block() {
        let s = LeaseSettings::from_config(
            &block(r#"lease-class = "a.B", directory = "/tmp/x", lease-operation-timeout = 3s"#),
            "sbr",
            "Sys@h:1",
        )
        .unwrap();
        assert_eq!(s.lease_class(), "a.B");
        assert_eq!(s.lease_config.get_string("directory").unwrap(), "/tmp/x");
        assert_eq!(s.timeout_settings.operation_timeout, Duration::from_secs(3));
        assert_eq!(
            s.to_string(),
            "LeaseSettings(sbr, Sys@h:1, TimeoutSettings(12000 ms, 120000 ms, 3000 ms))"
        );
    }
}
