//! `get`, `put`, `patch`, `rm`: one item at a time, through the typed layer with
//! `serde_json::Value` items (so the partition key is read from the item by the container's
//! key paths).

use std::io::Read;

use clap::ArgMatches;
use serde_json::{json, Value};
use sextant_blocking::{ItemResponse, PatchBuilder};

use super::Context;
use crate::args::{ItemKeyArgs, PatchArgs, PutArgs, RmArgs};
use crate::failure::{CliError, Exit};
use crate::values::{json_or_text, name_value, partition_key};

/// The `--output json` form of an item response.
fn response_json(r: &ItemResponse<Value>) -> Value {
    json!({
        "status": r.status,
        "item": r.item,
        "etag": r.etag,
        "request_charge": r.request_charge,
        "session_token": r.session_token,
        "activity_id": r.diagnostics.activity_id().to_string(),
    })
}

/// `get ID --pk PK`: the item (exit 4 when it does not exist).
pub fn get(cx: &mut Context, a: ItemKeyArgs) -> Result<Exit, CliError> {
    let driver = cx.driver()?;
    let client = cx.container_client(&driver)?;
    match client.read_item::<Value>(partition_key(&a.pk)?, &a.id)? {
        Some(r) if cx.output.json() => cx.output.print_json(&response_json(&r))?,
        Some(r) => cx.output.print_pretty(&r.item)?,
        None => {
            return Err(CliError::new(
                Exit::NotFound,
                format!("item `{}` does not exist in partition {}", a.id, a.pk),
            ))
        }
    }
    Ok(Exit::Success)
}

/// `put [FILE]`: upsert, create (`--create`) or conditional replace (`--if-match`).
pub fn put(cx: &mut Context, a: PutArgs) -> Result<Exit, CliError> {
    let mut text = String::new();
    match a.file.as_deref() {
        None => {
            std::io::stdin().read_to_string(&mut text)?;
        }
        Some(p) if p.as_os_str() == "-" => {
            std::io::stdin().read_to_string(&mut text)?;
        }
        Some(p) => {
            text = std::fs::read_to_string(p).map_err(|e| {
                CliError::new(Exit::Failure, format!("cannot read {}: {e}", p.display()))
            })?
        }
    };
    let item: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::invalid(format!("the item is not JSON: {e}")))?;
    if item.get("id").and_then(Value::as_str).is_none() {
        return Err(CliError::invalid("the item needs a string `id`"));
    }
    let driver = cx.driver()?;
    let client = cx.container_client(&driver)?;
    let (verb, r) = if a.create {
        ("created", client.create_item(&item)?)
    } else if let Some(etag) = &a.if_match {
        ("replaced", client.replace_item(&item, Some(etag))?)
    } else {
        ("upserted", client.upsert_item(&item)?)
    };
    if cx.output.json() {
        cx.output.print_json(&response_json(&r))?;
    } else {
        let id = r.item.get("id").and_then(Value::as_str).unwrap_or("?");
        cx.output.line(&format!(
            "{verb} {id} (status {}, {:.2} RU, etag {})",
            r.status,
            r.request_charge,
            r.etag.as_deref().unwrap_or("-")
        ))?;
    }
    Ok(Exit::Success)
}

/// The patch operations of `a`, in the order they were given on the command line.
fn patch_operations(a: &PatchArgs, m: Option<&ArgMatches>) -> Result<PatchBuilder, CliError> {
    // (position on the command line, flag, its text)
    let mut ops: Vec<(usize, &str, &str)> = Vec::new();
    for (id, values) in [
        ("set", &a.set),
        ("add", &a.add),
        ("replace", &a.replace),
        ("remove", &a.remove),
        ("incr", &a.incr),
        ("move_value", &a.move_value),
    ] {
        let indices: Vec<usize> = m
            .and_then(|m| m.indices_of(id))
            .map(|i| i.collect())
            .unwrap_or_else(|| (0..values.len()).collect());
        for (i, v) in values.iter().enumerate() {
            ops.push((indices.get(i).copied().unwrap_or(usize::MAX), id, v));
        }
    }
    ops.sort_by_key(|(pos, ..)| *pos);
    if ops.is_empty() {
        return Err(CliError::invalid(
            "patch needs at least one of --set, --add, --replace, --remove, --incr, --move",
        ));
    }
    let mut patch = PatchBuilder::new();
    for (_, flag, text) in ops {
        patch = match flag {
            "remove" => patch.remove(text),
            "move_value" => {
                let (from, to) = name_value(text, "--move")?;
                patch.move_value(from, to)
            }
            "incr" => {
                let (path, by) = name_value(text, "--incr")?;
                let by: serde_json::Number = serde_json::from_str(by).map_err(|_| {
                    CliError::invalid(format!("--incr {text}: `{by}` is not a number"))
                })?;
                patch.increment(path, by)
            }
            other => {
                let (path, value) = name_value(text, &format!("--{other}"))?;
                let value = json_or_text(value);
                match other {
                    "set" => patch.set(path, value),
                    "add" => patch.add(path, value),
                    _ => patch.replace(path, value),
                }
            }
        };
    }
    if let Some(c) = &a.condition {
        patch = patch.condition(c.as_str());
    }
    patch
        .validate()
        .map_err(|e| CliError::invalid(format!("the patch is invalid: {e}")))?;
    Ok(patch)
}

