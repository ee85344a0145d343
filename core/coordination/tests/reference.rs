//! Every default rekko-coordination bundles equals Pekko's coordination reference.conf
//! (under ../shared/conformance).

use std::path::PathBuf;

use hocon_config::{Config, RenderOptions};
use rekko_coordination::REFERENCE_CONF;

#[test]
fn bundled_defaults_equal_pekko_reference() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/pekko-reference/coordination/reference.conf");
    if !p.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "missing {} under CI=true",
            p.display()
        );
        eprintln!("SKIPPED: {} not found", p.display());
        return;
    }
    let pekko = Config::parse_file(&p).unwrap().resolve().unwrap();
    let ours = Config::parse_string(REFERENCE_CONF)
        .unwrap()
        .resolve()
        .unwrap();
    let entries = ours.entry_set().unwrap();
    assert_eq!(entries.len(), 4, "{entries:?}");
    let r = RenderOptions::concise();
    for (k, mine) in entries {
        let theirs = pekko
            .get_value(&k)
            .unwrap_or_else(|e| panic!("{k} not in Pekko's reference.conf: {e}"));
        let same = mine.render(&r) == theirs.render(&r)
            || ours
                .get_duration(&k)
                .ok()
                .is_some_and(|d| pekko.get_duration(&k).ok() == Some(d));
        assert!(
            same,
            "{k}: ours {} vs Pekko {}",
            mine.render(&r),
            theirs.render(&r)
        );
    }
}
