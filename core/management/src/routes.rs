//! Request routing as Pekko Management composes its routes, as a pure function from a request
//! to a [`Reply`].
//!
//! The routes and their precedence follow `ClusterHttpManagementRoutes` (read-write and
//! read-only variants) and `HealthCheckRoutes`, and unmatched requests get the answers of Pekko
//! HTTP's default rejection handler: `405` naming the supported methods, `400` for a missing
//! form field, `404` otherwise.

use axum::http::{Method, StatusCode};
use percent_encoding::percent_decode_str;
use rekko_cluster::{Address, MemberStatus, MembershipState};

use crate::model::{
    cluster_member, cluster_members, find_member, ManagementMessage, ShardEntityTypeKeys,
};
use crate::settings::{HealthCheck, ManagementSettings};

/// What the routes need from a cluster node.
pub trait ManagedCluster: Send + Sync + 'static {
    /// A snapshot of this node's membership state.
    fn membership(&self) -> MembershipState;
    /// Joins the cluster at `address`.
    fn join(&self, address: &Address);
    /// Asks the member at `address` to leave.
    fn leave(&self, address: &Address);
    /// Marks the member at `address` Down.
    fn down(&self, address: &Address);
    /// A subscription to this node's cluster events (for `/cluster/domain-events`); `None`
    /// when the cluster publishes none.
    fn events(&self) -> Option<tokio::sync::broadcast::Receiver<rekko_cluster::ClusterEvent>> {
        None
    }
    /// Starts a full cluster shutdown (Pekko's `prepareForFullClusterShutdown`): every Up
    /// member becomes PreparingForShutdown, then ReadyForShutdown.
    fn prepare_for_full_cluster_shutdown(&self);
}

impl ManagedCluster for rekko_cluster::ClusterNode {
    fn membership(&self) -> MembershipState {
        self.state()
    }
    fn join(&self, address: &Address) {
        rekko_cluster::ClusterNode::join(self, address)
    }
    fn leave(&self, address: &Address) {
        rekko_cluster::ClusterNode::leave(self, address)
    }
    fn down(&self, address: &Address) {
        rekko_cluster::ClusterNode::down(self, address)
    }
    fn prepare_for_full_cluster_shutdown(&self) {
        rekko_cluster::ClusterNode::prepare_for_full_cluster_shutdown(self)
    }
    fn events(&self) -> Option<tokio::sync::broadcast::Receiver<rekko_cluster::ClusterEvent>> {
        Some(self.subscribe())
    }
}

/// The content type of a reply body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    /// `application/json`.
    Json,
    /// `text/plain; charset=UTF-8`.
    Text,
}

impl ContentType {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Json => "application/json",
            ContentType::Text => "text/plain; charset=UTF-8",
        }
    }
}

/// A response: status, body and its type, and the `Allow` header of a 405.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Type of `body`.
    pub content_type: ContentType,
    /// The body.
    pub body: String,
    /// `Allow` header value (405 from rejected methods only).
    pub allow: Option<String>,
}

impl Reply {
    fn json(status: StatusCode, value: &impl serde::Serialize) -> Reply {
        Reply {
            status,
            content_type: ContentType::Json,
            // Serializing these plain documents cannot fail; an empty object is the fallback.
            body: serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string()),
            allow: None,
        }
    }

    fn message(status: StatusCode, text: impl Into<String>) -> Reply {
        Reply::json(status, &ManagementMessage::new(text))
    }

    fn text(status: StatusCode, text: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: ContentType::Text,
            body: text.into(),
            allow: None,
        }
    }
}

/// A request as the routes see it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: &'a Method,
    /// The raw (percent-encoded) path, without the query.
    pub path: &'a str,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

