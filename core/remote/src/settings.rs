//! Settings of the Artery TCP transport, named after their
//! `pekko.remote.artery.*` keys (defaults as in Pekko's reference.conf).

use std::time::Duration;

use hocon_config::Config;

use crate::error::RemoteError;
use crate::tls::{ConfigSslEngineSettings, SslEngineProvider, Tls, TlsSettings};

use artery_wire::failure_detector::PhiAccrualSettings;
use artery_wire::frame::{DEFAULT_MAXIMUM_FRAME_SIZE, DEFAULT_MAXIMUM_LARGE_FRAME_SIZE};
use artery_wire::handshake::HandshakeSettings;
use artery_wire::preamble::{MAGIC_AKKA, MAGIC_PEKK};
use artery_wire::remote_watch::RemoteWatchSettings;
use artery_wire::system_delivery::DeliverySettings;

/// Transport settings of one node.
#[derive(Debug, Clone)]
pub struct RemoteSettings {
    /// The ActorSystem name (part of the address).
    pub system_name: String,
    /// `pekko.remote.protocol-name` (`pekko`).
    pub protocol: String,
    /// `pekko.remote.accept-protocol-names`: protocols of peers this node
    /// talks to; a handshake from, or a send to, another protocol is refused.
    pub accept_protocol_names: Vec<String>,
    /// `advanced.outbound-lanes`: outbound connections of the ordinary
    /// stream per association (at least 1).
    pub outbound_lanes: usize,
    /// `advanced.inbound-lanes`: accepted and ignored (no effect); each
    /// accepted connection is decoded and dispatched in order by its own
    /// task, so a peer's outbound lanes are dispatched in parallel already.
    pub inbound_lanes: usize,
    /// `advanced.stop-idle-outbound-after`: outbound streams of an
    /// association that sent nothing this long are stopped (started again
    /// by the next message).
    pub stop_idle_outbound_after: Duration,
    /// `advanced.quarantine-idle-outbound-after`: an association that sent
    /// nothing this long is quarantined.
    pub quarantine_idle_outbound_after: Duration,
    /// `canonical.hostname`: the host string in this node's address.
    pub canonical_hostname: String,
    /// `canonical.port`; 0 = the bound port.
    pub canonical_port: u16,
    /// `bind.hostname`; `None` = the canonical hostname.
    pub bind_hostname: Option<String>,
    /// `bind.port`; `None` = the canonical port.
    pub bind_port: Option<u16>,
    /// `advanced.tcp-magic`: the first entry is sent, all are accepted.
    pub tcp_magic: Vec<[u8; 4]>,
    /// `advanced.maximum-frame-size` (streams 1 and 2).
    pub maximum_frame_size: usize,
    /// `advanced.maximum-large-frame-size` (stream 3).
    pub maximum_large_frame_size: usize,
    /// `advanced.tcp.connection-timeout`.
    pub connection_timeout: Duration,
    /// `advanced.outbound-restart-backoff`.
    pub outbound_restart_backoff: Duration,
    /// `advanced.handshake-*`.
    pub handshake: HandshakeSettings,
    /// `advanced.system-message-*`.
    pub system_messages: DeliverySettings,
    /// `advanced.compression.actor-refs.max` (0 = off): most entries of an
    /// actor-ref table this node advertises.
    pub compression_actor_refs_max: usize,
    /// `advanced.compression.actor-refs.advertisement-interval`.
    pub compression_actor_refs_interval: Duration,
    /// `advanced.compression.manifests.max` (0 = off).
    pub compression_manifests_max: usize,
    /// `advanced.compression.manifests.advertisement-interval`.
    pub compression_manifests_interval: Duration,
    /// `transport = tls-tcp` with `ssl.ssl-engine-provider =
    /// RotatingKeysSSLEngineProvider`: TLS with the PEM files of
    /// `ssl.rotating-keys-engine`. Used when `ssl_engine_provider` is `None`.
    pub tls: Option<TlsSettings>,
    /// `transport = tls-tcp` with any other `ssl.ssl-engine-provider`, by
    /// default Pekko's `ConfigSSLEngineProvider` reading
    /// `ssl.config-ssl-engine`; takes precedence over `tls`. `None` for plain
    /// `tcp` and for the rotating-keys engine.
    pub ssl_engine_provider: Option<SslEngineProvider>,
    /// `advanced.outbound-message-queue-size` (ordinary stream).
    pub outbound_message_queue_size: usize,
    /// `advanced.outbound-control-queue-size`.
    pub outbound_control_queue_size: usize,
    /// `advanced.outbound-large-message-queue-size`.
    pub outbound_large_message_queue_size: usize,
    /// `advanced.shutdown-flush-timeout`.
    pub shutdown_flush_timeout: Duration,
    /// `pekko.remote.watch-failure-detector.*`.
    pub watch_failure_detector: RemoteWatchSettings,
    /// `large-message-destinations`: recipient path patterns (`*` globs per
    /// element) sent on the large-message stream.
    pub large_message_destinations: Vec<String>,
}

