//! Provisioned throughput: what a caller asks for ([`ThroughputProperties`]) and the offer
//! document the service keeps it in ([`Offer`], PROTOCOL.md §10.1).

use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;

/// Autoscale settings: the service scales between a tenth of `max_throughput` and it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoscaleSettings {
    /// The highest RU/s the resource scales to.
    pub max_throughput: u32,
    /// Auto-upgrade: raise the maximum by this percentage when storage grows
    /// (`autoUpgradePolicy.throughputPolicy.incrementPercent`), if set.
    pub increment_percent: Option<u32>,
}

/// Throughput to provision: manual (a fixed RU/s) or autoscale (a maximum RU/s).
///
/// Built with [`ThroughputProperties::manual`], [`ThroughputProperties::autoscale`] or the
/// [`ThroughputPropertiesBuilder`]; the builders check the service's granularity (manual RU/s in
/// steps of 100, autoscale maximum in steps of 1,000 from 1,000: the limits of "Provision
/// throughput on containers and databases" and the autoscale FAQ) so a wrong value is refused
/// by name before anything is sent. Minimums that depend on the resource (storage, history) are
/// the service's to enforce: read them from
/// [`ThroughputResponse::min_throughput`](crate::throughput::ThroughputResponse::min_throughput).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThroughputProperties {
    /// A fixed RU/s.
    Manual(u32),
    /// Scales up to a maximum RU/s.
    Autoscale(AutoscaleSettings),
}

impl ThroughputProperties {
    /// Manual throughput of `ru_per_second` (a positive multiple of 100).
    pub fn manual(ru_per_second: u32) -> Result<Self, ConfigError> {
        Self::builder().manual(ru_per_second).build()
    }

    /// Autoscale throughput up to `max_ru_per_second` (a multiple of 1,000, at least 1,000).
    pub fn autoscale(max_ru_per_second: u32) -> Result<Self, ConfigError> {
        Self::builder().autoscale(max_ru_per_second).build()
    }

    /// A builder.
    pub fn builder() -> ThroughputPropertiesBuilder {
        ThroughputPropertiesBuilder::default()
    }

    /// True for autoscale.
    pub fn is_autoscale(&self) -> bool {
        matches!(self, ThroughputProperties::Autoscale(_))
    }

    /// The manual RU/s, if manual.
    pub fn throughput(&self) -> Option<u32> {
        match self {
            ThroughputProperties::Manual(n) => Some(*n),
            ThroughputProperties::Autoscale(_) => None,
        }
    }

    /// The autoscale maximum RU/s, if autoscale.
    pub fn autoscale_max_throughput(&self) -> Option<u32> {
        match self {
            ThroughputProperties::Autoscale(a) => Some(a.max_throughput),
            ThroughputProperties::Manual(_) => None,
        }
    }

    /// The header that provisions this throughput on `POST /dbs` or `POST …/colls`:
    /// `x-ms-offer-throughput` (manual) or `x-ms-cosmos-offer-autopilot-settings` (autoscale),
    /// as the Python and JS SDKs send them (PROTOCOL.md §10.1).
    pub fn creation_header(&self) -> (HeaderName, HeaderValue) {
        match self {
            ThroughputProperties::Manual(n) => (
                HeaderName::from_static(OFFER_THROUGHPUT),
                HeaderValue::from(*n),
            ),
            ThroughputProperties::Autoscale(a) => {
                let json = autopilot_json(a).to_string();
                // JSON of integers and ASCII keys is always a valid header value.
                let value =
                    HeaderValue::try_from(json).unwrap_or_else(|_| HeaderValue::from_static("{}"));
                (HeaderName::from_static(OFFER_AUTOPILOT_SETTINGS), value)
            }
        }
    }
}