impl Request<'_> {
    /// The first value of form field `name` of an `application/x-www-form-urlencoded` body.
    fn form_field(&self, name: &str) -> Option<String> {
        if let Some(ct) = self.content_type {
            let essence = ct.split(';').next().unwrap_or("").trim();
            if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
                return None;
            }
        }
        form_urlencoded::parse(self.body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Why a route did not complete (Pekko HTTP's rejections that matter here).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Rejection {
    /// The route serves only this method.
    Method(Method),
    /// The method matched but a required form field is missing; cancels method rejections.
    MissingFormField(&'static str),
}

enum Outcome {
    Complete(Reply),
    Reject(Vec<Rejection>),
}

/// Answers one request.
pub fn handle(
    req: &Request<'_>,
    settings: &ManagementSettings,
    cluster: &dyn ManagedCluster,
) -> Reply {
    let Some(rest) = strip_base_path(req.path, settings.base_path.as_deref()) else {
        return not_found();
    };
    let mut rejections = Vec::new();
    if settings.health_routes {
        match health_routes(req, rest, settings, cluster) {
            Outcome::Complete(r) => return r,
            Outcome::Reject(r) => rejections.extend(r),
        }
    }
    if settings.cluster_routes {
        rejections.extend(domain_events_other_method(req, rest));
        let outcome = if settings.read_only {
            cluster_routes_read_only(req, rest, cluster)
        } else {
            cluster_routes(req, rest, cluster)
        };
        match outcome {
            Outcome::Complete(r) => return r,
            Outcome::Reject(r) => rejections.extend(r),
        }
    }
    reject(rejections)
}

/// The event filter of a `GET /cluster/domain-events` request (served as a stream by the
/// server), `None` for any other request.
pub fn domain_events_request(
    req: &Request<'_>,
    query: Option<&str>,
    settings: &ManagementSettings,
) -> Option<crate::events::EventFilter> {
    if !settings.cluster_routes || req.method != Method::GET {
        return None;
    }
    let rest = strip_base_path(req.path, settings.base_path.as_deref())?;
    prefix(rest, "cluster").and_then(|r| prefix(r, "domain-events"))?;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Some(crate::events::EventFilter::from_query_types(
        pairs
            .iter()
            .filter(|(k, _)| k == "type")
            .map(|(_, v)| v.as_str()),
    ))
}

/// `pathPrefix("cluster" / "domain-events") { get { ... } }` for methods other than GET.
fn domain_events_other_method(req: &Request<'_>, rest: &str) -> Option<Rejection> {
    let under = prefix(rest, "cluster").and_then(|r| prefix(r, "domain-events"));
    (under.is_some() && req.method != Method::GET).then_some(Rejection::Method(Method::GET))
}

/// Pekko HTTP's default rejection handler for the rejections these routes produce.
fn reject(rejections: Vec<Rejection>) -> Reply {
    let mut missing = None;
    let mut methods: Vec<Method> = Vec::new();
    let cancel_methods = rejections
        .iter()
        .any(|r| matches!(r, Rejection::MissingFormField(_)));
    for r in rejections {
        match r {
            Rejection::MissingFormField(f) => missing = missing.or(Some(f)),
            Rejection::Method(m) if !cancel_methods => {
                if !methods.contains(&m) {
                    methods.push(m)
                }
            }
            Rejection::Method(_) => {}
        }
    }
    if !methods.is_empty() {
        let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        let mut reply = Reply::text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "HTTP method not allowed, supported methods: {}",
                names.join(", ")
            ),
        );
        reply.allow = Some(names.join(", "));
        return reply;
    }
    if let Some(field) = missing {
        return Reply::text(
            StatusCode::BAD_REQUEST,
            format!("Request is missing required form field '{field}'"),
        );
    }
    not_found()
}

fn not_found() -> Reply {
    Reply::text(
        StatusCode::NOT_FOUND,
        "The requested resource could not be found.",
    )
}

/// The path below `base` (`Some("")` or `Some("/...")`), `None` when it is not under it.
fn strip_base_path<'a>(path: &'a str, base: Option<&str>) -> Option<&'a str> {
    match base {
        None => Some(path),
        Some(base) => {
            let rest = path.strip_prefix('/')?.strip_prefix(base)?;
            (rest.is_empty() || rest.starts_with('/')).then_some(rest)
        }
    }
}

/// `pathPrefix(segment)`: the rest after `/<segment>` when followed by the end or a slash.
fn prefix<'a>(path: &'a str, segment: &str) -> Option<&'a str> {
    let rest = path.strip_prefix('/')?.strip_prefix(segment)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

fn path_end_or_single_slash(rest: &str) -> bool {
    rest.is_empty() || rest == "/"
}

/// `path(RemainingDecoded)`: the percent-decoded rest after a leading slash.
fn remaining_decoded(rest: &str) -> Option<String> {
    let raw = rest.strip_prefix('/')?;
    Some(percent_decode_str(raw).decode_utf8_lossy().into_owned())
}