/// The defaults bundled with this crate (Pekko's keys and values).
pub const REFERENCE_CONF: &str = include_str!("reference.conf");

impl RemoteSettings {
    /// Defaults for a node named `system_name` on `hostname:port`.
    pub fn new(system_name: impl Into<String>, hostname: impl Into<String>, port: u16) -> Self {
        RemoteSettings {
            system_name: system_name.into(),
            protocol: "pekko".into(),
            accept_protocol_names: vec!["pekko".into()],
            outbound_lanes: 1,
            inbound_lanes: 4,
            stop_idle_outbound_after: Duration::from_secs(5 * 60),
            quarantine_idle_outbound_after: Duration::from_secs(6 * 3600),
            canonical_hostname: hostname.into(),
            canonical_port: port,
            bind_hostname: None,
            bind_port: None,
            tcp_magic: vec![MAGIC_AKKA, MAGIC_PEKK],
            maximum_frame_size: DEFAULT_MAXIMUM_FRAME_SIZE,
            maximum_large_frame_size: DEFAULT_MAXIMUM_LARGE_FRAME_SIZE,
            connection_timeout: Duration::from_secs(5),
            outbound_restart_backoff: Duration::from_secs(1),
            handshake: HandshakeSettings::default(),
            system_messages: DeliverySettings::default(),
            large_message_destinations: Vec::new(),
            watch_failure_detector: RemoteWatchSettings::default(),
            shutdown_flush_timeout: Duration::from_secs(1),
            tls: None,
            ssl_engine_provider: None,
            outbound_message_queue_size: 3072,
            outbound_control_queue_size: 20000,
            outbound_large_message_queue_size: 256,
            compression_actor_refs_max: 256,
            compression_actor_refs_interval: Duration::from_secs(60),
            compression_manifests_max: 256,
            compression_manifests_interval: Duration::from_secs(60),
        }
    }

