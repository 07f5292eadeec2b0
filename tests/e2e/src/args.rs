//! Command-line options.

use std::path::PathBuf;
use std::time::Duration;

use crate::clients::ClientKind;
use crate::workload::Workload;

/// Which tokio runtime the raw-reqwest and sextant-tokio clients run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokioFlavor {
    /// `new_current_thread()`: everything on the harness thread (the default).
    CurrentThread,
    /// `new_multi_thread()` with its default worker count (1 when pinned to one CPU).
    MultiThread,
}

/// Everything the harness is configured with.
#[derive(Debug, Clone)]
pub struct Args {
    /// Measured operations per (client, workload, round).
    pub ops: usize,
    /// Warm-up operations before each measured window.
    pub warmup: usize,
    /// Rounds; each round runs every client once per workload.
    pub rounds: usize,
    /// The clients, in round-robin order (rotated by one every round).
    pub clients: Vec<ClientKind>,
    /// The workloads, in order.
    pub workloads: Vec<Workload>,
    /// Pin the server to CPU0 and this process to CPU1.
    pub pin: bool,
    /// Idle connections kept per host, for every client (raw and sextant alike).
    pub pool_max_idle: usize,
    /// Per-request timeout (raw) / per-attempt timeout (sextant).
    pub request_timeout: Duration,
    /// Give up on one measurement after this long (the whole process exits).
    pub watchdog: Option<Duration>,
    /// The tokio runtime flavour.
    pub tokio_flavor: TokioFlavor,
    /// Write every sample as JSON here.
    pub json: Option<PathBuf>,
    /// A window in which other processes used more than this share of CPU1 is noisy.
    pub noise_threshold: f64,
    /// How many times a noisy window is measured again (the last measurement is kept).
    pub noise_retries: usize,
    /// Before each measurement, wait at most this long for CPU1 to be quiet.
    pub quiet_wait: Duration,
}

const USAGE: &str = "\
sextant-e2e-bench: client CPU per operation, every Sextant transport beside raw reqwest,
against the local test server over HTTP keep-alive.

USAGE: sextant-e2e-bench [OPTIONS]

  --ops N             measured operations per (client, workload, round)   [10000]
  --warmup N          warm-up operations before each measured window      [max(ops/10, 200)]
  --rounds N          rounds (round-robin over the clients in each round) [3]
  --quick             --ops 1000 --rounds 1 (smoke test)
  --clients LIST      comma-separated: raw,raw-wire,raw-wire-app,         [all]
                      raw-ureq,raw-ureq-wire,raw-ureq-wire-app,
                      raw-ureq-wire-bounded,
                      raw-hyper,raw-hyper-wire,raw-hyper-wire-app,
                      raw-hyper-app,raw-hyper-smol,tokio,tokio-app,
                      blocking,blocking-app,async-std,async-std-app,
                      smol (-wire: the raw client with Sextant's
                      headers and response-header reads; -app: also
                      re-keying the HMAC per request (raw clients)
                      and deserializing each body, as an application;
                      -bounded: every request bounded by a timeout,
                      as sextant-blocking bounds each attempt)
  --workloads LIST    comma-separated: read1,read32,create1,create32      [all]
  --no-pin            do not pin (server CPU0 / harness CPU1)
  --pool-max-idle N   idle connections per host for every client          [64]
  --timeout-secs S    per-request (raw) / per-attempt (sextant) timeout   [10]
  --watchdog-secs S   abort if one measurement takes longer               [120 + 10 ms per op]
  --tokio-runtime K   current | multi (raw and sextant-tokio)             [current]
  --json PATH         also write every sample as JSON
  --noise-threshold F re-measure a window if other processes used more than
                      this share of CPU1 during it (pinned runs only)      [0.10]
  --noise-retries N   at most this many re-measurements per cell          [1]
  --quiet-wait-secs S before each measurement, wait up to S seconds for a
                      1-second period in which CPU1 is quiet (pinned runs) [10]
  -h, --help          this text
