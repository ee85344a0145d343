//! `LeaseProvider`: creates leases from a config path, with implementations registered by
//! their `lease-class` name.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use hocon_config::Config;
use parking_lot::{Mutex, RwLock};

use crate::error::{CoordinationError, Result};
use crate::lease::Lease;
use crate::settings::{with_reference, LeaseSettings, LEASE_DEFAULTS_PATH};

/// Creates a lease implementation from its settings.
pub type LeaseFactory = Arc<dyn Fn(LeaseSettings) -> Result<Arc<dyn Lease>> + Send + Sync>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct LeaseKey {
    lease_name: String,
    config_path: String,
    owner_name: String,
}

/// Pekko's `LeaseProvider`: [`LeaseProvider::get_lease`] reads the config block at a path
/// (Pekko's `lease-implementation`), merges it with `pekko.coordination.lease`, and creates
/// the implementation its `lease-class` names. Pekko loads that class by reflection; Rekko
/// looks the string up among the factories registered with [`LeaseProvider::register`], so a
/// Rust implementation can use the same name as the JVM class it stands for.
///
/// A lease is created once per (lease name, config path, owner) and shared afterwards.
///
/// ```
/// use std::sync::Arc;
/// use rekko_coordination::{Lease, LeaseProvider, LeaseSettings, LeaseLostCallback, Result};
///
/// #[derive(Debug)]
/// struct AlwaysMine(LeaseSettings);
///
/// #[async_trait::async_trait]
/// impl Lease for AlwaysMine {
///     fn settings(&self) -> &LeaseSettings { &self.0 }
///     async fn acquire_with_lost_callback(&self, _: LeaseLostCallback) -> Result<bool> { Ok(true) }
///     async fn release(&self) -> Result<bool> { Ok(true) }
///     fn check_lease(&self) -> bool { true }
/// }
///
/// let provider = LeaseProvider::new();
/// provider.register("com.example.AlwaysMine", |s| Ok(Arc::new(AlwaysMine(s)) as Arc<dyn Lease>));
/// let config = hocon_config::Config::parse_string(
///     r#"my-lease { lease-class = "com.example.AlwaysMine" }"#,
/// )?;
/// let lease = provider.get_lease(&config, "my-service", "my-lease", "Sys@127.0.0.1:2552")?;
/// assert_eq!(lease.settings().owner_name, "Sys@127.0.0.1:2552");
/// assert_eq!(lease.settings().timeout_settings.heartbeat_timeout.as_secs(), 120);
/// # Ok::<(), rekko_coordination::CoordinationError>(())
/// ```
#[derive(Default)]
pub struct LeaseProvider {
    factories: RwLock<BTreeMap<String, LeaseFactory>>,
    leases: Mutex<HashMap<LeaseKey, Arc<dyn Lease>>>,
}

impl std::fmt::Debug for LeaseProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseProvider")
            .field("registered", &self.registered())
            .field("leases", &self.leases.lock().len())
            .finish()
    }
}

impl LeaseProvider {
    /// An empty provider (no implementation registered).
    pub fn new() -> LeaseProvider {
        LeaseProvider::default()
    }

