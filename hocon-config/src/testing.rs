//! Helpers for checking a crate's bundled `reference.conf` against Pekko's reference files.

use std::path::Path as FsPath;

use crate::config::Config;
use crate::render::RenderOptions;
use crate::value::{Kind, V};
use crate::ResolveOptions;

/// Build Pekko's merged reference layer from a `pekko-reference` directory
/// (`<module>/reference.conf` for every module, sorted by module name, first wins), unresolved.
pub fn pekko_reference_unresolved(pekko_reference_dir: &FsPath) -> crate::Result<Config> {
    let mut modules: Vec<String> = std::fs::read_dir(pekko_reference_dir)
        .map_err(|e| {
            crate::ConfigError::plain(
                crate::ErrorKind::Io,
                format!("{}: {}", pekko_reference_dir.display(), e),
            )
        })?
        .flatten()
        .filter(|e| e.path().join("reference.conf").is_file())
        .filter_map(|e| e.file_name().to_str().map(|s| s.to_string()))
        .collect();
    modules.sort();
    let mut cfg = Config::parse_string("user.dir = \"/app\"")?;
    for m in modules {
        cfg = cfg.with_fallback(&Config::parse_file(
            pekko_reference_dir.join(m).join("reference.conf"),
        )?);
    }
    Ok(cfg)
}

fn leaf_paths(v: &V, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match &v.kind {
        Kind::Object { map, .. } => {
            for (k, c) in map {
                prefix.push(k.to_string());
                leaf_paths(c, prefix, out);
                prefix.pop();
            }
        }
        Kind::DelayedMergeObject(stack) => {
            for layer in stack {
                leaf_paths(layer, prefix, out);
            }
        }
        _ => out.push(prefix.clone()),
    }
}

/// Sections of Pekko modules whose `reference.conf` is not part of the Pekko reference data
/// (`pekko.management` comes from apache/pekko-management), so they cannot be compared here.
const OUTSIDE_REFERENCE_DATA: &[&[&str]] = &[&["pekko", "management"]];

/// Compare every setting in `bundled` (HOCON text of a bundled `reference.conf`) with Pekko's
/// value for the same path. Settings under the top-level key `rekko` are Rekko's own, and
/// top-level namespaces Pekko's reference files do not define belong to other projects; both are
/// skipped. Strings naming the same duration or size (`1s` and `1 s`) are accepted with a note
/// on stderr. Returns the number of settings compared, or the list of mismatches.
pub fn check_against_pekko_reference(
    bundled: &str,
    pekko_reference_dir: &FsPath,
) -> Result<usize, Vec<String>> {
    let err = |e: crate::ConfigError| vec![e.to_string()];
    let pekko_unresolved = pekko_reference_unresolved(pekko_reference_dir).map_err(err)?;
    let pekko = pekko_unresolved
        .resolve_with_options(ResolveOptions::no_system())
        .map_err(err)?;
    let parsed = Config::parse_string(bundled).map_err(err)?;
    let ours = parsed
        .with_fallback(&pekko_unresolved)
        .resolve_with_options(ResolveOptions::no_system())
        .map_err(err)?;
    let mut paths = Vec::new();
    leaf_paths(&parsed.root, &mut Vec::new(), &mut paths);
    paths.sort();
    paths.dedup();
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for p in paths {
        // Rekko's own settings, and namespaces of modules outside the Pekko reference data
        // (e.g. `jdbc-journal` of pekko-persistence-jdbc), cannot be compared here.
        let Some(first) = p.first() else { continue };
        if OUTSIDE_REFERENCE_DATA
            .iter()
            .any(|ns| p.len() > ns.len() && p.iter().zip(ns.iter()).all(|(a, b)| a == b))
        {
            continue;
        }
        if first == "rekko"
            || !pekko
                .has_path_or_null(&crate::path::render_key(first))
                .unwrap_or(false)
        {
            continue;
        }
        let Some(path) = crate::Path::from_keys(p.clone()) else {
            continue;
        };
        let expr = path.render();
        checked += 1;
        let o = RenderOptions::concise();
        let mine = ours.get_value(&expr).map(|v| v.render(&o)).or_else(|e| {
            if ours.get_is_null(&expr).unwrap_or(false) {
                Ok("null".to_string())
            } else {
                Err(e)
            }
        });
        let theirs = pekko.get_value(&expr).map(|v| v.render(&o)).or_else(|e| {
            if pekko.get_is_null(&expr).unwrap_or(false) {
                Ok("null".to_string())
            } else {
                Err(e)
            }
        });
        match (mine, theirs) {
            (Ok(a), Ok(b)) if a == b => {}
            (Ok(a), Ok(b)) if same_quantity(&ours, &pekko, &expr) => {
                eprintln!("note: {}: bundled {} and Pekko {} are the same duration/size but written differently", expr, a, b);
            }
            (Ok(a), Ok(b)) => mismatches.push(format!("{}: bundled {} but Pekko {}", expr, a, b)),
            (_, Err(_)) => mismatches.push(format!("{}: not a Pekko setting", expr)),
            (Err(e), _) => mismatches.push(format!("{}: {}", expr, e)),
        }
    }
    if mismatches.is_empty() {
        Ok(checked)
    } else {
        Err(mismatches)
    }
}

/// Both values are strings naming the same duration or the same size (`1s` vs `1 s`).
fn same_quantity(ours: &Config, pekko: &Config, expr: &str) -> bool {
    let (Ok(a), Ok(b)) = (ours.get_value(expr), pekko.get_value(expr)) else {
        return false;
    };
    let (Some(a), Some(b)) = (a.as_str(), b.as_str()) else {
        return false;
    };
    if let (Ok(x), Ok(y)) = (
        crate::units::parse_duration_nanos(a),
        crate::units::parse_duration_nanos(b),
    ) {
        return x == y;
    }
    matches!((crate::units::parse_bytes(a), crate::units::parse_bytes(b)), (Ok(x), Ok(y)) if x == y)
}