fn health_routes(
    req: &Request<'_>,
    rest: &str,
    settings: &ManagementSettings,
    cluster: &dyn ManagedCluster,
) -> Outcome {
    let routes = [
        (&settings.startup_path, &settings.startup_checks),
        (&settings.readiness_path, &settings.readiness_checks),
        (&settings.liveness_path, &settings.liveness_checks),
    ];
    for (path, checks) in routes {
        if rest.strip_prefix('/') == Some(path.as_str()) {
            if req.method != Method::GET {
                return Outcome::Reject(vec![Rejection::Method(Method::GET)]);
            }
            return Outcome::Complete(run_checks(checks, cluster));
        }
    }
    Outcome::Reject(Vec::new())
}

/// Runs the checks: 200 `OK` when all pass, else 500 naming the first failing one.
fn run_checks(checks: &[HealthCheck], cluster: &dyn ManagedCluster) -> Reply {
    let state = if checks.is_empty() {
        None
    } else {
        Some(cluster.membership())
    };
    for check in checks {
        let ok = match check {
            // Pekko's `selfMember` is `Removed` before joining and after leaving.
            HealthCheck::ClusterMembership { ready_states } => ready_states.contains(
                &state
                    .as_ref()
                    .and_then(|s| s.self_member())
                    .map_or(MemberStatus::Removed, |m| m.status),
            ),
        };
        if !ok {
            return Reply::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Not Healthy: Check [{}] not ok", check.class_name()),
            );
        }
    }
    Reply::text(StatusCode::OK, "OK")
}

/// `ClusterHttpManagementRoutes(cluster)`: the read-write routes.
fn cluster_routes(req: &Request<'_>, rest: &str, cluster: &dyn ManagedCluster) -> Outcome {
    let Some(rest) = prefix(rest, "cluster") else {
        return Outcome::Reject(Vec::new());
    };
    let mut rejections = Vec::new();
    if path_end_or_single_slash(rest) {
        if req.method == Method::PUT {
            match req.form_field("operation") {
                Some(op) => return Outcome::Complete(put_cluster(&op, cluster)),
                None => rejections.push(Rejection::MissingFormField("operation")),
            }
        } else {
            rejections.push(Rejection::Method(Method::PUT));
        }
    }
    if let Some(rest) = prefix(rest, "members") {
        match members_routes(req, rest, cluster) {
            Outcome::Complete(r) => return Outcome::Complete(r),
            Outcome::Reject(r) => rejections.extend(r),
        }
    }
    if rest == "/shards" {
        if req.method == Method::GET {
            return Outcome::Complete(Reply::json(StatusCode::OK, &ShardEntityTypeKeys::default()));
        }
        rejections.push(Rejection::Method(Method::GET));
    }
    match shard_region_route(req, rest) {
        Outcome::Complete(r) => Outcome::Complete(r),
        Outcome::Reject(r) => {
            rejections.extend(r);
            Outcome::Reject(rejections)
        }
    }
}

/// `PUT /cluster` form `operation`: only `prepare-for-full-shutdown` (any case) is known; it
/// starts the full cluster shutdown and answers at once, as Pekko Management does (whether or
/// not this node is a member).
fn put_cluster(operation: &str, cluster: &dyn ManagedCluster) -> Reply {
    if operation.to_lowercase() != "prepare-for-full-shutdown" {
        return Reply::message(StatusCode::BAD_REQUEST, "Operation not supported");
    }
    cluster.prepare_for_full_cluster_shutdown();
    Reply::message(StatusCode::OK, "Preparing for full cluster shutdown")
}

/// `pathPrefix("shards" / Remaining)` with GET, below `/cluster`: Rekko runs no sharding, so
/// every region answers as one that is not started on a Pekko node.
fn shard_region_route(req: &Request<'_>, rest: &str) -> Outcome {
    let Some(name) = rest.strip_prefix("/shards/") else {
        return Outcome::Reject(Vec::new());
    };
    if req.method != Method::GET {
        return Outcome::Reject(vec![Rejection::Method(Method::GET)]);
    }
    Outcome::Complete(Reply::message(
        StatusCode::NOT_FOUND,
        format!("Shard Region {name} is not started"),
    ))
}

