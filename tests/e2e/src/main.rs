//! # sextant-e2e-bench
//!
//! End-to-end benchmark harness: client CPU time per operation of every Sextant transport, beside
//! raw reqwest with hand-signed headers, against the local test server over HTTP keep-alive.
//!
//! The server runs pinned to CPU0 (`taskset -c 0`) and this process pins itself to CPU1, so the
//! two never compete for a core. For every workload and round the server is restarted (its memory
//! grows with every create) and a fresh database and container are created; then every client,
//! in round-robin order (rotated by one each round), is built, warmed up and measured: CPU time
//! of this process (`getrusage(RUSAGE_SELF)`, user + sys, all threads) over the measured window
//! only. The report gives the median over rounds, the spread, the ratio to raw reqwest and, for
//! information, ops/s and the server's CPU time.
//!
//! Run it through `scripts/bench-e2e.sh` (release build with line tables, `RUST_BACKTRACE=0`).
//! `--help` lists the options.

mod args;
mod clients;
mod meter;
mod raw;
mod raw_hyper;
mod raw_ureq;
mod report;
mod run_async_std;
mod run_blocking;
mod run_tokio;
mod server;
mod sys;
mod watchdog;
mod wire;
mod workload;

use std::time::Instant;

use args::Args;
use clients::Plan;
use report::Sample;
use workload::Target;

fn main() {
    // Some crates capture a backtrace per error when this is set; the environment sets it to 1.
    // Set before any thread exists.
    std::env::set_var("RUST_BACKTRACE", "0");
    let args = Args::from_env();
    if let Err(e) = run(&args) {
        eprintln!("sextant-e2e-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    if args.pin {
        if sys::online_cpus() < 2 {
            return Err(format!(
                "pinning needs CPUs 0 and 1 ({} online); use --no-pin",
                sys::online_cpus()
            ));
        }
        // Before any thread is created: every thread inherits it.
        sys::pin_self_to(1)?;
        let cpus = sys::allowed_cpus();
        if cpus != [1] {
            return Err(format!("pinned to CPU1 but allowed CPUs are {cpus:?}"));
        }
        meter::set_pinned_cpu(1);
    }
    eprintln!(
        "sextant-e2e-bench: {} ops (+{} warm-up) x {} round(s); clients {:?}; workloads {:?}; pinned: {}",
        args.ops,
        args.warmup,
        args.rounds,
        args.clients.iter().map(|c| c.name()).collect::<Vec<_>>(),
        args.workloads.iter().map(|w| w.name()).collect::<Vec<_>>(),
        if args.pin { "server CPU0, harness CPU1" } else { "no" },
    );
    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    for round in 0..args.rounds {
        for (wi, &workload) in args.workloads.iter().enumerate() {
            // A block: a fresh server, database and container.
            let server = server::Server::start(args.pin)?;
            let target = Target {
                endpoint: server.endpoint().to_owned(),
                key: sextant_core_key(),
                database: format!("bench-db-{}-r{}", workload.name(), round + 1),
                container: format!("bench-c-{}-r{}", workload.name(), round + 1),
            };
            run_tokio::setup(&target, args.request_timeout)?;
            let n = args.clients.len();
            // Rotate the client order every round (and workload) so no client is always first.
            let order: Vec<_> = (0..n).map(|i| args.clients[(i + round + wi) % n]).collect();
            for client in order {
                let mut plan = Plan {
                    workload,
                    warmup: args.warmup as u64,
                    ops: args.ops as u64,
                    prefix: format!("{}-r{}", client.name(), round + 1),
                    pool_max_idle: args.pool_max_idle,
                    timeout: args.request_timeout,
                    server_pid: Some(server.pid()),
                    tokio_flavor: args.tokio_flavor,
                };
                let label = format!("{client} {workload} round {}", round + 1);
                let mut attempt = 0;
                let sample = loop {
                    // Created items need fresh ids on a re-measurement.
                    plan.prefix = format!("{}-r{}-a{attempt}", client.name(), round + 1);
                    if let Some(share) =
                        meter::wait_for_quiet(args.noise_threshold, args.quiet_wait)
                    {
                        if share > args.noise_threshold {
                            eprintln!(
                                "(CPU1 still {:.0}% busy with other processes after waiting)",
                                share * 100.0
                            );
                        }
                    }
                    let guard = watchdog::arm(label.clone(), args.watchdog);
                    let window = clients::measure(client, &target, &plan)
                        .map_err(|e| format!("{label}: {e}"))?;
                    drop(guard);
                    let sample = Sample {
                        client,
                        workload,
                        round,
                        ops: plan.ops,
                        window,
                        remeasured: attempt,
                    };
                    let noisy = window
                        .foreign_share()
                        .is_some_and(|f| f > args.noise_threshold);
                    if noisy && attempt < args.noise_retries {
                        eprintln!(
                            "{}  <- noisy (other processes on CPU1), measuring again",
                            sample.line()
                        );
                        attempt += 1;
                        continue;
                    }
                    break sample;
                };
                eprintln!("{}", sample.line());
                samples.push(sample);
            }
            drop(server);
        }
    }
    eprintln!(
        "sextant-e2e-bench: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let md = report::markdown(
        &samples,
        &args.clients,
        &args.workloads,
        args.rounds,
        args.ops as u64,
    );
    println!("{md}");
    if let Some(path) = &args.json {
        let all: Vec<_> = samples.iter().map(Sample::json).collect();
        let text = serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The well-known emulator key (the local server accepts any key; requests are signed anyway).
fn sextant_core_key() -> String {
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw=="
        .to_owned()
}
