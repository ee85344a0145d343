//! Pekko's coordination module in Rust: the [`Lease`] API used by the split brain resolver's
//! `lease-majority` strategy (and by anything else that needs one owner at a time).
//!
//! * [`Lease`]: acquire (optionally with a lease-lost callback), release, check;
//! * [`LeaseSettings`] and [`TimeoutSettings`]: lease name, owner name and timing, read from an
//!   implementation's config block merged with `pekko.coordination.lease`;
//! * [`LeaseProvider`]: creates a lease from a config path whose block names a `lease-class`;
//!   Rust implementations are registered under that name.
//!
//! ```
//! use std::sync::Arc;
//! use rekko_coordination::{LeaseProvider, TimeoutSettings};
//!
//! let config = hocon_config::Config::parse_string(r#"my-lease { lease-class = "com.example.Lease" }"#)?;
//! let settings = LeaseProvider::new().lease_settings(&config, "orders", "my-lease", "Sys@10.0.0.1:2552")?;
//! assert_eq!(settings.timeout_settings, TimeoutSettings::default());
//! # Ok::<(), rekko_coordination::CoordinationError>(())
//! ```

pub mod error;
pub mod lease;
pub mod provider;
pub mod settings;

pub use error::{CoordinationError, Result};
pub use lease::{Lease, LeaseLostCallback};
pub use provider::{LeaseFactory, LeaseProvider};
pub use settings::{LeaseSettings, TimeoutSettings, LEASE_DEFAULTS_PATH, REFERENCE_CONF};

/// Re-export for implementing [`Lease`] without a direct dependency on `async-trait`.
pub use async_trait::async_trait;
