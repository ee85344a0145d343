//! Settings of the Artery TCP transport, named after their
//! `pekko.remote.artery.*` keys (defaults as in Pekko's reference.conf).

use std::time::Duration;

use artery_wire::frame::{DEFAULT_MAXIMUM_FRAME_SIZE, DEFAULT_MAXIMUM_LARGE_FRAME_SIZE};
use artery_wire::handshake::HandshakeSettings;
use artery_wire::preamble::{MAGIC_AKKA, MAGIC_PEKK};
use artery_wire::system_delivery::DeliverySettings;

/// Transport settings of one node.
#[derive(Debug, Clone)]
pub struct RemoteSettings {
    /// The ActorSystem name (part of the address).
    pub system_name: String,
    /// `pekko.remote.protocol-name` (`pekko`).
    pub protocol: String,
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
}

impl RemoteSettings {
    /// Defaults for a node named `system_name` on `hostname:port`.
    pub fn new(system_name: impl Into<String>, hostname: impl Into<String>, port: u16) -> Self {
        RemoteSettings {
            system_name: system_name.into(),
            protocol: "pekko".into(),
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
        }
    }

    /// The magic written on outbound connections.
    pub fn send_magic(&self) -> [u8; 4] {
        self.tcp_magic.first().copied().unwrap_or(MAGIC_AKKA)
    }
}

impl Default for RemoteSettings {
    /// A short-lived node `rekko@127.0.0.1:0` (random port).
    fn default() -> Self {
        RemoteSettings::new("rekko", "127.0.0.1", 0)
    }
}