    /// Reads the settings for the ActorSystem `system_name` from `config`
    /// (a resolved application config), falling back to the bundled
    /// [`REFERENCE_CONF`]. `<getHostAddress>` and `<getHostName>` in
    /// `canonical.hostname` are replaced by this host's address or name.
    pub fn from_config(
        system_name: &str,
        config: &Config,
    ) -> Result<Self, hocon_config::ConfigError> {
        let reference = Config::parse_string(REFERENCE_CONF)?;
        let c = config.with_fallback(&reference).resolve()?;
        let a = "pekko.remote.artery";
        let opt_port = |path: &str| -> Result<Option<u16>, hocon_config::ConfigError> {
            let v = c.get_string(path)?;
            if v.trim().is_empty() {
                Ok(None)
            } else {
                c.get_int(path).map(|p| Some(p as u16))
            }
        };
        let opt_str = |path: &str| -> Result<Option<String>, hocon_config::ConfigError> {
            let v = c.get_string(path)?;
            Ok((!v.trim().is_empty()).then_some(v))
        };
        let host = match c.get_string(&format!("{a}.canonical.hostname"))?.as_str() {
            "<getHostAddress>" => local_host_address(),
            "<getHostName>" => local_host_name(),
            h => h.to_string(),
        };
        let magic = c
            .get_string_list(&format!("{a}.advanced.tcp-magic"))?
            .iter()
            .filter_map(|m| artery_wire::preamble::magic_from_config(m).ok())
            .collect();
        let tls_tcp = c.get_string(&format!("{a}.transport"))? == "tls-tcp";
        let provider = c.get_string(&format!("{a}.ssl.ssl-engine-provider"))?;
        let rotating_keys = is_provider(&provider, ROTATING_KEYS_PROVIDER);
        Ok(RemoteSettings {
            system_name: system_name.to_string(),
            protocol: c.get_string("pekko.remote.protocol-name")?,
            accept_protocol_names: c.get_string_list("pekko.remote.accept-protocol-names")?,
            outbound_lanes: c.get_int(&format!("{a}.advanced.outbound-lanes"))?.max(1) as usize,
            inbound_lanes: c.get_int(&format!("{a}.advanced.inbound-lanes"))?.max(1) as usize,
            stop_idle_outbound_after: c
                .get_duration(&format!("{a}.advanced.stop-idle-outbound-after"))?,
            quarantine_idle_outbound_after: c
                .get_duration(&format!("{a}.advanced.quarantine-idle-outbound-after"))?,
            canonical_hostname: host,
            canonical_port: c.get_int(&format!("{a}.canonical.port"))? as u16,
            bind_hostname: opt_str(&format!("{a}.bind.hostname"))?,
            bind_port: opt_port(&format!("{a}.bind.port"))?,
            tcp_magic: magic,
            maximum_frame_size: c.get_bytes(&format!("{a}.advanced.maximum-frame-size"))? as usize,
            maximum_large_frame_size: c
                .get_bytes(&format!("{a}.advanced.maximum-large-frame-size"))?
                as usize,
            connection_timeout: c.get_duration(&format!("{a}.advanced.tcp.connection-timeout"))?,
            outbound_restart_backoff: c
                .get_duration(&format!("{a}.advanced.outbound-restart-backoff"))?,
            handshake: HandshakeSettings {
                timeout: c.get_duration(&format!("{a}.advanced.handshake-timeout"))?,
                retry_interval: c
                    .get_duration(&format!("{a}.advanced.handshake-retry-interval"))?,
                inject_interval: c
                    .get_duration(&format!("{a}.advanced.inject-handshake-interval"))?,
            },
            system_messages: DeliverySettings {
                buffer_size: c.get_int(&format!("{a}.advanced.system-message-buffer-size"))?
                    as usize,
                resend_interval: c
                    .get_duration(&format!("{a}.advanced.system-message-resend-interval"))?,
                give_up_after: c
                    .get_duration(&format!("{a}.advanced.give-up-system-message-after"))?,
            },
            large_message_destinations: c
                .get_string_list(&format!("{a}.large-message-destinations"))?,
            compression_actor_refs_max: max_or_off(
                &c,
                &format!("{a}.advanced.compression.actor-refs.max"),
            )?,
            compression_actor_refs_interval: c.get_duration(&format!(
                "{a}.advanced.compression.actor-refs.advertisement-interval"
            ))?,
            compression_manifests_max: max_or_off(
                &c,
                &format!("{a}.advanced.compression.manifests.max"),
            )?,
            compression_manifests_interval: c.get_duration(&format!(
                "{a}.advanced.compression.manifests.advertisement-interval"
            ))?,
            tls: match (tls_tcp, rotating_keys) {
                (true, true) => {
                    let r = format!("{a}.ssl.rotating-keys-engine");
                    Some(TlsSettings {
                        key_file: c.get_string(&format!("{r}.key-file"))?.into(),
                        cert_file: c.get_string(&format!("{r}.cert-file"))?.into(),
                        ca_cert_file: c.get_string(&format!("{r}.ca-cert-file"))?.into(),
                    })
                }
                _ => None,
            },
            ssl_engine_provider: match (tls_tcp, rotating_keys) {
                (true, false) if is_provider(&provider, CONFIG_PROVIDER) => {
                    let e = format!("{a}.ssl.config-ssl-engine");
                    let bool_or_off = |key: &str| -> Result<bool, hocon_config::ConfigError> {
                        let path = format!("{e}.{key}");
                        if c.has_path(&path)? {
                            c.get_bool(&path)
                        } else {
                            Ok(false)
                        }
                    };
                    Some(SslEngineProvider::Config(ConfigSslEngineSettings {
                        key_store: c.get_string(&format!("{e}.key-store"))?.into(),
                        key_store_password: c.get_string(&format!("{e}.key-store-password"))?,
                        key_password: c.get_string(&format!("{e}.key-password"))?,
                        trust_store: c.get_string(&format!("{e}.trust-store"))?.into(),
                        trust_store_password: c.get_string(&format!("{e}.trust-store-password"))?,
                        protocol: c.get_string(&format!("{e}.protocol"))?,
                        enabled_algorithms: c
                            .get_string_list(&format!("{e}.enabled-algorithms"))?,
                        random_number_generator: c
                            .get_string(&format!("{e}.random-number-generator"))?,
                        require_mutual_authentication: bool_or_off(
                            "require-mutual-authentication",
                        )?,
                        hostname_verification: bool_or_off("hostname-verification")?,
                    }))
                }
                (true, false) => Some(SslEngineProvider::Unsupported(provider.clone())),
                _ => None,
            },
            outbound_message_queue_size: c
                .get_int(&format!("{a}.advanced.outbound-message-queue-size"))?
                .max(1) as usize,
            outbound_control_queue_size: c
                .get_int(&format!("{a}.advanced.outbound-control-queue-size"))?
                .max(1) as usize,
            outbound_large_message_queue_size: c
                .get_int(&format!("{a}.advanced.outbound-large-message-queue-size"))?
                .max(1) as usize,
            shutdown_flush_timeout: c
                .get_duration(&format!("{a}.advanced.shutdown-flush-timeout"))?,
            watch_failure_detector: {
                let w = "pekko.remote.watch-failure-detector";
                let interval = c.get_duration(&format!("{w}.heartbeat-interval"))?;
                RemoteWatchSettings {
                    heartbeat_interval: interval,
                    expected_response_after: c
                        .get_duration(&format!("{w}.expected-response-after"))?,
                    reaper_interval: c
                        .get_duration(&format!("{w}.unreachable-nodes-reaper-interval"))?,
                    detector: PhiAccrualSettings {
                        threshold: c.get_double(&format!("{w}.threshold"))?,
                        max_sample_size: c.get_int(&format!("{w}.max-sample-size"))? as usize,
                        min_std_deviation: c.get_duration(&format!("{w}.min-std-deviation"))?,
                        acceptable_heartbeat_pause: c
                            .get_duration(&format!("{w}.acceptable-heartbeat-pause"))?,
                        first_heartbeat_estimate: interval,
                    },
                }
            },
        })
    }

