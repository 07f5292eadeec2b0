//! The measured window: this process's CPU time (getrusage, all threads), wall time, the
//! server's CPU time (from /proc, for information) and, when pinned, how much other processes
//! used the harness's CPU during the window (interference).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::sys::{self, CpuTimes};

/// What one measured window cost.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// This process's CPU time (user + sys, every thread) in the window.
    pub cpu: CpuTimes,
    /// Wall-clock time of the window.
    pub wall: Duration,
    /// The server's CPU time in the window, if it could be read.
    pub server: Option<CpuTimes>,
    /// When pinned: CPU time other processes used on the harness's CPU during the window
    /// (that CPU's busy time minus ours), i.e. interference.
    pub foreign: Option<Duration>,
    /// When pinned: steal time of the harness's CPU during the window (hypervisor).
    pub steal: Option<Duration>,
}

impl Window {
    /// Foreign CPU time on the harness's CPU as a fraction of the window's wall time.
    pub fn foreign_share(&self) -> Option<f64> {
        self.foreign
            .map(|f| f.as_secs_f64() / self.wall.as_secs_f64().max(1e-9))
    }
}

/// The CPU the harness is pinned to, if any (set once at start-up).
static PINNED_CPU: OnceLock<usize> = OnceLock::new();

/// Records that this process is pinned to `cpu`, so windows also measure interference there.
pub fn set_pinned_cpu(cpu: usize) {
    let _ = PINNED_CPU.set(cpu);
}

fn pinned_busy() -> Option<(Duration, Duration)> {
    PINNED_CPU.get().and_then(|&c| sys::cpu_busy(c))
}

/// A started window.
pub struct Mark {
    cpu: CpuTimes,
    at: Instant,
    server_pid: Option<u32>,
    server: Option<CpuTimes>,
    busy: Option<(Duration, Duration)>,
}

/// Starts a window.
pub fn start(server_pid: Option<u32>) -> Mark {
    let server = server_pid.and_then(sys::process_cpu);
    let busy = pinned_busy();
    // Our own counters last, closest to the measured work.
    Mark {
        at: Instant::now(),
        cpu: sys::self_cpu(),
        server_pid,
        server,
        busy,
    }
}

impl Mark {
    /// Ends the window.
    pub fn stop(self) -> Window {
        let cpu = sys::self_cpu().since(&self.cpu);
        let wall = self.at.elapsed();
        let server = match (self.server, self.server_pid.and_then(sys::process_cpu)) {
            (Some(a), Some(b)) => Some(b.since(&a)),
            _ => None,
        };
        let (foreign, steal) = match (self.busy, pinned_busy()) {
            (Some((b0, s0)), Some((b1, s1))) => (
                Some(b1.saturating_sub(b0).saturating_sub(cpu.total())),
                Some(s1.saturating_sub(s0)),
            ),
            _ => (None, None),
        };
        Window {
            cpu,
            wall,
            server,
            foreign,
            steal,
        }
    }
}

/// Waits (at most `limit`) until other processes used at most `threshold` of the pinned CPU
/// during one second; returns their share in the last second observed. Does nothing unpinned or
/// when `limit` is zero.
pub fn wait_for_quiet(threshold: f64, limit: Duration) -> Option<f64> {
    PINNED_CPU.get()?;
    if limit.is_zero() {
        return None;
    }
    let deadline = Instant::now() + limit;
    loop {
        let mark = start(None);
        std::thread::sleep(Duration::from_secs(1));
        let share = mark.stop().foreign_share()?;
        if share <= threshold || Instant::now() >= deadline {
            return Some(share);
        }
    }
}
