//! The lease side of lease-majority: what the resolver asks of its lease and the thin driver
//! that runs those requests on a [`Lease`] without blocking the cluster daemon.
//!
//! The [`SplitBrainResolver`](crate::sbr::SplitBrainResolver) stays a sans-I/O state machine:
//! it hands [`LeaseRequest`]s to a [`LeaseHandle`] and reads [`LeaseResponse`]s back on its next
//! tick. [`LeaseDriver`] is the handle for a real lease: each request runs as a tokio task
//! and its result waits in a channel until the resolver polls it.

use std::fmt;
use std::sync::Arc;

use rekko_coordination::Lease;
use tokio::sync::mpsc;

/// A request of the resolver to its lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseRequest {
    /// Acquire the lease (Pekko's `lease.acquire()`).
    Acquire,
    /// Release the lease (Pekko's `lease.release()`).
    Release,
}

/// The outcome of a [`LeaseRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseResponse {
    /// Result of an acquire: true when this node holds the lease (a failed acquire is false).
    Acquired(bool),
    /// Result of a release: true when released (a failed release is false).
    Released(bool),
}

/// How the resolver reaches its lease: requests go in, responses come out when ready.
pub trait LeaseHandle: Send + fmt::Debug {
    /// True when this node certainly holds the lease (Pekko's `checkLease`).
    fn check(&self) -> bool;
    /// Starts a request; its response is returned by a later [`LeaseHandle::poll`].
    fn start(&mut self, request: LeaseRequest);
    /// The next finished response, if any.
    fn poll(&mut self) -> Option<LeaseResponse>;
}

/// Runs lease requests on a [`Lease`] as tokio tasks.
#[derive(Debug)]
pub struct LeaseDriver {
    lease: Arc<dyn Lease>,
    tx: mpsc::UnboundedSender<LeaseResponse>,
    rx: mpsc::UnboundedReceiver<LeaseResponse>,
}

impl LeaseDriver {
    /// A driver for `lease`.
    pub fn new(lease: Arc<dyn Lease>) -> LeaseDriver {
        let (tx, rx) = mpsc::unbounded_channel();
        LeaseDriver { lease, tx, rx }
    }

    /// The lease driven.
    pub fn lease(&self) -> &Arc<dyn Lease> {
        &self.lease
    }

    /// Waits until a response is ready and returns it (for callers that can await instead of
    /// polling on the next tick).
    pub async fn next_response(&mut self) -> Option<LeaseResponse> {
        self.rx.recv().await
    }
}

impl LeaseHandle for LeaseDriver {
    fn check(&self) -> bool {
        self.lease.check_lease()
    }

    fn start(&mut self, request: LeaseRequest) {
        let lease = self.lease.clone();
        let tx = self.tx.clone();
        let name = lease.settings().lease_name.clone();
        let task = async move {
            let response = match request {
                LeaseRequest::Acquire => {
                    tracing::debug!("SBR trying to acquire lease [{name}]");
                    LeaseResponse::Acquired(lease.acquire().await.unwrap_or_else(|e| {
                        tracing::error!("SBR acquire of lease [{name}] failed: {e}");
                        false
                    }))
                }
                LeaseRequest::Release => {
                    tracing::debug!("SBR releasing lease [{name}]");
                    LeaseResponse::Released(lease.release().await.unwrap_or_else(|e| {
                        tracing::warn!("SBR release of lease [{name}] failed: {e}");
                        false
                    }))
                }
            };
            let _ = tx.send(response);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(task);
            }
            Err(e) => {
                tracing::error!("SBR cannot run lease {request:?} outside a tokio runtime: {e}");
                let _ = self.tx.send(match request {
                    LeaseRequest::Acquire => LeaseResponse::Acquired(false),
                    LeaseRequest::Release => LeaseResponse::Released(false),
                });
            }
        }
    }

    fn poll(&mut self) -> Option<LeaseResponse> {
        self.rx.try_recv().ok()
    }
}