    /// The magic written on outbound connections.
    pub fn send_magic(&self) -> [u8; 4] {
        self.tcp_magic.first().copied().unwrap_or(MAGIC_AKKA)
    }

    /// Loads the TLS key material these settings name (key store and trust
    /// store, or PEM files) and checks the TLS settings, as
    /// [`RemoteNode::start`](crate::RemoteNode::start) does; `Ok` for plain
    /// `tcp`. Errors name the config key and the file.
    pub fn check_tls(&self) -> Result<(), RemoteError> {
        Tls::from_settings(self).map(|_| ())
    }

    /// True if peers speaking `protocol` (`pekko`, `akka`) are accepted.
    pub fn accepts_protocol(&self, protocol: &str) -> bool {
        self.accept_protocol_names.iter().any(|p| p == protocol)
    }
}

impl Default for RemoteSettings {
    /// A short-lived node `rekko@127.0.0.1:0` (random port).
    fn default() -> Self {
        RemoteSettings::new("rekko", "127.0.0.1", 0)
    }
}

/// `ssl-engine-provider` of Pekko's default engine (`config-ssl-engine`).
const CONFIG_PROVIDER: &str = "remote.artery.tcp.ConfigSSLEngineProvider";
/// `ssl-engine-provider` of the PEM engine (`rotating-keys-engine`).
const ROTATING_KEYS_PROVIDER: &str = "remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider";

