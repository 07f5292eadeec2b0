//! Samples, medians and spreads, and the Markdown tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::clients::ClientKind;
use crate::meter::Window;
use crate::workload::Workload;

/// One measurement.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Client.
    pub client: ClientKind,
    /// Workload.
    pub workload: Workload,
    /// Round (0-based).
    pub round: usize,
    /// Measured operations.
    pub ops: u64,
    /// What the window cost.
    pub window: Window,
    /// How many earlier measurements of this cell were discarded as noisy.
    pub remeasured: usize,
}

impl Sample {
    /// Client CPU seconds per 10,000 operations.
    pub fn cpu_per_10k(&self) -> f64 {
        self.window.cpu.total().as_secs_f64() * 10_000.0 / self.ops as f64
    }

    /// Server CPU seconds per 10,000 operations.
    pub fn server_per_10k(&self) -> Option<f64> {
        self.window
            .server
            .map(|s| s.total().as_secs_f64() * 10_000.0 / self.ops as f64)
    }

    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.window.wall.as_secs_f64().max(1e-9)
    }

    /// One progress line.
    pub fn line(&self) -> String {
        format!(
            "round {} | {:<11} | {:<30} | cpu {:.3} s/10k (user {:.3}, sys {:.3}) | {:>7.0} ops/s | server {} | CPU1 foreign {} steal {}",
            self.round + 1,
            self.workload.to_string(),
            self.client.to_string(),
            self.cpu_per_10k(),
            self.window.cpu.user.as_secs_f64() * 10_000.0 / self.ops as f64,
            self.window.cpu.sys.as_secs_f64() * 10_000.0 / self.ops as f64,
            self.ops_per_sec(),
            self.server_per_10k().map(|s| format!("{s:.3} s/10k")).unwrap_or_else(|| "n/a".into()),
            self.window.foreign_share().map(|f| format!("{:.0}%", f * 100.0)).unwrap_or_else(|| "n/a".into()),
            self.window.steal.map(|s| format!("{:.0} ms", s.as_secs_f64() * 1e3)).unwrap_or_else(|| "n/a".into()),
        )
    }

    /// As JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "client": self.client.name(),
            "workload": self.workload.name(),
            "round": self.round + 1,
            "ops": self.ops,
            "cpu_user_s": self.window.cpu.user.as_secs_f64(),
            "cpu_sys_s": self.window.cpu.sys.as_secs_f64(),
            "wall_s": self.window.wall.as_secs_f64(),
            "server_cpu_s": self.window.server.map(|s| s.total().as_secs_f64()),
            "cpu_per_10k_s": self.cpu_per_10k(),
            "cpu1_foreign_s": self.window.foreign.map(|f| f.as_secs_f64()),
            "cpu1_steal_s": self.window.steal.map(|f| f.as_secs_f64()),
            "remeasured": self.remeasured,
        })
    }
}

/// Median (mean of the middle two for an even count).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

type Cells = BTreeMap<(ClientKind, Workload), Vec<f64>>;

fn collect(samples: &[Sample], f: impl Fn(&Sample) -> Option<f64>) -> Cells {
    let mut cells = Cells::new();
    for s in samples {
        if let Some(v) = f(s) {
            cells.entry((s.client, s.workload)).or_default().push(v);
        }
    }
    cells
}

