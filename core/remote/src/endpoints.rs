//! The local recipients a node delivers to: endpoints registered by path,
//! plus, when an actor system is attached, the actors of that system.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use artery_wire::selection::SelectionElement;

use crate::node::{FastMap, Handler};

/// Local actors that are not registered endpoints (an attached actor system).
pub(crate) trait LocalActors: Send + Sync + 'static {
    /// Whether a recipient lives at `local_path` (e.g. `/user/a`).
    fn exists(&self, local_path: &str) -> bool;
    /// The local paths of the recipients an actor selection reaches:
    /// `pattern` holds one element per path level below the root (`..`
    /// already applied), each a literal name or a `*`/`?` wildcard.
    fn select(&self, pattern: &[SelectionElement]) -> Vec<String>;
    /// The uid of the actor incarnation at `local_path`, when an actor with
    /// one lives there (`None` for other recipients).
    fn uid(&self, _local_path: &str) -> Option<i32> {
        None
    }
    /// Delivers one message to a recipient for which `exists` was true.
    fn handler(&self) -> &Handler;
    /// Another node looked up the recipient at `local_path` (`Watch`,
    /// `Identify`).
    fn on_lookup(&self, _local_path: &str) {}
}

/// Endpoints by local path, falling back to the attached [`LocalActors`].
///
/// It dereferences to the map of registered endpoints; the lookups used by
/// inbound dispatch (`get`, `contains_key`, `select`, `uid`) also see the attached
/// actors.
#[derive(Default)]
pub(crate) struct LocalEndpoints {
    map: FastMap<String, Handler>,
    actors: Option<Arc<dyn LocalActors>>,
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

    /// The local paths an actor selection with `pattern` (one element per
    /// level below the root) reaches: registered endpoints, then attached
    /// actors, each path once.
    pub fn select(&mut self, pattern: &[SelectionElement]) -> Vec<String> {
        let mut out: Vec<String> = self
            .map
            .keys()
            .filter(|k| matches_pattern(pattern, k))
            .cloned()
            .collect();
        if let Some(a) = &self.actors {
            for p in a.select(pattern) {
                if !self.map.contains_key(&p) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The uid of the attached actor at `local_path` (`None` for registered
    /// endpoints and paths without an actor).
    pub fn uid(&self, local_path: &str) -> Option<i32> {
        if self.map.contains_key(local_path) {
            return None;
        }
        self.actors.as_ref().and_then(|a| a.uid(local_path))
    }
}

/// Whether `local_path` has exactly one element per `pattern` element and
/// each matches.
pub(crate) fn matches_pattern(pattern: &[SelectionElement], local_path: &str) -> bool {
    let mut parts = local_path.split('/').filter(|e| !e.is_empty());
    pattern
        .iter()
        .all(|p| parts.next().is_some_and(|n| p.matches(n)))
        && parts.next().is_none()
}

impl Deref for LocalEndpoints {
    type Target = FastMap<String, Handler>;
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
        fn select(&self, pattern: &[SelectionElement]) -> Vec<String> {
            ["/user/a", "/user/b", "/user/echo"]
                .into_iter()
                .filter(|p| matches_pattern(pattern, p))
                .map(str::to_string)
                .collect()
        }
        fn uid(&self, local_path: &str) -> Option<i32> {
            self.exists(local_path).then_some(7)
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
        let all = [
            SelectionElement::ChildName("user".into()),
            SelectionElement::ChildPattern("*".into()),
        ];
        let mut keys = e.select(&all);
        keys.sort();
        // A path both registered and attached is listed once.
        assert_eq!(keys, vec!["/user/a", "/user/b", "/user/echo"]);
        let one = [
            SelectionElement::ChildName("user".into()),
            SelectionElement::ChildPattern("?".into()),
        ];
        let mut keys = e.select(&one);
        keys.sort();
        assert_eq!(keys, vec!["/user/a", "/user/b"]);
        assert!(e.select(&all[..1]).is_empty());
        assert_eq!(e.uid("/user/a"), Some(7));
        assert_eq!(e.uid("/user/echo"), None);
        assert!(e.remove("/user/echo").is_some());
        assert!(!e.contains_key("/user/echo"));
    }
}