/// True if `class` is Pekko's (or Akka's) provider class `suffix`.
fn is_provider(class: &str, suffix: &str) -> bool {
    class == format!("org.apache.pekko.{suffix}") || class == format!("akka.{suffix}")
}

/// A table size that may be `off` (0).
fn max_or_off(c: &Config, path: &str) -> Result<usize, hocon_config::ConfigError> {
    match c.get_string(path)?.as_str() {
        "off" | "false" | "no" => Ok(0),
        _ => Ok(c.get_int(path)?.max(0) as usize),
    }
}

/// The address of this host as other hosts see it, for `<getHostAddress>`:
/// the local address of the default route, else `127.0.0.1`.
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

/// This host's name, for `<getHostName>`.
fn local_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_values_over_bundled_defaults() {
        let user = Config::parse_string(
            r#"pekko.remote.artery {
                 canonical { hostname = "10.0.0.5", port = 2552 }
                 bind.port = 0
                 advanced.tcp-magic = ["PEKK"]
                 advanced.handshake-timeout = 3s
                 large-message-destinations = ["/user/big*"]
               }"#,
        )
        .unwrap();
        let s = RemoteSettings::from_config("Sys", &user).unwrap();
        assert_eq!(s.canonical_hostname, "10.0.0.5");
        assert_eq!(s.canonical_port, 2552);
        assert_eq!(s.bind_port, Some(0));
        assert_eq!(s.bind_hostname, None);
        assert_eq!(s.tcp_magic, vec![*b"PEKK"]);
        assert_eq!(s.handshake.timeout, Duration::from_secs(3));
        assert_eq!(s.handshake.retry_interval, Duration::from_secs(1));
        assert_eq!(s.maximum_frame_size, 256 * 1024);
        assert_eq!(s.maximum_large_frame_size, 2 * 1024 * 1024);
        assert_eq!(s.connection_timeout, Duration::from_secs(5));
        assert_eq!(
            s.system_messages.give_up_after,
            Duration::from_secs(6 * 3600)
        );
        assert_eq!(s.large_message_destinations, vec!["/user/big*".to_string()]);
        assert_eq!(s.protocol, "pekko");
        assert_eq!(s.tls, None);
        let tls = Config::parse_string(
            r#"pekko.remote.artery { transport = tls-tcp, ssl.rotating-keys-engine.secret-mount-point = "/s"
               ssl.ssl-engine-provider = org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider }"#,
        )
        .unwrap();
        let t = RemoteSettings::from_config("S", &tls).unwrap().tls.unwrap();
        assert_eq!(t.key_file, std::path::PathBuf::from("/s/tls.key"));
        assert_eq!(t.ca_cert_file, std::path::PathBuf::from("/s/ca.crt"));
        assert_eq!(s.ssl_engine_provider, None);
        let rk = RemoteSettings::from_config("S", &tls).unwrap();
        assert_eq!(rk.ssl_engine_provider, None);
        assert_eq!(s.compression_actor_refs_max, 256);
        assert_eq!(s.compression_manifests_interval, Duration::from_secs(60));
        let off =
            Config::parse_string("pekko.remote.artery.advanced.compression.manifests.max = off")
                .unwrap();
        assert_eq!(
            RemoteSettings::from_config("S", &off)
                .unwrap()
                .compression_manifests_max,
            0
        );
        assert_eq!(s.watch_failure_detector, RemoteWatchSettings::default());
        assert_eq!(s.accept_protocol_names, vec!["pekko".to_string()]);
        assert_eq!(s.outbound_lanes, 1);
        assert_eq!(s.inbound_lanes, 4);
        assert_eq!(s.stop_idle_outbound_after, Duration::from_secs(300));
        assert_eq!(
            s.quarantine_idle_outbound_after,
            Duration::from_secs(6 * 3600)
        );
        let tuned = Config::parse_string(
            r#"pekko.remote {
                 accept-protocol-names = ["pekko", "akka"]
                 artery.advanced { outbound-lanes = 3, stop-idle-outbound-after = 2s }
               }"#,
        )
        .unwrap();
        let t = RemoteSettings::from_config("S", &tuned).unwrap();
        assert!(t.accepts_protocol("akka") && t.accepts_protocol("pekko"));
        assert!(!s.accepts_protocol("akka"));
        assert_eq!(t.outbound_lanes, 3);
        assert_eq!(t.stop_idle_outbound_after, Duration::from_secs(2));
    }

    #[test]
    fn get_host_address_is_replaced() {
        let s = RemoteSettings::from_config("Sys", &Config::empty()).unwrap();
        assert_eq!(s.canonical_port, 17355);
        assert!(
            !s.canonical_hostname.starts_with('<'),
            "{}",
            s.canonical_hostname
        );
    }

    #[test]
    fn config_ssl_engine_is_pekkos_default_provider() {
        let c = Config::parse_string(
            r#"pekko.remote.artery { transport = tls-tcp
               ssl.config-ssl-engine { key-store = "/k/ks.p12", trust-store = "ts.p12"
                 key-store-password = a, key-password = b, trust-store-password = c
                 protocol = TLSv1.2, enabled-algorithms = [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
                 require-mutual-authentication = off, hostname-verification = on } }"#,
        )
        .unwrap();
        let s = RemoteSettings::from_config("S", &c).unwrap();
        assert_eq!(s.tls, None, "the rotating-keys PEM settings stay empty");
        let Some(SslEngineProvider::Config(e)) = s.ssl_engine_provider else {
            panic!("{:?}", s.ssl_engine_provider)
        };
        assert_eq!(e.key_store, std::path::PathBuf::from("/k/ks.p12"));
        assert_eq!(e.trust_store, std::path::PathBuf::from("ts.p12"));
        assert_eq!(
            (e.key_store_password.as_str(), e.key_password.as_str()),
            ("a", "b")
        );
        assert_eq!(e.trust_store_password, "c");
        assert_eq!(e.protocol, "TLSv1.2");
        assert_eq!(
            e.enabled_algorithms,
            vec!["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
        );
        assert!(!e.require_mutual_authentication);
        assert!(e.hostname_verification);

        // Pekko 1.7.0's defaults.
        let d = Config::parse_string("pekko.remote.artery.transport = tls-tcp").unwrap();
        let d = RemoteSettings::from_config("S", &d).unwrap();
        assert_eq!(
            d.ssl_engine_provider,
            Some(SslEngineProvider::Config(ConfigSslEngineSettings::new(
                "keystore",
                "truststore",
                "changeme"
            )))
        );

        let akka = Config::parse_string(
            "pekko.remote.artery { transport = tls-tcp, ssl.ssl-engine-provider = akka.remote.artery.tcp.ConfigSSLEngineProvider }",
        )
        .unwrap();
        assert!(matches!(
            RemoteSettings::from_config("S", &akka)
                .unwrap()
                .ssl_engine_provider,
            Some(SslEngineProvider::Config(_))
        ));

        let other = Config::parse_string(
            "pekko.remote.artery { transport = tls-tcp, ssl.ssl-engine-provider = com.example.MyProvider }",
        )
        .unwrap();
        let s = RemoteSettings::from_config("S", &other).unwrap();
        assert_eq!(
            s.ssl_engine_provider,
            Some(SslEngineProvider::Unsupported(
                "com.example.MyProvider".into()
            ))
        );
        let err = s.check_tls().unwrap_err().to_string();
        assert!(
            err.contains("ssl-engine-provider: com.example.MyProvider is not supported"),
            "{err}"
        );
        let missing = d.check_tls().unwrap_err().to_string();
        assert!(
            missing.contains("key-store keystore: cannot read"),
            "{missing}"
        );
        RemoteSettings::new("S", "127.0.0.1", 0)
            .check_tls()
            .unwrap();
    }
}
