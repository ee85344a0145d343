//! `pekko.cluster.split-brain-resolver.*` settings.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::error::ClusterError;
use crate::sbr::strategy::Strategy;

/// Name of a downing strategy (`active-strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    /// `keep-majority` (default).
    KeepMajority,
    /// `static-quorum`.
    StaticQuorum,
    /// `keep-oldest`.
    KeepOldest,
    /// `down-all`.
    DownAll,
    /// `lease-majority`.
    LeaseMajority,
}

/// `down-all-when-unstable`: `on`, `off` or a duration.
pub use crate::settings::OnOffDuration as DownAllWhenUnstable;

fn de_quorum_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number >= 1 or `undefined`")
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            usize::try_from(n)
                .map(Some)
                .map_err(|_| E::custom("quorum-size must be >= 1"))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(usize::try_from(n).ok())
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            match s.trim() {
                "undefined" | "" => Ok(None),
                t => t
                    .parse()
                    .map(Some)
                    .map_err(|_| E::custom(format!("quorum-size must be a number, got {s:?}"))),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// `static-quorum` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct StaticQuorumSettings {
    /// `quorum-size` (`undefined` by default; required for this strategy).
    #[serde(deserialize_with = "de_quorum_size")]
    pub quorum_size: Option<usize>,
    /// `role` (`""` = all members).
    pub role: String,
}

/// `keep-majority` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct KeepMajoritySettings {
    /// `role` (`""` = all members).
    pub role: String,
}

/// `keep-oldest` section.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct KeepOldestSettings {
    /// `down-if-alone`.
    pub down_if_alone: bool,
    /// `role` (`""` = all members).
    pub role: String,
}

impl Default for KeepOldestSettings {
    fn default() -> Self {
        KeepOldestSettings {
            down_if_alone: true,
            role: String::new(),
        }
    }
}

/// `lease-majority` section.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct LeaseMajoritySettings {
    /// `lease-implementation`: config path of the lease implementation's block (required for
    /// this strategy).
    pub lease_implementation: String,
    /// `lease-name` (`""` = `<actor-system-name>-pekko-sbr`).
    pub lease_name: String,
    /// `acquire-lease-delay-for-minority`.
    pub acquire_lease_delay_for_minority: Duration,
    /// `release-after`.
    pub release_after: Duration,
    /// `role` (`""` = all members).
    pub role: String,
}

impl Default for LeaseMajoritySettings {
    fn default() -> Self {
        LeaseMajoritySettings {
            lease_implementation: String::new(),
            lease_name: String::new(),
            acquire_lease_delay_for_minority: Duration::from_secs(2),
            release_after: Duration::from_secs(40),
            role: String::new(),
        }
    }
}

impl LeaseMajoritySettings {
    /// The lease name: `lease-name`, or `<system>-pekko-sbr` when it is empty.
    pub fn safe_lease_name(&self, system: &str) -> String {
        match self.lease_name.trim() {
            "" => format!("{system}-pekko-sbr"),
            name => name.to_string(),
        }
    }
}

/// The whole configuration the settings were read from, kept for creating the lease of
/// lease-majority (its implementation block lives anywhere in the config). Equality compares
/// the rendered configuration.
#[derive(Clone, Debug, Default)]
pub struct SourceConfig(pub Option<hocon_config::Config>);

impl PartialEq for SourceConfig {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => a.render_concise() == b.render_concise(),
            _ => false,
        }
    }
}

impl Eq for SourceConfig {}

/// `pekko.cluster.split-brain-resolver` section.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct SbrSettings {
    /// `active-strategy`.
    pub active_strategy: StrategyName,
    /// `stable-after`.
    pub stable_after: Duration,
    /// `down-all-when-unstable`.
    pub down_all_when_unstable: DownAllWhenUnstable,
    /// `static-quorum.*`.
    pub static_quorum: StaticQuorumSettings,
    /// `keep-majority.*`.
    pub keep_majority: KeepMajoritySettings,
    /// `keep-oldest.*`.
    pub keep_oldest: KeepOldestSettings,
    /// `lease-majority.*`.
    pub lease_majority: LeaseMajoritySettings,
    /// The configuration read (set by [`SbrSettings::from_config`] when the strategy is
    /// lease-majority; the lease is created from it).
    #[serde(skip)]
    pub source: SourceConfig,
}

impl Default for SbrSettings {
    fn default() -> Self {
        SbrSettings {
            active_strategy: StrategyName::KeepMajority,
            stable_after: Duration::from_secs(20),
            down_all_when_unstable: DownAllWhenUnstable::On,
            static_quorum: StaticQuorumSettings::default(),
            keep_majority: KeepMajoritySettings::default(),
            keep_oldest: KeepOldestSettings::default(),
            lease_majority: LeaseMajoritySettings::default(),
            source: SourceConfig::default(),
        }
    }
}

fn role(r: &str) -> Option<String> {
    (!r.is_empty()).then(|| r.to_string())
}

const PREFIX: &str = "pekko.cluster.split-brain-resolver";

impl SbrSettings {
    /// Reads `pekko.cluster.split-brain-resolver` from a config, with this crate's
    /// `reference.conf` as fallback.
    pub fn from_config(config: &hocon_config::Config) -> crate::Result<SbrSettings> {
        let full = crate::settings::with_reference(config)?;
        let mut settings: SbrSettings = full.get(PREFIX)?;
        if settings.active_strategy == StrategyName::LeaseMajority {
            settings.source = SourceConfig(Some(full));
        }
        Ok(settings)
    }

    /// The effective down-all-when-unstable delay (`None` when off).
    pub fn down_all_when_unstable_duration(&self) -> Option<Duration> {
        match self.down_all_when_unstable {
            DownAllWhenUnstable::On => Some(Duration::from_secs(4).max(self.stable_after * 3 / 4)),
            DownAllWhenUnstable::Off => None,
            DownAllWhenUnstable::Duration(d) => Some(d),
        }
    }

    /// The configured strategy with its parameters.
    pub fn strategy(&self) -> crate::Result<Strategy> {
        Ok(match self.active_strategy {
            StrategyName::KeepMajority => Strategy::KeepMajority {
                role: role(&self.keep_majority.role),
            },
            StrategyName::StaticQuorum => Strategy::StaticQuorum {
                quorum_size: self
                    .static_quorum
                    .quorum_size
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| ClusterError::Setting {
                        key: format!("{PREFIX}.static-quorum.quorum-size"),
                        reason: "must be >= 1".into(),
                    })?,
                role: role(&self.static_quorum.role),
            },
            StrategyName::KeepOldest => Strategy::KeepOldest {
                down_if_alone: self.keep_oldest.down_if_alone,
                role: role(&self.keep_oldest.role),
            },
            StrategyName::DownAll => Strategy::DownAll,
            StrategyName::LeaseMajority => {
                let lm = &self.lease_majority;
                if lm.lease_implementation.trim().is_empty() {
                    return Err(ClusterError::Setting {
                        key: format!("{PREFIX}.lease-majority.lease-implementation"),
                        reason: "must be defined".into(),
                    });
                }
                Strategy::LeaseMajority {
                    role: role(&lm.role),
                    acquire_lease_delay_for_minority: lm.acquire_lease_delay_for_minority,
                    release_after: lm.release_after,
                }
            }
        })
    }
}
