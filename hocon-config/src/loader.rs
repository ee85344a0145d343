//! `load`: bundled reference layers, then the application config, then overrides — the same
//! precedence as Lightbend's `ConfigFactory.load`.
//!
//! Each Rekko crate embeds its own `reference.conf` (e.g. `pub const REFERENCE_CONF: &str =
//! include_str!("../reference.conf")`) and the application collects them:
//!
//! ```
//! use hocon_config::{Config, Loader};
//! let app = Config::parse_string("pekko.loglevel = DEBUG").unwrap();
//! let cfg = Loader::new()
//!     .reference("my-crate", "pekko { loglevel = INFO, log-dead-letters = 10 }")
//!     .load(&app)
//!     .unwrap();
//! assert_eq!(cfg.get_string("pekko.loglevel").unwrap(), "DEBUG");
//! assert_eq!(cfg.get_int("pekko.log-dead-letters").unwrap(), 10);
//! ```

use std::collections::HashMap;

use crate::config::Config;
use crate::error::{ConfigError, ErrorKind, Result};
use crate::load::{self, ParseOptions};
use crate::origin::{Origin, OriginKind};
use crate::resolve::ResolveOptions;
use crate::value;

/// Builder for `load` with bundled references and overrides.
#[derive(Debug, Clone, Default)]
pub struct Loader {
    references: Vec<(String, String)>,
    overrides: Vec<String>,
    override_with_env_vars: bool,
    env: Option<HashMap<String, String>>,
}

impl Loader {
    /// A loader with no references.
    pub fn new() -> Loader {
        Loader::default()
    }
    /// Add a bundled `reference.conf` (HOCON text). Earlier references win over later ones,
    /// like the first `reference.conf` on a classpath.
    pub fn reference(mut self, name: &str, text: &str) -> Loader {
        self.references.push((name.to_string(), text.to_string()));
        self
    }
    /// Add several references at once.
    pub fn references(mut self, refs: &[(&str, &str)]) -> Loader {
        for (n, t) in refs {
            self.references.push((n.to_string(), t.to_string()));
        }
        self
    }
    /// Add an override layer (HOCON text) above the application config; later calls win.
    pub fn override_string(mut self, text: &str) -> Loader {
        self.overrides.push(text.to_string());
        self
    }
    /// Enable `CONFIG_FORCE_*` environment variables as overrides
    /// (Lightbend `-Dconfig.override_with_env_vars=true`).
    pub fn override_with_env_vars(mut self, on: bool) -> Loader {
        self.override_with_env_vars = on;
        self
    }
    /// Use this environment instead of the process environment (substitution fallback and
    /// `CONFIG_FORCE_*`).
    pub fn env(mut self, env: HashMap<String, String>) -> Loader {
        self.env = Some(env);
        self
    }

    fn env_pairs(&self) -> Vec<(String, String)> {
        match &self.env {
            Some(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            None => std::env::vars_os()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect(),
        }
    }

    /// The merged references, unresolved (first wins).
    pub fn reference_config(&self) -> Result<Config> {
        let mut merged = Config::empty();
        for (name, text) in self.references.iter().rev() {
            let opts = ParseOptions::default()
                .with_origin_description(&format!("{}: reference.conf", name));
            let c = Config::parse_string_with(text, &opts)?;
            merged = c.with_fallback(&merged);
        }
        Ok(merged)
    }

    /// The references resolved on their own (Lightbend `defaultReference()`).
    pub fn default_reference(&self) -> Result<Config> {
        let env = load::env_object_from(self.env_pairs());
        self.reference_config()?
            .resolve_with_env_object(ResolveOptions::default(), &env)
            .map_err(reference_error)
    }

    fn overrides_config(&self) -> Result<Config> {
        let mut layers: Vec<Config> = Vec::new();
        for text in self.overrides.iter().rev() {
            layers.push(Config::parse_string_with(
                text,
                &ParseOptions::default().with_origin_description("overrides"),
            )?);
        }
        let mut merged = Config::empty();
        for l in layers.into_iter().rev() {
            merged = merged.with_fallback(&l);
        }
        if self.override_with_env_vars {
            let mut pairs = Vec::new();
            for (k, v) in self.env_pairs() {
                if k.starts_with("CONFIG_FORCE_") {
                    pairs.push((load::env_variable_as_property(&k, "CONFIG_FORCE_")?, v));
                }
            }
            let envo = crate::properties::from_string_pairs(
                &Origin::new("env variables overrides", OriginKind::Env),
                pairs,
            );
            merged = Config::from_root(envo).with_fallback(&merged);
        }
        Ok(merged)
    }

    /// `overrides.withFallback(application).withFallback(references).resolve()`; the references
    /// must resolve on their own.
    pub fn load(&self, application: &Config) -> Result<Config> {
        let env = load::env_object_from(self.env_pairs());
        let reference = self.reference_config()?;
        reference
            .resolve_with_env_object(ResolveOptions::default(), &env)
            .map_err(reference_error)?;
        let stacked = self
            .overrides_config()?
            .with_fallback(application)
            .with_fallback(&reference);
        stacked.resolve_with_env_object(ResolveOptions::default(), &env)
    }

    /// Parse `file` (must exist) as the application config and [`Loader::load`] it.
    pub fn load_file(&self, file: impl AsRef<std::path::Path>) -> Result<Config> {
        let app =
            Config::parse_file_with(file, &ParseOptions::default().with_allow_missing(false))?;
        self.load(&app)
    }
}

fn reference_error(e: ConfigError) -> ConfigError {
    if e.kind() == ErrorKind::UnresolvedSubstitution {
        let msg = format!(
            "{} (Could not resolve substitution in reference.conf to a value. All reference.conf files are required to be fully, independently resolvable, and should not require the presence of values for substitutions from further up the hierarchy.)",
            e.message()
        );
        return e.with_message(msg);
    }
    e
}

impl Config {
    /// `load` with the given bundled references (`(name, reference.conf text)`, first wins)
    /// under `application`. Environment variables are the substitution fallback.
    pub fn load_with_references(
        references: &[(&str, &str)],
        application: &Config,
    ) -> Result<Config> {
        Loader::new().references(references).load(application)
    }
}

/// Resolve `file` for the `rekko config resolve FILE [--path P] [--with-defaults]` command.
///
/// Returns the concise JSON of the resolved file (of the value at `path` when given; with
/// `references` non-empty the file is loaded as `application.conf` over them). Errors render as
/// `FILE: LINE: message` via `Display`.
pub fn resolve_to_json(
    file: &std::path::Path,
    path: Option<&str>,
    references: &[(&str, &str)],
    with_defaults: bool,
) -> Result<String> {
    let app = Config::parse_file_with(file, &ParseOptions::default().with_allow_missing(false))?;
    let cfg = if with_defaults {
        Loader::new().references(references).load(&app)?
    } else {
        app.resolve()?
    };
    match path {
        None => Ok(cfg.render_concise()),
        Some(p) => Ok(cfg.get_value(p)?.render(&crate::RenderOptions::concise())),
    }
}

#[allow(dead_code)]
fn _unused() -> value::V {
    value::empty_object(Origin::simple(""))
}
