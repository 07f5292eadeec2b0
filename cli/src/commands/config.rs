//! `sextant config`: the resolved configuration and where each setting came from. The key
//! is never shown.

use serde_json::json;

use super::Context;
use crate::config::Account;
use crate::failure::{CliError, Exit};

/// Prints the resolved configuration.
pub fn run(cx: &Context) -> Result<Exit, CliError> {
    let s = &cx.settings;
    let (endpoint, credential, source) = match &s.account {
        Some((Account::Key { endpoint, .. }, src)) => {
            (Some(endpoint.clone()), "key", Some(src.to_string()))
        }
        Some((Account::ConnectionString(_), src)) => {
            let e = s
                .account()?
                .reference()
                .ok()
                .map(|r| r.endpoint().to_string());
            (e, "connection string", Some(src.to_string()))
        }
        None => (None, "none", None),
    };
    let pair = |v: &Option<(String, crate::config::Source)>| {
        v.as_ref()
            .map(|(v, src)| json!({"value": v, "source": src.to_string()}))
    };
    let value = json!({
        "profile": s.profile,
        "profile_file": s.profile_file.as_ref().map(|p| p.display().to_string()),
        "endpoint": endpoint,
        "credential": credential,
        "account_source": source,
        "database": pair(&s.database),
        "container": pair(&s.container),
        "accept_emulator_cert": s.accept_emulator_cert,
    });
    if cx.output.json() {
        cx.output.print_json(&value)?;
    } else {
        let show = |v: &Option<(String, crate::config::Source)>| {
            v.as_ref()
                .map_or("-".to_string(), |(v, src)| format!("{v} ({src})"))
        };
        cx.output.line(&format!(
            "profile:    {} ({})",
            s.profile,
            s.profile_file
                .as_ref()
                .map_or("no profile file".to_string(), |p| p.display().to_string())
        ))?;
        cx.output.line(&format!(
            "account:    {} ({credential}{})",
            endpoint.as_deref().unwrap_or("-"),
            source.map_or(String::new(), |s| format!(", {s}"))
        ))?;
        cx.output
            .line(&format!("database:   {}", show(&s.database)))?;
        cx.output
            .line(&format!("container:  {}", show(&s.container)))?;
        if s.accept_emulator_cert {
            cx.output.line("emulator certificate accepted")?;
        }
    }
    Ok(Exit::Success)
}
