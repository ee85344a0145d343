//! The local recipients a node delivers to: endpoints registered by path,
//! plus, when an actor system is attached, the actors of that system.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::node::Handler;

/// Local actors that are not registered endpoints (an attached actor system).
pub(crate) trait LocalActors: Send + Sync + 'static {
    /// Whether a recipient lives at `local_path` (e.g. `/user/a`).
    fn exists(&self, local_path: &str) -> bool;
    /// The paths that actor selections may match (wildcards are matched
    /// against these).
    fn selectable_paths(&self) -> Vec<String>;
    /// Delivers one message to a recipient for which `exists` was true.
    fn handler(&self) -> &Handler;
    /// Another node looked up the recipient at `local_path` (`Watch`,
    /// `Identify`).
    fn on_lookup(&self, _local_path: &str) {}
}

/// Endpoints by local path, falling back to the attached [`LocalActors`].
///
/// It dereferences to the map of registered endpoints; the lookups used by
/// inbound dispatch (`get`, `contains_key`, `keys`) also see the attached
/// actors.
#[derive(Default)]
pub(crate) struct LocalEndpoints {
    map: HashMap<String, Handler>,
    actors: Option<Arc<dyn LocalActors>>,
    keys: Vec<String>,
}

impl LocalEndpoints {
    /// Attaches the actors of an actor system.
    pub fn attach(&mut self, actors: Arc<dyn LocalActors>) {
        self.actors = Some(actors);
    }

    /// The handler for `local_path`: a registered endpoint, else the
    /// attached actors' handler when an actor lives there.
    pub fn get(&mut self, local_path: &str) -> Option<&Handler> {
        if self.map.contains_key(local_path) {
            return self.map.get(local_path);
        }
        match &self.actors {
            Some(a) if a.exists(local_path) => Some(a.handler()),
            _ => None,
        }
    }

    /// Whether a recipient lives at `local_path` (asked when another node
    /// watches or identifies it).
    pub fn contains_key(&mut self, local_path: &str) -> bool {
        if self.map.contains_key(local_path) {
            return true;
        }
        match &self.actors {
            Some(a) if a.exists(local_path) => {
                a.on_lookup(local_path);
                true
            }
            _ => false,
        }
    }

    /// Every selectable local path: registered endpoints and attached actors.
    pub fn keys(&mut self) -> std::slice::Iter<'_, String> {
        self.keys.clear();
        self.keys.extend(self.map.keys().cloned());
        if let Some(a) = &self.actors {
            for p in a.selectable_paths() {
                if !self.map.contains_key(&p) {
                    self.keys.push(p);
                }
            }
        }
        self.keys.iter()
    }
}

impl Deref for LocalEndpoints {
    type Target = HashMap<String, Handler>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl DerefMut for LocalEndpoints {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Delivery;
    use crate::node::RemoteNode;

    struct TwoActors(Handler);

    impl LocalActors for TwoActors {
        fn exists(&self, local_path: &str) -> bool {
            local_path == "/user/a" || local_path == "/user/b"
        }
        fn selectable_paths(&self) -> Vec<String> {
            vec!["/user/a".into(), "/user/b".into(), "/user/echo".into()]
        }
        fn handler(&self) -> &Handler {
            &self.0
        }
    }

    fn handler() -> Handler {
        Arc::new(|_: &RemoteNode, _: Delivery| {})
    }

    #[test]
    fn registered_endpoints_come_first_then_attached_actors() {
        let mut e = LocalEndpoints::default();
        let echo = handler();
        e.insert("/user/echo".into(), echo.clone());
        assert!(e.contains_key("/user/echo"));
        assert!(!e.contains_key("/user/a"));
        let actors = handler();
        e.attach(Arc::new(TwoActors(actors.clone())));
        assert!(e.get("/user/echo").is_some_and(|h| Arc::ptr_eq(h, &echo)));
        assert!(e.get("/user/a").is_some_and(|h| Arc::ptr_eq(h, &actors)));
        assert!(e.contains_key("/user/b"));
        assert!(!e.contains_key("/user/c"));
        let mut keys: Vec<String> = e.keys().cloned().collect();
        keys.sort();
        // A path both registered and attached is listed once.
        assert_eq!(keys, vec!["/user/a", "/user/b", "/user/echo"]);
        assert!(e.remove("/user/echo").is_some());
        assert!(!e.contains_key("/user/echo"));
    }
}
