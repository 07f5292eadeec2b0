//! `sextant import FILE`: upserts every NDJSON line with a bulk run, and keeps a checkpoint of
//! the lines acknowledged so far (a contiguous prefix), so that an import killed half-way goes
//! on where it stopped when run again. Upserts make a repeated line harmless, so the lines in
//! flight at the crash are simply sent again.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sextant_blocking::core::backup::restore_operation;
use sextant_blocking::models::{ContainerProperties, ContainerReference, PartitionKeyDefinition};
use sextant_blocking::{BulkBuilder, BulkOperation, CosmosDriver, CosmosOperation};

use super::Context;
use crate::args::ImportArgs;
use crate::failure::{CliError, Exit};
use crate::watermark::Watermark;

/// How often the checkpoint is written while the import runs.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// Failures listed in the summary (all are counted).
const MAX_LISTED_FAILURES: usize = 20;

/// The checkpoint file.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Checkpoint {
    /// The container imported into (its link).
    container: String,
    /// The size of the file when the import started: a different size means another file.
    source_bytes: u64,
    /// Leading lines acknowledged.
    lines_done: u64,
    /// True when every line was imported.
    complete: bool,
}

/// What the run shares between the input iterator and the result loop.
struct State {
    watermark: Watermark,
    failures: Vec<(u64, String)>,
    failed: u64,
    read_error: Option<std::io::Error>,
    lines: u64,
}

impl State {
    fn fail(&mut self, line: u64, error: String) {
        self.failed += 1;
        if self.failures.len() < MAX_LISTED_FAILURES {
            self.failures.push((line, error));
        }
    }
}

/// The container's partition key definition.
pub(super) fn key_definition(
    driver: &CosmosDriver,
    container: &ContainerReference,
) -> Result<PartitionKeyDefinition, CliError> {
    let r = driver.execute_operation(CosmosOperation::read_container(container.clone()), None)?;
    let props: ContainerProperties = serde_json::from_slice(r.response_bytes()).map_err(|e| {
        CliError::new(
            Exit::Failure,
            format!("the container's properties are malformed: {e}"),
        )
    })?;
    Ok(props.partition_key)
}

fn default_checkpoint(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".sextant-checkpoint");
    PathBuf::from(p)
}

fn count_lines(path: &Path) -> std::io::Result<u64> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        last = buf[n - 1];
    }
    Ok(lines + u64::from(last != b'\n'))
}

/// Runs the import.
pub fn run(cx: &mut Context, a: ImportArgs) -> Result<Exit, CliError> {
    let stdin = a.file.as_os_str() == "-";
    let checkpoint_path = (!stdin).then(|| {
        a.checkpoint
            .clone()
            .unwrap_or_else(|| default_checkpoint(&a.file))
    });
    let source_bytes = if stdin {
        0
    } else {
        std::fs::metadata(&a.file)
            .map_err(|e| CliError::invalid(format!("cannot read {}: {e}", a.file.display())))?
            .len()
    };
    let driver = cx.driver()?;
    let container = cx.container(&driver)?;
    let link = container.link().to_string();

    let mut resumed_from = 0u64;
    if let (Some(cp), false) = (&checkpoint_path, a.restart) {
        if let Ok(text) = std::fs::read_to_string(cp) {
            let c: Checkpoint = serde_json::from_str(&text).map_err(|e| {
                CliError::invalid(format!(
                    "the checkpoint {} is unreadable ({e}): pass --restart to import from the first line",
                    cp.display()
                ))
            })?;
            if c.container != link || c.source_bytes != source_bytes {
                return Err(CliError::invalid(format!(
                    "the checkpoint {} is for {} ({} bytes), not {link} ({source_bytes} bytes): \
                     pass --restart to import from the first line",
                    cp.display(),
                    c.container,
                    c.source_bytes
                )));
            }
            if c.complete {
                report(
                    cx,
                    &a,
                    c.lines_done,
                    c.lines_done,
                    0,
                    0,
                    &[],
                    0.0,
                    checkpoint_path.as_deref(),
                )?;
                if !cx.output.json() {
                    eprintln!(
                        "already imported (checkpoint {}); pass --restart to import again",
                        cp.display()
                    );
                }
                return Ok(Exit::Success);
            }
            resumed_from = c.lines_done;
        }
    }

    let def = key_definition(&driver, &container)?;
    let total = if stdin {
        None
    } else {
        Some(count_lines(&a.file)?)
    };
    let input: Box<dyn BufRead> = if stdin {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, File::open(&a.file)?))
    };
    let bar = crate::progress::bar(&cx.output, total, "import");
    bar.set_position(resumed_from);
    if resumed_from > 0 && !cx.output.json() {
        eprintln!("resuming after line {resumed_from} (checkpoint)");
    }

    let state = RefCell::new(State {
        watermark: Watermark::new(resumed_from),
        failures: Vec::new(),
        failed: 0,
        read_error: None,
        lines: resumed_from,
    });
    let ops = lines(input, resumed_from, &state, &def);
    let mut run = driver.bulk(
        BulkBuilder::new(container).max_in_flight(a.max_in_flight.max(1)),
        ops,
    );
    let save = |s: &State, complete: bool| -> Result<(), CliError> {
        if let Some(cp) = &checkpoint_path {
            let c = Checkpoint {
                container: link.clone(),
                source_bytes,
                lines_done: s.watermark.done(),
                complete,
            };
            let bytes =
                serde_json::to_vec(&c).map_err(|e| CliError::new(Exit::Failure, e.to_string()))?;
            crate::atomic::write(cp, &bytes)?;
        }
        Ok(())
    };
    let mut last_save = Instant::now();
    let mut imported = 0u64;
    while let Some(results) = run.next_results() {
        let mut s = state.borrow_mut();
        for r in results {
            match r.outcome {
                Ok(o) if o.is_success() => {
                    imported += 1;
                    s.watermark.finish(r.correlation);
                }
                Ok(o) => s.fail(
                    r.correlation,
                    match o.sub_status {
                        Some(sub) => format!("status {}/{sub}", o.status),
                        None => format!("status {}", o.status),
                    },
                ),
                Err(e) => s.fail(r.correlation, e.to_string()),
            }
        }
        bar.set_position(s.watermark.done() + s.watermark.pending() as u64);
        bar.set_message(format!("{:.0} RU", run.progress().request_charge));
        if last_save.elapsed() >= CHECKPOINT_EVERY {
            save(&s, false)?;
            last_save = Instant::now();
        }
    }
    let charge = run.progress().request_charge;
    drop(run);
    bar.finish_and_clear();
    let mut s = state.into_inner();
    if let Some(e) = s.read_error.take() {
        save(&s, false)?;
        return Err(CliError::new(
            Exit::Failure,
            format!(
                "reading {} failed after line {}: {e}",
                a.file.display(),
                s.lines
            ),
        ));
    }
    let complete = s.failed == 0 && s.watermark.done() == s.lines;
    save(&s, complete)?;
    report(
        cx,
        &a,
        resumed_from,
        s.lines,
        imported,
        s.failed,
        &s.failures,
        charge,
        checkpoint_path.as_deref(),
    )?;
    Ok(if s.failed > 0 {
        Exit::Partial
    } else {
        Exit::Success
    })
}

