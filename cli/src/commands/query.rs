//! `sextant query`: rows as JSON lines or a table; with `--output json`, one document with the
//! rows, the request charge and the continuation.

use std::io::Write;

use serde_json::{json, Value};
use sextant_blocking::{CosmosOperation, OperationOptions, QuerySpec};

use super::Context;
use crate::args::{QueryArgs, RowFormat};
use crate::failure::{CliError, Exit};
use crate::output::Table;
use crate::values::{json_or_text, name_value, partition_key};

/// Runs the query page by page; rows are printed as pages arrive (text) or at the end (json).
pub fn run(cx: &mut Context, a: QueryArgs) -> Result<Exit, CliError> {
    let mut spec = QuerySpec::new(a.sql.as_str());
    for p in &a.params {
        let (name, value) = name_value(p, "--param")?;
        if !name.starts_with('@') {
            return Err(CliError::invalid(format!(
                "--param {p}: a parameter name starts with @"
            )));
        }
        spec = spec.with_parameter(name, json_or_text(value));
    }
    let driver = cx.driver()?;
    let mut op = CosmosOperation::query(cx.container(&driver)?, spec);
    if let Some(pk) = &a.pk {
        op = op.with_partition_key(partition_key(pk)?);
    }
    let mut options = OperationOptions::new();
    if let Some(n) = a.page_size {
        options = options.with_max_item_count(n);
    }
    if let Some(c) = &a.continuation {
        options = options.with_continuation(c.as_str());
    }
    let mut pager = driver.query(op, Some(options))?;
    let json = cx.output.json();
    let mut rows: Vec<Value> = Vec::new();
    let mut table = Table::default();
    let (mut pages, mut count, mut charge) = (0u64, 0u64, 0.0f64);
    let stdout = std::io::stdout();
    while a.max_pages.is_none_or(|m| pages < m) {
        let Some(page) = pager.next_page() else { break };
        let page = page?;
        pages += 1;
        charge += page.request_charge();
        count += page.items().len() as u64;
        if json {
            rows.extend(page.into_items());
            continue;
        }
        let mut out = stdout.lock();
        match a.format {
            RowFormat::Lines => {
                for row in page.items() {
                    serde_json::to_writer(&mut out, row)
                        .map_err(|e| CliError::new(Exit::Failure, e.to_string()))?;
                    out.write_all(b"\n")?;
                }
            }
            RowFormat::Table => table.render(page.items(), &mut out)?,
        }
        out.flush()?;
    }
    let continuation = if pager.is_done() {
        None
    } else {
        pager.continuation()
    };
    if json {
        cx.output.print_json(&json!({
            "items": rows,
            "count": count,
            "pages": pages,
            "request_charge": charge,
            "continuation": continuation,
        }))?;
    } else {
        eprintln!("{count} rows, {pages} pages, {charge:.2} RU");
        if let Some(c) = continuation {
            eprintln!("more rows: --continuation '{c}'");
        }
    }
    Ok(Exit::Success)
}
