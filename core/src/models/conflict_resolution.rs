//! How a multi-region-write container resolves conflicting writes.
//!
//! Wire shape as .NET's `ConflictResolutionPolicy` and the REST/ARM reference write it:
//! `conflictResolutionPolicy: {mode, conflictResolutionPath, conflictResolutionProcedure}`, with
//! `mode` `"LastWriterWins"` or `"Custom"` (the only two values of .NET's
//! `ConflictResolutionMode`, JS's `ConflictResolutionMode` and the ARM `mode` enum).
//!
//! The seed's third mode, *manual*, is not a wire value: it is `Custom` without a procedure, in
//! which case the service records each conflict in the container's conflicts feed for the
//! application to resolve (.NET `ConflictResolutionMode.Custom` documentation).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::models::validate;
use crate::models::wire_enum::wire_enum;

wire_enum! {
    /// The `mode` of a [`ConflictResolutionPolicy`].
    pub enum ConflictResolutionMode {
        /// The write with the highest value at the resolution path wins (`LastWriterWins`).
        LastWriterWins = "LastWriterWins",
        /// A stored procedure resolves the conflict or, without one, the application does
        /// from the conflicts feed (`Custom`).
        Custom = "Custom",
    }
}

/// A container's conflict resolution policy (`conflictResolutionPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConflictResolutionPolicy {
    /// The mode; absent means `LastWriterWins`, the service default (and the .NET
    /// `ConflictResolutionPolicy` constructor's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ConflictResolutionMode>,
    /// For `LastWriterWins`: the numeric path compared (`conflictResolutionPath`); absent or
    /// empty means `/_ts`, the service default.
    #[serde(
        rename = "conflictResolutionPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub conflict_resolution_path: Option<String>,
    /// For `Custom`: the stored procedure resolving conflicts (`conflictResolutionProcedure`,
    /// a link such as `dbs/db/colls/c/sprocs/resolver`); absent or empty means manual.
    #[serde(
        rename = "conflictResolutionProcedure",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub conflict_resolution_procedure: Option<String>,
    /// Every other field the service returned, sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ConflictResolutionPolicy {
    /// A builder, starting from last-writer-wins on the service's default path.
    pub fn builder() -> ConflictResolutionPolicyBuilder {
        ConflictResolutionPolicyBuilder::default()
    }

    /// The mode, with an absent one read as the service default `LastWriterWins`.
    pub fn effective_mode(&self) -> ConflictResolutionMode {
        self.mode
            .clone()
            .unwrap_or(ConflictResolutionMode::LastWriterWins)
    }

    /// `true` for manual resolution: mode `Custom` with no (or an empty) procedure.
    pub fn is_manual(&self) -> bool {
        self.effective_mode() == ConflictResolutionMode::Custom
            && self
                .conflict_resolution_procedure
                .as_deref()
                .is_none_or(str::is_empty)
    }

    /// Checks the field the mode uses: a last-writer-wins path, when given, must start with
    /// `/`; a custom procedure, when given, must not be blank. Errors name the field
    /// (`conflictResolutionPolicy.conflictResolutionPath`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.effective_mode() {
            ConflictResolutionMode::LastWriterWins => {
                match self.conflict_resolution_path.as_deref() {
                    None | Some("") => Ok(()),
                    Some(path) => {
                        validate::path("conflictResolutionPolicy.conflictResolutionPath", path)
                    }
                }
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Default)]
enum Choice {
    #[default]
    LastWriterWinsDefault,
    LastWriterWins(String),
    Custom(String),
    Manual,
}

/// Builds a [`ConflictResolutionPolicy`] for one of the three resolutions of the seed:
/// last writer wins (on `/_ts` or a path of your own), a custom stored procedure, or manual.
#[derive(Debug, Clone, Default)]
pub struct ConflictResolutionPolicyBuilder {
    choice: Choice,
}

impl ConflictResolutionPolicyBuilder {
    /// Last writer wins on `path`, a numeric item property (`/version`).
    pub fn last_writer_wins(mut self, path: impl Into<String>) -> Self {
        self.choice = Choice::LastWriterWins(path.into());
        self
    }

    /// Last writer wins on the service's default path, `/_ts` (the builder's starting point).
    pub fn last_writer_wins_on_timestamp(mut self) -> Self {
        self.choice = Choice::LastWriterWinsDefault;
        self
    }

    /// The stored procedure `procedure` (`dbs/db/colls/c/sprocs/resolver`) resolves conflicts.
    pub fn custom(mut self, procedure: impl Into<String>) -> Self {
        self.choice = Choice::Custom(procedure.into());
        self
    }

