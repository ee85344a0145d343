//! Settings: serde from HOCON, and every default in the bundled reference.conf equals Pekko's
//! (cluster module reference.conf under ../shared/conformance).

use std::path::PathBuf;
use std::time::Duration;

use hocon_config::{Config, RenderOptions, ResolveOptions};
use rekko_cluster::sbr::{DownAllWhenUnstable, SbrSettings, Strategy, StrategyName};
use rekko_cluster::settings::{OnOffDuration, REFERENCE_CONF};
use rekko_cluster::ClusterSettings;

fn pekko_reference() -> Option<Config> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/pekko-reference/cluster/reference.conf");
    if !p.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "missing {} under CI=true",
            p.display()
        );
        eprintln!("SKIPPED: {} not found", p.display());
        return None;
    }
    let opts = ResolveOptions::no_system().set_allow_unresolved(true);
    Some(
        Config::parse_file(&p)
            .unwrap()
            .resolve_with_options(opts)
            .unwrap(),
    )
}

#[test]
fn bundled_defaults_equal_pekko_reference() {
    let Some(pekko) = pekko_reference() else {
        return;
    };
    let ours = Config::parse_string(REFERENCE_CONF)
        .unwrap()
        .resolve()
        .unwrap();
    let keys: Vec<String> = ours
        .entry_set()
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(keys.len() >= 23, "{keys:?}");
    let r = RenderOptions::concise();
    for k in keys {
        let mine = ours.get_value(&k).unwrap();
        let theirs = pekko
            .get_value(&k)
            .unwrap_or_else(|e| panic!("{k} not in Pekko's reference.conf: {e}"));
        let same = mine.render(&r) == theirs.render(&r)
            || ours
                .get_duration(&k)
                .ok()
                .is_some_and(|d| pekko.get_duration(&k).ok() == Some(d))
            || ours
                .get_bool(&k)
                .ok()
                .is_some_and(|b| pekko.get_bool(&k).ok() == Some(b));
        assert!(
            same,
            "{k}: ours {} vs Pekko {}",
            mine.render(&r),
            theirs.render(&r)
        );
    }
}

#[test]
fn defaults_from_empty_config() {
    let s = ClusterSettings::from_config(&Config::empty()).unwrap();
    assert_eq!(s, ClusterSettings::default());
    assert_eq!(s.roles_with_dc(), vec!["dc-default".to_string()]);
    assert_eq!(s.weakly_up_after(), Some(Duration::from_secs(7)));
    let sbr = SbrSettings::from_config(&Config::empty()).unwrap();
    assert_eq!(sbr, SbrSettings::default());
    assert_eq!(
        sbr.strategy().unwrap(),
        Strategy::KeepMajority { role: None }
    );
    assert_eq!(
        sbr.down_all_when_unstable_duration(),
        Some(Duration::from_secs(15))
    );
}

#[test]
fn application_conf_overrides() {
    let c = Config::parse_string(
        r#"
        pekko.cluster {
          seed-nodes = ["pekko://Sys@127.0.0.1:2551"]
          roles = [backend]
          min-nr-of-members = 3
          role.backend.min-nr-of-members = 2
          allow-weakly-up-members = off
          retry-unsuccessful-join-after = off
          downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider"
          multi-data-center.self-data-center = east
          split-brain-resolver {
            active-strategy = static-quorum
            stable-after = 7s
            down-all-when-unstable = 3s
            static-quorum { quorum-size = 3, role = backend }
          }
        }
        "#,
    )
    .unwrap();
    let s = ClusterSettings::from_config(&c).unwrap();
    assert_eq!(s.seed_nodes, vec!["pekko://Sys@127.0.0.1:2551".to_string()]);
    assert_eq!(
        s.roles_with_dc(),
        vec!["backend".to_string(), "dc-east".to_string()]
    );
    assert_eq!(s.weakly_up_after(), None);
    assert_eq!(s.retry_unsuccessful_join_after, OnOffDuration::Off);
    assert!(s.sbr_enabled());
    let la = s.leader_action_settings();
    assert_eq!(la.min_nr_of_members, 3);
    assert_eq!(la.min_nr_of_members_of_role.get("backend"), Some(&2));
    let sbr = SbrSettings::from_config(&c).unwrap();
    assert_eq!(sbr.active_strategy, StrategyName::StaticQuorum);
    assert_eq!(sbr.stable_after, Duration::from_secs(7));
    assert_eq!(
        sbr.down_all_when_unstable,
        DownAllWhenUnstable::Duration(Duration::from_secs(3))
    );
    assert_eq!(
        sbr.strategy().unwrap(),
        Strategy::StaticQuorum {
            quorum_size: 3,
            role: Some("backend".into())
        }
    );
}

#[test]
fn invalid_settings_are_errors_naming_the_key() {
    let c =
        Config::parse_string("pekko.cluster.split-brain-resolver.active-strategy = static-quorum")
            .unwrap();
    let err = SbrSettings::from_config(&c)
        .unwrap()
        .strategy()
        .unwrap_err()
        .to_string();
    assert!(err.contains("static-quorum.quorum-size"), "{err}");
    let c = Config::parse_string("pekko.cluster.roles = [dc-x]").unwrap();
    let err = ClusterSettings::from_config(&c).unwrap_err().to_string();
    assert!(err.contains("pekko.cluster.roles"), "{err}");
    let c = Config::parse_string("pekko.cluster.split-brain-resolver.active-strategy = nonsense")
        .unwrap();
    assert!(SbrSettings::from_config(&c).is_err());
    let c = Config::parse_string(
        "pekko.cluster.split-brain-resolver.down-all-when-unstable = sometimes",
    )
    .unwrap();
    assert!(SbrSettings::from_config(&c).is_err());
}
