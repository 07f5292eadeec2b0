//! The command line: global settings and one subcommand each.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::failure::EXIT_CODES_HELP;

/// Azure Cosmos DB from the command line.
#[derive(Debug, Parser)]
#[command(name = "sextant", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Settings every command shares.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command shares (flags override the environment, which overrides the
/// profile).
#[derive(Debug, Args, Default)]
pub struct GlobalArgs {
    /// Account endpoint, e.g. https://myaccount.documents.azure.com:443/ [env: COSMOS_ENDPOINT]
    #[arg(long, global = true)]
    pub endpoint: Option<String>,
    /// Account key (prefer COSMOS_KEY or the profile: flags are visible to other users)
    /// [env: COSMOS_KEY]
    #[arg(long, global = true)]
    pub key: Option<String>,
    /// Connection string (AccountEndpoint=...;AccountKey=...;) [env: COSMOS_CONNECTION_STRING]
    #[arg(long, global = true)]
    pub connection_string: Option<String>,
    /// Profile in the profile file [env: SEXTANT_PROFILE; default: "default"]
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Profile file [env: SEXTANT_CONFIG; default: $XDG_CONFIG_HOME/sextant/config.toml or
    /// ~/.config/sextant/config.toml]
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Database [env: COSMOS_DATABASE]
    #[arg(short = 'd', long, global = true)]
    pub database: Option<String>,
    /// Container [env: COSMOS_CONTAINER]
    #[arg(short = 'c', long, global = true)]
    pub container: Option<String>,
    /// Accept the local emulator's self-signed certificate (never for a real account)
    /// [env: AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED]
    #[arg(long, global = true)]
    pub accept_emulator_cert: bool,
    /// Output: text for people, json for scripts (one JSON document, or one per line where
    /// the command streams)
    #[arg(short = 'o', long, value_enum, global = true, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// No progress bars
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// For people.
    #[default]
    Text,
    /// For scripts.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a SQL query; rows as JSON lines or a table
    Query(QueryArgs),
    /// Read one item
    Get(ItemKeyArgs),
    /// Write one item (upsert; --create or --if-match for the strict forms)
    Put(PutArgs),
    /// Partially update one item
    Patch(PatchArgs),
    /// Delete one item
    Rm(RmArgs),
    /// Upsert the items of an NDJSON file (bulk, resumable after a crash)
    Import(ImportArgs),
    /// Write every item of the container as NDJSON (system properties dropped)
    Export(ExportArgs),
    /// Back the container up into a directory (resumable, incremental on later runs)
    Backup(BackupArgs),
    /// Restore a backup directory into a container (created if missing)
    Restore(RestoreArgs),
    /// Show or change the throughput of the database (-d) or container (-d -c)
    Throughput(ThroughputArgs),
    /// Probe the container and show live metrics and alerts
    Monitor(MonitorArgs),
    /// Show the resolved configuration and where each setting came from (never the key)
    Config,
}

/// `query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL text, e.g. "SELECT * FROM c WHERE c.total > @min"
    pub sql: String,
    /// A parameter, NAME=VALUE; VALUE is JSON when it parses as JSON, else a string
    /// (e.g. --param @min=40 --param @name=ada)
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Scope the query to one partition key (see `get --help` for the syntax)
    #[arg(long)]
    pub pk: Option<String>,
    /// Text form of the rows
    #[arg(long, value_enum, default_value_t = RowFormat::Lines)]
    pub format: RowFormat,
    /// Items per page asked of the service
    #[arg(long)]
    pub page_size: Option<u32>,
    /// Stop after this many pages (with --output json the continuation resumes the rest)
    #[arg(long)]
    pub max_pages: Option<u64>,
    /// Resume from a continuation token of an earlier run
    #[arg(long)]
    pub continuation: Option<String>,
}

/// The text forms of query rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RowFormat {
    /// One JSON document per line.
    Lines,
    /// A table whose columns are the first page's properties.
    Table,
}

/// An item's id and partition key.
#[derive(Debug, Args)]
pub struct ItemKeyArgs {
    /// The item's id
    pub id: String,
    /// The partition key: JSON when it parses as JSON (5, true, null, "5", ["a","b"] for a
    /// hierarchical key), else the text itself as a string
    #[arg(long)]
    pub pk: String,
}

/// `put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// A file holding one JSON document; `-` or nothing reads standard input
    pub file: Option<PathBuf>,
    /// Create only: fail (exit 5) when the id exists
    #[arg(long, conflicts_with = "if_match")]
    pub create: bool,
    /// Replace only if the item's etag is still this one (exit 5 otherwise)
    #[arg(long)]
    pub if_match: Option<String>,
}

