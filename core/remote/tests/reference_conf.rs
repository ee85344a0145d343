//! Every default bundled in rekko-remote's reference.conf equals Pekko's
//! (remote module reference.conf of v1.7.0 under ../shared/conformance).

use std::path::PathBuf;

use hocon_config::{Config, RenderOptions, ResolveOptions};

fn pekko_reference() -> Option<Config> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/pekko-reference/remote/reference.conf");
    if !p.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "missing {} under CI=true",
            p.display()
        );
        eprintln!("SKIPPED: {} not found", p.display());
        return None;
    }
    // Some keys refer to other modules (`${pekko.stream.materializer}`);
    // those are not compared here.
    let opts = ResolveOptions::no_system().set_allow_unresolved(true);
    Some(
        Config::parse_file(&p)
            .unwrap()
            .resolve_with_options(opts)
            .unwrap(),
    )
}

fn leaves(c: &Config) -> Vec<String> {
    c.entry_set().unwrap().into_iter().map(|(k, _)| k).collect()
}

#[test]
fn bundled_defaults_equal_pekko_reference() {
    let Some(pekko) = pekko_reference() else {
        return;
    };
    let ours = Config::parse_string(rekko_remote::REFERENCE_CONF)
        .unwrap()
        .resolve()
        .unwrap();
    let keys = leaves(&ours);
    assert!(keys.len() >= 18, "{keys:?}");
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
                .get_bytes(&k)
                .ok()
                .is_some_and(|b| pekko.get_bytes(&k).ok() == Some(b));
        assert!(
            same,
            "{k}: ours {} vs Pekko {}",
            mine.render(&r),
            theirs.render(&r)
        );
    }
}