/// `pathPrefix("members")` of the read-write routes: the list, join, and one member.
fn members_routes(req: &Request<'_>, rest: &str, cluster: &dyn ManagedCluster) -> Outcome {
    let mut rejections = Vec::new();
    if path_end_or_single_slash(rest) {
        if req.method == Method::GET {
            return Outcome::Complete(get_members(cluster));
        }
        rejections.push(Rejection::Method(Method::GET));
        if req.method == Method::POST {
            match req.form_field("address") {
                Some(address) => return Outcome::Complete(post_members(&address, cluster)),
                None => rejections.push(Rejection::MissingFormField("address")),
            }
        } else {
            rejections.push(Rejection::Method(Method::POST));
        }
    }
    match find_member_route(req, rest, cluster) {
        Outcome::Complete(r) => Outcome::Complete(r),
        Outcome::Reject(r) => {
            rejections.extend(r);
            Outcome::Reject(rejections)
        }
    }
}

/// `ClusterHttpManagementRoutes.readOnly(cluster)`: GET only; other methods on a member get 405.
fn cluster_routes_read_only(
    req: &Request<'_>,
    rest: &str,
    cluster: &dyn ManagedCluster,
) -> Outcome {
    let Some(rest) = prefix(rest, "cluster") else {
        return Outcome::Reject(Vec::new());
    };
    let Some(rest) = prefix(rest, "members") else {
        return shard_region_route(req, rest);
    };
    let mut rejections = Vec::new();
    if path_end_or_single_slash(rest) {
        if req.method == Method::GET {
            return Outcome::Complete(get_members(cluster));
        }
        rejections.push(Rejection::Method(Method::GET));
    }
    if req.method != Method::GET {
        // `complete(StatusCodes.MethodNotAllowed)`: the status's default message.
        return Outcome::Complete(Reply::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "A request was made of a resource using a request method not supported by that resource;",
        ));
    }
    match find_member_route(req, rest, cluster) {
        Outcome::Complete(r) => Outcome::Complete(r),
        Outcome::Reject(r) => {
            rejections.extend(r);
            Outcome::Reject(rejections)
        }
    }
}

fn get_members(cluster: &dyn ManagedCluster) -> Reply {
    Reply::json(StatusCode::OK, &cluster_members(&cluster.membership()))
}

fn post_members(address: &str, cluster: &dyn ManagedCluster) -> Reply {
    match address.parse::<Address>() {
        Ok(a) => {
            cluster.join(&a);
            Reply::message(StatusCode::OK, format!("Joining {a}"))
        }
        Err(e) => {
            // Pekko's AddressFromURIString throws here, which its server turns into a 500.
            tracing::warn!("POST /cluster/members: {e}");
            Reply::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "There was an internal server error.",
            )
        }
    }
}

/// `routeFindMember`: `/{address}` with GET, DELETE (leave) and PUT (`operation`).
fn find_member_route(req: &Request<'_>, rest: &str, cluster: &dyn ManagedCluster) -> Outcome {
    let Some(address) = remaining_decoded(rest) else {
        return Outcome::Reject(Vec::new());
    };
    let state = cluster.membership();
    let Some(member) = find_member(&state, &address) else {
        return Outcome::Complete(Reply::message(
            StatusCode::NOT_FOUND,
            format!("Member [{address}] not found"),
        ));
    };
    let member_address = &member.unique_address.address;
    match *req.method {
        Method::GET => Outcome::Complete(Reply::json(StatusCode::OK, &cluster_member(member))),
        Method::DELETE => {
            cluster.leave(member_address);
            Outcome::Complete(Reply::message(
                StatusCode::OK,
                format!("Leaving {member_address}"),
            ))
        }
        Method::PUT => match req.form_field("operation") {
            None => Outcome::Reject(vec![Rejection::MissingFormField("operation")]),
            Some(op) if op.eq_ignore_ascii_case("down") => {
                cluster.down(member_address);
                Outcome::Complete(Reply::message(
                    StatusCode::OK,
                    format!("Downing {member_address}"),
                ))
            }
            Some(op) if op.eq_ignore_ascii_case("leave") => {
                cluster.leave(member_address);
                Outcome::Complete(Reply::message(
                    StatusCode::OK,
                    format!("Leaving {member_address}"),
                ))
            }
            Some(_) => Outcome::Complete(Reply::message(
                StatusCode::BAD_REQUEST,
                "Operation not supported",
            )),
        },
        _ => Outcome::Reject(vec![
            Rejection::Method(Method::GET),
            Rejection::Method(Method::DELETE),
            Rejection::Method(Method::PUT),
        ]),
    }
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
