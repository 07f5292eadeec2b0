//! The local test server (`tests/server/launcher.js`, HTTP only), optionally pinned to CPU0.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const STDERR_TAIL: usize = 16 * 1024;

/// A running server; stopped (stdin closed, then killed if needed) on drop.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    endpoint: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `node tests/server/launcher.js --http-only`, under `taskset -c 0` when `pin`.
    pub fn start(pin: bool) -> Result<Server, String> {
        let launcher = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/launcher.js");
        let modules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/node_modules");
        if !modules.is_dir() {
            return Err(format!(
                "{} is missing: run scripts/install-test-server.sh first",
                modules.display()
            ));
        }
        let mut cmd = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "0", "node"]);
            c
        } else {
            Command::new("node")
        };
        cmd.arg(&launcher)
            .arg("--http-only")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start the server ({cmd:?}): {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr_pipe = child.stderr.take().ok_or("no stderr")?;
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let tail = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut pipe = stderr_pipe;
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut t) = tail.lock() {
                        t.push_str(&String::from_utf8_lossy(&buf[..n]));
                        if t.len() > STDERR_TAIL {
                            let cut = t.len() - STDERR_TAIL;
                            let cut = (cut..t.len())
                                .find(|&i| t.is_char_boundary(i))
                                .unwrap_or(t.len());
                            t.drain(..cut);
                        }
                    }
                }
            });
        }
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let r = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(r);
        });
        let mut server = Server {
            child,
            stdin,
            endpoint: String::new(),
            stderr,
        };
        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(server.failure(&format!("reading its stdout: {e}"))),
            Err(_) => {
                return Err(server.failure(&format!("no endpoint line within {STARTUP_TIMEOUT:?}")))
            }
        };
        let v: serde_json::Value = serde_json::from_str(line.trim())
            .map_err(|e| server.failure(&format!("bad line {line:?}: {e}")))?;
        server.endpoint = v
            .get("http")
            .and_then(|h| h.as_str())
            .ok_or_else(|| server.failure(&format!("no \"http\" in {line:?}")))?
            .to_owned();
        Ok(server)
    }

    fn failure(&self, what: &str) -> String {
        let tail = self.stderr.lock().map(|t| t.clone()).unwrap_or_default();
        format!("server failed to start: {what}\n--- launcher stderr ---\n{tail}")
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The server's pid (`taskset` execs `node`, so this is node's pid).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The launcher exits when its stdin closes.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
