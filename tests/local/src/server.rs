//! Launcher for the local Cosmos DB test server.
//!
//! Examples and the integration tests of every transport use [`LocalServer`] to run
//! [`@vercel/cosmosdb-server`](https://github.com/vercel/cosmosdb-server) (pinned in
//! `tests/server/package-lock.json`) through `tests/server/launcher.js`, which listens on
//! `127.0.0.1` with ephemeral ports (one HTTP and one HTTPS listener, each with its **own**
//! in-memory account) and applies small, named compatibility shims (see [`SHIMS`]).
//!
//! On first use in a process the launcher makes sure the server's npm dependencies are installed
//! (running `scripts/install-test-server.sh`, serialized across processes by a lock file), so a
//! plain `cargo test` works on a fresh clone as long as Node.js >= 20 and npm are on `PATH`.
//!
//! Every failure panics with an actionable message: tests that need the server must fail loudly,
//! never skip.
//!
//! ```no_run
//! use sextant_local::server::{LocalServer, ServerOptions};
//!
//! let server = LocalServer::start();
//! let endpoint = server.http_endpoint(); // "http://127.0.0.1:PORT/"
//! # let _ = endpoint;
//!
//! // The raw server behaviour, without any shim:
//! let raw = LocalServer::start_with(ServerOptions::without_shims());
//! # let _ = raw;
//! ```

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// The well-known emulator key (any key works for this server; this is the public emulator key).
pub const EMULATOR_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";

/// Names of the compatibility shims applied by `tests/server/launcher.js`, all enabled by default.
///
/// - `account-locations`: `GET /` advertises `https://127.0.0.1:PORT/` even on the HTTP listener;
///   every `databaseAccountEndpoint` is rewritten to the listener that answered.
/// - `pkrange-ids`: `GET .../pkranges` answers `"id": 0`; ids are turned into strings.
/// - `missing-item-404`: a point read of a missing item (or with another partition key) answers
///   500 `Cannot read properties of undefined`; it becomes 404 `NotFound`.
/// - `missing-container-404`: creating an item in a missing container answers 500; it becomes
///   404 `NotFound`.
/// - `error-codes`: error bodies without a `"code"` (e.g. `{"message":""}` on 404,
///   `{"message":"conflict"}` on 409) get the Cosmos DB code for their status.
/// - `malformed-path-400`: a malformed percent-escape in the path (`.../docs/a%ZZ`) throws
///   outside of the server's error handling and **crashes the whole server**; it is answered
///   400 `BadRequest` instead.
/// - `connection-close`: the server answers `connection: keep-alive` (and keeps the connection
///   open) even when the client sent `Connection: close`; the client's choice is honoured.
pub const SHIMS: [&str; 7] = [
    "account-locations",
    "pkrange-ids",
    "missing-item-404",
    "missing-container-404",
    "error-codes",
    "malformed-path-400",
    "connection-close",
];

/// How long to wait for the launcher to print its endpoints.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `scripts/install-test-server.sh` (i.e. `npm ci`) may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// How long to wait for another process that is installing the server.
const INSTALL_LOCK_WAIT: Duration = Duration::from_secs(660);
/// A lock file older than this is considered left behind by a crashed process.
const INSTALL_LOCK_STALE: Duration = Duration::from_secs(600);
/// How much of the launcher's stderr is kept for diagnostics.
const STDERR_TAIL_BYTES: usize = 64 * 1024;

/// Options for [`LocalServer::start_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// Apply the compatibility shims (default `true`); `false` runs the server's raw behaviour.
    pub shims: bool,
    /// Names (see [`SHIMS`]) of shims to disable while the others stay enabled.
    pub disabled_shims: Vec<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            shims: true,
            disabled_shims: Vec::new(),
        }
    }
}

impl ServerOptions {
    /// Options that disable every shim, to observe the server's raw behaviour.
    #[must_use]
    pub fn without_shims() -> Self {
        Self {
            shims: false,
            disabled_shims: Vec::new(),
        }
    }

    /// Returns these options with the shim `name` (one of [`SHIMS`]) disabled.
    #[must_use]
    pub fn without_shim(mut self, name: &str) -> Self {
        self.disabled_shims.push(name.to_owned());
        self
    }

    /// The command-line arguments for `launcher.js`.
    fn launcher_args(&self) -> Vec<String> {
        if !self.shims {
            return vec!["--no-shims".to_owned()];
        }
        self.disabled_shims
            .iter()
            .map(|name| format!("--no-shim={name}"))
            .collect()
    }
}

/// A running local Cosmos DB test server; killed when dropped.
///
/// The server process also exits by itself when this process dies (even by a crash): it watches
/// the stdin pipe that this value keeps open.
pub struct LocalServer {
    child: Child,
    /// Kept open for the server's lifetime: the launcher exits when it closes.
    stdin: Option<ChildStdin>,
    http: String,
    https: String,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServer")
            .field("pid", &self.child.id())
            .field("http", &self.http)
            .field("https", &self.https)
            .finish_non_exhaustive()
    }
}

