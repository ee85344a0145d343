//! `pekko.management.*` settings (Pekko Management's keys and defaults).

use std::collections::BTreeSet;
use std::time::Duration;

use hocon_config::Config;
use rekko_cluster::MemberStatus;

use crate::error::{ManagementError, Result};

/// The bundled defaults of the `pekko.management` keys.
pub const REFERENCE_CONF: &str = include_str!("reference.conf");

/// The class name Pekko Management registers for the cluster membership readiness check; it is
/// also the name failing readiness responses report.
pub const CLUSTER_MEMBERSHIP_CHECK: &str =
    "org.apache.pekko.management.cluster.scaladsl.ClusterMembershipCheck";

/// One health check known to Rekko, by what it checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthCheck {
    /// True while this node's own member status is one of `ready_states`.
    ClusterMembership {
        /// `pekko.management.cluster.health-check.ready-states`.
        ready_states: BTreeSet<MemberStatus>,
    },
}

impl HealthCheck {
    /// The class name Pekko reports in `Not Healthy: Check [<name>] not ok`.
    pub fn class_name(&self) -> &'static str {
        match self {
            HealthCheck::ClusterMembership { .. } => CLUSTER_MEMBERSHIP_CHECK,
        }
    }
}

/// Settings of the management HTTP endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagementSettings {
    /// `pekko.management.http.hostname`, with `<hostname>` or empty resolved to this host's
    /// address (the host name of the advertised base URI).
    pub hostname: String,
    /// `pekko.management.http.port`.
    pub port: u16,
    /// `bind-hostname`, or `hostname` when empty.
    pub bind_hostname: String,
    /// `bind-port`, or `port` when empty (0 picks a free port).
    pub bind_port: u16,
    /// `base-path`, `None` when empty.
    pub base_path: Option<String>,
    /// `route-providers-read-only`: only GET routes when true.
    pub read_only: bool,
    /// Whether the `health-checks` route provider is enabled.
    pub health_routes: bool,
    /// Whether the `cluster-management` route provider is enabled.
    pub cluster_routes: bool,
    /// `health-checks.startup-path`.
    pub startup_path: String,
    /// `health-checks.readiness-path`.
    pub readiness_path: String,
    /// `health-checks.liveness-path`.
    pub liveness_path: String,
    /// `health-checks.check-timeout`.
    pub check_timeout: Duration,
    /// Checks of `health-checks.startup-checks`.
    pub startup_checks: Vec<HealthCheck>,
    /// Checks of `health-checks.readiness-checks`.
    pub readiness_checks: Vec<HealthCheck>,
    /// Checks of `health-checks.liveness-checks`.
    pub liveness_checks: Vec<HealthCheck>,
}

/// `config` with the bundled `pekko.management` defaults as fallback, resolved.
pub fn with_reference(config: &Config) -> Result<Config> {
    let reference = Config::parse_string(REFERENCE_CONF)?;
    Ok(config.with_fallback(&reference).resolve()?)
}

/// True when `config` itself (without the bundled defaults) sets any
/// `pekko.management.http` key: the signal `rekko node` uses to start the endpoint.
pub fn is_configured(config: &Config) -> bool {
    config.has_path("pekko.management.http").unwrap_or(false)
}

fn setting(key: &str, reason: impl Into<String>) -> ManagementError {
    ManagementError::Setting {
        key: key.to_string(),
        reason: reason.into(),
    }
}

fn port(value: i64, key: &str) -> Result<u16> {
    u16::try_from(value).map_err(|_| setting(key, format!("must be 0 through 65535 (was {value})")))
}

/// Parses a member status name the way Pekko's `ready-states` does (case-insensitive).
pub fn parse_member_status(name: &str) -> Option<MemberStatus> {
    let lower = name.to_ascii_lowercase();
    MemberStatus::ALL
        .into_iter()
        .find(|s| s.to_string().to_ascii_lowercase() == lower)
}