/// `patch`. Operations apply in the order given.
#[derive(Debug, Args)]
pub struct PatchArgs {
    /// The item
    #[command(flatten)]
    pub key: ItemKeyArgs,
    /// Set PATH=VALUE (VALUE is JSON when it parses, else a string)
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Add PATH=VALUE (inserts into arrays)
    #[arg(long = "add", value_name = "PATH=VALUE")]
    pub add: Vec<String>,
    /// Replace PATH=VALUE (the path must exist)
    #[arg(long = "replace", value_name = "PATH=VALUE")]
    pub replace: Vec<String>,
    /// Remove PATH
    #[arg(long = "remove", value_name = "PATH")]
    pub remove: Vec<String>,
    /// Increment PATH=NUMBER
    #[arg(long = "incr", value_name = "PATH=NUMBER")]
    pub incr: Vec<String>,
    /// Move FROM=TO
    #[arg(long = "move", value_name = "FROM=TO")]
    pub move_value: Vec<String>,
    /// Apply only if this filter matches, e.g. "from c where c.stock > 0" (exit 5 otherwise)
    #[arg(long)]
    pub condition: Option<String>,
}

/// `rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The item
    #[command(flatten)]
    pub key: ItemKeyArgs,
    /// A missing item is not an error
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// NDJSON file, one item per line; `-` reads standard input (not resumable)
    pub file: PathBuf,
    /// Items in flight at once
    #[arg(long, default_value_t = 2_000)]
    pub max_in_flight: usize,
    /// Checkpoint file [default: FILE.sextant-checkpoint]
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Ignore an existing checkpoint and import from the first line
    #[arg(long)]
    pub restart: bool,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output file; `-` or nothing writes standard output
    pub file: Option<PathBuf>,
    /// Skip counting the items first (the count gives the progress bar its ETA)
    #[arg(long)]
    pub no_count: bool,
}

/// `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup directory (created if missing)
    pub dir: PathBuf,
}

/// `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup directory
    pub dir: PathBuf,
    /// Items in flight at once
    #[arg(long, default_value_t = 2_000)]
    pub max_in_flight: usize,
    /// RU/s of the container when it has to be created (manual throughput)
    #[arg(long)]
    pub throughput: Option<u32>,
}

/// `throughput`.
#[derive(Debug, Args)]
pub struct ThroughputArgs {
    /// Set manual throughput, RU/s
    #[arg(long, conflicts_with = "autoscale")]
    pub set: Option<u32>,
    /// Set autoscale throughput with this maximum RU/s
    #[arg(long)]
    pub autoscale: Option<u32>,
}

/// `monitor`.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Time between reports
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub interval: Duration,
    /// Stop after this long [default: never]
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many reports
    #[arg(long)]
    pub count: Option<u64>,
    /// Probe operations per report
    #[arg(long, default_value_t = 10)]
    pub probes: u32,
    /// Probe with point reads of this item (with --probe-pk) instead of a TOP 1 query
    #[arg(long, requires = "probe_pk")]
    pub probe_id: Option<String>,
    /// The probe item's partition key
    #[arg(long)]
    pub probe_pk: Option<String>,
    /// Alert when the window's p99 point latency exceeds this many milliseconds
    #[arg(long, default_value_t = 100.0)]
    pub alert_p99_ms: f64,
    /// Alert when the window's p99 latency of queries exceeds this many milliseconds
    #[arg(long)]
    pub alert_query_p99_ms: Option<f64>,
    /// Alert when the fraction of failed operations exceeds this
    #[arg(long, default_value_t = 0.01)]
    pub alert_error_rate: f64,
    /// Alert when the fraction of throttled attempts exceeds this
    #[arg(long, default_value_t = 0.05)]
    pub alert_throttle_rate: f64,
    /// Alert when RU per second exceeds this
    #[arg(long)]
    pub alert_ru_per_second: Option<f64>,
    /// Operations a window needs before latency and rate alerts are judged
    #[arg(long, default_value_t = 20)]
    pub min_operations: u64,
    /// The metrics window
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub window: Duration,
    /// Exit 8 when an alert was raised
    #[arg(long)]
    pub fail_on_alert: bool,
}

/// `1.5s`, `250ms`, `2m`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 2s, 1m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is not a positive duration"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_have_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("3 weeks")
            .unwrap_err()
            .contains("unknown unit"));
    }
}
