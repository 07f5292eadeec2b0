//! Starting a Node script that announces where it listens: one JSON line on stdout.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Starts `node script args…` with piped stdin and stdout, and waits at most `timeout` for the
/// one JSON line it prints once listening; returns the child, its stdin (closing it stops the
/// script) and the line's `"http"` endpoint. The child is killed when it says nothing usable.
/// `what` names the script in error messages. Shared by the gateway and the test harness's
/// recording server.
pub fn spawn_announcing(
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