impl ManagementSettings {
    /// Reads the settings from `config`, with the bundled defaults as fallback.
    pub fn from_config(config: &Config) -> Result<ManagementSettings> {
        let c = with_reference(config)?;
        let h = "pekko.management.http";
        let hostname = match c.get_string(&format!("{h}.hostname"))?.trim() {
            "" | "<hostname>" => local_host_address(),
            other => other.to_string(),
        };
        let port_key = format!("{h}.port");
        let port = port(c.get_long(&port_key)?, &port_key)?;
        let bind_hostname = match c.get_string(&format!("{h}.bind-hostname"))?.trim() {
            "" => hostname.clone(),
            other => other.to_string(),
        };
        let bind_port_key = format!("{h}.bind-port");
        let bind_port = match c.get_string(&bind_port_key)?.trim() {
            "" => port,
            other => {
                let n: i64 = other
                    .parse()
                    .map_err(|_| setting(&bind_port_key, format!("not a number: {other:?}")))?;
                self::port(n, &bind_port_key)?
            }
        };
        let base_path = Some(c.get_string(&format!("{h}.base-path"))?)
            .map(|p| p.trim().trim_matches('/').to_string())
            .filter(|p| !p.is_empty());
        let read_only = c.get_bool(&format!("{h}.route-providers-read-only"))?;
        let enabled = |name: &str| -> Result<bool> {
            let key = format!("{h}.routes.{name}");
            if !c.has_path(&key)? {
                return Ok(false);
            }
            let v = c.get_string(&key)?;
            Ok(!(v.trim().is_empty() || v == "null"))
        };
        let health_routes = enabled("health-checks")?;
        let cluster_routes = enabled("cluster-management")?;

        let hc = "pekko.management.health-checks";
        let ready_key = "pekko.management.cluster.health-check.ready-states";
        let ready_states = c
            .get_string_list(ready_key)?
            .iter()
            .map(|s| {
                parse_member_status(s).ok_or_else(|| {
                    setting(
                        ready_key,
                        format!("'{s}' is not a valid MemberStatus (Joining, WeaklyUp, Up, Leaving, Exiting, Down, Removed)"),
                    )
                })
            })
            .collect::<Result<BTreeSet<_>>>()?;
        let checks = |kind: &str| -> Result<Vec<HealthCheck>> {
            let key = format!("{hc}.{kind}");
            let mut out = Vec::new();
            for (name, value) in c.get_config(&key)?.entry_set()? {
                let class = value.as_str().unwrap_or("").trim().to_string();
                if class.is_empty() || class == "null" {
                    continue;
                }
                if class == CLUSTER_MEMBERSHIP_CHECK {
                    out.push(HealthCheck::ClusterMembership {
                        ready_states: ready_states.clone(),
                    });
                } else {
                    return Err(setting(
                        &format!("{key}.{name}"),
                        format!("health check [{class}] is not available in Rekko (only {CLUSTER_MEMBERSHIP_CHECK})"),
                    ));
                }
            }
            Ok(out)
        };
        let path = |name: &str| -> Result<String> {
            Ok(c.get_string(&format!("{hc}.{name}"))?
                .trim_matches('/')
                .to_string())
        };
        Ok(ManagementSettings {
            hostname,
            port,
            bind_hostname,
            bind_port,
            base_path,
            read_only,
            health_routes,
            cluster_routes,
            startup_path: path("startup-path")?,
            readiness_path: path("readiness-path")?,
            liveness_path: path("liveness-path")?,
            check_timeout: c.get_duration(&format!("{hc}.check-timeout"))?,
            startup_checks: checks("startup-checks")?,
            readiness_checks: checks("readiness-checks")?,
            liveness_checks: checks("liveness-checks")?,
        })
    }

    /// The advertised base URI: `http://<hostname>:<port>[/<base-path>]`.
    pub fn self_base_uri(&self, port: u16) -> String {
        let host = if self.hostname.contains(':') {
            format!("[{}]", self.hostname)
        } else {
            self.hostname.clone()
        };
        match &self.base_path {
            Some(p) => format!("http://{host}:{port}/{p}"),
            None => format!("http://{host}:{port}"),
        }
    }
}

