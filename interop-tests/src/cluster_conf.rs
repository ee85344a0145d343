//! Cluster settings shared by the JVM `ClusterNode` fixtures and the Rekko nodes of a test.

/// `pekko.cluster` settings: Pekko's split brain resolver with `strategy` (e.g. `keep-majority`)
/// deciding after `stable_after` (e.g. `5s`), and 3 s seed-node timeout and join retry.
pub fn split_brain_conf(strategy: &str, stable_after: &str) -> String {
    format!(
        r#"
pekko.cluster {{
  downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider"
  split-brain-resolver.active-strategy = {strategy}
  split-brain-resolver.stable-after = {stable_after}
  seed-node-timeout = 3s
  retry-unsuccessful-join-after = 3s
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_strategy_and_the_stable_after() {
        let conf = split_brain_conf("keep-oldest", "5s");
        assert!(conf.contains("split-brain-resolver.active-strategy = keep-oldest\n"));
        assert!(conf.contains("split-brain-resolver.stable-after = 5s\n"));
        assert!(conf.contains("SplitBrainResolverProvider"));
    }
}
