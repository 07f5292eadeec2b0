//! Progress bars for long work: rate and ETA on standard error, drawn only when it is a
//! terminal and neither `--quiet` nor `--output json` was given.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Output;

/// A bar of `total` units (`None`: a counter with a rate and no ETA) named `what`.
pub fn bar(output: &Output, total: Option<u64>, what: &str) -> ProgressBar {
    let pb = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    if output.quiet || output.json() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        pb.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    }
    let template = if total.is_some() {
        "{spinner} {prefix} [{bar:30}] {human_pos}/{human_len} {per_sec} ETA {eta} {msg}"
    } else {
        "{spinner} {prefix} {human_pos} {per_sec} {elapsed} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(250));
    pb
}

/// A bar counted in bytes.
pub fn byte_bar(output: &Output, total: u64, what: &str) -> ProgressBar {
    let pb = bar(output, Some(total), what);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}
