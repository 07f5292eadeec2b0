//! The wire-conformance capture tools: a launcher for the recording loopback server
//! (`tests/gateway/capture/recorder.js`) and a runner for the official JS SDK's side of the
//! capture (`tests/gateway/capture/js_ops.js`), both in the test gateway's npm package.
//!
//! Mirrors [`sextant_local::gateway`]: installs the npm dependencies once per process
//! (`scripts/install-test-gateway.sh`), starts the recorder on an ephemeral port, reads its one
//! JSON line with a bounded wait, fails loudly, and stops it on drop (closing its stdin, then
//! killing it).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long the recorder may take to print its JSON line (as for the gateway).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on one admin HTTP exchange with the recorder.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on the whole JS SDK run (`js_ops.js` bounds itself at 60 s; this is the backstop).
const JS_RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// One request as the recorder saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The HTTP method (`GET`, `POST`, ...).
    pub method: String,
    /// The URL path as sent (percent-encoded), without the query string.
    pub path: String,
    /// The query string as sent, without `?` (empty when there is none).
    pub query: String,
    /// Every header in the order sent, names in the case sent.
    pub headers: Vec<(String, String)>,
    /// The body as UTF-8 text (empty when there is none).
    pub body: String,
}

impl RecordedRequest {
    /// Parses one entry of the recorder's log (`{method, path, query, headers: [[k, v]...], body}`).
    ///
    /// # Panics
    /// If the entry does not have that shape.
    pub fn from_json(v: &serde_json::Value) -> RecordedRequest {
        let text = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("recorded request without {k:?}: {v}"))
                .to_string()
        };
        let headers = v["headers"]
            .as_array()
            .unwrap_or_else(|| panic!("recorded request without headers: {v}"))
            .iter()
            .map(|pair| {
                let k = pair[0].as_str().expect("header name");
                let val = pair[1].as_str().expect("header value");
                (k.to_string(), val.to_string())
            })
            .collect();
        RecordedRequest {
            method: text("method"),
            path: text("path"),
            query: text("query"),
            headers,
            body: text("body"),
        }
    }

    /// The value of header `name` (case-insensitive; the first one if sent twice).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running recorder; stopped on drop.
pub struct Recorder {
    child: Child,
    stdin: Option<ChildStdin>,
    endpoint: String,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl Recorder {
    /// Starts a recorder on 127.0.0.1 (ephemeral port).
    ///
    /// # Panics
    /// If Node is missing, the install fails, or the recorder does not come up within 30 s.
    pub fn start() -> Recorder {
        match Self::try_start() {
            Ok(r) => r,
            Err(e) => panic!("could not start the recording server: {e}"),
        }
    }

    fn try_start() -> Result<Recorder, String> {
        sextant_local::gateway::ensure_installed(&sextant_local::repo_root())?;
        let script = capture_dir().join("recorder.js");
        let (child, stdin, endpoint) =
            sextant_local::spawn::spawn_announcing("recorder", &script, &[], START_TIMEOUT)?;
        Ok(Recorder {
            child,
            stdin,
            endpoint,
        })
    }

    /// The recorder's endpoint, `http://127.0.0.1:PORT/`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every request recorded since the last reset (`GET /_rec/log`), in arrival order.
    pub fn log(&self) -> Vec<RecordedRequest> {
        let (status, _, body) =
            crate::raw_http::exchange(&self.endpoint, "GET", "/_rec/log", &[], None, HTTP_TIMEOUT);
        assert_eq!(status, 200, "GET /_rec/log");
        match body {
            serde_json::Value::Array(a) => a.iter().map(RecordedRequest::from_json).collect(),
            other => panic!("the recorder's log is not a list: {other}"),
        }
    }

    /// Clears the log (`POST /_rec/reset`).
    pub fn reset(&self) {
        let (status, _, _) = crate::raw_http::exchange(
            &self.endpoint,
            "POST",
            "/_rec/reset",
            &[],
            None,
            HTTP_TIMEOUT,
        );
        assert_eq!(status, 204, "POST /_rec/reset");
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Closing stdin makes the recorder exit by itself; kill in case it does not.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One operation's capture from the JS SDK: its name and the requests it sent.
#[derive(Debug, Clone)]
pub struct JsCapture {
    /// The operation's name (the contract with `js_ops.js`).
    pub name: String,
    /// The requests the operation sent, in arrival order.
    pub requests: Vec<RecordedRequest>,
}

/// Runs every operation of `js_ops.js` with the official JS SDK against the recorder at
/// `endpoint`, signing with `key`, and returns each operation's capture in run order.
///
/// # Panics
/// If the run fails, prints malformed output, or takes longer than two minutes (the child is
/// killed then).
pub fn run_js_ops(endpoint: &str, key: &str) -> Vec<JsCapture> {
    sextant_local::gateway::ensure_installed(&sextant_local::repo_root())
        .unwrap_or_else(|e| panic!("installing the test gateway's npm package: {e}"));
    let script = capture_dir().join("js_ops.js");
    let mut child = Command::new("node")
        .arg(&script)
        .arg("--endpoint")
        .arg(endpoint)
        .arg("--key")
        .arg(key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning node {}: {e}", script.display()));
    let mut stdout = child.stdout.take().expect("js_ops stdout is captured");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut out = String::new();
        let result = stdout.read_to_string(&mut out).map(|_| out);
        let _ = tx.send(result);
    });
    let out = match rx.recv_timeout(JS_RUN_TIMEOUT) {
        Ok(Ok(out)) => out,
        other => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("js_ops.js did not finish within {JS_RUN_TIMEOUT:?}: {other:?}");
        }
    };
    // Its stdout is closed: the process is exiting (or has exited).
    let status = child.wait().expect("waiting for js_ops.js");
    assert!(
        status.success(),
        "js_ops.js failed with {status} (its stderr is above); output so far:\n{out}"
    );
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("js_ops.js printed a bad JSON line {line:?}: {e}"));
            let name = v["name"]
                .as_str()
                .unwrap_or_else(|| panic!("js_ops.js line without a name: {line}"))
                .to_string();
            let requests = v["requests"]
                .as_array()
                .unwrap_or_else(|| panic!("js_ops.js line without requests: {line}"))
                .iter()
                .map(RecordedRequest::from_json)
                .collect();
            JsCapture { name, requests }
        })
        .collect()
}

fn capture_dir() -> PathBuf {
    sextant_local::repo_root()
        .join("tests")
        .join("gateway")
        .join("capture")
}
