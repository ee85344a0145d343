//! The HTTP server: binds `bind-hostname:bind-port` and serves [`routes::handle`](crate::routes::handle).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Response, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::Router;
use futures::StreamExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{ManagementError, Result};
use crate::events::{encode, initial_events, EventFilter};
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
        return domain_events(app.cluster.as_ref(), filter);
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

/// The event stream: the current state replayed as events, then live events, filtered; an SSE
/// comment every 10 s while idle.
fn domain_events(cluster: &dyn ManagedCluster, filter: EventFilter) -> Response<Body> {
    let live = cluster.events();
    let to_sse = move |e: &rekko_cluster::ClusterEvent| {
        encode(e)
            .filter(|(kind, _)| filter.accepts(kind))
            .map(|(kind, data)| Event::default().event(kind).data(data))
    };
    let initial: Vec<Event> = initial_events(&cluster.membership())
        .iter()
        .filter_map(&to_sse)
        .collect();
    let live = futures::stream::unfold(live, |rx| async move {
        let mut rx = rx?;
        loop {
            match rx.recv().await {
                Ok(e) => return Some((e, Some(rx))),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .filter_map(move |e| std::future::ready(to_sse(&e)));
    let stream = futures::stream::iter(initial)
        .chain(live)
        .chain(futures::stream::pending())
        .map(Ok::<_, std::convert::Infallible>);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(10)))
        .into_response()
}
