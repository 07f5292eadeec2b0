//! `sextant export [FILE]`: every item of the container as NDJSON, from the change feed
//! (latest versions; system properties dropped, so the file imports anywhere).

use std::fs::File;
use std::io::{BufWriter, Write};

use indicatif::ProgressBar;
use serde_json::json;
use sextant_blocking::models::ContainerReference;
use sextant_blocking::{CosmosDriver, CosmosOperation, QuerySpec};

use super::Context;
use crate::args::ExportArgs;
use crate::failure::{CliError, Exit};

/// Counts the bytes and lines written through it, and moves a progress bar by lines.
pub(super) struct Counting<W> {
    pub inner: W,
    pub bytes: u64,
    pub lines: u64,
    pub bar: ProgressBar,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let lines = buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        self.bytes += n as u64;
        self.lines += lines;
        self.bar.inc(lines);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `SELECT VALUE COUNT(1)`, for the progress bar's length; `None` when it cannot be had.
pub(super) fn count_items(driver: &CosmosDriver, container: &ContainerReference) -> Option<u64> {
    let op = CosmosOperation::query(
        container.clone(),
        QuerySpec::new("SELECT VALUE COUNT(1) FROM c"),
    );
    let mut pager = driver.query(op, None).ok()?;
    let mut total = 0;
    while let Some(page) = pager.next_page() {
        total += page
            .ok()?
            .items()
            .first()
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
    }
    Some(total)
}

/// Runs the export.
pub fn run(cx: &mut Context, a: ExportArgs) -> Result<Exit, CliError> {
    let driver = cx.driver()?;
    let container = cx.container(&driver)?;
    let to_stdout = a.file.as_ref().is_none_or(|p| p.as_os_str() == "-");
    let total = if a.no_count {
        None
    } else {
        count_items(&driver, &container)
    };
    let bar = crate::progress::bar(&cx.output, total, "export");
    let sink: Box<dyn Write> = match &a.file {
        Some(p) if !to_stdout => Box::new(BufWriter::new(File::create(p).map_err(|e| {
            CliError::new(Exit::Failure, format!("cannot create {}: {e}", p.display()))
        })?)),
        _ => Box::new(BufWriter::new(std::io::stdout())),
    };
    let mut out = Counting {
        inner: sink,
        bytes: 0,
        lines: 0,
        bar: bar.clone(),
    };
    let summary = driver.export_container(container, &mut out, None, |_| Ok(()))?;
    out.flush()?;
    bar.finish_and_clear();
    if cx.output.json() && !to_stdout {
        cx.output.print_json(&json!({
            "items": summary.items,
            "pages": summary.pages,
            "bytes": out.bytes,
            "continuation": summary.continuation,
        }))?;
    } else if !cx.output.json() {
        eprintln!("exported {} items ({} bytes)", summary.items, out.bytes);
    }
    Ok(Exit::Success)
}
