//! `pekko.cluster.*` settings this crate implements, read with serde from a [`Config`], with
//! the bundled [`REFERENCE_CONF`] as fallback.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hocon_config::Config;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::membership::LeaderActionSettings;

/// The `reference.conf` this crate bundles: Pekko's keys and defaults for what it implements.
pub const REFERENCE_CONF: &str = include_str!("reference.conf");

/// `config` with this crate's reference configuration as fallback, resolved.
pub fn with_reference(config: &Config) -> crate::Result<Config> {
    let reference = Config::parse_string(REFERENCE_CONF)?;
    Ok(config.with_fallback(&reference).resolve()?)
}

/// Parses a HOCON duration (`1s`, `500 ms`, `2 minutes`; a bare number is milliseconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (t[..split].trim(), t[split..].trim());
    let n: f64 = num.parse().ok()?;
    let ms = match unit {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => n,
        "us" | "micro" | "micros" | "microsecond" | "microseconds" => n / 1e3,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => n / 1e6,
        "s" | "second" | "seconds" => n * 1e3,
        "m" | "minute" | "minutes" => n * 60e3,
        "h" | "hour" | "hours" => n * 3600e3,
        "d" | "day" | "days" => n * 86400e3,
        _ => return None,
    };
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1e3))
}

/// A setting that is `on`, `off` or a duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnOffDuration {
    /// `on`: the setting's documented default duration.
    On,
    /// `off`.
    Off,
    /// An explicit duration (> 0).
    Duration(Duration),
}

impl<'de> Deserialize<'de> for OnOffDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = OnOffDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("on, off or a duration")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
                Ok(if b {
                    OnOffDuration::On
                } else {
                    OnOffDuration::Off
                })
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                u64::try_from(n)
                    .ok()
                    .filter(|n| *n > 0)
                    .map(|n| OnOffDuration::Duration(Duration::from_millis(n)))
                    .ok_or_else(|| E::custom("must be a duration > 0s, on or off"))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
                if n.is_finite() && n > 0.0 {
                    Ok(OnOffDuration::Duration(Duration::from_secs_f64(n / 1e3)))
                } else {
                    Err(E::custom("must be a duration > 0s, on or off"))
                }
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                match s.trim().to_ascii_lowercase().as_str() {
                    "on" | "true" | "yes" => Ok(OnOffDuration::On),
                    "off" | "false" | "no" => Ok(OnOffDuration::Off),
                    other => match parse_duration(other) {
                        Some(d) if !d.is_zero() => Ok(OnOffDuration::Duration(d)),
                        _ => Err(E::custom(format!(
                            "must be on, off or a duration > 0s, got {s:?}"
                        ))),
                    },
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl OnOffDuration {
    /// The duration in force: `on_default` for `on`, `None` for `off`.
    pub fn resolve(self, on_default: Duration) -> Option<Duration> {
        match self {
            OnOffDuration::On => Some(on_default),
            OnOffDuration::Off => None,
            OnOffDuration::Duration(d) => Some(d),
        }
    }
}

/// `pekko.cluster.role.<name>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RoleSettings {
    /// `min-nr-of-members` for this role.
    pub min_nr_of_members: Option<usize>,
}

/// `pekko.cluster.multi-data-center`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct MultiDataCenterSettings {
    /// `self-data-center`.
    pub self_data_center: String,
}

impl Default for MultiDataCenterSettings {
    fn default() -> Self {
        MultiDataCenterSettings {
            self_data_center: "default".into(),
        }
    }
}

/// `pekko.cluster.configuration-compatibility-check`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct CompatCheckSettings {
    /// `enforce-on-join`.
    pub enforce_on_join: bool,
}

impl Default for CompatCheckSettings {
    fn default() -> Self {
        CompatCheckSettings {
            enforce_on_join: true,
        }
    }
}

