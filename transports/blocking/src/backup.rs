//! Backup and restore on the blocking transport (issue 13): the library functions the CLI
//! exposes. The pieces that are not I/O are the core's (`sextant_core::backup`).

use std::io::{BufRead, Write};

use sextant_core::backup::{
    backup_line, restore_operation, BackupError, ExportSummary, RestoreSummary,
};
use sextant_core::models::{ContainerProperties, ContainerReference};
use sextant_core::{
    BulkBuilder, ChangeFeedMode, ChangeFeedStart, CosmosOperation, OperationOptions,
};

use crate::driver::CosmosDriver;

/// Changes per range per page of an export.
const EXPORT_PAGE_ITEMS: u32 = 1_000;

impl CosmosDriver {
    /// Writes every item of `container` to `out` as NDJSON (system properties dropped), from
    /// the beginning or from `resume` (a token a previous export's `checkpoint` received: an
    /// interrupted export goes on, a finished one exports only the changes since, which is an
    /// incremental backup; deletes are not in it). `checkpoint(token)` is called after each
    /// page was written and flushed: persist the token to resume from it.
    pub fn export_container(
        &self,
        container: ContainerReference,
        out: &mut impl Write,
        resume: Option<&str>,
        mut checkpoint: impl FnMut(&str) -> std::io::Result<()>,
    ) -> Result<ExportSummary, BackupError> {
        let op = CosmosOperation::change_feed(
            container,
            ChangeFeedMode::LatestVersion,
            ChangeFeedStart::Beginning,
        );
        let mut opts = OperationOptions::new().with_max_item_count(EXPORT_PAGE_ITEMS);
        if let Some(t) = resume {
            opts = opts.with_continuation(t);
        }
        let mut pager = self.change_feed(op, Some(opts))?;
        let mut summary = ExportSummary {
            items: 0,
            pages: 0,
            continuation: pager.continuation().unwrap_or_default(),
        };
        loop {
            let page = pager.next_page()?;
            summary.pages += 1;
            let caught_up = page.is_caught_up();
            let token = page.continuation().to_string();
            for item in page.into_items() {
                out.write_all(backup_line(item).as_bytes())?;
                summary.items += 1;
            }
            out.flush()?;
            checkpoint(&token)?;
            summary.continuation = token;
            if caught_up {
                return Ok(summary);
            }
        }
    }

    /// Upserts every NDJSON line of `input` into `container`, with a bulk run holding at most
    /// `max_in_flight` items at once. Each item's partition key is read from it at the
    /// container's key paths. Idempotent: running it again (after a crash half-way, say) gives
    /// the same container.
    pub fn restore_container(
        &self,
        container: ContainerReference,
        input: impl BufRead,
        max_in_flight: usize,
    ) -> Result<RestoreSummary, BackupError> {
        let props =
            self.execute_operation(CosmosOperation::read_container(container.clone()), None)?;
        let props: ContainerProperties =
            serde_json::from_slice(props.response_bytes()).map_err(|e| {
                BackupError::Line(format!("the container's properties are malformed: {e}"))
            })?;
        let def = props.partition_key;
        let mut bad: Option<BackupError> = None;
        let mut lines = 0u64;
        let ops = input.lines().enumerate().map_while(|(i, line)| {
            let number = i as u64 + 1;
            let parsed = line
                .map_err(BackupError::from)
                .and_then(|l| restore_operation(&l, number, &def).map_err(BackupError::Line));
            match parsed {
                Ok(op) => {
                    lines = number;
                    Some((number, op))
                }
                Err(e) => {
                    bad = Some(e);
                    None
                }
            }
        });
        let mut run = self.bulk(
            BulkBuilder::new(container).max_in_flight(max_in_flight.max(1)),
            ops,
        );
        let mut upserted = 0u64;
        let mut failed: Option<(u64, String)> = None;
        while let Some(results) = run.next_results() {
            for r in results {
                match r.outcome {
                    Ok(o) if o.is_success() => upserted += 1,
                    Ok(o) => {
                        failed.get_or_insert((r.correlation, format!("status {}", o.status)));
                    }
                    Err(e) => {
                        failed.get_or_insert((r.correlation, e.to_string()));
                    }
                }
            }
        }
        let request_charge = run.progress().request_charge;
        drop(run);
        if let Some(e) = bad {
            return Err(e);
        }
        if let Some((line, error)) = failed {
            return Err(BackupError::Restore { line, error });
        }
        Ok(RestoreSummary {
            lines,
            upserted,
            request_charge,
        })
    }
}