impl LocalServer {
    /// Starts a server with every shim enabled.
    ///
    /// # Panics
    ///
    /// Panics with an actionable message (including the server's stderr) if Node.js is missing,
    /// the install fails, or the server does not come up within 30 s.
    #[must_use = "dropping the LocalServer stops the server"]
    pub fn start() -> LocalServer {
        Self::start_with(ServerOptions::default())
    }

    /// Starts a server with the given options.
    ///
    /// # Panics
    ///
    /// As [`LocalServer::start`].
    #[must_use = "dropping the LocalServer stops the server"]
    #[allow(clippy::panic)]
    pub fn start_with(opts: ServerOptions) -> LocalServer {
        match Self::try_start_with(&opts) {
            Ok(server) => server,
            Err(message) => panic!("cannot start the local Cosmos DB test server: {message}"),
        }
    }

    /// Like [`LocalServer::start`], but returns the actionable message instead of panicking.
    pub fn try_start() -> Result<LocalServer, String> {
        Self::try_start_with(&ServerOptions::default())
            .map_err(|message| format!("cannot start the local Cosmos DB test server: {message}"))
    }

    /// The HTTP endpoint, `http://127.0.0.1:PORT/`.
    pub fn http_endpoint(&self) -> &str {
        &self.http
    }

    /// The HTTPS endpoint, `https://127.0.0.1:PORT/` (self-signed, expired certificate for
    /// `CN=cosmosdb`, no SAN: clients must disable certificate verification).
    pub fn https_endpoint(&self) -> &str {
        &self.https
    }

    /// What the server wrote to stderr so far (the last 64 KiB at most); useful in assertion
    /// messages. The server logs the stack of every 500 it answers there.
    pub fn stderr(&self) -> String {
        lock_tail(&self.stderr)
    }

    fn try_start_with(opts: &ServerOptions) -> Result<LocalServer, String> {
        let root = crate::repo_root();
        ensure_installed(&root)?;

        let server_dir = root.join("tests").join("server");
        let launcher = server_dir.join("launcher.js");
        let mut command = Command::new("node");
        command
            .arg(&launcher)
            .args(opts.launcher_args())
            .current_dir(&server_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|err| {
            format!(
                "could not run `node {}`: {err}. Install Node.js >= 20 and make sure `node` is \
                 on PATH.",
                launcher.display()
            )
        })?;

        let stdin = child.stdin.take();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stderr_reader = child
            .stderr
            .take()
            .map(|pipe| spawn_tail_reader(pipe, Arc::clone(&stderr)));

        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                let first = match reader.read_line(&mut line) {
                    Ok(0) => Err("the server exited before printing its endpoints".to_owned()),
                    Ok(_) => Ok(line),
                    Err(err) => Err(format!("reading the server's stdout failed: {err}")),
                };
                // The receiver may have given up already; nothing else to do then.
                let _ = tx.send(first);
                // Keep draining so that the server can never block on a full pipe.
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            });
        }

        let endpoints = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Ok(line)) => parse_endpoints(&line),
            Ok(Err(message)) => Err(message),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                "the server did not print its endpoints within {} s",
                STARTUP_TIMEOUT.as_secs()
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err("the server's stdout was not captured".to_owned())
            }
        };

        match endpoints {
            Ok((http, https)) => Ok(LocalServer {
                child,
                stdin,
                http,
                https,
                stderr,
            }),
            Err(message) => {
                drop(stdin);
                let _ = child.kill();
                let status = child.wait();
                if let Some(reader) = stderr_reader {
                    let _ = reader.join();
                }
                let status = status.map_or_else(|err| err.to_string(), |s| s.to_string());
                Err(format!(
                    "{message}.\n  command: {command:?}\n  status: {status}\n  stderr:\n{}",
                    indent(&lock_tail(&stderr))
                ))
            }
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        // Closing stdin alone would make the launcher exit; kill it to be quick and certain.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses the launcher's `{"http":"...","https":"..."}` line.
fn parse_endpoints(line: &str) -> Result<(String, String), String> {
    let value: serde_json::Value = serde_json::from_str(line.trim())
        .map_err(|err| format!("the server printed {line:?}, not its endpoints as JSON: {err}"))?;
    let get = |key: &str| {
        value
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("the server printed {line:?}, which has no {key:?} endpoint"))
    };
    Ok((get("http")?, get("https")?))
}

/// Makes sure `tests/server/node_modules` is installed, once per process.
fn ensure_installed(root: &Path) -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED.get_or_init(|| install(root)).clone()
}

/// Whether the install stamp written by `install-test-server.sh` exists and is not older than
/// the lockfile. (The script itself compares the lockfile's hash.)
fn install_is_current(server_dir: &Path) -> bool {
    let stamp = server_dir.join("node_modules").join(".sextant-lock-sha256");
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    match (
        modified(&stamp),
        modified(&server_dir.join("package-lock.json")),
    ) {
        (Some(stamp), Some(lock)) => stamp >= lock,
        _ => false,
    }
}

