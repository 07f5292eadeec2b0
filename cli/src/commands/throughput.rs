//! `sextant throughput`: the database's (`-d`) or the container's (`-d -c`) provisioned
//! throughput; `--set N` or `--autoscale MAX` changes it and waits until it is applied.

use serde_json::{json, Value};
use sextant_blocking::core::throughput::ThroughputResponse;
use sextant_blocking::models::ThroughputProperties;

use super::Context;
use crate::args::ThroughputArgs;
use crate::failure::{CliError, Exit};

fn describe(r: &Option<ThroughputResponse>) -> (String, Value) {
    let Some(r) = r else {
        return (
            "no throughput of its own (it shares its database's)".into(),
            json!({"throughput": null}),
        );
    };
    let (mode, ru) = match &r.throughput {
        Some(t) if t.is_autoscale() => ("autoscale", t.autoscale_max_throughput()),
        Some(t) => ("manual", t.throughput()),
        None => ("unknown", None),
    };
    let text = format!(
        "{mode} {} RU/s{}{}{} ({:.2} RU)",
        ru.map_or("?".to_string(), |n| n.to_string()),
        if mode == "autoscale" { " max" } else { "" },
        r.min_throughput
            .map_or(String::new(), |m| format!(", minimum {m}")),
        if r.replace_pending {
            ", a change is still being applied"
        } else {
            ""
        },
        r.request_charge
    );
    let value = json!({
        "mode": mode,
        "ru_per_second": ru,
        "min_ru_per_second": r.min_throughput,
        "replace_pending": r.replace_pending,
        "request_charge": r.request_charge,
    });
    (text, value)
}

/// Shows or changes the throughput.
pub fn run(cx: &mut Context, a: ThroughputArgs) -> Result<Exit, CliError> {
    let target = match (a.set, a.autoscale) {
        (Some(n), _) => Some(
            ThroughputProperties::manual(n)
                .map_err(|e| CliError::invalid(format!("--set {n}: {e}")))?,
        ),
        (None, Some(n)) => Some(
            ThroughputProperties::autoscale(n)
                .map_err(|e| CliError::invalid(format!("--autoscale {n}: {e}")))?,
        ),
        (None, None) => None,
    };
    let driver = cx.driver()?;
    let db = driver.database(cx.settings.database()?);
    let on_container = cx.settings.container.is_some();
    let r = match (&target, on_container) {
        (None, false) => db.read_throughput()?,
        (None, true) => db.container(cx.settings.container()?).read_throughput()?,
        (Some(t), false) => db.replace_throughput(*t)?,
        (Some(t), true) => db
            .container(cx.settings.container()?)
            .replace_throughput(*t)?,
    };
    if target.is_some() && r.is_none() {
        return Err(CliError::new(
            Exit::Invalid,
            "the container has no throughput of its own (it shares its database's): change the \
             database's with -d only",
        ));
    }
    let (text, value) = describe(&r);
    if cx.output.json() {
        cx.output.print_json(&value)?;
    } else {
        cx.output.line(&text)?;
    }
    Ok(Exit::Success)
}