fn table(
    out: &mut String,
    clients: &[ClientKind],
    workloads: &[Workload],
    cells: &Cells,
    cell: impl Fn(ClientKind, Workload, &[f64]) -> String,
) {
    let _ = write!(out, "| client |");
    for w in workloads {
        let _ = write!(out, " {w} |");
    }
    let _ = write!(out, "\n|---|");
    for _ in workloads {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    for &c in clients {
        let _ = write!(out, "| {c} |");
        for &w in workloads {
            let v = cells.get(&(c, w)).map(Vec::as_slice).unwrap_or(&[]);
            let text = if v.is_empty() {
                "–".to_owned()
            } else {
                cell(c, w, v)
            };
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
}

/// The Markdown report: CPU per 10k ops (median [min–max]), ratio to raw, ops/s, server CPU.
pub fn markdown(
    samples: &[Sample],
    clients: &[ClientKind],
    workloads: &[Workload],
    rounds: usize,
    ops: u64,
) -> String {
    let mut out = String::new();
    let cpu = collect(samples, |s| Some(s.cpu_per_10k()));
    let _ = writeln!(
        out,
        "### Client CPU seconds per 10,000 operations (median of {rounds} round(s) of {ops} ops; [min–max])\n"
    );
    table(&mut out, clients, workloads, &cpu, |_, _, v| {
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if v.len() > 1 {
            format!("{:.3} [{min:.3}–{max:.3}]", median(v))
        } else {
            format!("{:.3}", median(v))
        }
    });
    let _ = writeln!(
        out,
        "\n### Ratio to raw reqwest: median / median (median of the per-round ratios, each against raw in the same block)\n"
    );
    // Per-round ratios: within a block the clients run back to back, so these cancel slow drift.
    let mut per_round: Cells = Cells::new();
    for s in samples {
        let raw = samples.iter().find(|r| {
            r.client == ClientKind::Raw && r.workload == s.workload && r.round == s.round
        });
        if let Some(raw) = raw {
            per_round
                .entry((s.client, s.workload))
                .or_default()
                .push(s.cpu_per_10k() / raw.cpu_per_10k());
        }
    }
    table(&mut out, clients, workloads, &cpu, |c, w, v| {
        match cpu.get(&(ClientKind::Raw, w)) {
            Some(raw) if !raw.is_empty() => {
                let pr = per_round
                    .get(&(c, w))
                    .map(|r| format!(" ({:.2}×)", median(r)))
                    .unwrap_or_default();
                format!("{:.2}×{pr}", median(v) / median(raw))
            }
            _ => "–".into(),
        }
    });
    if clients.iter().any(|c| c.raw_baselines().is_some()) {
        let _ = writeln!(
            out,
            "\n### Each Sextant transport against its own raw clients: median / median (minimal raw client; identical-wire raw client when measured)\n"
        );
        table(&mut out, clients, workloads, &cpu, |c, w, v| {
            let Some((minimal, wire)) = c.raw_baselines() else {
                return "–".into();
            };
            let ratio = |b: ClientKind| {
                cpu.get(&(b, w))
                    .filter(|r| !r.is_empty())
                    .map(|r| median(v) / median(r))
            };
            match (ratio(minimal), wire.and_then(ratio)) {
                (Some(m), Some(x)) => {
                    format!(
                        "{m:.2}× {}; {x:.2}× {}",
                        minimal.name(),
                        wire.map_or("", |k| k.name())
                    )
                }
                (Some(m), None) => format!("{m:.2}× {}", minimal.name()),
                (None, Some(x)) => format!("{x:.2}× {}", wire.map_or("", |k| k.name())),
                (None, None) => "–".into(),
            }
        });
    }
    let _ = writeln!(out, "\n### Throughput, ops/s (median; for information: the server, not the client, limits it above c≈8)\n");
    let tput = collect(samples, |s| Some(s.ops_per_sec()));
    table(&mut out, clients, workloads, &tput, |_, _, v| {
        format!("{:.0}", median(v))
    });
    let foreign = collect(samples, |s| s.window.foreign_share());
    if !foreign.is_empty() {
        let _ = writeln!(
            out,
            "\n### Interference: other processes' share of CPU1 during the window (median [max]; re-measured cells)\n"
        );
        let remeasured: BTreeMap<(ClientKind, Workload), usize> =
            samples.iter().fold(BTreeMap::new(), |mut m, s| {
                *m.entry((s.client, s.workload)).or_default() += s.remeasured;
                m
            });
        table(&mut out, clients, workloads, &foreign, |c, w, v| {
            let max = v.iter().copied().fold(0.0, f64::max);
            let r = remeasured.get(&(c, w)).copied().unwrap_or(0);
            format!(
                "{:.0}% [{:.0}%]{}",
                median(v) * 100.0,
                max * 100.0,
                if r > 0 {
                    format!(" ({r}×)")
                } else {
                    String::new()
                }
            )
        });
    }
    let server = collect(samples, Sample::server_per_10k);
    if !server.is_empty() {
        let _ = writeln!(
            out,
            "\n### Server CPU seconds per 10,000 operations (median; /proc, 10 ms resolution)\n"
        );
        table(&mut out, clients, workloads, &server, |_, _, v| {
            format!("{:.2}", median(v))
        });
    }
    out
}