/// This host's address as other hosts see it (for `<hostname>`): the local address of the
/// default route, else `127.0.0.1`.
fn local_host_address() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            // Connecting a UDP socket sends nothing; it only picks a route.
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Result<ManagementSettings> {
        ManagementSettings::from_config(&Config::parse_string(text).expect("parses"))
    }

    #[test]
    fn defaults_are_pekko_managements() {
        let s = settings("").expect("defaults load");
        assert_eq!(s.port, 7626);
        assert_eq!(s.bind_port, 7626);
        assert_eq!(s.bind_hostname, s.hostname);
        assert!(!s.hostname.is_empty());
        assert_eq!(s.base_path, None);
        assert!(s.read_only);
        assert!(s.health_routes && s.cluster_routes);
        assert_eq!(
            (
                s.startup_path.as_str(),
                s.readiness_path.as_str(),
                s.liveness_path.as_str()
            ),
            ("startup", "ready", "alive")
        );
        assert_eq!(s.check_timeout, Duration::from_secs(1));
        assert_eq!(
            s.readiness_checks,
            vec![HealthCheck::ClusterMembership {
                ready_states: [MemberStatus::Up, MemberStatus::WeaklyUp].into()
            }]
        );
        assert!(s.startup_checks.is_empty() && s.liveness_checks.is_empty());
    }

    #[test]
    fn bind_keys_override_hostname_and_port() {
        let s = settings(
            r#"pekko.management.http { hostname = "10.0.0.1", port = 8558,
               bind-hostname = "0.0.0.0", bind-port = "0", base-path = "/admin/",
               route-providers-read-only = false }"#,
        )
        .expect("loads");
        assert_eq!(s.hostname, "10.0.0.1");
        assert_eq!(s.port, 8558);
        assert_eq!(s.bind_hostname, "0.0.0.0");
        assert_eq!(s.bind_port, 0);
        assert_eq!(s.base_path.as_deref(), Some("admin"));
        assert!(!s.read_only);
        assert_eq!(s.self_base_uri(8558), "http://10.0.0.1:8558/admin");
    }

    #[test]
    fn out_of_range_port_is_refused_naming_the_key() {
        let e = settings("pekko.management.http.port = 70000").expect_err("refused");
        assert!(
            e.to_string().contains("pekko.management.http.port") && e.to_string().contains("70000"),
            "{e}"
        );
        let e = settings(r#"pekko.management.http.bind-port = "x""#).expect_err("refused");
        assert!(e.to_string().contains("bind-port"), "{e}");
    }

    #[test]
    fn ready_states_are_case_insensitive_and_validated() {
        let s =
            settings(r#"pekko.management.cluster.health-check.ready-states = ["joining", "UP"]"#)
                .expect("loads");
        assert_eq!(
            s.readiness_checks,
            vec![HealthCheck::ClusterMembership {
                ready_states: [MemberStatus::Joining, MemberStatus::Up].into()
            }]
        );
        let e = settings(r#"pekko.management.cluster.health-check.ready-states = ["Sleeping"]"#)
            .expect_err("refused");
        assert!(e.to_string().contains("Sleeping"), "{e}");
    }

    #[test]
    fn disabled_routes_and_checks_are_left_out() {
        let s = settings(
            r#"pekko.management.http.routes.cluster-management = ""
               pekko.management.health-checks.readiness-checks.cluster-membership = """#,
        )
        .expect("loads");
        assert!(!s.cluster_routes && s.health_routes);
        assert!(s.readiness_checks.is_empty());
    }

    #[test]
    fn unknown_health_check_class_is_refused_naming_it() {
        let e = settings(
            r#"pekko.management.health-checks.liveness-checks.db = "com.example.DbCheck""#,
        )
        .expect_err("refused");
        assert!(
            e.to_string().contains("com.example.DbCheck")
                && e.to_string().contains("liveness-checks.db"),
            "{e}"
        );
    }

    #[test]
    fn configured_only_when_the_application_sets_management_http_keys() {
        assert!(!is_configured(
            &Config::parse_string("pekko.cluster.roles = []").expect("parses")
        ));
        assert!(is_configured(
            &Config::parse_string("pekko.management.http.port = 0").expect("parses")
        ));
    }
}
