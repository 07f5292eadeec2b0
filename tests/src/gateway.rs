//! Launcher for the multi-partition test gateway (`tests/gateway/gateway.js`): N in-process
//! `@vercel/cosmosdb-server` stores served as N partition key ranges on 127.0.0.1.
//!
//! Mirrors [`crate::server`]: installs the gateway's npm dependencies with
//! `scripts/install-test-gateway.sh` (once per process, serialized across processes by a lock
//! file), starts the gateway on an ephemeral port, reads its one JSON line with a bounded wait,
//! fails loudly, and stops it on drop (closing its stdin, then killing it).

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long the gateway may take to print its JSON line (same bound as the server launcher's).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `npm ci` of the gateway may take (same order as the server's install bound).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// Bound on one admin HTTP exchange with the gateway (loopback; generous for a loaded machine).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running test gateway; stopped on drop.
pub struct TestGateway {
    child: Child,
    stdin: Option<ChildStdin>,
    endpoint: String,
    partitions: usize,
}

impl std::fmt::Debug for TestGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestGateway")
            .field("endpoint", &self.endpoint)
            .field("partitions", &self.partitions)
            .finish()
    }
}

impl TestGateway {
    /// Starts a gateway with `partitions` ranges (≥ 1).
    ///
    /// # Panics
    /// If Node is missing, the install fails, or the gateway does not come up within 30 s.
    pub fn start(partitions: usize) -> TestGateway {
        match Self::try_start(partitions) {
            Ok(gateway) => gateway,
            Err(e) => panic!("could not start the test gateway: {e}"),
        }
    }

    fn try_start(partitions: usize) -> Result<TestGateway, String> {
        let root = repo_root();
        ensure_installed(&root)?;
        let script = root.join("tests").join("gateway").join("gateway.js");
        let partitions_arg = partitions.to_string();
        let (child, stdin, endpoint) = spawn_announcing(
            "gateway",
            &script,
            &["--partitions", &partitions_arg],
            START_TIMEOUT,
        )?;
        Ok(TestGateway {
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

    /// Splits range `range` of `db`/`coll` (`POST /_gateway/split`); returns the status and body.
    pub fn split(&self, db: &str, coll: &str, range: &str) -> (u16, serde_json::Value) {
        let body = serde_json::json!({ "db": db, "coll": coll, "range": range }).to_string();
        self.http("POST", "/_gateway/split", &[], Some(&body))
    }

    /// Merges adjacent ranges `left` and `right` of `db`/`coll` into one (`POST /_gateway/merge`).
    pub fn merge(&self, db: &str, coll: &str, left: &str, right: &str) -> (u16, serde_json::Value) {
        let body =
            serde_json::json!({ "db": db, "coll": coll, "left": left, "right": right }).to_string();
        self.http("POST", "/_gateway/merge", &[], Some(&body))
    }

    /// Per-range request counts by kind (`GET /_gateway/requests`).
    pub fn requests(&self) -> serde_json::Value {
        self.http("GET", "/_gateway/requests", &[], None).1
    }

    /// The current topology of every collection (`GET /_gateway/topology`).
    pub fn topology(&self) -> serde_json::Value {
        self.http("GET", "/_gateway/topology", &[], None).1
    }

    /// One raw HTTP/1.1 exchange with the gateway (`Connection: close`, bounded by a timeout).
    /// Returns the status, and the JSON body (`Null` when empty). Panics on I/O errors: tests only.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let (status, _, body) = self.http_full(method, path, headers, body);
        (status, body)
    }

    /// Like [`TestGateway::http`], also returning the response headers (lower-case names).
    pub fn http_full(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, Vec<(String, String)>, serde_json::Value) {
        crate::raw_http::exchange(&self.endpoint, method, path, headers, body, HTTP_TIMEOUT)
    }

    /// Every per-range query request since the last reset (`GET /_gateway/query-log`):
    /// `{range, continuation, bounded, single}` each.
    pub fn query_log(&self) -> Vec<serde_json::Value> {
        match self.http("GET", "/_gateway/query-log", &[], None).1 {
            serde_json::Value::Array(a) => a,
            other => panic!("query log is not a list: {other}"),
        }
    }

    /// Clears the request counts and the query log (`POST /_gateway/requests/reset`).
    pub fn reset_requests(&self) {
        let (status, _) = self.http("POST", "/_gateway/requests/reset", &[], None);
        assert_eq!(status, 204, "reset the gateway's request counts");
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        // Closing stdin makes the gateway exit by itself; kill in case it does not.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository's root directory (the parent of this crate's directory).
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Runs `scripts/install-test-gateway.sh` once per process, under a cross-process lock file
/// (also used by [`crate::recorder`], whose scripts live in the same npm package).
pub(crate) fn ensure_installed(root: &Path) -> Result<(), String> {
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

/// Starts `node script args…` with piped stdin and stdout, and waits at most `timeout` for the
/// one JSON line it prints once listening; returns the child, its stdin (closing it stops the
/// script) and the line's `"http"` endpoint. The child is killed when it says nothing usable.
/// Shared by the gateway and the recording server.
pub(crate) fn spawn_announcing(
    what: &str,
    script: &Path,
    args: &[&str],
    timeout: Duration,
) -> Result<(Child, Option<ChildStdin>, String), String> {
    let mut child = Command::new("node")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawning node {}: {e}", script.display()))?;
    let stdin = child.stdin.take();
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| format!("{what} stdout was not captured"))?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let result = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(result);
    });
    let line = match rx.recv_timeout(timeout) {
        Ok(Ok(line)) if !line.trim().is_empty() => line,
        other => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "no JSON line from the {what} within {timeout:?}: {other:?}"
            ));
        }
    };
    let value: serde_json::Value =
        serde_json::from_str(line.trim()).map_err(|e| format!("bad JSON line {line:?}: {e}"))?;
    let endpoint = value["http"]
        .as_str()
        .ok_or_else(|| format!("JSON line {line:?} has no \"http\""))?
        .to_string();
    Ok((child, stdin, endpoint))
}
