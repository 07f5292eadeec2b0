//! Where the account, database and container come from: flags, then the environment, then a
//! profile in the profile file.
//!
//! ```toml
//! # ~/.config/sextant/config.toml
//! [default]
//! endpoint = "https://myaccount.documents.azure.com:443/"
//! key = "..."
//! database = "shop"
//! container = "orders"
//!
//! [local]
//! connection_string = "AccountEndpoint=https://127.0.0.1:8081/;AccountKey=...;"
//! accept_emulator_cert = true
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sextant_blocking::models::AccountReference;

use crate::args::GlobalArgs;
use crate::failure::CliError;

/// One profile of the profile file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Account endpoint.
    pub endpoint: Option<String>,
    /// Account key.
    pub key: Option<String>,
    /// Connection string.
    pub connection_string: Option<String>,
    /// Default database.
    pub database: Option<String>,
    /// Default container.
    pub container: Option<String>,
    /// Accept the emulator's self-signed certificate.
    pub accept_emulator_cert: Option<bool>,
}

/// Where a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable.
    Environment,
    /// The profile file.
    Profile,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag",
            Source::Environment => "environment",
            Source::Profile => "profile",
        })
    }
}

/// How the account is reached.
#[derive(Clone)]
pub enum Account {
    /// An endpoint and a key.
    Key {
        /// The endpoint.
        endpoint: String,
        /// The key.
        key: String,
    },
    /// A connection string.
    ConnectionString(String),
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Key { endpoint, .. } => write!(f, "Key {{ endpoint: {endpoint:?}, .. }}"),
            Account::ConnectionString(_) => f.write_str("ConnectionString(..)"),
        }
    }
}

impl Account {
    /// The driver's account reference.
    pub fn reference(&self) -> Result<AccountReference, CliError> {
        match self {
            Account::Key { endpoint, key } => AccountReference::with_master_key(endpoint, key)
                .map_err(|e| CliError::config(format!("the account is not usable: {e}"))),
            Account::ConnectionString(s) => AccountReference::from_connection_string(s)
                .map_err(|e| CliError::config(format!("the connection string is not usable: {e}"))),
        }
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The account, if any layer named one.
    pub account: Option<(Account, Source)>,
    /// The database.
    pub database: Option<(String, Source)>,
    /// The container.
    pub container: Option<(String, Source)>,
    /// Accept the emulator's certificate.
    pub accept_emulator_cert: bool,
    /// The profile file read, if it existed.
    pub profile_file: Option<PathBuf>,
    /// The profile used.
    pub profile: String,
}

impl Settings {
    /// The account, or a configuration error saying how to give one.
    pub fn account(&self) -> Result<&Account, CliError> {
        self.account.as_ref().map(|(a, _)| a).ok_or_else(|| {
            CliError::config(
                "no account: give --endpoint and --key, --connection-string, set COSMOS_ENDPOINT \
                 and COSMOS_KEY (or COSMOS_CONNECTION_STRING), or add them to a profile",
            )
        })
    }

    /// The database, or a usage error naming the ways to give one.
    pub fn database(&self) -> Result<&str, CliError> {
        self.database
            .as_ref()
            .map(|(d, _)| d.as_str())
            .ok_or_else(|| {
                CliError::invalid(
                "this command needs a database: -d/--database, COSMOS_DATABASE or `database` in \
                 the profile",
            )
            })
    }

    /// The container, or a usage error naming the ways to give one.
    pub fn container(&self) -> Result<&str, CliError> {
        self.container
            .as_ref()
            .map(|(c, _)| c.as_str())
            .ok_or_else(|| {
                CliError::invalid(
                "this command needs a container: -c/--container, COSMOS_CONTAINER or `container` \
                 in the profile",
            )
            })
    }
}

/// The profile file's path: `--config`, `SEXTANT_CONFIG`, `$XDG_CONFIG_HOME/sextant/config.toml`,
/// `$HOME/.config/sextant/config.toml`; `explicit` when the user named it (then it must exist).
fn profile_path(args: &GlobalArgs, env: &BTreeMap<String, String>) -> Option<(PathBuf, bool)> {
    if let Some(p) = &args.config {
        return Some((p.clone(), true));
    }
    if let Some(p) = env.get("SEXTANT_CONFIG") {
        return Some((PathBuf::from(p), true));
    }
    let base = match env.get("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(env.get("HOME")?).join(".config"),
    };
    Some((base.join("sextant").join("config.toml"), false))
}

/// Reads `profile` from the file at `path`; `Ok(None)` when the file is absent and was not
/// named explicitly, or when the profile is absent and was not named explicitly.
fn read_profile(
    path: &Path,
    explicit_file: bool,
    profile: &str,
    explicit_profile: bool,
) -> Result<Option<Profile>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit_file => {
            if explicit_profile {
                return Err(CliError::config(format!(
                    "profile `{profile}` was asked for, but there is no profile file at {}",
                    path.display()
                )));
            }
            return Ok(None);
        }
        Err(e) => {
            return Err(CliError::config(format!(
                "cannot read the profile file {}: {e}",
                path.display()
            )))
        }
    };
    let mut profiles: BTreeMap<String, Profile> = toml::from_str(&text).map_err(|e| {
        CliError::config(format!(
            "the profile file {} is invalid: {e}",
            path.display()
        ))
    })?;
    match profiles.remove(profile) {
        Some(p) => Ok(Some(p)),
        None if explicit_profile => Err(CliError::config(format!(
            "profile `{profile}` is not in {} (it has: {})",
            path.display(),
            profiles.keys().cloned().collect::<Vec<_>>().join(", ")
        ))),
        None => Ok(None),
    }
}

