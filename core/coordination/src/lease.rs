//! The `Lease` trait: Pekko's `scaladsl.Lease` as an async Rust trait.

use std::fmt;

use async_trait::async_trait;

use crate::error::{CoordinationError, Result};
use crate::settings::LeaseSettings;

/// Called when a held lease is lost (e.g. the store could not be reached for too long);
/// the argument is the failure that caused it, if there was one.
pub type LeaseLostCallback = Box<dyn FnOnce(Option<CoordinationError>) + Send>;

/// A lease: a named resource held by at most one owner at a time, kept in a store outside the
/// cluster (a database, a Kubernetes object, a file). Implementations are registered with a
/// [`LeaseProvider`](crate::LeaseProvider) under a `lease-class` name.
#[async_trait]
pub trait Lease: Send + Sync + fmt::Debug {
    /// The settings the lease was created with (name, owner, timing, config block).
    fn settings(&self) -> &LeaseSettings;

    /// Tries to acquire the lease for [`LeaseSettings::owner_name`].
    ///
    /// `Ok(true)`: the lease is held by this owner (acquiring a lease one already holds is
    /// `Ok(true)`). `Ok(false)`: certainly not acquired, e.g. another owner holds it. `Err`: it
    /// might not have been acquired, e.g. the store timed out.
    async fn acquire(&self) -> Result<bool> {
        self.acquire_with_lost_callback(Box::new(|_| {})).await
    }

    /// As [`Lease::acquire`], and `on_lost` is called if the lease is lost later. An
    /// implementation never calls `on_lost` before this call returned.
    async fn acquire_with_lost_callback(&self, on_lost: LeaseLostCallback) -> Result<bool>;

    /// Releases the lease so another owner can acquire it. `Ok(true)` when released.
    async fn release(&self) -> Result<bool>;

    /// True when this owner certainly holds the lease; false when it might not (ask with
    /// [`Lease::acquire`] or [`Lease::release`] for a certain answer).
    fn check_lease(&self) -> bool;
}