/// The `pekko.cluster` keys implemented so far.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct ClusterSettings {
    /// `seed-nodes`.
    pub seed_nodes: Vec<String>,
    /// `seed-node-timeout`.
    pub seed_node_timeout: Duration,
    /// `retry-unsuccessful-join-after` (`off` disables).
    pub retry_unsuccessful_join_after: OnOffDuration,
    /// `roles` (without the data-center role).
    pub roles: Vec<String>,
    /// `app-version`.
    pub app_version: String,
    /// `min-nr-of-members`.
    pub min_nr_of_members: usize,
    /// `role.<name>.min-nr-of-members`.
    pub role: BTreeMap<String, RoleSettings>,
    /// `allow-weakly-up-members` (`on` = 7s).
    pub allow_weakly_up_members: OnOffDuration,
    /// `gossip-interval`.
    pub gossip_interval: Duration,
    /// `gossip-time-to-live`.
    pub gossip_time_to_live: Duration,
    /// `leader-actions-interval`.
    pub leader_actions_interval: Duration,
    /// `unreachable-nodes-reaper-interval`.
    pub unreachable_nodes_reaper_interval: Duration,
    /// `prune-gossip-tombstones-after`.
    pub prune_gossip_tombstones_after: Duration,
    /// `downing-provider-class` (`""` = no downing).
    pub downing_provider_class: String,
    /// `multi-data-center.*`.
    pub multi_data_center: MultiDataCenterSettings,
    /// `configuration-compatibility-check.*`.
    pub configuration_compatibility_check: CompatCheckSettings,
    /// `failure-detector.*`.
    pub failure_detector: crate::heartbeat::FailureDetectorSettings,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            seed_nodes: Vec::new(),
            seed_node_timeout: Duration::from_secs(5),
            retry_unsuccessful_join_after: OnOffDuration::Duration(Duration::from_secs(10)),
            roles: Vec::new(),
            app_version: "0.0.0".into(),
            min_nr_of_members: 1,
            role: BTreeMap::new(),
            allow_weakly_up_members: OnOffDuration::Duration(Duration::from_secs(7)),
            gossip_interval: Duration::from_secs(1),
            gossip_time_to_live: Duration::from_secs(2),
            leader_actions_interval: Duration::from_secs(1),
            unreachable_nodes_reaper_interval: Duration::from_secs(1),
            prune_gossip_tombstones_after: Duration::from_secs(24 * 3600),
            downing_provider_class: String::new(),
            multi_data_center: MultiDataCenterSettings::default(),
            configuration_compatibility_check: CompatCheckSettings::default(),
            failure_detector: crate::heartbeat::FailureDetectorSettings::default(),
        }
    }
}

/// Class name of Pekko's split brain resolver downing provider.
pub const SBR_PROVIDER_CLASS: &str = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider";

impl ClusterSettings {
    /// Reads `pekko.cluster` from a config with this crate's `reference.conf` as fallback, and
    /// validates roles (none may start with `dc-`).
    pub fn from_config(config: &Config) -> crate::Result<ClusterSettings> {
        let full = with_reference(config)?;
        let s: ClusterSettings = full.get("pekko.cluster")?;
        if let Some(r) = s
            .roles
            .iter()
            .find(|r| r.starts_with(crate::member::DC_ROLE_PREFIX))
        {
            return Err(crate::ClusterError::Setting {
                key: "pekko.cluster.roles".into(),
                reason: format!(
                    "role {r:?} must not start with `dc-` (reserved for the data center)"
                ),
            });
        }
        Ok(s)
    }

    /// This node's roles including `dc-<self-data-center>`.
    pub fn roles_with_dc(&self) -> Vec<String> {
        let mut roles = self.roles.clone();
        roles.push(format!("dc-{}", self.multi_data_center.self_data_center));
        roles
    }

    /// The WeaklyUp delay in force (`None` when off).
    pub fn weakly_up_after(&self) -> Option<Duration> {
        self.allow_weakly_up_members.resolve(Duration::from_secs(7))
    }

    /// True when the split brain resolver is the configured downing provider.
    pub fn sbr_enabled(&self) -> bool {
        self.downing_provider_class == SBR_PROVIDER_CLASS
    }

    /// The settings the leader actions need.
    pub fn leader_action_settings(&self) -> LeaderActionSettings {
        LeaderActionSettings {
            min_nr_of_members: self.min_nr_of_members,
            min_nr_of_members_of_role: self
                .role
                .iter()
                .filter_map(|(r, s)| s.min_nr_of_members.map(|n| (r.clone(), n)))
                .collect(),
            prune_gossip_tombstones_after_ms: i64::try_from(
                self.prune_gossip_tombstones_after.as_millis(),
            )
            .unwrap_or(i64::MAX),
        }
    }
}