/// One layer's account settings.
#[derive(Default)]
struct Layer {
    endpoint: Option<String>,
    key: Option<String>,
    connection_string: Option<String>,
}

/// Resolves the settings from the flags, the environment (`env`, usually the process's) and
/// the profile file.
pub fn resolve(args: &GlobalArgs, env: &BTreeMap<String, String>) -> Result<Settings, CliError> {
    let explicit_profile = args.profile.is_some() || env.contains_key("SEXTANT_PROFILE");
    let profile_name = args
        .profile
        .clone()
        .or_else(|| env.get("SEXTANT_PROFILE").cloned())
        .unwrap_or_else(|| "default".to_string());
    let (profile, profile_file) = match profile_path(args, env) {
        Some((path, explicit)) => {
            let p = read_profile(&path, explicit, &profile_name, explicit_profile)?;
            let file = p.as_ref().map(|_| path);
            (p.unwrap_or_default(), file)
        }
        None if explicit_profile => {
            return Err(CliError::config(format!(
                "profile `{profile_name}` was asked for, but no profile file can be found \
                 (set SEXTANT_CONFIG or --config)"
            )))
        }
        None => (Profile::default(), None),
    };
    let layers = [
        (
            Source::Flag,
            Layer {
                endpoint: args.endpoint.clone(),
                key: args.key.clone(),
                connection_string: args.connection_string.clone(),
            },
        ),
        (
            Source::Environment,
            Layer {
                endpoint: env.get("COSMOS_ENDPOINT").cloned(),
                key: env.get("COSMOS_KEY").cloned(),
                connection_string: env.get("COSMOS_CONNECTION_STRING").cloned(),
            },
        ),
        (
            Source::Profile,
            Layer {
                endpoint: profile.endpoint.clone(),
                key: profile.key.clone(),
                connection_string: profile.connection_string.clone(),
            },
        ),
    ];
    let account = resolve_account(&layers)?;
    let pick = |flag: &Option<String>, var: &str, prof: &Option<String>| {
        flag.clone()
            .map(|v| (v, Source::Flag))
            .or_else(|| env.get(var).map(|v| (v.clone(), Source::Environment)))
            .or_else(|| prof.clone().map(|v| (v, Source::Profile)))
    };
    let accept_env = match env
        .get("AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED")
        .map(|v| v.to_ascii_lowercase())
    {
        None => None,
        Some(v) if v == "true" || v == "1" => Some(true),
        Some(v) if v == "false" || v == "0" || v.is_empty() => Some(false),
        Some(v) => {
            return Err(CliError::config(format!(
                "AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED is `{v}`; expected true or false"
            )))
        }
    };
    Ok(Settings {
        account,
        database: pick(&args.database, "COSMOS_DATABASE", &profile.database),
        container: pick(&args.container, "COSMOS_CONTAINER", &profile.container),
        accept_emulator_cert: args.accept_emulator_cert
            || accept_env.or(profile.accept_emulator_cert).unwrap_or(false),
        profile_file,
        profile: profile_name,
    })
}

