//! A TCP proxy in front of Artery nodes that can cut traffic between chosen nodes, to
//! partition a cluster without touching the host's network.
//!
//! Each node is started with its `canonical.port` set to a proxy port and its `bind.port` to
//! the port it really listens on; peers connect to the canonical port, so every Artery
//! connection passes through the proxy. Artery TCP connections carry one direction of one
//! stream: after the 5-byte preamble (magic and stream id) come frames (4-byte little-endian
//! length, then an envelope), and every envelope header carries the sending system's uid. The
//! proxy decodes the first envelope to learn which node opened the connection, maps its uid
//! to a node name ([`ArteryProxy::register_uid`]) and, while `from -> to` is blocked, drops
//! everything the connection carries (the sender sees a silent network, as in a real
//! partition). [`ArteryProxy::heal`] closes the silenced connections so that they reconnect
//! cleanly.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rekko_interop_tests::HarnessError> {
//! use rekko_interop_tests::artery_proxy::ArteryProxy;
//! use rekko_interop_tests::free_port;
//! let proxy = ArteryProxy::new();
//! let (canonical, bind) = (free_port()?, free_port()?);
//! proxy.add_node("a", canonical, bind).await?;
//! // start node "a" with canonical.port = canonical, bind.port = bind; likewise "b"...
//! proxy.register_uid(0x1234, "a");
//! proxy.partition(&[&["a"], &["b"]]);
//! # Ok(()) }
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use artery_wire::envelope::Envelope;
use artery_wire::frame::{Inbound, InboundDecoder};
use artery_wire::preamble::{MAGIC_AKKA, MAGIC_PEKK};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::HarnessError;

/// Largest first frame the proxy buffers while it identifies a connection.
const MAX_FIRST_FRAME: usize = 1024 * 1024;

/// One proxied connection.
struct Conn {
    /// The node the connection goes to.
    to: String,
    /// Origin uid from the first envelope, once seen.
    origin: Option<u64>,
    /// True while the connection's bytes are dropped.
    silenced: Arc<AtomicBool>,
    /// Stops the forwarding task (closing both sockets).
    task: Option<AbortHandle>,
}

#[derive(Default)]
struct State {
    uids: HashMap<u64, String>,
    blocked: HashSet<(String, String)>,
    conns: HashMap<u64, Conn>,
    next_id: u64,
    listeners: Vec<AbortHandle>,
}

impl State {
    fn origin_name(&self, conn: &Conn) -> Option<&String> {
        conn.origin.and_then(|u| self.uids.get(&u))
    }

    fn is_blocked(&self, conn: &Conn) -> bool {
        match self.origin_name(conn) {
            Some(from) => self.blocked.contains(&(from.clone(), conn.to.clone())),
            None => false,
        }
    }

