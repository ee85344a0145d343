//! Coordinated shutdown (Pekko's `CoordinatedShutdown`): named phases ordered by `depends-on`,
//! tasks per phase run concurrently with the phase's timeout; run by API, by
//! `ActorSystem::terminate`, and on SIGTERM.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::error::ActorError;
use crate::settings::PhaseSettings;
use crate::system::SystemHandle;

/// Why the shutdown runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `ActorSystem::terminate` was called.
    ActorSystemTerminate,
    /// SIGTERM (Pekko's `JvmExitReason`).
    JvmExit,
    /// Requested by the application.
    Unknown,
    /// Any other reason.
    Custom(String),
}

/// Phase names as in Pekko.
pub mod phases {
    /// `before-service-unbind`.
    pub const BEFORE_SERVICE_UNBIND: &str = "before-service-unbind";
    /// `service-unbind`.
    pub const SERVICE_UNBIND: &str = "service-unbind";
    /// `service-requests-done`.
    pub const SERVICE_REQUESTS_DONE: &str = "service-requests-done";
    /// `service-stop`.
    pub const SERVICE_STOP: &str = "service-stop";
    /// `before-cluster-shutdown`.
    pub const BEFORE_CLUSTER_SHUTDOWN: &str = "before-cluster-shutdown";
    /// `cluster-sharding-shutdown-region`.
    pub const CLUSTER_SHARDING_SHUTDOWN_REGION: &str = "cluster-sharding-shutdown-region";
    /// `cluster-leave`.
    pub const CLUSTER_LEAVE: &str = "cluster-leave";
    /// `cluster-exiting`.
    pub const CLUSTER_EXITING: &str = "cluster-exiting";
    /// `cluster-exiting-done`.
    pub const CLUSTER_EXITING_DONE: &str = "cluster-exiting-done";
    /// `cluster-shutdown`.
    pub const CLUSTER_SHUTDOWN: &str = "cluster-shutdown";
    /// `before-actor-system-terminate`.
    pub const BEFORE_ACTOR_SYSTEM_TERMINATE: &str = "before-actor-system-terminate";
    /// `actor-system-terminate`.
    pub const ACTOR_SYSTEM_TERMINATE: &str = "actor-system-terminate";
}

type TaskFn = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

struct Inner {
    system: SystemHandle,
    order: Result<Vec<String>, ActorError>,
    tasks: Mutex<BTreeMap<String, Vec<(String, TaskFn)>>>,
    reason: Mutex<Option<Reason>>,
    done: watch::Sender<bool>,
}

/// Runs registered tasks phase by phase when the system shuts down.
#[derive(Clone)]
pub struct CoordinatedShutdown(Arc<Inner>);

/// Orders phases so that every phase comes after the phases it depends on (Pekko's
/// topological sort); fails on unknown phases or cycles.
pub fn topological_sort(
    phases: &BTreeMap<String, PhaseSettings>,
) -> Result<Vec<String>, ActorError> {
    let mut result = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    fn visit(
        p: &str,
        phases: &BTreeMap<String, PhaseSettings>,
        visiting: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) -> Result<(), ActorError> {
        if done.contains(p) {
            return Ok(());
        }
        if visiting.iter().any(|v| v == p) {
            return Err(ActorError::InvalidPhases(format!(
                "cycle detected in graph of phases: {}",
                visiting.join(" -> ")
            )));
        }
        let settings = phases.get(p).ok_or_else(|| {
            ActorError::InvalidPhases(format!("unknown phase [{p}] in depends-on"))
        })?;
        visiting.push(p.to_string());
        for d in &settings.depends_on {
            visit(d, phases, visiting, done, out)?;
        }
        visiting.pop();
        done.insert(p.to_string());
        out.push(p.to_string());
        Ok(())
    }
    for p in phases.keys() {
        visit(p, phases, &mut Vec::new(), &mut done, &mut result)?;
    }
    Ok(result)
}

impl CoordinatedShutdown {
    pub(crate) fn new(system: SystemHandle) -> Self {
        let order = topological_sort(&system.settings().coordinated_shutdown.phases);
        let (done, _) = watch::channel(false);
        CoordinatedShutdown(Arc::new(Inner {
            system,
            order,
            tasks: Mutex::new(BTreeMap::new()),
            reason: Mutex::new(None),
            done,
        }))
    }

    /// The phases in execution order.
    pub fn ordered_phases(&self) -> Result<Vec<String>, ActorError> {
        self.0.order.clone()
    }

