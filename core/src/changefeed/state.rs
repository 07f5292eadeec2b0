//! Where a change feed stands: each range's etag by EPK bounds, and its continuation token.
//!
//! Wire form: `cf1.` followed by base64url (no padding) of `{"c": container link, "m": mode,
//! "s": scope, "r": [{"min", "max", "e": etag}]}`. Positions are EPK bounds, not range ids, so a
//! token written before a split resumes on the children (each starts from the parent's etag,
//! which the service honours on a child, PROTOCOL.md §9.2).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::operation::ChangeFeedMode;
use crate::error::ConfigError;
use crate::feed::token::MAX_TOKEN_BYTES;
use crate::partition::{PartitionKeyRange, RoutingMap, MAX_EXCLUSIVE_EPK};

/// Prefix of every change-feed token this version writes.
pub const CHANGE_FEED_TOKEN_PREFIX: &str = "cf1.";

/// Which part of the container a feed reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub(crate) enum Scope {
    /// Every range.
    All,
    /// An EPK range (a feed range).
    Range { min: String, max: String },
    /// One partition key (its header value); one position, read by key, not by range.
    Key { pk: String },
}

/// One range's position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    pub min: String,
    pub max: String,
    /// The etag of the last change read (`None`: nothing read yet; the start applies).
    #[serde(rename = "e")]
    pub etag: Option<String>,
}

/// A feed's state between pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FeedState {
    #[serde(rename = "c")]
    pub container: String,
    #[serde(rename = "m")]
    pub mode: ChangeFeedMode,
    #[serde(rename = "s")]
    pub scope: Scope,
    /// Positions in EPK order; empty until the routing map was first read.
    #[serde(rename = "r")]
    pub ranges: Vec<Position>,
}

fn bad_token(why: impl Into<String>) -> ConfigError {
    ConfigError::InvalidSetting {
        name: "continuation".into(),
        value: why.into(),
        expected: format!(
            "a change-feed continuation token ({CHANGE_FEED_TOKEN_PREFIX}…) of this feed"
        ),
    }
}

/// An EPK bound from a token as an error shows it: `""` for the empty one, and cut to 40
/// characters so that the error stays short.
fn shown(bound: &str) -> String {
    if bound.is_empty() {
        return "\"\"".to_string();
    }
    crate::error::cut(bound, 40)
}

/// True when `[a_min, a_max)` and `[b_min, b_max)` overlap (EPK strings compare in order).
fn overlaps(a_min: &str, a_max: &str, b_min: &str, b_max: &str) -> bool {
    a_min < b_max && b_min < a_max
}