";

impl Args {
    /// Parses `std::env::args()`; prints the usage and exits on `--help` or a bad argument.
    pub fn from_env() -> Args {
        match Args::parse(std::env::args().skip(1)) {
            Ok(Some(a)) => a,
            Ok(None) => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("sextant-e2e-bench: {e}\n\n{USAGE}");
                std::process::exit(2);
            }
        }
    }

    fn parse(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
        let mut ops = 10_000usize;
        let mut rounds = 3usize;
        let mut warmup: Option<usize> = None;
        let mut clients = ClientKind::ALL.to_vec();
        let mut workloads = Workload::ALL.to_vec();
        let mut pin = true;
        let mut pool_max_idle = 64usize;
        let mut timeout = 10u64;
        let mut watchdog: Option<u64> = None;
        let mut tokio_flavor = TokioFlavor::CurrentThread;
        let mut json = None;
        let mut noise_threshold = 0.10f64;
        let mut noise_retries = 1usize;
        let mut quiet_wait = 10u64;
        while let Some(arg) = it.next() {
            let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "--quick" => {
                    ops = 1_000;
                    rounds = 1;
                }
                "--ops" => ops = number(&value("--ops")?)?,
                "--warmup" => warmup = Some(number(&value("--warmup")?)?),
                "--rounds" => rounds = number(&value("--rounds")?)?,
                "--clients" => {
                    clients = list(&value("--clients")?, ClientKind::parse)?;
                }
                "--workloads" => {
                    workloads = list(&value("--workloads")?, Workload::parse)?;
                }
                "--no-pin" => pin = false,
                "--pool-max-idle" => pool_max_idle = number(&value("--pool-max-idle")?)?,
                "--timeout-secs" => timeout = number(&value("--timeout-secs")?)? as u64,
                "--watchdog-secs" => watchdog = Some(number(&value("--watchdog-secs")?)? as u64),
                "--tokio-runtime" => {
                    tokio_flavor = match value("--tokio-runtime")?.as_str() {
                        "current" => TokioFlavor::CurrentThread,
                        "multi" => TokioFlavor::MultiThread,
                        other => {
                            return Err(format!(
                                "unknown tokio runtime {other:?} (current | multi)"
                            ))
                        }
                    }
                }
                "--json" => json = Some(PathBuf::from(value("--json")?)),
                "--noise-threshold" => {
                    let v = value("--noise-threshold")?;
                    noise_threshold = v.parse().map_err(|_| format!("not a number: {v:?}"))?;
                }
                "--noise-retries" => noise_retries = number(&value("--noise-retries")?)?,
                "--quiet-wait-secs" => quiet_wait = number(&value("--quiet-wait-secs")?)? as u64,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if ops == 0 || rounds == 0 || timeout == 0 {
            return Err("--ops, --rounds and --timeout-secs must be positive".into());
        }
        let warmup = warmup.unwrap_or_else(|| (ops / 10).max(200));
        let per_op_ms = 10u64.saturating_mul((ops + warmup) as u64);
        let watchdog = Some(Duration::from_secs(
            watchdog.unwrap_or(120 + per_op_ms / 1000),
        ));
        Ok(Some(Args {
            ops,
            warmup,
            rounds,
            clients,
            workloads,
            pin,
            pool_max_idle,
            request_timeout: Duration::from_secs(timeout),
            watchdog,
            tokio_flavor,
            json,
            noise_threshold,
            noise_retries,
            quiet_wait: Duration::from_secs(quiet_wait),
        }))
    }
}

fn number(s: &str) -> Result<usize, String> {
    s.replace('_', "")
        .parse()
        .map_err(|_| format!("not a number: {s:?}"))
}

fn list<T>(s: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    let out: Vec<T> = s
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| parse(p).ok_or_else(|| format!("unknown name {p:?}")))
        .collect::<Result<_, _>>()?;
    if out.is_empty() {
        return Err(format!("empty list {s:?}"));
    }
    Ok(out)
}
