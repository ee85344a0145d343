//! The HTTP server: binds `bind-hostname:bind-port` and serves [`routes::handle`](crate::routes::handle).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use std::collections::VecDeque;
use std::time::Duration;

use axum::http::{header, HeaderMap, Method, Response, StatusCode, Uri};
use axum::Router;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use crate::error::{ManagementError, Result};
use crate::events::{
    encode, encode_role_leader, initial_events, sse_frame, EventFilter, RoleLeaders, SSE_HEARTBEAT,
};
use crate::routes::{domain_events_request, handle, ManagedCluster, Request};
use crate::settings::ManagementSettings;

struct App {
    settings: ManagementSettings,
    cluster: Arc<dyn ManagedCluster>,
}

/// A running management HTTP endpoint; stops when [`stop`](Self::stop)ped or dropped.
pub struct ManagementServer {
    local_addr: SocketAddr,
    base_uri: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ManagementServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagementServer")
            .field("local_addr", &self.local_addr)
            .field("base_uri", &self.base_uri)
            .finish()
    }
}

impl ManagementServer {
    /// Binds the endpoint and starts serving the routes for `cluster`.
    pub async fn start(
        settings: ManagementSettings,
        cluster: Arc<dyn ManagedCluster>,
    ) -> Result<ManagementServer> {
        let bind = format!("{}:{}", settings.bind_hostname, settings.bind_port);
        tracing::info!("Binding Pekko Management (HTTP) endpoint to: {bind}");
        let listener =
            tokio::net::TcpListener::bind((settings.bind_hostname.as_str(), settings.bind_port))
                .await
                .map_err(|source| ManagementError::Bind {
                    address: bind.clone(),
                    source,
                })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ManagementError::Bind {
                address: bind.clone(),
                source,
            })?;
        let base_uri = settings.self_base_uri(local_addr.port());
        let app = Arc::new(App { settings, cluster });
        let router = Router::new().fallback(serve).with_state(app);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!("Pekko Management (HTTP) endpoint stopped: {e}");
            }
        });
        tracing::info!(
            "Bound Pekko Management (HTTP) endpoint to: {}:{}",
            local_addr.ip(),
            local_addr.port()
        );
        Ok(ManagementServer {
            local_addr,
            base_uri,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound socket address (the real port when `bind-port` was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The advertised base URI, `http://<hostname>:<bound port>[/<base-path>]`.
    pub fn base_uri(&self) -> &str {
        &self.base_uri
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ManagementServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn serve(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let req = Request {
        method: &method,
        path: uri.path(),
        content_type,
        body: &body,
    };
    if let Some(filter) = domain_events_request(&req, uri.query(), &app.settings) {
        return domain_events(app.cluster.clone(), filter);
    }
    let reply = handle(&req, &app.settings, app.cluster.as_ref());
    let mut builder = Response::builder()
        .status(reply.status)
        .header(header::CONTENT_TYPE, reply.content_type.as_str());
    if let Some(allow) = &reply.allow {
        builder = builder.header(header::ALLOW, allow.as_str());
    }
    builder
        .body(Body::from(reply.body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The event stream: the current state replayed as events, then live events, filtered, with
/// `RoleLeaderChanged` derived from the state once the events received so far are drained; a
/// heartbeat after 10 s without events. Written as Pekko HTTP writes server-sent events.
fn domain_events(cluster: Arc<dyn ManagedCluster>, filter: EventFilter) -> Response<Body> {
    let state = cluster.membership();
    let mut roles = RoleLeaders::default();
    let mut pending: VecDeque<String> = initial_events(&state)
        .iter()
        .filter_map(encode)
        .filter(|(kind, _)| filter.accepts(kind))
        .map(|(kind, data)| sse_frame(kind, &data))
        .collect();
    let role_changes = roles.update(&state);
    if filter.accepts("RoleLeaderChanged") {
        pending.extend(role_changes.iter().map(|(role, leader)| {
            let (kind, data) = encode_role_leader(role, leader.as_ref());
            sse_frame(kind, &data)
        }));
    }
    let stream = LiveEvents {
        rx: cluster.events(),
        cluster,
        filter,
        roles,
        pending,
    };
    let body = futures::stream::unfold(stream, |mut s| async move {
        let frame = s.next_frame().await;
        Some((Ok::<_, std::convert::Infallible>(frame), s))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Time without events after which Pekko Management's stream sends a heartbeat.
const HEARTBEAT_AFTER: Duration = Duration::from_secs(10);

/// The live part of one event stream.
struct LiveEvents {
    rx: Option<broadcast::Receiver<rekko_cluster::ClusterEvent>>,
    cluster: Arc<dyn ManagedCluster>,
    filter: EventFilter,
    roles: RoleLeaders,
    pending: VecDeque<String>,
}

impl LiveEvents {
    /// The next frame to write: a pending event, else the next accepted event, else a
    /// heartbeat after [`HEARTBEAT_AFTER`] of silence.
    async fn next_frame(&mut self) -> String {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return frame;
            }
            let Some(rx) = self.rx.as_mut() else {
                tokio::time::sleep(HEARTBEAT_AFTER).await;
                return SSE_HEARTBEAT.to_string();
            };
            match tokio::time::timeout(HEARTBEAT_AFTER, rx.recv()).await {
                Err(_) => return SSE_HEARTBEAT.to_string(),
                Ok(Ok(event)) => {
                    if let Some((kind, data)) = encode(&event) {
                        if self.filter.accepts(kind) {
                            self.pending.push_back(sse_frame(kind, &data));
                        }
                    }
                    if rx.is_empty() {
                        self.role_leader_events();
                    }
                }
                Ok(Err(broadcast::error::RecvError::Lagged(n))) => {
                    tracing::warn!("cluster domain-events stream fell behind, {n} events lost");
                }
                Ok(Err(broadcast::error::RecvError::Closed)) => self.rx = None,
            }
        }
    }

    /// Queues `RoleLeaderChanged` for role leaders that changed in the current state.
    fn role_leader_events(&mut self) {
        let changes = self.roles.update(&self.cluster.membership());
        if !self.filter.accepts("RoleLeaderChanged") {
            return;
        }
        for (role, leader) in changes {
            let (kind, data) = encode_role_leader(&role, leader.as_ref());
            self.pending.push_back(sse_frame(kind, &data));
        }
    }
}