/// `x-ms-offer-throughput`.
pub const OFFER_THROUGHPUT: &str = "x-ms-offer-throughput";
/// `x-ms-cosmos-offer-autopilot-settings`.
pub const OFFER_AUTOPILOT_SETTINGS: &str = "x-ms-cosmos-offer-autopilot-settings";
/// `x-ms-offer-replace-pending`: a scale is still being applied (PROTOCOL.md §10.1).
pub const OFFER_REPLACE_PENDING: &str = "x-ms-offer-replace-pending";
/// `x-ms-cosmos-min-throughput`: the lowest RU/s (or autoscale maximum) the resource accepts.
pub const MIN_THROUGHPUT: &str = "x-ms-cosmos-min-throughput";
/// `x-ms-cosmos-migrate-offer-to-autopilot: true` (REST "Replace an Offer", example 3).
pub const MIGRATE_TO_AUTOSCALE: &str = "x-ms-cosmos-migrate-offer-to-autopilot";
/// `x-ms-cosmos-migrate-offer-to-manual-throughput: true` (REST "Replace an Offer", example 4).
pub const MIGRATE_TO_MANUAL: &str = "x-ms-cosmos-migrate-offer-to-manual-throughput";

fn autopilot_json(a: &AutoscaleSettings) -> Value {
    let mut v = serde_json::json!({ "maxThroughput": a.max_throughput });
    if let (Some(p), Some(obj)) = (a.increment_percent, v.as_object_mut()) {
        obj.insert(
            "autoUpgradePolicy".into(),
            serde_json::json!({ "throughputPolicy": { "incrementPercent": p } }),
        );
    }
    v
}

/// Builds a [`ThroughputProperties`], checking its values.
#[derive(Debug, Clone, Default)]
pub struct ThroughputPropertiesBuilder {
    manual: Option<u32>,
    autoscale_max: Option<u32>,
    increment_percent: Option<u32>,
}

impl ThroughputPropertiesBuilder {
    /// Manual RU/s.
    pub fn manual(mut self, ru_per_second: u32) -> Self {
        self.manual = Some(ru_per_second);
        self
    }

    /// Autoscale maximum RU/s.
    pub fn autoscale(mut self, max_ru_per_second: u32) -> Self {
        self.autoscale_max = Some(max_ru_per_second);
        self
    }

    /// Autoscale only: raise the maximum by `percent` as storage grows.
    pub fn auto_upgrade_increment_percent(mut self, percent: u32) -> Self {
        self.increment_percent = Some(percent);
        self
    }

    /// Checks and builds.
    pub fn build(self) -> Result<ThroughputProperties, ConfigError> {
        let bad = |name: &str, value: String, expected: &str| ConfigError::InvalidSetting {
            name: name.into(),
            value,
            expected: expected.into(),
        };
        match (self.manual, self.autoscale_max) {
            (Some(_), Some(_)) => Err(bad(
                "throughput",
                "manual and autoscale".into(),
                "either manual or autoscale throughput, not both",
            )),
            (None, None) => Err(bad(
                "throughput",
                "nothing".into(),
                "manual(ru) or autoscale(max_ru)",
            )),
            (Some(n), None) => {
                if self.increment_percent.is_some() {
                    return Err(bad(
                        "auto_upgrade_increment_percent",
                        "set on manual throughput".into(),
                        "only with autoscale throughput",
                    ));
                }
                if n == 0 || n % 100 != 0 {
                    return Err(bad(
                        "manual throughput",
                        n.to_string(),
                        "a positive multiple of 100 RU/s",
                    ));
                }
                Ok(ThroughputProperties::Manual(n))
            }
            (None, Some(max)) => {
                if max < 1000 || max % 1000 != 0 {
                    return Err(bad(
                        "autoscale max throughput",
                        max.to_string(),
                        "a multiple of 1000 RU/s, at least 1000",
                    ));
                }
                if self.increment_percent == Some(0) {
                    return Err(bad(
                        "auto_upgrade_increment_percent",
                        "0".into(),
                        "a positive percentage",
                    ));
                }
                Ok(ThroughputProperties::Autoscale(AutoscaleSettings {
                    max_throughput: max,
                    increment_percent: self.increment_percent,
                }))
            }
        }
    }
}

