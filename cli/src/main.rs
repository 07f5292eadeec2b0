//! `sextant`: Azure Cosmos DB from the command line, on Sextant's blocking transport.
//!
//! ```text
//! export COSMOS_ENDPOINT=https://myaccount.documents.azure.com:443/ COSMOS_KEY=...
//! sextant -d shop -c orders put order.json
//! sextant -d shop -c orders get o1 --pk c1
//! sextant -d shop -c orders query 'SELECT * FROM c WHERE c.total > @min' -p @min=40 --format table
//! sextant -d shop -c orders import orders.ndjson        # bulk, resumable
//! sextant -d shop -c orders backup ./orders-backup       # incremental on later runs
//! ```
//!
//! `sextant --help` lists the commands, the configuration layers and the exit codes.

#![forbid(unsafe_code)]
// The doc comments of `args.rs` are the `--help` text, where a bare URL reads best.
#![allow(rustdoc::bare_urls)]

mod args;
mod atomic;
mod commands;
mod config;
mod failure;
mod output;
mod progress;
mod values;
mod watermark;

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::args::{Cli, OutputFormat};
use crate::output::Output;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let output = Output {
        format: cli.global.output,
        quiet: cli.global.quiet,
    };
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let result = config::resolve(&cli.global, &env)
        .and_then(|settings| commands::run(cli.command, &matches, settings, output));
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => {
            if cli.global.output == OutputFormat::Json {
                // Best effort: a closed stdout must not hide the exit code.
                let _ = output.print_json(&e.to_json());
            }
            eprintln!("sextant: {e}");
            ExitCode::from(e.exit as u8)
        }
    }
}
