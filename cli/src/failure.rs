//! Exit codes scripts can rely on, and the one error type every command returns.

use serde_json::{json, Value};
use sextant_blocking::{CosmosError, ErrorKind};

/// The process exit codes. They are part of the command's interface: never renumber one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Success = 0,
    /// Anything not covered below (an I/O error, an unexpected answer).
    Failure = 1,
    /// Bad arguments or bad input: an unknown flag, malformed JSON, a partition key that
    /// cannot be one, a request the service refused as malformed (400).
    Invalid = 2,
    /// No usable configuration: no account, a profile that does not exist, a bad value in the
    /// profile file or the environment.
    Config = 3,
    /// The item (or database, container) does not exist (404).
    NotFound = 4,
    /// A conflict (409: the id exists) or a failed precondition (412: the etag changed).
    Conflict = 5,
    /// The credential was refused (401, 403) or could not be used.
    Auth = 6,
    /// The service was unavailable, throttled beyond the retries, or did not answer in time
    /// (429, 503, 408, transport failures and timeouts): trying again later may work.
    Unavailable = 7,
    /// `monitor --fail-on-alert` saw an alert raised.
    Alert = 8,
    /// `import` or `restore` finished, but some items failed (they are listed).
    Partial = 9,
}

impl Exit {
    /// A stable snake_case name, used in `--output json` errors.
    pub fn name(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Failure => "failure",
            Exit::Invalid => "invalid",
            Exit::Config => "config",
            Exit::NotFound => "not_found",
            Exit::Conflict => "conflict",
            Exit::Auth => "auth",
            Exit::Unavailable => "unavailable",
            Exit::Alert => "alert",
            Exit::Partial => "partial",
        }
    }
}

/// The table printed under `sextant --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  failure not covered below (I/O, an unexpected answer)
  2  invalid arguments or input (bad flag, malformed JSON, a 400 from the service)
  3  configuration (no account, unknown profile, bad profile or environment value)
  4  not found (404)
  5  conflict or precondition failed (409, 412)
  6  authentication or authorization (401, 403, a bad key)
  7  unavailable, throttled or timed out (429, 503, 408, network): retry later
  8  monitor --fail-on-alert: an alert was raised
  9  import or restore finished with some items failed

Configuration, highest first: flags, the environment (COSMOS_ENDPOINT, COSMOS_KEY,
COSMOS_CONNECTION_STRING, COSMOS_DATABASE, COSMOS_CONTAINER, SEXTANT_PROFILE, SEXTANT_CONFIG),
then the profile file ($XDG_CONFIG_HOME/sextant/config.toml or ~/.config/sextant/config.toml).";

/// Why a command failed, and the exit code that says so.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// One line for a human.
    pub message: String,
    /// For `--output json`: the status, sub-status and activity id of a service error.
    pub details: Value,
}

impl CliError {
    /// An error with `exit` and no service details.
    pub fn new(exit: Exit, message: impl Into<String>) -> CliError {
        CliError {
            exit,
            message: message.into(),
            details: Value::Null,
        }
    }

    /// Bad arguments or input.
    pub fn invalid(message: impl Into<String>) -> CliError {
        CliError::new(Exit::Invalid, message)
    }

    /// Missing or bad configuration.
    pub fn config(message: impl Into<String>) -> CliError {
        CliError::new(Exit::Config, message)
    }

    /// The `--output json` form: `{"error": {"code", "kind", "message", ...details}}`.
    pub fn to_json(&self) -> Value {
        let mut error = json!({
            "code": self.exit as i32,
            "kind": self.exit.name(),
            "message": self.message,
        });
        if let (Value::Object(e), Value::Object(d)) = (&mut error, &self.details) {
            e.extend(d.clone());
        }
        json!({ "error": error })
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The exit code of a driver error: by status first, then by kind.
pub fn exit_of(e: &CosmosError) -> Exit {
    match e.status() {
        Some(404) => Exit::NotFound,
        Some(409 | 412) => Exit::Conflict,
        Some(401 | 403) => Exit::Auth,
        Some(408 | 429 | 449 | 503) => Exit::Unavailable,
        Some(400 | 413) => Exit::Invalid,
        _ => match e.kind() {
            ErrorKind::Transport | ErrorKind::Timeout => Exit::Unavailable,
            ErrorKind::Credential => Exit::Auth,
            ErrorKind::Configuration => Exit::Config,
            _ => Exit::Failure,
        },
    }
}

impl From<CosmosError> for CliError {
    fn from(e: CosmosError) -> CliError {
        let mut details = serde_json::Map::new();
        if let Some(s) = e.status() {
            details.insert("status".into(), s.into());
        }
        if let Some(s) = e.sub_status() {
            details.insert("sub_status".into(), s.into());
        }
        details.insert(
            "activity_id".into(),
            e.diagnostics().activity_id().to_string().into(),
        );
        CliError {
            exit: exit_of(&e),
            message: e.to_string(),
            details: Value::Object(details),
        }
    }
}

impl From<sextant_blocking::ConfigError> for CliError {
    fn from(e: sextant_blocking::ConfigError) -> CliError {
        CliError::invalid(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::new(Exit::Failure, format!("I/O error: {e}"))
    }
}

impl From<sextant_blocking::core::backup::BackupError> for CliError {
    fn from(e: sextant_blocking::core::backup::BackupError) -> CliError {
        use sextant_blocking::core::backup::BackupError;
        match e {
            BackupError::Cosmos(e) => e.into(),
            BackupError::Io(e) => e.into(),
            BackupError::Line(m) => CliError::invalid(m),
            other => CliError::new(Exit::Partial, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_carry_the_code_and_its_name() {
        let e = CliError::new(Exit::NotFound, "no item o1");
        assert_eq!(
            e.to_json(),
            json!({"error": {"code": 4, "kind": "not_found", "message": "no item o1"}})
        );
    }

    #[test]
    fn the_help_table_lists_every_code() {
        for code in 0..=9 {
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n  {code}  ")),
                "code {code} missing"
            );
        }
    }
}
