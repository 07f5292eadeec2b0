"use strict";
// Shared by the gateway's node tests: start gateway.js as a child process (like the Rust
// launcher) and talk to it over HTTP on 127.0.0.1, every wait bounded. Not a test file.
const { spawn } = require("child_process");
const path = require("path");
const readline = require("readline");

/** Starts a gateway with `n` ranges; resolves to {child, endpoint}. */
function start(n) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, "..", "gateway.js"), "--partitions", String(n)], { stdio: ["pipe", "pipe", "inherit"] });
    const timer = setTimeout(() => { child.kill(); reject(new Error("gateway did not start in 10 s")); }, 10000);
    readline.createInterface({ input: child.stdout }).once("line", line => {
      clearTimeout(timer);
      resolve({ child, endpoint: JSON.parse(line).http });
    });
  });
}

/** One request (JSON body), bounded at 5 s; resolves to {status, headers, body}. */
async function call(base, method, p, headers = {}, body) {
  const r = await fetch(new URL(p, base), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : undefined };
}

module.exports = { start, call };
