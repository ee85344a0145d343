//! The configuration compatibility check of joining (Pekko's `JoinConfigCompatChecker`s):
//! the `InitJoin` payload a joiner sends, the check a contact node performs on it, and the
//! `CompatibleConfig` reply.

use hocon_config::{Config, ConfigValue, RenderOptions};

use crate::error::Result;

/// `pekko.version`, always part of the join configuration.
pub const PEKKO_VERSION_KEY: &str = "pekko.version";
/// Checked by `JoinConfigCompatCheckCluster`: must be present and equal.
pub const DOWNING_PROVIDER_KEY: &str = "pekko.cluster.downing-provider-class";
/// Checked by `JoinConfigCompatCheckCluster`: equal when present on both sides.
pub const ACTIVE_STRATEGY_KEY: &str = "pekko.cluster.split-brain-resolver.active-strategy";
/// Checked by `JoinConfigCompatCheckSharding` on nodes with sharding: present and equal.
pub const STATE_STORE_MODE_KEY: &str = "pekko.cluster.sharding.state-store-mode";
/// Checked by the typed sharding checker: equal when present.
pub const NUMBER_OF_SHARDS_KEY: &str = "pekko.cluster.sharding.number-of-shards";
/// Checked by the receptionist checker: equal when present.
pub const DISTRIBUTED_KEY_COUNT_KEY: &str =
    "pekko.cluster.typed.receptionist.distributed-key-count";

/// Pekko version Rekko declares when the configuration has no `pekko.version`.
pub const DEFAULT_PEKKO_VERSION: &str = "1.7.0";

/// The keys a Rekko joiner sends, with the value used when its configuration lacks one
/// (Pekko's defaults, so that JVM seeds with sharding and typed cluster accept it).
pub fn join_keys() -> Vec<(&'static str, ConfigValue)> {
    vec![
        (
            PEKKO_VERSION_KEY,
            ConfigValue::from_string(DEFAULT_PEKKO_VERSION),
        ),
        (DOWNING_PROVIDER_KEY, ConfigValue::from_string("")),
        (
            ACTIVE_STRATEGY_KEY,
            ConfigValue::from_string("keep-majority"),
        ),
        (STATE_STORE_MODE_KEY, ConfigValue::from_string("ddata")),
        (NUMBER_OF_SHARDS_KEY, ConfigValue::from_i64(1000)),
        (DISTRIBUTED_KEY_COUNT_KEY, ConfigValue::from_i64(5)),
    ]
}

fn value_at(config: &Config, key: &str) -> Option<ConfigValue> {
    match config.has_path(key) {
        Ok(true) => config.get_value(key).ok(),
        _ => None,
    }
}

/// The `InitJoin.currentConfig` text: the join keys from `config` (defaults for absent ones),
/// as one line of concise JSON.
pub fn init_join_config(config: &Config) -> Result<String> {
    let mut out = Config::empty();
    for (key, default) in join_keys() {
        let v = value_at(config, key).unwrap_or(default);
        out = out.with_value(key, &v)?;
    }
    Ok(out.render_concise())
}

fn render(v: &ConfigValue) -> String {
    v.render(&RenderOptions::concise())
}

/// Checks a joiner's configuration (`to_check`, parsed from `InitJoin`) against this node's
/// own (`actual`) as the JVM checkers do. Returns the messages of every failed check.
pub fn check(to_check: &Config, actual: &Config) -> std::result::Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let equal = |key: &str, errors: &mut Vec<String>| {
        if let (Some(a), Some(b)) = (value_at(to_check, key), value_at(actual, key)) {
            if render(&a) != render(&b) {
                errors.push(format!("{key} is incompatible"));
            }
        }
    };
    match value_at(to_check, DOWNING_PROVIDER_KEY) {
        None => errors.push(format!("{DOWNING_PROVIDER_KEY} is missing")),
        Some(_) => equal(DOWNING_PROVIDER_KEY, &mut errors),
    }
    equal(ACTIVE_STRATEGY_KEY, &mut errors);
    if value_at(actual, STATE_STORE_MODE_KEY).is_some() {
        match value_at(to_check, STATE_STORE_MODE_KEY) {
            None => errors.push(format!("{STATE_STORE_MODE_KEY} is missing")),
            Some(_) => equal(STATE_STORE_MODE_KEY, &mut errors),
        }
    }
    equal(NUMBER_OF_SHARDS_KEY, &mut errors);
    equal(DISTRIBUTED_KEY_COUNT_KEY, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The `CompatibleConfig` reply: this node's own values for exactly the keys the joiner sent
/// (keys this node lacks take the join defaults, so that every key is answered).
pub fn compatible_reply(received: &Config, own: &Config) -> Result<String> {
    let defaults = join_keys();
    let mut out = Config::empty();
    for (key, _) in received.entry_set()? {
        let v = value_at(own, &key).or_else(|| {
            defaults
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        });
        if let Some(v) = v {
            out = out.with_value(&key, &v)?;
        }
    }
    Ok(out.render_concise())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(s: &str) -> Config {
        Config::parse_string(s).unwrap()
    }

    #[test]
    fn joiner_payload_has_every_required_key() {
        let c = cfg(
            r#"pekko.cluster.downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider""#,
        );
        let text = init_join_config(&c).unwrap();
        let parsed = cfg(&text);
        assert_eq!(
            parsed.get_string(DOWNING_PROVIDER_KEY).unwrap(),
            "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider"
        );
        assert_eq!(parsed.get_string(PEKKO_VERSION_KEY).unwrap(), "1.7.0");
        assert_eq!(parsed.get_int(NUMBER_OF_SHARDS_KEY).unwrap(), 1000);
        assert_eq!(parsed.get_string(STATE_STORE_MODE_KEY).unwrap(), "ddata");
        assert!(!text.contains('\n'));
    }

    #[test]
    fn check_finds_incompatible_and_missing_keys() {
        let own = cfg(
            r#"pekko.cluster { downing-provider-class = "x", sharding.state-store-mode = ddata, sharding.number-of-shards = 100 }"#,
        );
        assert!(check(&cfg(&init_join_config(&own).unwrap()), &own).is_ok());
        let errs = check(
            &cfg(r#"pekko.cluster.sharding.number-of-shards = 1000"#),
            &own,
        )
        .unwrap_err();
        assert!(
            errs.contains(&format!("{DOWNING_PROVIDER_KEY} is missing")),
            "{errs:?}"
        );
        assert!(
            errs.contains(&format!("{STATE_STORE_MODE_KEY} is missing")),
            "{errs:?}"
        );
        assert!(
            errs.contains(&format!("{NUMBER_OF_SHARDS_KEY} is incompatible")),
            "{errs:?}"
        );
        // a string is not equal to a number
        let errs = check(
            &cfg(r#"pekko.cluster { downing-provider-class = "x", sharding.state-store-mode = ddata, sharding.number-of-shards = "100" }"#),
            &own,
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![format!("{NUMBER_OF_SHARDS_KEY} is incompatible")]
        );
    }

    #[test]
    fn reply_answers_every_received_key_with_own_values() {
        let own = cfg(r#"pekko.cluster.downing-provider-class = "own""#);
        let received = cfg(&init_join_config(&cfg("")).unwrap());
        let reply = cfg(&compatible_reply(&received, &own).unwrap());
        assert_eq!(reply.get_string(DOWNING_PROVIDER_KEY).unwrap(), "own");
        assert_eq!(reply.get_string(STATE_STORE_MODE_KEY).unwrap(), "ddata");
        assert_eq!(
            reply.entry_set().unwrap().len(),
            received.entry_set().unwrap().len()
        );
    }
}
