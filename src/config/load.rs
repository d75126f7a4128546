//! Loading: built-in defaults < TOML file < `MONBAN_<SECTION>__<KEY>` environment.

use std::path::Path;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;

use super::{Config, ConfigError};

impl Config {
    /// Loads defaults < `file` (if any) < environment (`MONBAN_SECTION__KEY`).
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment given (tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Other(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("MONBAN_") && k.contains("__"))
            .collect();
        fig = fig.merge(env_provider(env));
        let cfg: Config = fig.extract().map_err(|e| {
            let e = e.into_iter().next().expect("figment error has one entry");
            let key = if e.path.is_empty() {
                "(root)".to_string()
            } else {
                e.path.join(".")
            };
            let key = match &e.kind {
                figment::error::Kind::UnknownField(f, _) => {
                    if e.path.is_empty() {
                        f.clone()
                    } else {
                        format!("{key}.{f}")
                    }
                }
                _ => key,
            };
            let env_hint = format!("MONBAN_{}", key.to_uppercase().replace('.', "__"));
            ConfigError::Key {
                message: format!("{} (from the file, or the env var {env_hint})", e.kind),
                key,
            }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }
}

/// `MONBAN_SERVER__LISTEN=…` → `server.listen`. Values are parsed like figment's
/// `Env` provider does (numbers and booleans keep their type, the rest are strings).
fn env_provider(vars: Vec<(String, String)>) -> Serialized<figment::value::Dict> {
    use figment::value::{Dict, Value};
    let mut root = Dict::new();
    for (k, v) in vars {
        let path: Vec<String> = k["MONBAN_".len()..]
            .split("__")
            .map(|p| p.to_lowercase())
            .collect();
        let value: Value = v.parse().unwrap_or_else(|_| Value::from(v.clone()));
        // Strings that merely look like numbers stay usable: figment coerces when extracting.
        insert_path(&mut root, &path, value);
    }
    fn insert_path(dict: &mut Dict, path: &[String], value: Value) {
        if path.len() == 1 {
            dict.insert(path[0].clone(), value);
            return;
        }
        let entry = dict
            .entry(path[0].clone())
            .or_insert_with(|| Value::from(Dict::new()));
        if let Value::Dict(_, inner) = entry {
            insert_path(inner, &path[1..], value);
        }
    }
    Serialized::defaults(root)
}
