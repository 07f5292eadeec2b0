//! `sextant backup DIR` and `sextant restore DIR`.
//!
//! A backup directory holds `container.json` (the container's properties), numbered NDJSON
//! segments (`items-0001.ndjson`, ...) and `backup.json`, the manifest: the segments, the
//! change-feed token where the last one ended, and how many bytes of an unfinished segment are
//! checkpointed. A backup killed half-way resumes from its last checkpoint (the segment is cut
//! back to it first); a finished backup run again writes a new segment with the changes since
//! (an incremental backup: creates and updates, not deletes). Restore upserts the segments in
//! order, so later versions win, and is safe to run again.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_blocking::core::backup::strip_system_properties;
use sextant_blocking::models::{ContainerProperties, ThroughputProperties};
use sextant_blocking::CosmosOperation;

use super::export::{count_items, Counting};
use super::Context;
use crate::args::{BackupArgs, RestoreArgs};
use crate::failure::{CliError, Exit};

const MANIFEST: &str = "backup.json";
const PROPERTIES: &str = "container.json";
const FORMAT: u32 = 1;

/// `backup.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    /// The container backed up (its link).
    container: String,
    segments: Vec<Segment>,
    /// Where the change feed resumes.
    continuation: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Segment {
    file: String,
    items: u64,
    /// Bytes of the segment covered by `continuation` (the rest is cut on resume).
    bytes: u64,
    complete: bool,
}

fn invalid_backup(dir: &Path, what: impl std::fmt::Display) -> CliError {
    CliError::invalid(format!("{} is not a usable backup: {what}", dir.display()))
}

fn load_manifest(dir: &Path) -> Result<Option<Manifest>, CliError> {
    match std::fs::read_to_string(dir.join(MANIFEST)) {
        Ok(text) => {
            let m: Manifest = serde_json::from_str(&text)
                .map_err(|e| invalid_backup(dir, format!("{MANIFEST}: {e}")))?;
            if m.format != FORMAT {
                return Err(invalid_backup(
                    dir,
                    format!("format {} (this sextant reads {FORMAT})", m.format),
                ));
            }
            Ok(Some(m))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn save_manifest(dir: &Path, m: &Manifest) -> Result<(), CliError> {
    let bytes =
        serde_json::to_vec_pretty(m).map_err(|e| CliError::new(Exit::Failure, e.to_string()))?;
    crate::atomic::write(&dir.join(MANIFEST), &bytes)?;
    Ok(())
}

/// Runs a backup (first, resumed or incremental).
pub fn backup(cx: &mut Context, a: BackupArgs) -> Result<Exit, CliError> {
    let driver = cx.driver()?;
    let container = cx.container(&driver)?;
    let link = container.link().to_string();
    std::fs::create_dir_all(&a.dir)?;
    let mut manifest = match load_manifest(&a.dir)? {
        Some(m) if m.container != link => {
            return Err(invalid_backup(
                &a.dir,
                format!("it holds {}, not {link}", m.container),
            ))
        }
        Some(m) => m,
        None => Manifest {
            format: FORMAT,
            container: link.clone(),
            ..Manifest::default()
        },
    };
    // The properties, for restore to create the container as it was.
    let r = driver.execute_operation(CosmosOperation::read_container(container.clone()), None)?;
    let mut props: Value = serde_json::from_slice(r.response_bytes()).map_err(|e| {
        CliError::new(
            Exit::Failure,
            format!("the container's properties are malformed: {e}"),
        )
    })?;
    strip_system_properties(&mut props);
    if let Value::Object(o) = &mut props {
        o.remove("_conflicts");
        o.remove("_docs");
        o.remove("_sprocs");
        o.remove("_triggers");
        o.remove("_udfs");
    }
    let props_bytes = serde_json::to_vec_pretty(&props)
        .map_err(|e| CliError::new(Exit::Failure, e.to_string()))?;
    crate::atomic::write(&a.dir.join(PROPERTIES), &props_bytes)?;

    let resuming = manifest.segments.last().is_some_and(|s| !s.complete);
    if !resuming {
        let file = format!("items-{:04}.ndjson", manifest.segments.len() + 1);
        manifest.segments.push(Segment {
            file,
            items: 0,
            bytes: 0,
            complete: false,
        });
        save_manifest(&a.dir, &manifest)?;
    }
    let (seg_file, seg_bytes, seg_items) = match manifest.segments.last() {
        Some(s) => (s.file.clone(), s.bytes, s.items),
        None => return Err(CliError::new(Exit::Failure, "the manifest has no segment")),
    };
    let path = a.dir.join(&seg_file);
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&path)?;
    // Cut whatever was written after the last checkpoint: those changes are read again.
    file.set_len(seg_bytes)?;
    let mut file = BufWriter::new(file);
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(seg_bytes))?;
    if resuming && !cx.output.json() {
        eprintln!("resuming {seg_file} after {seg_items} items (checkpoint)");
    }
    let incremental = manifest.continuation.is_some() && !resuming;
    let total = if incremental {
        None
    } else {
        count_items(&driver, &container)
    };
    let bar = crate::progress::bar(&cx.output, total, "backup");
    bar.set_position(seg_items);
    let mut out = Counting {
        inner: file,
        bytes: seg_bytes,
        lines: seg_items,
        bar: bar.clone(),
    };
    let resume = manifest.continuation.clone();
    let dir = a.dir.clone();
    let bytes_cell = std::cell::Cell::new((seg_bytes, seg_items));
    let summary = {
        let mut writer = CheckpointedWriter {
            out: &mut out,
            seen: &bytes_cell,
        };
        driver.export_container(container, &mut writer, resume.as_deref(), |token| {
            let (bytes, items) = bytes_cell.get();
            if let Some(s) = manifest.segments.last_mut() {
                s.bytes = bytes;
                s.items = items;
            }
            manifest.continuation = Some(token.to_string());
            save_manifest(&dir, &manifest).map_err(|e| std::io::Error::other(e.message))
        })?
    };
    bar.finish_and_clear();
    let new_items = out.lines - seg_items;
    if let Some(s) = manifest.segments.last_mut() {
        s.complete = true;
        s.bytes = out.bytes;
        s.items = out.lines;
    }
    manifest.continuation = Some(summary.continuation.clone());
    // An incremental run that found nothing new leaves no empty segment behind.
    if manifest.segments.last().is_some_and(|s| s.items == 0) && manifest.segments.len() > 1 {
        manifest.segments.pop();
        std::fs::remove_file(&path)?;
    }
    save_manifest(&a.dir, &manifest)?;
    let total_items: u64 = manifest.segments.iter().map(|s| s.items).sum();
    if cx.output.json() {
        cx.output.print_json(&json!({
            "dir": a.dir.display().to_string(),
            "segments": manifest.segments.len(),
            "items_this_run": new_items,
            "items_total": total_items,
            "resumed": resuming,
            "incremental": incremental,
        }))?;
    } else {
        cx.output.line(&format!(
            "backed up {new_items} items into {} ({} segments, {total_items} items in all)",
            a.dir.display(),
            manifest.segments.len()
        ))?;
    }
    Ok(Exit::Success)
}

/// Tracks the bytes and lines written so far in a cell the checkpoint reads (the export
/// flushes before it checkpoints, so the counts are on disk by then).
struct CheckpointedWriter<'a, W: Write> {
    out: &'a mut Counting<W>,
    seen: &'a std::cell::Cell<(u64, u64)>,
}