/// An offer document (`offerVersion` V2): the throughput of one database or container.
/// Unknown fields, in the offer and in its `content`, are kept and sent back on replace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// The offer id (equal to its `_rid`).
    pub id: String,
    /// The offer's resource id: its address (`/offers/{rid}`).
    #[serde(rename = "_rid")]
    pub rid: String,
    /// `offerResourceId`: the `_rid` of the database or container it provisions.
    #[serde(rename = "offerResourceId", default)]
    pub offer_resource_id: String,
    /// `resource`: the RID-based link of the database or container.
    #[serde(default)]
    pub resource: String,
    /// The throughput settings.
    #[serde(default)]
    pub content: OfferContent,
    /// Everything else (`offerVersion`, `offerType`, `_self`, `_etag`, `_ts`, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// An offer's `content`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OfferContent {
    /// Manual RU/s, or the RU/s an autoscale resource is currently scaled to.
    #[serde(
        rename = "offerThroughput",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub offer_throughput: Option<i64>,
    /// Autoscale settings, present on autoscale offers.
    #[serde(
        rename = "offerAutopilotSettings",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub offer_autopilot_settings: Option<Value>,
    /// Everything else (`offerMinimumThroughputParameters`, `offerLastReplaceTimestamp`, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Offer {
    /// The throughput this offer provisions: autoscale when it has a positive
    /// `offerAutopilotSettings.maxThroughput`, else manual `offerThroughput`; `None` when
    /// neither is usable.
    pub fn throughput(&self) -> Option<ThroughputProperties> {
        let settings = self.content.offer_autopilot_settings.as_ref();
        let max = settings
            .and_then(|s| s.get("maxThroughput"))
            .and_then(Value::as_u64)
            .and_then(|m| u32::try_from(m).ok())
            .filter(|m| *m > 0);
        if let Some(max_throughput) = max {
            let increment_percent = settings
                .and_then(|s| s.pointer("/autoUpgradePolicy/throughputPolicy/incrementPercent"))
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok());
            return Some(ThroughputProperties::Autoscale(AutoscaleSettings {
                max_throughput,
                increment_percent,
            }));
        }
        self.content
            .offer_throughput
            .and_then(|n| u32::try_from(n).ok())
            .map(ThroughputProperties::Manual)
    }

    /// The RU/s the resource is provisioned at now (for autoscale: currently scaled to).
    pub fn current_throughput(&self) -> Option<i64> {
        self.content.offer_throughput
    }

    /// This offer with its content set to `target`, in the same mode (the body of
    /// `PUT /offers/{rid}`, REST "Replace an Offer" examples 1 and 2).
    pub fn with_throughput(&self, target: &ThroughputProperties) -> Offer {
        let mut next = self.clone();
        match target {
            ThroughputProperties::Manual(n) => {
                next.content.offer_throughput = Some(i64::from(*n));
                next.content.offer_autopilot_settings = None;
            }
            ThroughputProperties::Autoscale(a) => {
                next.content.offer_throughput = None;
                next.content.offer_autopilot_settings = Some(autopilot_json(a));
            }
        }
        next
    }

    /// The body that migrates this offer to `target`'s mode (REST "Replace an Offer" examples 3
    /// and 4: the value is ignored by the service, which picks the new RU/s), and the header that
    /// asks for the migration. `None` when the offer is already in that mode.
    pub fn migration_to(&self, target: &ThroughputProperties) -> Option<(Offer, &'static str)> {
        let autoscale_now = self.throughput().is_some_and(|t| t.is_autoscale());
        if autoscale_now == target.is_autoscale() {
            return None;
        }
        let mut next = self.clone();
        if target.is_autoscale() {
            next.content.offer_throughput = Some(-1);
            next.content.offer_autopilot_settings = None;
            Some((next, MIGRATE_TO_AUTOSCALE))
        } else {
            next.content.offer_throughput = None;
            next.content.offer_autopilot_settings =
                Some(serde_json::json!({ "maxThroughput": -1 }));
            Some((next, MIGRATE_TO_MANUAL))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn offer(content: Value) -> Offer {
        serde_json::from_value(json!({
            "id": "uT2L", "_rid": "uT2L", "_self": "offers/uT2L/", "_etag": "\"e\"", "_ts": 1,
            "offerVersion": "V2", "offerType": "Invalid",
            "resource": "dbs/rgkVAA==/colls/rgkVAMHcJww=/", "offerResourceId": "rgkVAMHcJww=",
            "content": content
        }))
        .unwrap()
    }

    #[test]
    fn builders_check_granularity_and_name_the_setting() {
        assert_eq!(
            ThroughputProperties::manual(400).unwrap(),
            ThroughputProperties::Manual(400)
        );
        assert!(ThroughputProperties::autoscale(4000)
            .unwrap()
            .is_autoscale());
        for (r, name) in [
            (ThroughputProperties::manual(0), "manual throughput"),
            (ThroughputProperties::manual(450), "manual throughput"),
            (
                ThroughputProperties::autoscale(500),
                "autoscale max throughput",
            ),
            (
                ThroughputProperties::autoscale(4500),
                "autoscale max throughput",
            ),
            (ThroughputProperties::builder().build(), "throughput"),
            (
                ThroughputProperties::builder()
                    .manual(400)
                    .auto_upgrade_increment_percent(10)
                    .build(),
                "auto_upgrade_increment_percent",
            ),
        ] {
            match r {
                Err(ConfigError::InvalidSetting { name: n, .. }) => assert_eq!(n, name),
                other => panic!("expected a refusal naming {name}, got {other:?}"),
            }
        }
    }

    #[test]
    fn creation_headers_match_the_sdks() {
        let (n, v) = ThroughputProperties::Manual(400).creation_header();
        assert_eq!((n.as_str(), v.to_str().unwrap()), (OFFER_THROUGHPUT, "400"));
        let (n, v) = ThroughputProperties::autoscale(4000)
            .unwrap()
            .creation_header();
        assert_eq!(n.as_str(), OFFER_AUTOPILOT_SETTINGS);
        assert_eq!(v.to_str().unwrap(), r#"{"maxThroughput":4000}"#);
    }

    #[test]
    fn offers_read_both_modes_and_keep_unknown_fields() {
        let manual =
            offer(json!({"offerThroughput": 1000, "offerIsRUPerMinuteThroughputEnabled": false}));
        assert_eq!(
            manual.throughput(),
            Some(ThroughputProperties::Manual(1000))
        );
        let auto = offer(json!({"offerThroughput": 400, "offerAutopilotSettings": {
            "maxThroughput": 4000, "autoUpgradePolicy": {"throughputPolicy": {"incrementPercent": 10}}}}));
        assert_eq!(
            auto.throughput(),
            Some(ThroughputProperties::Autoscale(AutoscaleSettings {
                max_throughput: 4000,
                increment_percent: Some(10)
            }))
        );
        assert_eq!(auto.current_throughput(), Some(400));
        let back = serde_json::to_value(&manual).unwrap();
        assert_eq!(back["offerVersion"], "V2");
        assert_eq!(
            back["content"]["offerIsRUPerMinuteThroughputEnabled"],
            false
        );
        assert_eq!(back["_etag"], "\"e\"");
    }

    #[test]
    fn replace_and_migration_bodies_follow_the_rest_reference() {
        let manual = offer(json!({"offerThroughput": 400}));
        let to_1000 = manual.with_throughput(&ThroughputProperties::Manual(1000));
        assert_eq!(
            serde_json::to_value(&to_1000).unwrap()["content"],
            json!({"offerThroughput": 1000})
        );
        assert!(manual
            .migration_to(&ThroughputProperties::Manual(500))
            .is_none());
        let (body, header) = manual
            .migration_to(&ThroughputProperties::autoscale(4000).unwrap())
            .unwrap();
        assert_eq!(header, MIGRATE_TO_AUTOSCALE);
        assert_eq!(
            serde_json::to_value(&body).unwrap()["content"],
            json!({"offerThroughput": -1})
        );
        let auto = offer(
            json!({"offerThroughput": 400, "offerAutopilotSettings": {"maxThroughput": 4000}}),
        );
        let (body, header) = auto
            .migration_to(&ThroughputProperties::Manual(400))
            .unwrap();
        assert_eq!(header, MIGRATE_TO_MANUAL);
        assert_eq!(
            serde_json::to_value(&body).unwrap()["content"],
            json!({"offerAutopilotSettings": {"maxThroughput": -1}})
        );
    }
}