fn install(root: &Path) -> Result<(), String> {
    let server_dir = root.join("tests").join("server");
    if install_is_current(&server_dir) {
        return Ok(());
    }
    let _lock = InstallLock::acquire(&server_dir.join(".install.lock"))?;
    // Another process may have installed while we waited for the lock.
    if install_is_current(&server_dir) {
        return Ok(());
    }
    let script = root.join("scripts").join("install-test-server.sh");
    let mut command = Command::new("bash");
    command.arg(&script).current_dir(root);
    let (status, output) = run_with_timeout(&mut command, INSTALL_TIMEOUT)?;
    if status.is_some_and(|s| s.success()) {
        eprintln!("{}", output.trim_end());
        return Ok(());
    }
    let status = status.map_or_else(
        || format!("timed out after {} s", INSTALL_TIMEOUT.as_secs()),
        |s| s.to_string(),
    );
    Err(format!(
        "`bash {}` failed ({status}). It needs Node.js >= 20 and npm on PATH and access to the \
         npm registry; run it by hand to investigate.\n  output:\n{}",
        script.display(),
        indent(&output)
    ))
}

/// A cross-process lock held by creating a file exclusively; released (deleted) on drop.
struct InstallLock {
    path: PathBuf,
}

impl InstallLock {
    fn acquire(path: &Path) -> Result<InstallLock, String> {
        let deadline = Instant::now() + INSTALL_LOCK_WAIT;
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(InstallLock {
                        path: path.to_path_buf(),
                    });
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    if lock_is_stale(path) {
                        let _ = fs::remove_file(path);
                        continue;
                    }
                    if Instant::now() >= deadline {
                        return Err(format!(
                            "timed out after {} s waiting for another process to install the \
                             test server (lock file {}); delete that file if no install is \
                             running",
                            INSTALL_LOCK_WAIT.as_secs(),
                            path.display()
                        ));
                    }
                    thread::sleep(Duration::from_millis(200));
                }
                Err(err) => {
                    return Err(format!("cannot create lock file {}: {err}", path.display()))
                }
            }
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether the lock file was left behind: its process is gone (where `/proc` tells), or it is
/// older than [`INSTALL_LOCK_STALE`].
fn lock_is_stale(path: &Path) -> bool {
    let proc_dir = Path::new("/proc");
    if proc_dir.join("self").exists() {
        if let Ok(pid) = fs::read_to_string(path) {
            if let Ok(pid) = pid.trim().parse::<u32>() {
                return !proc_dir.join(pid.to_string()).exists();
            }
        }
    }
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age > INSTALL_LOCK_STALE)
}

/// Runs `command` with stdout and stderr captured (interleaved, in arrival order per stream) and
/// kills it after `timeout`. Returns the exit status (`None` on timeout) and the output.
fn run_with_timeout(
    command: &mut Command,
    timeout: Duration,
) -> Result<(Option<ExitStatus>, String), String> {
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("could not run {command:?}: {err}"))?;
    let readers = [
        child
            .stdout
            .take()
            .map(|pipe| spawn_tail_reader(pipe, Arc::clone(&output))),
        child
            .stderr
            .take()
            .map(|pipe| spawn_tail_reader(pipe, Arc::clone(&output))),
    ];
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(err) => return Err(format!("waiting for {command:?} failed: {err}")),
        }
    };
    for reader in readers.into_iter().flatten() {
        let _ = reader.join();
    }
    Ok((status, lock_tail(&output)))
}

/// Reads `pipe` to its end on a new thread, keeping the last [`STDERR_TAIL_BYTES`] in `tail`.
fn spawn_tail_reader(
    mut pipe: impl Read + Send + 'static,
    tail: Arc<Mutex<Vec<u8>>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut tail = tail.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > STDERR_TAIL_BYTES {
                        let excess = tail.len() - STDERR_TAIL_BYTES;
                        tail.drain(..excess);
                    }
                }
            }
        }
    })
}

fn lock_tail(tail: &Mutex<Vec<u8>>) -> String {
    let tail = tail.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    String::from_utf8_lossy(&tail).into_owned()
}

fn indent(text: &str) -> String {
    if text.trim().is_empty() {
        return "    (empty)".to_owned();
    }
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_args() {
        assert!(ServerOptions::default().launcher_args().is_empty());
        assert_eq!(
            ServerOptions::without_shims().launcher_args(),
            ["--no-shims"]
        );
        assert_eq!(
            ServerOptions::default()
                .without_shim("pkrange-ids")
                .without_shim("error-codes")
                .launcher_args(),
            ["--no-shim=pkrange-ids", "--no-shim=error-codes"]
        );
    }

    #[test]
    fn parses_endpoints() {
        let line = "{\"http\":\"http://127.0.0.1:1/\",\"https\":\"https://127.0.0.1:2/\"}\n";
        assert_eq!(
            parse_endpoints(line),
            Ok((
                "http://127.0.0.1:1/".to_owned(),
                "https://127.0.0.1:2/".to_owned()
            ))
        );
        assert!(parse_endpoints("{\"http\":\"http://127.0.0.1:1/\"}").is_err());
        assert!(parse_endpoints("Debugger listening").is_err());
    }
}
