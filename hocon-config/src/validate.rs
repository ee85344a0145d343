//! `checkValid`: compare a config against a reference for missing settings and wrong types.

use crate::config::Config;
use crate::error::{ConfigError, ErrorKind, Result};
use crate::path::Path;
use crate::value::{object_to_list, Kind, ValueType, V};

fn is_null_like(v: &V) -> bool {
    matches!(&v.kind, Kind::Null) || matches!(&v.kind, Kind::Str { s, .. } if s == "null")
}

fn type_name(v: &V) -> &'static str {
    v.value_type().map(|t| t.name()).unwrap_or("UNRESOLVED")
}

fn compatible(reference: &V, value: &V) -> bool {
    if is_null_like(reference) || is_null_like(value) {
        return true;
    }
    match reference.value_type() {
        Some(ValueType::Object) => value.is_object(),
        Some(ValueType::List) => {
            value.is_list() || (value.is_object() && object_to_list(value).is_some())
        }
        Some(ValueType::String) => true,
        Some(t) => value.value_type() == Some(t) || value.value_type() == Some(ValueType::String),
        None => true,
    }
}

fn check(reference: &V, value: &V, path: &[String], problems: &mut Vec<String>) {
    let Some(rmap) = reference.map() else { return };
    let Some(vmap) = value.map() else { return };
    for (k, r) in rmap {
        let mut p = path.to_vec();
        p.push(k.to_string());
        let rendered = Path::from_keys(p.clone())
            .map(|x| x.render())
            .unwrap_or_default();
        match vmap.get(k) {
            None => problems.push(format!(
                "{}: No setting at '{}', expecting: {}",
                r.origin.description(),
                rendered,
                type_name(r).to_lowercase()
            )),
            Some(v) => {
                if r.is_object() && v.is_object() {
                    check(r, v, &p, problems);
                } else if !compatible(r, v) {
                    problems.push(format!(
                        "{}: Wrong value type at '{}', expecting: {} but got: {}",
                        v.origin.description(),
                        rendered,
                        type_name(r).to_lowercase(),
                        type_name(v).to_lowercase()
                    ));
                } else if let (Kind::List { items: ri, .. }, Some(vl)) = (
                    &r.kind,
                    if v.is_list() {
                        Some(v.clone())
                    } else {
                        object_to_list(v)
                    },
                ) {
                    if let (Some(first), Kind::List { items: vi, .. }) = (ri.first(), &vl.kind) {
                        for e in vi {
                            if !compatible(first, e) {
                                problems.push(format!(
                                    "{}: List at '{}' contains wrong value type, expecting list of {} but got element of type {}",
                                    v.origin.description(),
                                    rendered,
                                    type_name(first).to_lowercase(),
                                    type_name(e).to_lowercase()
                                ));
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) fn check_valid(cfg: &Config, reference: &Config, restrict_to: &[&str]) -> Result<()> {
    if !cfg.is_resolved() || !reference.is_resolved() {
        return Err(ConfigError::plain(
            ErrorKind::NotResolved,
            "need to Config#resolve() each config before using it",
        ));
    }
    let mut problems = Vec::new();
    if restrict_to.is_empty() {
        check(&reference.root, &cfg.root, &[], &mut problems);
    } else {
        for p in restrict_to {
            let path = Path::parse(p)?;
            let r = reference.with_only_path(p)?;
            let c = cfg.with_only_path(p)?;
            let _ = path;
            check(&r.root, &c.root, &[], &mut problems);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::plain(
            ErrorKind::ValidationFailed,
            problems.join(", "),
        ))
    }
}