    /// Silences every connection whose pair is blocked now.
    fn apply(&mut self) {
        let silence: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| self.is_blocked(c))
            .map(|(id, _)| *id)
            .collect();
        for id in silence {
            if let Some(c) = self.conns.get(&id) {
                c.silenced.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// The proxy for a set of nodes. Cheap to clone; listeners and connections stop when
/// [`ArteryProxy::shutdown`] is called or the runtime ends.
#[derive(Clone, Default)]
pub struct ArteryProxy {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for ArteryProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("ArteryProxy")
            .field("uids", &st.uids)
            .field("blocked", &st.blocked)
            .field("connections", &st.conns.len())
            .finish()
    }
}

impl ArteryProxy {
    /// An empty proxy.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (plain inserts/removes).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Listens on `127.0.0.1:canonical_port` for node `name`, forwarding to
    /// `127.0.0.1:bind_port`. Must run inside a tokio runtime.
    pub async fn add_node(
        &self,
        name: &str,
        canonical_port: u16,
        bind_port: u16,
    ) -> Result<(), HarnessError> {
        let listener = TcpListener::bind(("127.0.0.1", canonical_port))
            .await
            .map_err(|e| {
                HarnessError::io(format!("proxy for {name}: binding {canonical_port}"), e)
            })?;
        let proxy = self.clone();
        let to = name.to_string();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                proxy.accepted(client, &to, bind_port);
            }
        });
        self.lock().listeners.push(task.abort_handle());
        Ok(())
    }

    /// Maps an Artery system uid (as in envelope headers) to a node name.
    pub fn register_uid(&self, uid: u64, name: &str) {
        let mut st = self.lock();
        st.uids.insert(uid, name.to_string());
        st.apply();
    }

    /// Blocks all traffic between nodes of different `sides`, in both directions: open
    /// connections between them go silent, new ones are accepted and silenced.
    pub fn partition(&self, sides: &[&[&str]]) {
        let mut st = self.lock();
        for (i, a) in sides.iter().enumerate() {
            for (j, b) in sides.iter().enumerate() {
                if i == j {
                    continue;
                }
                for from in a.iter() {
                    for to in b.iter() {
                        st.blocked.insert((from.to_string(), to.to_string()));
                    }
                }
            }
        }
        st.apply();
    }

    /// Lifts every block and closes the silenced connections (their senders reconnect).
    pub fn heal(&self) {
        let mut st = self.lock();
        st.blocked.clear();
        let silenced: Vec<u64> = st
            .conns
            .iter()
            .filter(|(_, c)| c.silenced.load(Ordering::SeqCst))
            .map(|(id, _)| *id)
            .collect();
        for id in silenced {
            if let Some(c) = st.conns.remove(&id) {
                if let Some(t) = c.task {
                    t.abort();
                }
            }
        }
    }

    /// Number of connections whose traffic is being dropped now.
    pub fn silenced_connections(&self) -> usize {
        self.lock()
            .conns
            .values()
            .filter(|c| c.silenced.load(Ordering::SeqCst))
            .count()
    }

    /// Stops all listeners and closes all connections.
    pub fn shutdown(&self) {
        let mut st = self.lock();
        for l in st.listeners.drain(..) {
            l.abort();
        }
        for (_, c) in st.conns.drain() {
            if let Some(t) = c.task {
                t.abort();
            }
        }
    }

    fn accepted(&self, client: TcpStream, to: &str, bind_port: u16) {
        let silenced = Arc::new(AtomicBool::new(false));
        let id = {
            let mut st = self.lock();
            st.next_id += 1;
            let id = st.next_id;
            st.conns.insert(
                id,
                Conn {
                    to: to.to_string(),
                    origin: None,
                    silenced: silenced.clone(),
                    task: None,
                },
            );
            id
        };
        let proxy = self.clone();
        let task = tokio::spawn(async move {
            let result = proxy.forward(id, client, bind_port, silenced).await;
            if let Err(e) = result {
                tracing::debug!("artery proxy connection {id}: {e}");
            }
            proxy.lock().conns.remove(&id);
        });
        if let Some(c) = self.lock().conns.get_mut(&id) {
            c.task = Some(task.abort_handle());
        }
    }

    /// Records the origin uid of connection `id` and silences it if its pair is blocked.
    fn identified(&self, id: u64, uid: u64) {
        let mut st = self.lock();
        if let Some(c) = st.conns.get_mut(&id) {
            c.origin = Some(uid);
        }
        st.apply();
    }

    async fn forward(
        &self,
        id: u64,
        mut client: TcpStream,
        bind_port: u16,
        silenced: Arc<AtomicBool>,
    ) -> std::io::Result<()> {
        let mut upstream = TcpStream::connect(("127.0.0.1", bind_port)).await?;
        client.set_nodelay(true)?;
        upstream.set_nodelay(true)?;
        // Hold everything back until the first envelope names the origin.
        let mut held = BytesMut::new();
        let mut probe = BytesMut::new();
        let mut decoder = InboundDecoder::new(
            vec![MAGIC_AKKA, MAGIC_PEKK],
            MAX_FIRST_FRAME,
            MAX_FIRST_FRAME,
        );
        let mut buf = vec![0u8; 64 * 1024];
        'identify: loop {
            let n = client.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            held.extend_from_slice(&buf[..n]);
            probe.extend_from_slice(&buf[..n]);
            loop {
                match decoder.decode(&mut probe) {
                    Ok(Some(Inbound::Preamble(_))) => continue,
                    Ok(Some(Inbound::Frame(frame))) => {
                        match Envelope::decode(frame) {
                            Ok(env) => self.identified(id, env.origin_uid),
                            Err(e) => tracing::debug!("artery proxy connection {id}: {e}"),
                        }
                        break 'identify;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!("artery proxy connection {id}: not Artery: {e}");
                        break 'identify;
                    }
                }
            }
        }
        if !silenced.load(Ordering::SeqCst) {
            upstream.write_all(&held).await?;
        }
        let (mut up_read, mut up_write) = upstream.into_split();
        let (mut client_read, mut client_write) = client.into_split();
        // Artery's inbound side sends nothing back, but pass it on faithfully.
        let back = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut up_read, &mut client_write).await;
        });
        let result = async {
            loop {
                let n = client_read.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                if !silenced.load(Ordering::SeqCst) {
                    up_write.write_all(&buf[..n]).await?;
                }
            }
        }
        .await;
        back.abort();
        result
    }
}