impl FeedState {
    /// The token of this state.
    pub fn encode(&self) -> Result<String, ConfigError> {
        let json = serde_json::to_vec(self).map_err(|e| bad_token(e.to_string()))?;
        let token = format!("{CHANGE_FEED_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
        if token.len() > MAX_TOKEN_BYTES {
            return Err(bad_token(format!(
                "the feed's token would be {} bytes (limit {MAX_TOKEN_BYTES})",
                token.len()
            )));
        }
        Ok(token)
    }

    /// Reads a token, refusing one of another container, mode or scope by name.
    pub fn decode(
        token: &str,
        container: &str,
        mode: ChangeFeedMode,
        scope: &Scope,
    ) -> Result<FeedState, ConfigError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(bad_token(format!(
                "{} bytes (limit {MAX_TOKEN_BYTES})",
                token.len()
            )));
        }
        let body = token
            .strip_prefix(CHANGE_FEED_TOKEN_PREFIX)
            .ok_or_else(|| bad_token(token.chars().take(16).collect::<String>()))?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|e| bad_token(format!("not base64url: {e}")))?;
        let state: FeedState =
            serde_json::from_slice(&json).map_err(|e| bad_token(format!("malformed: {e}")))?;
        if state.container != container {
            return Err(bad_token(format!(
                "a token of container {}, not {container}",
                state.container
            )));
        }
        if state.mode != mode {
            return Err(bad_token(format!(
                "a token of mode {:?}, not {mode:?}",
                state.mode
            )));
        }
        if &state.scope != scope {
            return Err(bad_token(
                "a token of another feed range or partition key".to_string(),
            ));
        }
        state.check_positions().map_err(bad_token)?;
        Ok(state)
    }

    /// What every token this version writes holds, and what reading one relies on: a partition
    /// key's feed has at most one position, with empty bounds; a range's or the container's
    /// positions are either none yet (before the first routing-map read) or tile its EPK range
    /// in order, each non-empty. A token edited by hand or cut short is refused here rather
    /// than read as a feed with reversed, overlapping or missing ranges.
    fn check_positions(&self) -> Result<(), String> {
        let (lo, hi) = match &self.scope {
            Scope::Key { .. } => {
                return match self.ranges.as_slice() {
                    [] => Ok(()),
                    [p] if p.min.is_empty() && p.max.is_empty() => Ok(()),
                    _ => Err(
                        "a partition key's feed with positions other than one, unbounded"
                            .to_string(),
                    ),
                };
            }
            Scope::All => ("", MAX_EXCLUSIVE_EPK),
            Scope::Range { min, max } => {
                if min >= max || max.as_str() > MAX_EXCLUSIVE_EPK {
                    return Err(format!(
                        "its feed range [{}, {}) is empty, inverted or past {MAX_EXCLUSIVE_EPK}",
                        shown(min),
                        shown(max)
                    ));
                }
                (min.as_str(), max.as_str())
            }
        };
        if self.ranges.is_empty() {
            return Ok(());
        }
        let mut at = lo;
        for p in &self.ranges {
            if p.min != at {
                return Err(format!(
                    "position [{}, {}) does not start at {}, where the one before it ends \
                     (positions tile [{}, {}) in order)",
                    shown(&p.min),
                    shown(&p.max),
                    shown(at),
                    shown(lo),
                    shown(hi)
                ));
            }
            if p.min >= p.max {
                return Err(format!(
                    "position [{}, {}) is empty or inverted",
                    shown(&p.min),
                    shown(&p.max)
                ));
            }
            at = &p.max;
        }
        if at != hi {
            return Err(format!(
                "positions end at {}, short of {}",
                shown(at),
                shown(hi)
            ));
        }
        Ok(())
    }

    /// The physical parts of a token's feed: one `(min, max, token)` per position, each token
    /// scoped to its position's range (a lease split hands them to its child leases). Empty
    /// for a token this version cannot read, and for a partition key's feed (read by key).
    pub fn parts(token: &str) -> Vec<(String, String, String)> {
        let Some(body) = token.strip_prefix(CHANGE_FEED_TOKEN_PREFIX) else {
            return Vec::new();
        };
        let Some(state) = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .and_then(|j| serde_json::from_slice::<FeedState>(&j).ok())
            // A partition key's feed is read by key, not by EPK range: it has no parts.
            .filter(|s| s.check_positions().is_ok() && !matches!(s.scope, Scope::Key { .. }))
        else {
            return Vec::new();
        };
        state
            .ranges
            .iter()
            .filter_map(|p| {
                let part = FeedState {
                    container: state.container.clone(),
                    mode: state.mode,
                    scope: Scope::Range {
                        min: p.min.clone(),
                        max: p.max.clone(),
                    },
                    ranges: vec![p.clone()],
                };
                Some((p.min.clone(), p.max.clone(), part.encode().ok()?))
            })
            .collect()
    }

    /// Positions for the current routing map: the first read lists the scope's ranges; a
    /// position whose range split since is replaced by one per child, each with its etag.
    pub fn align(&mut self, map: &RoutingMap) {
        let (lo, hi) = match &self.scope {
            Scope::Key { .. } => {
                if self.ranges.is_empty() {
                    self.ranges.push(Position {
                        min: String::new(),
                        max: String::new(),
                        etag: None,
                    });
                }
                return;
            }
            Scope::All => (String::new(), MAX_EXCLUSIVE_EPK.to_string()),
            Scope::Range { min, max } => (min.clone(), max.clone()),
        };
        if self.ranges.is_empty() {
            self.ranges = vec![Position {
                min: lo,
                max: hi,
                etag: None,
            }];
        }
        let bounds: Vec<(String, String)> = self
            .ranges
            .iter()
            .map(|p| (p.min.clone(), p.max.clone()))
            .collect();
        for (min, max) in bounds {
            self.split_position(&min, &max, map);
        }
    }

    /// Replaces position `[min, max)` by one position per range of `map` it overlaps (each
    /// with its etag); returns the bounds of what now covers it.
    pub fn split_position(
        &mut self,
        min: &str,
        max: &str,
        map: &RoutingMap,
    ) -> Vec<(String, String)> {
        let Some(i) = self
            .ranges
            .iter()
            .position(|p| p.min == min && p.max == max)
        else {
            return Vec::new();
        };
        let pieces: Vec<&PartitionKeyRange> = map
            .ranges()
            .iter()
            .filter(|r| overlaps(min, max, &r.min_inclusive, &r.max_exclusive))
            .collect();
        if pieces.len() <= 1 {
            return vec![(min.to_string(), max.to_string())];
        }
        let etag = self.ranges[i].etag.clone();
        let new: Vec<Position> = pieces
            .iter()
            .map(|r| Position {
                min: min.max(r.min_inclusive.as_str()).to_string(),
                max: max.min(r.max_exclusive.as_str()).to_string(),
                etag: etag.clone(),
            })
            .collect();
        let out = new.iter().map(|p| (p.min.clone(), p.max.clone())).collect();
        self.ranges.splice(i..=i, new);
        out
    }

    /// The physical range holding position `p` (after [`FeedState::align`], exactly one), and
    /// whether the position covers only part of it.
    pub fn range_of<'m>(
        p: &Position,
        map: &'m RoutingMap,
    ) -> Option<(&'m PartitionKeyRange, bool)> {
        let r = map
            .ranges()
            .iter()
            .find(|r| overlaps(&p.min, &p.max, &r.min_inclusive, &r.max_exclusive))?;
        let partial = r.min_inclusive != p.min || r.max_exclusive != p.max;
        Some((r, partial))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(bounds: &[(&str, &str, &str)]) -> RoutingMap {
        RoutingMap::new(
            bounds
                .iter()
                .map(|(id, lo, hi)| PartitionKeyRange::new(*id, *lo, *hi))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn positions_follow_splits_and_tokens_refuse_other_feeds() {
        let mut s = FeedState {
            container: "dbs/d/colls/c".into(),
            mode: ChangeFeedMode::LatestVersion,
            scope: Scope::All,
            ranges: Vec::new(),
        };
        s.align(&map(&[("0", "", "40"), ("1", "40", "FF")]));
        assert_eq!(s.ranges.len(), 2, "the first read lists the ranges");
        s.ranges[0].etag = Some("\"7\"".into());
        s.align(&map(&[
            ("2", "", "20"),
            ("3", "20", "40"),
            ("1", "40", "FF"),
        ]));
        let etags: Vec<_> = s.ranges.iter().map(|p| p.etag.clone()).collect();
        assert_eq!(
            etags,
            vec![Some("\"7\"".into()), Some("\"7\"".into()), None]
        );
        assert_eq!(
            (s.ranges[1].min.as_str(), s.ranges[1].max.as_str()),
            ("20", "40")
        );
        let m = map(&[("2", "", "20"), ("3", "20", "40"), ("1", "40", "FF")]);
        assert_eq!(
            FeedState::range_of(&s.ranges[1], &m).map(|(r, p)| (r.id.as_str(), p)),
            Some(("3", false))
        );

        let token = s.encode().unwrap();
        assert!(token.starts_with(CHANGE_FEED_TOKEN_PREFIX));
        let back = FeedState::decode(
            &token,
            "dbs/d/colls/c",
            ChangeFeedMode::LatestVersion,
            &Scope::All,
        )
        .unwrap();
        assert_eq!(back, s);
        let err = |r: Result<FeedState, ConfigError>| r.unwrap_err().to_string();
        assert!(err(FeedState::decode(
            &token,
            "dbs/d/colls/x",
            ChangeFeedMode::LatestVersion,
            &Scope::All
        ))
        .contains("container"));
        assert!(err(FeedState::decode(
            &token,
            "dbs/d/colls/c",
            ChangeFeedMode::AllVersionsAndDeletes,
            &Scope::All
        ))
        .contains("mode"));
        assert!(err(FeedState::decode(
            "sx1.abc",
            "dbs/d/colls/c",
            ChangeFeedMode::LatestVersion,
            &Scope::All
        ))
        .contains("continuation"));
        assert!(err(FeedState::decode(
            "cf1.%%%",
            "dbs/d/colls/c",
            ChangeFeedMode::LatestVersion,
            &Scope::All
        ))
        .contains("base64"));
    }

    /// Tokens whose positions do not tile their feed are refused by name, and split into no
    /// parts; the fuzzer found `[7F, &F)` read as a position before this check.
    #[test]
    fn tokens_with_positions_that_do_not_tile_their_feed_are_refused() {
        let token = |scope: &str, ranges: &str| {
            format!(
                "{CHANGE_FEED_TOKEN_PREFIX}{}",
                URL_SAFE_NO_PAD.encode(format!(
                    r#"{{"c":"dbs/d/colls/c","m":"LatestVersion","s":{scope},"r":[{ranges}]}}"#
                ))
            )
        };
        let all = r#"{"t":"All"}"#;
        let range = r#"{"t":"Range","min":"20","max":"60"}"#;
        let key = r#"{"t":"Key","pk":"[\"a\"]"}"#;
        let pos = |min: &str, max: &str| format!(r#"{{"min":"{min}","max":"{max}","e":null}}"#);
        let decode = |t: &str, scope: &Scope| {
            FeedState::decode(t, "dbs/d/colls/c", ChangeFeedMode::LatestVersion, scope)
        };
        let key_scope = Scope::Key {
            pk: "[\"a\"]".into(),
        };
        let range_scope = Scope::Range {
            min: "20".into(),
            max: "60".into(),
        };
        // What this version writes is read back.
        for (t, scope, parts) in [
            (token(all, ""), &Scope::All, 0),
            (
                token(all, &format!("{},{}", pos("", "7F"), pos("7F", "FF"))),
                &Scope::All,
                2,
            ),
            (token(range, &pos("20", "60")), &range_scope, 1),
            (token(key, &pos("", "")), &key_scope, 0),
        ] {
            assert!(decode(&t, scope).is_ok(), "{t}");
            assert_eq!(FeedState::parts(&t).len(), parts, "{t}");
        }
        // And nothing else.
        for (ranges, scope, why) in [
            (
                format!("{},{}", pos("", "7F"), pos("7F", "&F")),
                &Scope::All,
                "position [7F, &F) is empty or inverted",
            ),
            (
                format!("{},{}", pos("", "40"), pos("30", "FF")),
                &Scope::All,
                "position [30, FF) does not start at 40",
            ),
            (
                format!("{},{}", pos("", "40"), pos("50", "FF")),
                &Scope::All,
                "position [50, FF) does not start at 40",
            ),
            (pos("", "7F"), &Scope::All, "end at 7F, short of FF"),
            (
                pos("10", "FF"),
                &Scope::All,
                "[10, FF) does not start at \\\"\\\"",
            ),
            (pos("20", "50"), &range_scope, "end at 50, short of 60"),
            (
                format!("{},{}", pos("", ""), pos("", "")),
                &key_scope,
                "partition key",
            ),
            (pos("", "FF"), &key_scope, "partition key"),
        ] {
            let scope_json = match scope {
                Scope::All => all,
                Scope::Range { .. } => range,
                Scope::Key { .. } => key,
            };
            let t = token(scope_json, &ranges);
            let err = decode(&t, scope).unwrap_err().to_string();
            assert!(err.contains(why), "{ranges}: {err}");
            assert!(FeedState::parts(&t).is_empty(), "{ranges}");
        }
        let inverted = token(r#"{"t":"Range","min":"60","max":"20"}"#, "");
        let scope = Scope::Range {
            min: "60".into(),
            max: "20".into(),
        };
        assert!(decode(&inverted, &scope)
            .unwrap_err()
            .to_string()
            .contains("inverted"));
        // Bounds in errors are cut short.
        let long = "A".repeat(500);
        let t = token(all, &pos(&long, "FF"));
        let err = decode(&t, &Scope::All).unwrap_err().to_string();
        assert!(err.len() < 300, "{err}");
    }
}