impl<W: Write> Write for CheckpointedWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.seen.set((self.out.bytes, self.out.lines));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Counts the bytes read through it on a progress bar.
struct CountingReader<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// Restores a backup directory into the configured container (created when missing).
pub fn restore(cx: &mut Context, a: RestoreArgs) -> Result<Exit, CliError> {
    let manifest = load_manifest(&a.dir)?
        .ok_or_else(|| invalid_backup(&a.dir, format!("there is no {MANIFEST}")))?;
    let props_text = std::fs::read_to_string(a.dir.join(PROPERTIES))
        .map_err(|e| invalid_backup(&a.dir, format!("{PROPERTIES}: {e}")))?;
    let mut props: ContainerProperties = serde_json::from_str(&props_text)
        .map_err(|e| invalid_backup(&a.dir, format!("{PROPERTIES}: {e}")))?;
    let driver = cx.driver()?;
    let db = cx.database(&driver)?;
    let name = match &cx.settings.container {
        Some((c, _)) => c.clone(),
        None => props.id.clone(),
    };
    props.id = name.clone();
    let container = sextant_blocking::models::ContainerReference::in_database(&db, &name);

    // Create what is missing: the database, then the container as it was backed up.
    let mut created = false;
    if let Err(e) =
        driver.execute_operation(CosmosOperation::read_container(container.clone()), None)
    {
        if e.status() != Some(404) {
            return Err(e.into());
        }
        match driver.execute_operation(
            CosmosOperation::create_database(driver.account().clone(), cx.settings.database()?),
            None,
        ) {
            Ok(_) => {}
            Err(e) if e.status() == Some(409) => {}
            Err(e) => return Err(e.into()),
        }
        let mut op = CosmosOperation::create_container(db.clone(), &props);
        if let Some(ru) = a.throughput {
            let t = ThroughputProperties::manual(ru)
                .map_err(|e| CliError::invalid(format!("--throughput {ru}: {e}")))?;
            op = op.with_throughput(&t);
        }
        driver.execute_operation(op, None)?;
        created = true;
    }

    let segments: Vec<&Segment> = manifest.segments.iter().filter(|s| s.bytes > 0).collect();
    let total_bytes: u64 = segments.iter().map(|s| s.bytes).sum();
    let bar = crate::progress::byte_bar(&cx.output, total_bytes, "restore");
    let (mut lines, mut upserted, mut charge) = (0u64, 0u64, 0.0f64);
    for s in &segments {
        let file = File::open(a.dir.join(&s.file))
            .map_err(|e| invalid_backup(&a.dir, format!("{}: {e}", s.file)))?;
        // Only the checkpointed bytes: a segment cut short by a crash has a torn tail.
        let reader = BufReader::new(CountingReader {
            inner: file.take(s.bytes),
            bar: bar.clone(),
        });
        let r = driver
            .restore_container(container.clone(), reader, a.max_in_flight)
            .map_err(|e| {
                let mut e = CliError::from(e);
                e.message = format!("{}: {}", s.file, e.message);
                e
            })?;
        lines += r.lines;
        upserted += r.upserted;
        charge += r.request_charge;
    }
    bar.finish_and_clear();
    if cx.output.json() {
        cx.output.print_json(&json!({
            "container": container.link(),
            "created": created,
            "segments": segments.len(),
            "lines": lines,
            "upserted": upserted,
            "request_charge": charge,
        }))?;
    } else {
        cx.output.line(&format!(
            "restored {upserted} items from {} segments into {}{} ({charge:.0} RU)",
            segments.len(),
            container.link(),
            if created { " (created)" } else { "" }
        ))?;
    }
    Ok(Exit::Success)
}