/// The bulk operations of the lines after `skip`, tagged with their line number. Blank lines
/// are finished at once; a line that is not an item is a failure and is not sent.
fn lines<'a>(
    input: Box<dyn BufRead>,
    skip: u64,
    state: &'a RefCell<State>,
    def: &'a PartitionKeyDefinition,
) -> impl Iterator<Item = (u64, BulkOperation)> + 'a {
    input
        .split(b'\n')
        .enumerate()
        .skip(skip as usize)
        .map_while(move |(i, line)| {
            let number = i as u64 + 1;
            let mut s = state.borrow_mut();
            match line {
                Err(e) => {
                    s.read_error = Some(e);
                    None
                }
                Ok(bytes) => {
                    s.lines = number;
                    Some((number, bytes))
                }
            }
        })
        .filter_map(move |(number, bytes)| {
            let mut s = state.borrow_mut();
            let text = match std::str::from_utf8(&bytes) {
                Ok(t) => t.trim_end_matches('\r'),
                Err(_) => {
                    s.fail(number, format!("line {number} is not UTF-8"));
                    return None;
                }
            };
            if text.trim().is_empty() {
                s.watermark.finish(number);
                return None;
            }
            match restore_operation(text, number, def) {
                Ok(op) => Some((number, op)),
                Err(e) => {
                    s.fail(number, e);
                    None
                }
            }
        })
}

#[allow(clippy::too_many_arguments)]
fn report(
    cx: &Context,
    a: &ImportArgs,
    resumed_from: u64,
    lines: u64,
    imported: u64,
    failed: u64,
    failures: &[(u64, String)],
    charge: f64,
    checkpoint: Option<&Path>,
) -> Result<(), CliError> {
    if cx.output.json() {
        cx.output.print_json(&json!({
            "file": a.file.display().to_string(),
            "lines": lines,
            "resumed_from": resumed_from,
            "imported": imported,
            "failed": failed,
            "failures": failures.iter().map(|(l, e)| json!({"line": l, "error": e})).collect::<Vec<_>>(),
            "request_charge": charge,
            "checkpoint": checkpoint.map(|p| p.display().to_string()),
        }))?;
    } else {
        cx.output.line(&format!(
            "imported {imported} items ({lines} lines, resumed after {resumed_from}), {failed} failed, {charge:.0} RU"
        ))?;
        for (line, e) in failures {
            eprintln!("line {line}: {e}");
        }
        if failed as usize > failures.len() {
            eprintln!("... and {} more", failed as usize - failures.len());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_with_or_without_a_final_newline() {
        let p = std::env::temp_dir().join(format!("sextant-count-{}", std::process::id()));
        std::fs::write(&p, "a\nb\nc").unwrap();
        assert_eq!(count_lines(&p).unwrap(), 3);
        std::fs::write(&p, "a\nb\n").unwrap();
        assert_eq!(count_lines(&p).unwrap(), 2);
        std::fs::write(&p, "").unwrap();
        assert_eq!(count_lines(&p).unwrap(), 0);
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn bad_lines_fail_alone_and_blank_lines_finish_at_once() {
        let state = RefCell::new(State {
            watermark: Watermark::new(0),
            failures: Vec::new(),
            failed: 0,
            read_error: None,
            lines: 0,
        });
        let def = PartitionKeyDefinition::hash("/pk");
        let input: Box<dyn BufRead> = Box::new(std::io::Cursor::new(
            b"{\"id\":\"a\",\"pk\":\"p\"}\n\nnot json\r\n{\"id\":\"b\",\"pk\":\"q\"}\r\n".to_vec(),
        ));
        let ops: Vec<u64> = lines(input, 0, &state, &def).map(|(n, _)| n).collect();
        assert_eq!(ops, [1, 4]);
        let s = state.into_inner();
        assert_eq!(s.lines, 4);
        assert_eq!(s.failed, 1);
        assert_eq!(s.failures[0].0, 3);
        // Line 2 (blank) is finished, but line 1 is not acknowledged yet.
        assert_eq!(s.watermark.done(), 0);
        assert_eq!(s.watermark.pending(), 1);
    }
}
