//! Launcher for the multi-partition test gateway (`tests/gateway/gateway.js`): N in-process
//! `@vercel/cosmosdb-server` stores served as N partition key ranges on 127.0.0.1, plus the
//! routes the plain server lacks (offers, users and permissions with resource-token checks,
//! stored procedures and triggers).
//!
//! Mirrors [`crate::server`]: installs the gateway's npm dependencies with
//! `scripts/install-test-gateway.sh` (once per process, serialized across processes by a lock
//! file), starts the gateway on an ephemeral port, reads its one JSON line with a bounded wait,
//! fails loudly, and stops it on drop (closing its stdin, then killing it).

use std::fs::{self, OpenOptions};
use std::path::Path;
use std::process::{Child, ChildStdin, Command};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use crate::spawn::spawn_announcing;

/// How long the gateway may take to print its JSON line (same bound as the server launcher's).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `npm ci` of the gateway may take (same order as the server's install bound).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// A running test gateway; stopped on drop.
pub struct LocalGateway {
    child: Child,
    stdin: Option<ChildStdin>,
    endpoint: String,
    partitions: usize,
}

impl std::fmt::Debug for LocalGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalGateway")
            .field("endpoint", &self.endpoint)
            .field("partitions", &self.partitions)
            .finish()
    }
}

impl LocalGateway {
    /// Starts a gateway with `partitions` ranges (≥ 1).
    ///
    /// # Panics
    /// If Node is missing, the install fails, or the gateway does not come up within 30 s.
    #[must_use = "dropping the LocalGateway stops the gateway"]
    #[allow(clippy::panic)]
    pub fn start(partitions: usize) -> LocalGateway {
        match Self::try_start(partitions) {
            Ok(gateway) => gateway,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`LocalGateway::start`], but returns the actionable message instead of panicking.
    pub fn try_start(partitions: usize) -> Result<LocalGateway, String> {
        Self::launch(partitions).map_err(|e| format!("could not start the test gateway: {e}"))
    }

    fn launch(partitions: usize) -> Result<LocalGateway, String> {
        let root = crate::repo_root();
        ensure_installed(&root)?;
        let script = root.join("tests").join("gateway").join("gateway.js");
        let partitions_arg = partitions.to_string();
        let (child, stdin, endpoint) = spawn_announcing(
            "gateway",
            &script,
            &["--partitions", &partitions_arg],
            START_TIMEOUT,
        )?;
        Ok(LocalGateway {
            child,
            stdin,
            endpoint,
            partitions,
        })
    }

    /// The gateway process's id (benchmarks read its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The gateway's HTTP endpoint, `http://127.0.0.1:PORT/`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// How many partition key ranges each new container starts with.
    pub fn partitions(&self) -> usize {
        self.partitions
    }
}

impl Drop for LocalGateway {
    fn drop(&mut self) {
        // Closing stdin makes the gateway exit by itself; kill in case it does not.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `scripts/install-test-gateway.sh` of the repository at `root` once per process, under a
/// cross-process lock file. Also what the recording server of the test harness needs: its scripts
/// live in the same npm package.
pub fn ensure_installed(root: &Path) -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED.get_or_init(|| install(root)).clone()
}

fn install(root: &Path) -> Result<(), String> {
    let dir = root.join("tests").join("gateway");
    let lock = dir.join(".install.lock");
    let deadline = Instant::now() + INSTALL_TIMEOUT;
    // create_new is atomic: the process that creates the file installs, the others wait.
    loop {
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(200)),
            Err(e) => {
                return Err(format!(
                    "timed out waiting for the install lock {} ({e}); delete it if no install is running",
                    lock.display()
                ))
            }
        }
    }
    let script = root.join("scripts").join("install-test-gateway.sh");
    let status = Command::new("bash").arg(&script).status();
    let _ = fs::remove_file(&lock);
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{} failed with {s}", script.display())),
        Err(e) => Err(format!("running {}: {e}", script.display())),
    }
}