    /// The process-wide provider, used by the cluster's split brain resolver.
    pub fn global() -> &'static LeaseProvider {
        static GLOBAL: OnceLock<LeaseProvider> = OnceLock::new();
        GLOBAL.get_or_init(LeaseProvider::new)
    }

    /// Registers `factory` for the `lease-class` name `lease_class`, replacing an earlier
    /// registration of that name.
    pub fn register<F>(&self, lease_class: impl Into<String>, factory: F)
    where
        F: Fn(LeaseSettings) -> Result<Arc<dyn Lease>> + Send + Sync + 'static,
    {
        let class = lease_class.into();
        tracing::debug!("LeaseProvider: lease-class [{class}] registered");
        self.factories.write().insert(class, Arc::new(factory));
    }

    /// True when an implementation is registered for `lease_class`.
    pub fn is_registered(&self, lease_class: &str) -> bool {
        self.factories.read().contains_key(lease_class)
    }

    /// The registered `lease-class` names, sorted.
    pub fn registered(&self) -> Vec<String> {
        self.factories.read().keys().cloned().collect()
    }

    /// The lease `lease_name` for `owner_name`, implemented as the block at `config_path` of
    /// `config` says (`lease-class` plus the implementation's own keys, with
    /// `pekko.coordination.lease` as fallback). Created on the first call for this
    /// (name, path, owner), the same instance afterwards.
    pub fn get_lease(
        &self,
        config: &Config,
        lease_name: &str,
        config_path: &str,
        owner_name: &str,
    ) -> Result<Arc<dyn Lease>> {
        let key = LeaseKey {
            lease_name: lease_name.to_string(),
            config_path: config_path.to_string(),
            owner_name: owner_name.to_string(),
        };
        if let Some(lease) = self.leases.lock().get(&key) {
            return Ok(lease.clone());
        }
        let settings = self.lease_settings(config, lease_name, config_path, owner_name)?;
        let class = settings.lease_class();
        if class.trim().is_empty() {
            return Err(CoordinationError::EmptyLeaseClass {
                path: config_path.to_string(),
            });
        }
        let factory = self.factories.read().get(&class).cloned().ok_or_else(|| {
            CoordinationError::UnknownLeaseClass {
                path: config_path.to_string(),
                class: class.clone(),
                registered: self.registered(),
            }
        })?;
        let lease = factory(settings).inspect_err(|e| {
            tracing::error!(
                "Invalid lease configuration for leaseName [{lease_name}], configPath \
                 [{config_path}] lease-class [{class}]: {e}"
            )
        })?;
        let mut leases = self.leases.lock();
        Ok(leases.entry(key).or_insert(lease).clone())
    }

    /// The settings [`LeaseProvider::get_lease`] creates an implementation with.
    pub fn lease_settings(
        &self,
        config: &Config,
        lease_name: &str,
        config_path: &str,
        owner_name: &str,
    ) -> Result<LeaseSettings> {
        let full = with_reference(config)?;
        let block =
            full.get_config(config_path)
                .map_err(|e| CoordinationError::MissingLeaseConfig {
                    path: config_path.to_string(),
                    reason: e.to_string(),
                })?;
        let merged = block.with_fallback(&full.get_config(LEASE_DEFAULTS_PATH)?);
        LeaseSettings::from_config(&merged, lease_name, owner_name).map_err(|e| match e {
            CoordinationError::Setting { key, reason } => CoordinationError::Setting {
                key: format!("{config_path}.{key}"),
                reason,
            },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::LeaseLostCallback;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[derive(Debug)]
    struct Flag {
        settings: LeaseSettings,
        held: AtomicBool,
    }

    #[async_trait::async_trait]
    impl Lease for Flag {
        fn settings(&self) -> &LeaseSettings {
            &self.settings
        }
        async fn acquire_with_lost_callback(&self, _on_lost: LeaseLostCallback) -> Result<bool> {
            Ok(!self.held.swap(true, Ordering::SeqCst))
        }
        async fn release(&self) -> Result<bool> {
            Ok(self.held.swap(false, Ordering::SeqCst))
        }
        fn check_lease(&self) -> bool {
            self.held.load(Ordering::SeqCst)
        }
    }

    fn provider() -> LeaseProvider {
        let p = LeaseProvider::new();
        p.register("test.Flag", |settings| {
            Ok(Arc::new(Flag {
                settings,
                held: AtomicBool::new(false),
            }) as Arc<dyn Lease>)
        });
        p
    }

    fn config() -> Config {
        Config::parse_string(
            r#"
            flag-lease { lease-class = "test.Flag", heartbeat-timeout = 60s, colour = blue }
            jvm-lease { lease-class = "com.example.K8sLease" }
            empty-lease { heartbeat-timeout = 60s }
            "#,
        )
        .unwrap()
    }

    #[test]
    fn creates_the_registered_implementation_with_merged_settings() {
        let p = provider();
        let lease = p
            .get_lease(&config(), "sbr", "flag-lease", "Sys@127.0.0.1:2552")
            .unwrap();
        let s = lease.settings();
        assert_eq!(s.lease_name, "sbr");
        assert_eq!(s.owner_name, "Sys@127.0.0.1:2552");
        assert_eq!(s.timeout_settings.heartbeat_timeout.as_secs(), 60);
        // the rest from pekko.coordination.lease
        assert_eq!(s.timeout_settings.heartbeat_interval.as_secs(), 12);
        assert_eq!(s.timeout_settings.operation_timeout.as_secs(), 5);
        assert_eq!(s.lease_config.get_string("colour").unwrap(), "blue");
    }

    #[test]
    fn same_name_path_and_owner_share_one_lease() {
        let p = provider();
        let a = p.get_lease(&config(), "sbr", "flag-lease", "o1").unwrap();
        let b = p.get_lease(&config(), "sbr", "flag-lease", "o1").unwrap();
        let c = p.get_lease(&config(), "sbr", "flag-lease", "o2").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn unknown_class_names_the_path_and_the_class() {
        let err = provider()
            .get_lease(&config(), "sbr", "jvm-lease", "o")
            .unwrap_err();
        assert!(matches!(err, CoordinationError::UnknownLeaseClass { .. }));
        let text = err.to_string();
        assert!(text.contains("\"jvm-lease\""), "{text}");
        assert!(text.contains("\"com.example.K8sLease\""), "{text}");
        assert!(text.contains("test.Flag"), "{text}");
    }

    #[test]
    fn empty_class_and_missing_block_are_errors_naming_the_path() {
        let err = provider()
            .get_lease(&config(), "sbr", "empty-lease", "o")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"empty-lease\"") && err.contains("lease-class"),
            "{err}"
        );
        let err = provider()
            .get_lease(&config(), "sbr", "no-such-lease", "o")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"no-such-lease\""), "{err}");
    }

    #[test]
    fn invalid_timing_names_the_full_key() {
        let c = Config::parse_string(
            r#"bad { lease-class = "test.Flag", heartbeat-interval = 70s, heartbeat-timeout = 100s }"#,
        )
        .unwrap();
        let err = provider()
            .get_lease(&c, "sbr", "bad", "o")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.heartbeat-interval"), "{err}");
    }

    #[tokio::test]
    async fn the_trait_default_acquire_uses_the_callback_variant() {
        let p = provider();
        let lease = p.get_lease(&config(), "sbr", "flag-lease", "o").unwrap();
        assert!(!lease.check_lease());
        assert!(lease.acquire().await.unwrap());
        assert!(lease.check_lease());
        assert!(lease.release().await.unwrap());
        assert!(!lease.check_lease());
    }
}