/// The first layer naming an account decides it. A key missing there is taken from a lower
/// layer (so `--endpoint` works with `COSMOS_KEY`).
fn resolve_account(layers: &[(Source, Layer)]) -> Result<Option<(Account, Source)>, CliError> {
    for (i, (source, layer)) in layers.iter().enumerate() {
        match (&layer.connection_string, &layer.endpoint) {
            (Some(_), Some(_)) => {
                return Err(CliError::config(format!(
                    "both a connection string and an endpoint are given ({source}); give one"
                )))
            }
            (Some(cs), None) => return Ok(Some((Account::ConnectionString(cs.clone()), *source))),
            (None, Some(endpoint)) => {
                let key = layers[i..].iter().find_map(|(_, l)| l.key.clone());
                return match key {
                    Some(key) => Ok(Some((
                        Account::Key {
                            endpoint: endpoint.clone(),
                            key,
                        },
                        *source,
                    ))),
                    None => Err(CliError::config(format!(
                        "the endpoint {endpoint} ({source}) has no key: give --key, COSMOS_KEY \
                         or `key` in the profile"
                    ))),
                };
            }
            (None, None) => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Exit;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn endpoint(s: &Settings) -> (String, Source) {
        match &s.account {
            Some((Account::Key { endpoint, .. }, src)) => (endpoint.clone(), *src),
            Some((Account::ConnectionString(cs), src)) => (cs.clone(), *src),
            None => (String::new(), Source::Flag),
        }
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_profile() {
        let dir = std::env::temp_dir().join(format!("sextant-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("config.toml");
        std::fs::write(
            &file,
            "[default]\nendpoint = \"https://profile:443/\"\nkey = \"cGs=\"\ndatabase = \"pdb\"\n\
             container = \"pc\"\n[other]\nconnection_string = \"AccountEndpoint=https://o/;AccountKey=a2V5;\"\n",
        )
        .unwrap();
        let vars = env(&[
            ("SEXTANT_CONFIG", file.to_str().unwrap()),
            ("COSMOS_DATABASE", "edb"),
        ]);
        let s = resolve(&GlobalArgs::default(), &vars).unwrap();
        assert_eq!(
            endpoint(&s),
            ("https://profile:443/".into(), Source::Profile)
        );
        assert_eq!(s.database, Some(("edb".into(), Source::Environment)));
        assert_eq!(s.container, Some(("pc".into(), Source::Profile)));

        let mut vars2 = vars.clone();
        vars2.insert("COSMOS_ENDPOINT".into(), "https://env:443/".into());
        let s = resolve(&GlobalArgs::default(), &vars2).unwrap();
        // The environment names the endpoint; its key comes from the profile below it.
        assert_eq!(
            endpoint(&s),
            ("https://env:443/".into(), Source::Environment)
        );

        let args = GlobalArgs {
            endpoint: Some("https://flag:443/".into()),
            container: Some("fc".into()),
            ..GlobalArgs::default()
        };
        let s = resolve(&args, &vars2).unwrap();
        assert_eq!(endpoint(&s), ("https://flag:443/".into(), Source::Flag));
        assert_eq!(s.container, Some(("fc".into(), Source::Flag)));

        let args = GlobalArgs {
            profile: Some("other".into()),
            ..GlobalArgs::default()
        };
        let s = resolve(&args, &vars).unwrap();
        assert!(matches!(
            s.account,
            Some((Account::ConnectionString(_), Source::Profile))
        ));

        let args = GlobalArgs {
            profile: Some("missing".into()),
            ..GlobalArgs::default()
        };
        let e = resolve(&args, &vars).unwrap_err();
        assert_eq!(e.exit, Exit::Config);
        assert!(e.message.contains("`missing`") && e.message.contains("default, other"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_bad_profile_file_or_a_keyless_endpoint_is_a_config_error() {
        let dir = std::env::temp_dir().join(format!("sextant-cfg-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("config.toml");
        std::fs::write(&file, "[default]\nendpont = \"x\"\n").unwrap();
        let vars = env(&[("SEXTANT_CONFIG", file.to_str().unwrap())]);
        let e = resolve(&GlobalArgs::default(), &vars).unwrap_err();
        assert_eq!(e.exit, Exit::Config);
        assert!(e.message.contains("endpont"), "{}", e.message);

        let vars = env(&[
            ("COSMOS_ENDPOINT", "https://x:443/"),
            ("HOME", "/nonexistent"),
        ]);
        let e = resolve(&GlobalArgs::default(), &vars).unwrap_err();
        assert!(e.message.contains("has no key"), "{}", e.message);

        let vars = env(&[("HOME", "/nonexistent")]);
        let s = resolve(&GlobalArgs::default(), &vars).unwrap();
        assert_eq!(s.account().unwrap_err().exit, Exit::Config);
        assert_eq!(s.container().unwrap_err().exit, Exit::Invalid);
        std::fs::remove_dir_all(&dir).ok();
    }
}