/// `patch ID --pk PK --set /a=1 --incr /n=2 ...`: the patched item.
pub fn patch(cx: &mut Context, a: PatchArgs, m: Option<&ArgMatches>) -> Result<Exit, CliError> {
    let patch = patch_operations(&a, m)?;
    let driver = cx.driver()?;
    let client = cx.container_client(&driver)?;
    let r = client.patch_item::<Value>(partition_key(&a.key.pk)?, &a.key.id, patch)?;
    if cx.output.json() {
        cx.output.print_json(&response_json(&r))?;
    } else {
        cx.output.print_pretty(&r.item)?;
    }
    Ok(Exit::Success)
}

/// `rm ID --pk PK`: exit 4 when it did not exist, unless `--force`.
pub fn rm(cx: &mut Context, a: RmArgs) -> Result<Exit, CliError> {
    let driver = cx.driver()?;
    let client = cx.container_client(&driver)?;
    let deleted = client.delete_item(partition_key(&a.key.pk)?, &a.key.id)?;
    if cx.output.json() {
        cx.output
            .print_json(&json!({"deleted": deleted, "id": a.key.id}))?;
    } else if deleted {
        cx.output.line(&format!("deleted {}", a.key.id))?;
    }
    if !deleted && !a.force {
        return Err(CliError::new(
            Exit::NotFound,
            format!(
                "item `{}` does not exist in partition {}",
                a.key.id, a.key.pk
            ),
        ));
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Cli;
    use clap::{CommandFactory, FromArgMatches};

    fn parse(argv: &[&str]) -> Result<serde_json::Value, CliError> {
        let m = Cli::command().try_get_matches_from(argv).unwrap();
        let cli = Cli::from_arg_matches(&m).unwrap();
        let crate::args::Command::Patch(a) = cli.command else {
            panic!("not a patch")
        };
        let p = patch_operations(&a, m.subcommand_matches("patch"))?;
        Ok(serde_json::from_slice(&p.to_body()).unwrap())
    }

    #[test]
    fn patch_operations_keep_the_command_line_order() {
        let body = parse(&[
            "sextant",
            "patch",
            "o1",
            "--pk",
            "c1",
            "--incr",
            "/n=2",
            "--set",
            "/s=shipped",
            "--remove",
            "/tmp",
            "--set",
            "/t=[1]",
            "--condition",
            "from c where c.n > 0",
        ])
        .unwrap();
        let ops: Vec<(String, String)> = body["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["op"].as_str().unwrap().into(),
                    o["path"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            ops,
            [
                ("incr", "/n"),
                ("set", "/s"),
                ("remove", "/tmp"),
                ("set", "/t")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(body["operations"][1]["value"], "shipped");
        assert_eq!(body["operations"][3]["value"], json!([1]));
        assert_eq!(body["condition"], "from c where c.n > 0");
    }

    #[test]
    fn bad_patch_operations_name_the_flag() {
        let e = parse(&["sextant", "patch", "o1", "--pk", "c1", "--incr", "/n=x"]).unwrap_err();
        assert_eq!(e.exit, Exit::Invalid);
        assert!(e.message.contains("--incr /n=x"), "{}", e.message);
        let e = parse(&["sextant", "patch", "o1", "--pk", "c1"]).unwrap_err();
        assert!(e.message.contains("at least one"));
        let e = parse(&["sextant", "patch", "o1", "--pk", "c1", "--set", "nope=1"]).unwrap_err();
        assert!(e.message.contains("invalid"), "{}", e.message);
    }
}