    /// Adds a task to a phase. Tasks of one phase run concurrently; the phase ends when all
    /// complete or its timeout passes.
    pub fn add_task<F, Fut>(&self, phase: &str, name: &str, task: F) -> Result<(), ActorError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if !self
            .0
            .system
            .settings()
            .coordinated_shutdown
            .phases
            .contains_key(phase)
        {
            return Err(ActorError::InvalidPhases(format!(
                "unknown phase [{phase}]"
            )));
        }
        let f: TaskFn = Box::new(move || Box::pin(task()));
        self.0
            .tasks
            .lock()
            .entry(phase.to_string())
            .or_default()
            .push((name.to_string(), f));
        Ok(())
    }

    /// The reason of the running or finished shutdown.
    pub fn shutdown_reason(&self) -> Option<Reason> {
        self.0.reason.lock().clone()
    }

    /// Runs all phases once (later calls wait for the first run) and, with
    /// `terminate-actor-system = on`, terminates the system in the last phase.
    pub async fn run(&self, reason: Reason) {
        let first = {
            let mut r = self.0.reason.lock();
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        };
        if !first {
            let mut rx = self.0.done.subscribe();
            let _ = rx.wait_for(|d| *d).await;
            return;
        }
        let settings = self.0.system.settings().coordinated_shutdown.clone();
        let order = match &self.0.order {
            Ok(o) => o.clone(),
            Err(e) => {
                tracing::error!("coordinated shutdown cannot run: {e}");
                Vec::new()
            }
        };
        for phase in order {
            let Some(ps) = settings.phases.get(&phase) else {
                continue;
            };
            if !ps.enabled {
                continue;
            }
            let tasks = self.0.tasks.lock().remove(&phase).unwrap_or_default();
            let timeout = ps.timeout.unwrap_or(settings.default_phase_timeout);
            let mut handles = Vec::new();
            for (name, t) in tasks {
                let h = self.0.system.runtime().spawn(t());
                handles.push((name, h));
            }
            if phase == crate::coordinated_shutdown::phases::ACTOR_SYSTEM_TERMINATE
                && settings.terminate_actor_system
            {
                let sys = self.0.system.clone();
                handles.push((
                    "terminate-system".to_string(),
                    self.0.system.runtime().spawn(async move {
                        sys.stop_guardians();
                        sys.when_terminated().await;
                    }),
                ));
            }
            let all = futures_join(handles);
            if tokio::time::timeout(timeout, all).await.is_err() {
                tracing::warn!(
                    "coordinated shutdown phase [{phase}] timed out after [{} ms]",
                    timeout.as_millis()
                );
                if !ps.recover {
                    break;
                }
            }
        }
        self.0.done.send_replace(true);
    }
}

async fn futures_join(handles: Vec<(String, tokio::task::JoinHandle<()>)>) {
    for (name, h) in handles {
        if let Err(e) = h.await {
            tracing::warn!("coordinated shutdown task [{name}] failed: {e}");
        }
    }
}

/// Installs a SIGTERM handler that runs coordinated shutdown with `Reason::JvmExit`.
pub(crate) fn install_sigterm(system: &SystemHandle) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let weak = Arc::downgrade(&system.0);
        // Registered before `ActorSystem::new` returns, so no SIGTERM is missed.
        let registered = {
            let _enter = system.runtime().enter();
            signal(SignalKind::terminate())
        };
        let mut s = match registered {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot install SIGTERM handler: {e}");
                return;
            }
        };
        system.runtime().spawn(async move {
            let term = {
                let Some(shared) = weak.upgrade() else { return };
                SystemHandle(shared).when_terminated()
            };
            tokio::select! {
                _ = s.recv() => {
                    if let Some(shared) = weak.upgrade() {
                        let sys = SystemHandle(shared);
                        let cs = sys.coordinated_shutdown().clone();
                        let (exit, code) = {
                            let s = &sys.settings().coordinated_shutdown;
                            (s.exit_jvm, s.exit_code)
                        };
                        drop(sys);
                        cs.run(Reason::JvmExit).await;
                        if exit {
                            std::process::exit(code);
                        }
                    }
                }
                _ = term => {}
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::CoordinatedShutdownSettings;

    #[test]
    fn default_phases_sort_in_pekko_order() {
        let s = CoordinatedShutdownSettings::default();
        let order = topological_sort(&s.phases).ok();
        assert_eq!(
            order.as_deref().map(|o| o.first().cloned()),
            Some(Some("before-service-unbind".to_string()))
        );
        assert_eq!(
            order.map(|o| o.last().cloned()),
            Some(Some("actor-system-terminate".to_string()))
        );
    }

    #[test]
    fn cycles_are_rejected() {
        let mut phases = BTreeMap::new();
        phases.insert(
            "a".to_string(),
            PhaseSettings {
                depends_on: vec!["b".into()],
                ..Default::default()
            },
        );
        phases.insert(
            "b".to_string(),
            PhaseSettings {
                depends_on: vec!["a".into()],
                ..Default::default()
            },
        );
        assert!(topological_sort(&phases).is_err());
    }
}