    /// Conflicts go to the conflicts feed for the application to resolve (`Custom` without a
    /// procedure).
    pub fn manual(mut self) -> Self {
        self.choice = Choice::Manual;
        self
    }

    /// The checked policy. A last-writer-wins path must start with `/`; a custom procedure
    /// must not be blank (use [`manual`](Self::manual) for none).
    pub fn build(self) -> Result<ConflictResolutionPolicy, ConfigError> {
        let (mode, path, procedure) = match self.choice {
            Choice::LastWriterWinsDefault => (ConflictResolutionMode::LastWriterWins, None, None),
            Choice::LastWriterWins(path) => {
                validate::path("conflictResolutionPolicy.conflictResolutionPath", &path)?;
                (ConflictResolutionMode::LastWriterWins, Some(path), None)
            }
            Choice::Custom(procedure) => {
                validate::not_blank(
                    "conflictResolutionPolicy.conflictResolutionProcedure",
                    &procedure,
                )?;
                (ConflictResolutionMode::Custom, None, Some(procedure))
            }
            Choice::Manual => (ConflictResolutionMode::Custom, None, None),
        };
        Ok(ConflictResolutionPolicy {
            mode: Some(mode),
            conflict_resolution_path: path,
            conflict_resolution_procedure: procedure,
            other: Map::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_names_match_the_sdks() {
        let lww = ConflictResolutionPolicy::builder()
            .last_writer_wins("/version")
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&lww).unwrap(),
            json!({"mode": "LastWriterWins", "conflictResolutionPath": "/version"})
        );
        let custom = ConflictResolutionPolicy::builder()
            .custom("dbs/db/colls/c/sprocs/resolver")
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&custom).unwrap(),
            json!({"mode": "Custom", "conflictResolutionProcedure": "dbs/db/colls/c/sprocs/resolver"})
        );
        let manual = ConflictResolutionPolicy::builder()
            .manual()
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&manual).unwrap(),
            json!({"mode": "Custom"})
        );
        assert!(manual.is_manual() && !custom.is_manual() && !lww.is_manual());
        let default = ConflictResolutionPolicy::builder().build().unwrap();
        assert_eq!(
            serde_json::to_value(&default).unwrap(),
            json!({"mode": "LastWriterWins"})
        );
    }

    #[test]
    fn the_service_document_round_trips() {
        // What the service returns for a default container (the Rust SDK's emulator literal).
        let wire = json!({
            "mode": "LastWriterWins",
            "conflictResolutionPath": "/_ts",
            "conflictResolutionProcedure": "",
            "future": 1
        });
        let policy: ConflictResolutionPolicy = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(policy.mode, Some(ConflictResolutionMode::LastWriterWins));
        assert_eq!(serde_json::to_value(&policy).unwrap(), wire);
        policy.validate().unwrap();

        let manual: ConflictResolutionPolicy =
            serde_json::from_value(json!({"mode": "Custom", "conflictResolutionProcedure": ""}))
                .unwrap();
        assert!(manual.is_manual());
    }

    #[test]
    fn modes_are_read_in_any_case() {
        let p: ConflictResolutionPolicy =
            serde_json::from_value(json!({"mode": "lastWriterWins"})).unwrap();
        assert_eq!(p.mode, Some(ConflictResolutionMode::LastWriterWins));
        let p: ConflictResolutionPolicy =
            serde_json::from_value(json!({"mode": "custom"})).unwrap();
        assert_eq!(p.mode, Some(ConflictResolutionMode::Custom));
        let p: ConflictResolutionPolicy = serde_json::from_value(json!({"mode": "Merge"})).unwrap();
        assert_eq!(p.mode, Some(ConflictResolutionMode::Other("Merge".into())));
        assert_eq!(serde_json::to_value(&p).unwrap(), json!({"mode": "Merge"}));
    }

    #[test]
    fn builder_validation_names_the_field() {
        match ConflictResolutionPolicy::builder()
            .last_writer_wins("version")
            .build()
        {
            Err(ConfigError::InvalidSetting { name, value, .. }) => {
                assert_eq!(name, "conflictResolutionPolicy.conflictResolutionPath");
                assert_eq!(value, "version");
            }
            other => panic!("{other:?}"),
        }
        let err = ConflictResolutionPolicy::builder()
            .custom("  ")
            .build()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("conflictResolutionPolicy.conflictResolutionProcedure"),
            "{err}"
        );
    }
}
