//! An operation turned into everything needed to build attempts: static headers, class, paths.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};

use crate::auth::encode::encode_uri_component;
use crate::credential::{select_resource_token, Credential};
use crate::driver::{Driver, HeaderValues};
use crate::error::ConfigError;
use crate::headers::{names, API_VERSION};
use crate::ids::ActivityId;
use crate::models::ContainerReference;
use crate::operation::options::QueryRole;
use crate::operation::{Address, CosmosOperation, OperationKind, OperationOptions, ResourceType};
use crate::policy::OpClass;
use crate::regions::RegionRoute;

use super::point_headers::PointHeaders;

pub(super) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
/// Queries are posted as `application/query+json` (PROTOCOL.md §7.1).
const APPLICATION_QUERY_JSON: HeaderValue = HeaderValue::from_static("application/query+json");
/// PROTOCOL.md §8.1: the JSON Patch media type (Python's spelling, RFC 6902's).
const APPLICATION_JSON_PATCH: HeaderValue = HeaderValue::from_static("application/json-patch+json");
pub(super) const TRUE: HeaderValue = HeaderValue::from_static("True");
/// `x-ms-cosmos-allow-tentative-writes` is sent lower-case, as the SDKs send it.
pub(super) const TENTATIVE_TRUE: HeaderValue = HeaderValue::from_static("true");
pub(super) const RETURN_MINIMAL: HeaderValue = HeaderValue::from_static("return=minimal");

/// The parts of an operation that do not change between attempts.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// For data-plane (item) operations: session tokens are kept under the container link
    /// (`container.0`). False for metadata reads, which neither send nor capture tokens.
    pub session_scoped: bool,
    /// For item operations: the container (its link and encoded path).
    pub container: Option<ContainerReference>,
    /// The partition key, when the operation targets one partition.
    pub partition_key: Option<crate::models::PartitionKey>,
    /// Send the container's session token on each attempt (Session reads without an explicit token).
    pub send_session: bool,
    pub kind: OperationKind,
    pub resource_type: ResourceType,
    pub method: Method,
    pub link: Address,
    /// The URL path; `None`: the same as `link`.
    pub path: Option<String>,
    pub body: Bytes,
    /// The static headers. The first attempt takes them when `rebuild` is set; later attempts
    /// (retries, hedges) get a rebuilt copy. Empty for point operations, whose attempts build
    /// theirs from the driver's header templates (`Rebuild::point`).
    pub headers: HeaderMap,
    pub class: OpClass,
    /// What rebuilding `headers` needs once an attempt has taken them. `None`: every attempt
    /// clones `headers` (metadata reads, tracking checks).
    pub rebuild: Option<Rebuild>,
    /// `headers` went to an attempt; the next attempt rebuilds them from `rebuild`.
    pub taken: bool,
}

/// The inputs of [`Prepared`]'s static headers that the operation itself does not keep, so that
/// an attempt can take the map instead of cloning it (a clone per attempt was 2 allocations
/// plus the growth of the clone's entries).
#[derive(Debug)]
pub(crate) struct Rebuild {
    opts: OperationOptions,
    op_headers: Vec<(http::HeaderName, HeaderValue)>,
    /// The partition key when `Prepared::partition_key` does not keep it (not routed by it).
    partition_key: Option<crate::models::PartitionKey>,
    has_body: bool,
    /// The operation's `x-ms-activity-id` value: the first attempt that builds its headers
    /// takes it (a clone is a shared reference count raised and dropped, an atomic pair
    /// natively), and later ones cut it again from `activity` (`Rebuild::take_activity_id`).
    activity_id: Option<HeaderValue>,
    activity: ActivityId,
    /// A point operation: each attempt's map is cloned from the driver's template of its shape
    /// (`point_headers.rs`), and `Prepared::headers` stays empty.
    point: bool,
    /// A point operation's partition key header, checked when the operation started; the first
    /// attempt takes it, later ones build it again.
    pk_header: Option<HeaderValue>,
}

/// What the static headers depend on from the operation.
impl Rebuild {
    /// The `x-ms-activity-id` value for the next attempt: the operation's own the first time,
    /// cut again from the id after that (the same text).
    fn take_activity_id(&mut self, values: &mut HeaderValues) -> HeaderValue {
        self.activity_id
            .take()
            .unwrap_or_else(|| values.activity_id(&self.activity))
    }
}

struct HeaderInputs<'a> {
    kind: OperationKind,
    resource_type: ResourceType,
    has_body: bool,
    partition_key: Option<&'a crate::models::PartitionKey>,
    op_headers: &'a [(http::HeaderName, HeaderValue)],
}

impl Prepared {
    pub fn new(
        d: &mut Driver,
        op: CosmosOperation,
        opts: OperationOptions,
        activity: ActivityId,
        activity_id: HeaderValue,
    ) -> Result<(Prepared, Option<Box<super::tracking::Tracking>>), ConfigError> {
        if let Some(p) = &opts.problem {
            return Err(ConfigError::clone(p));
        }
        op.validate(matches!(opts.query_role, QueryRole::Range(_)))?;
        if !op.account().same_account(&d.account) {
            return Err(ConfigError::AccountMismatch {
                operation: op.account().endpoint().to_string(),
                driver: d.account.endpoint().to_string(),
            });
        }
        let has_body = op.body.is_some();
        let opted_in = opts
            .retry_non_idempotent_writes
            .unwrap_or(d.eff.retry_non_idempotent_writes);
        // A tracked write's read-back check is built from the static map: those build it.
        let tracked = opted_in && super::tracking::tracks(op.kind, op.resource_type);
        let point = is_point(op.kind, &op.headers, &opts) && !tracked;
        let (h, pk_header) = if point {
            let pk = (op.partition_key.as_ref())
                .map(|pk| shared_pk_value(&mut d.header_values, pk))
                .transpose()?;
            (HeaderMap::new(), pk)
        } else {
            let h = static_headers(
                d,
                &HeaderInputs {
                    kind: op.kind,
                    resource_type: op.resource_type,
                    has_body,
                    partition_key: op.partition_key.as_ref(),
                    op_headers: &op.headers,
                },
                &opts,
                activity_id.clone(),
            )?;
            (h, None)
        };
        // Idempotent by construction: a conditional write cannot apply twice (PROTOCOL.md §4).
        let conditional = opts.if_match.is_some()
            && matches!(
                op.kind,
                OperationKind::Upsert
                    | OperationKind::Replace
                    | OperationKind::Delete
                    | OperationKind::Patch
            );
        // A patch that gives the same document applied twice (only set, replace, add to a key),
        // and deleting a partition key's items, leave the same state when repeated.
        let conditional = conditional
            || op.kind == OperationKind::DeletePartitionKey
            || (op.kind == OperationKind::Patch
                && op
                    .body
                    .as_deref()
                    .is_some_and(crate::operation::patch::is_idempotent));
        let kind = op.kind;
        let writes = !kind.is_read_only();
        let container = op.scope.into_container();
        let session_scoped = container.is_some();
        let single_partition = op.resource_type == ResourceType::Item
            && kind != OperationKind::ReadFeed
            && container.is_some();
        let (routing_key, header_key) = if single_partition {
            (op.partition_key, None)
        } else {
            (None, op.partition_key)
        };
        let consistency = opts
            .consistency_level
            .or(d.eff.consistency_level)
            .or_else(|| d.account_properties().and_then(|p| p.default_consistency));
        // Session tokens matter for reads (writes are served by the write region, which has
        // everything); an explicit token from the caller wins. Unknown default: send it, the
        // service ignores a token it does not need.
        let send_session = !writes
            && opts.session_token.is_none()
            && matches!(
                consistency,
                None | Some(crate::models::ConsistencyLevel::Session)
            );
        let tracking_id = opted_in.then(|| activity_id.to_str().unwrap_or_default().to_owned());
        let mut prepared = Prepared {
            kind,
            session_scoped,
            container,
            partition_key: routing_key,
            send_session,
            resource_type: op.resource_type,
            method: op.kind.method(),
            link: op.link,
            path: op.path,
            body: op.body.unwrap_or_default(),
            headers: h,
            class: OpClass {
                read_only: !writes,
                retry_safe: !writes || conditional || opted_in,
            },
            // Built in place: the options are the biggest part of `Prepared`.
            rebuild: Some(Rebuild {
                opts,
                op_headers: op.headers,
                partition_key: header_key,
                has_body,
                activity_id: Some(activity_id),
                activity,
                point,
                pk_header,
            }),
            taken: false,
        };
        let tracking = match tracking_id {
            // Boxed here: the common result (no tracking) stays small to move.
            Some(id) => super::tracking::stamp(&prepared, kind, &id).map(|(body, t)| {
                prepared.body = body;
                Box::new(t)
            }),
            None => None,
        };
        Ok((prepared, tracking))
    }

    /// Account metadata reads are plain reads of `GET /`.
    pub fn account_read(d: &Driver, activity_id: HeaderValue) -> Prepared {
        let mut h = HeaderMap::with_capacity(8);
        h.insert(names::X_MS_VERSION, HeaderValue::from_static(API_VERSION));
        h.insert(
            names::SDK_SUPPORTED_CAPABILITIES,
            HeaderValue::from_static(SUPPORTED_CAPABILITIES),
        );
        h.insert(http::header::USER_AGENT, d.user_agent.clone());
        h.insert(http::header::ACCEPT, APPLICATION_JSON);
        h.insert(names::ACTIVITY_ID, activity_id);
        Prepared {
            kind: OperationKind::Read,
            session_scoped: false,
            container: None,
            partition_key: None,
            send_session: false,
            resource_type: ResourceType::Account,
            method: Method::GET,
            link: Address::default(),
            path: None,
            body: Bytes::new(),
            headers: h,
            class: OpClass {
                read_only: true,
                retry_safe: true,
            },
            rebuild: None,
            taken: false,
        }
    }

    /// The container link session tokens of this operation are kept under, if any.
    pub fn session_scope(&self) -> Option<&str> {
        match &self.container {
            Some(c) if self.session_scoped => Some(c.link()),
            _ => None,
        }
    }

    /// The URL path without the leading slash.
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or(&self.link)
    }

    pub fn uses_write_regions(&self) -> bool {
        !self.class.read_only
    }

    /// Full URL for `route`.
    pub fn url(&self, route: &RegionRoute) -> crate::diagnostics::AttemptUrl {
        crate::diagnostics::AttemptUrl::join(&route.endpoint, self.path())
    }

    /// What each attempt signs and sends afresh: the date (kept in the driver as of `wall`),
    /// the signature over it, and the container's session token when the operation sends one.
    fn attempt_values(
        &self,
        d: &mut Driver,
        wall: std::time::SystemTime,
        range: Option<&(String, Vec<String>)>,
    ) -> Result<(HeaderValue, Option<HeaderValue>), ConfigError> {
        d.date.update(wall);
        let auth = authorization(d, &self.method, self.resource_type.token(), &self.link)?;
        if !self.send_session {
            return Ok((auth, None));
        }
        // The range's token (or its nearest parent's after a split) when the range is known;
        // otherwise every token of the container.
        let session = self.session_scope().and_then(|c| match range {
            Some((id, parents)) => {
                let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
                d.sessions.header_for_range_with_parents(c, id, &parents)
            }
            None => d.sessions.header_for_container(c),
        });
        Ok((auth, session))
    }

    /// Headers for one attempt: the static ones plus a fresh date and signature.
    pub fn attempt_headers(
        &mut self,
        d: &mut Driver,
        wall: std::time::SystemTime,
        hub_only: bool,
        tentative_writes: bool,
        range: Option<&(String, Vec<String>)>,
    ) -> Result<HeaderMap, ConfigError> {
        let (auth, session) = self.attempt_values(d, wall, range)?;
        if let Some(r) = self.rebuild.as_mut().filter(|r| r.point) {
            let partition_key = match r.pk_header.take() {
                Some(v) => Some(v),
                None => (self.partition_key.as_ref())
                    .or(r.partition_key.as_ref())
                    .map(|pk| shared_pk_value(&mut d.header_values, pk))
                    .transpose()?,
            };
            let activity_id = r.take_activity_id(&mut d.header_values);
            let opts = &r.opts;
            let headers = PointHeaders {
                user_agent: d.user_agent.clone(),
                activity_id,
                partition_key,
                content_type: body_content_type(self.kind, r.has_body),
                upsert: self.kind == OperationKind::Upsert,
                if_match: opts.if_match.clone(),
                if_none_match: opts.if_none_match.clone(),
                session_token: opts.session_token.clone(),
                consistency: consistency_value(d, opts),
                prefer_minimal: prefer_minimal(d, self.kind, self.resource_type, opts),
                date: d.date.value(),
                authorization: auth,
                hub_only,
                tentative_writes,
                session,
            };
            return Ok(d
                .header_templates
                .build(headers.shape(), |sink| headers.write(sink)));
        }
        let mut h = self.static_headers(d)?;
        insert_attempt_headers(
            &mut h,
            d.date.value(),
            auth,
            hub_only,
            tentative_writes,
            session,
        );
        Ok(h)
    }
}

/// The headers an attempt adds to the static ones, in the order they are sent.
fn insert_attempt_headers(
    h: &mut HeaderMap,
    date: HeaderValue,
    authorization: HeaderValue,
    hub_only: bool,
    tentative_writes: bool,
    session: Option<HeaderValue>,
) {
    h.insert(names::X_MS_DATE, date);
    h.insert(names::AUTHORIZATION, authorization);
    if hub_only {
        h.insert(names::HUB_REGION_ONLY, TRUE);
    }
    if tentative_writes {
        h.insert(names::ALLOW_TENTATIVE_WRITES, TENTATIVE_TRUE);
    }
    if let Some(v) = session {
        h.insert(names::SESSION_TOKEN, v);
    }
}

/// True for the operations whose attempts take the point-operation headers
/// (`point_headers.rs`): creates, reads, replaces, upserts, deletes and patches of one resource,
/// deleting a partition key's items and running a stored procedure; not queries, feeds,
/// batches or the change feed (they add headers of their kind), nor operations with custom
/// headers.
fn is_point(
    kind: OperationKind,
    op_headers: &[(http::HeaderName, HeaderValue)],
    opts: &OperationOptions,
) -> bool {
    !kind.is_feed()
        && !matches!(kind, OperationKind::Query | OperationKind::Batch)
        && op_headers.is_empty()
        && opts.custom_headers.is_empty()
        && opts.change_feed.is_none()
}

/// The partition key header's value, cut from the driver's shared buffer (point operations).
fn shared_pk_value(
    values: &mut HeaderValues,
    pk: &crate::models::PartitionKey,
) -> Result<HeaderValue, ConfigError> {
    values.partition_key(pk).map_err(|_| invalid_pk())
}

/// The error of a partition key whose header value is not a valid header.
fn invalid_pk() -> ConfigError {
    ConfigError::InvalidOperation("partition key does not serialize to a valid header".into())
}

/// The partition key header's value.
fn pk_value(pk: &crate::models::PartitionKey) -> Result<HeaderValue, ConfigError> {
    // `TryFrom<String>` takes the string's buffer: no second copy.
    HeaderValue::try_from(pk.to_header_value()).map_err(|_| invalid_pk())
}

/// The `content-type` of an operation other than a query: JSON Patch for a patch, JSON for any
/// other body.
fn body_content_type(kind: OperationKind, has_body: bool) -> Option<HeaderValue> {
    if kind == OperationKind::Patch {
        Some(APPLICATION_JSON_PATCH)
    } else {
        has_body.then_some(APPLICATION_JSON)
    }
}

/// `x-ms-consistency-level`: the operation's level, else the driver's (never the account's
/// default, which the service applies itself).
fn consistency_value(d: &Driver, opts: &OperationOptions) -> Option<HeaderValue> {
    (opts.consistency_level.or(d.eff.consistency_level))
        .map(|c| HeaderValue::from_static(c.as_str()))
}

/// `Prefer: return=minimal` for an item write that does not want its content back.
fn prefer_minimal(
    d: &Driver,
    kind: OperationKind,
    resource_type: ResourceType,
    opts: &OperationOptions,
) -> bool {
    let content_on_write = opts
        .content_response_on_write
        .unwrap_or(d.eff.content_response_on_write);
    !kind.is_read_only() && !content_on_write && resource_type == ResourceType::Item
}

/// The static headers of an operation, in the order they are sent. Room for 12 headers: the
/// usual 6 to 8 plus the date, signature and session token of the attempt that takes them.
fn static_headers(
    d: &Driver,
    inputs: &HeaderInputs<'_>,
    opts: &OperationOptions,
    activity_id: HeaderValue,
) -> Result<HeaderMap, ConfigError> {
    let mut h = HeaderMap::with_capacity(12);
    h.insert(names::X_MS_VERSION, HeaderValue::from_static(API_VERSION));
    h.insert(
        names::SDK_SUPPORTED_CAPABILITIES,
        HeaderValue::from_static(SUPPORTED_CAPABILITIES),
    );
    h.insert(http::header::USER_AGENT, d.user_agent.clone());
    h.insert(http::header::ACCEPT, APPLICATION_JSON);
    h.insert(names::ACTIVITY_ID, activity_id);
    if let Some(pk) = inputs.partition_key {
        h.insert(names::PARTITION_KEY, pk_value(pk)?);
    }
    if inputs.kind == OperationKind::Query {
        h.insert(http::header::CONTENT_TYPE, APPLICATION_QUERY_JSON);
        match &opts.query_role {
            QueryRole::Plan => {
                // As the official Rust driver sends it (PROTOCOL.md §7.2).
                h.insert(names::IS_QUERY_PLAN_REQUEST, TRUE);
                h.insert(
                    names::SUPPORTED_QUERY_FEATURES,
                    HeaderValue::from_static(crate::execution::fanout::SUPPORTED_QUERY_FEATURES),
                );
                h.insert(names::QUERY_VERSION, HeaderValue::from_static("1.0"));
            }
            QueryRole::SubRange(bounds) => {
                let (id, min, max) = &**bounds;
                let value = |v: &str| {
                    HeaderValue::from_str(v).map_err(|_| {
                        ConfigError::InvalidOperation(format!(
                            "feed range bound {v:?} is not a valid header value"
                        ))
                    })
                };
                h.insert(names::PARTITION_KEY_RANGE_ID, value(id)?);
                h.insert(
                    names::READ_KEY_TYPE,
                    HeaderValue::from_static("EffectivePartitionKeyRange"),
                );
                h.insert(names::START_EPK, value(min)?);
                h.insert(names::END_EPK, value(max)?);
            }
            QueryRole::Range(id) => {
                let v = HeaderValue::from_str(id).map_err(|_| {
                    ConfigError::InvalidOperation(format!(
                        "partition key range id {id:?} is not a valid header value"
                    ))
                })?;
                h.insert(names::PARTITION_KEY_RANGE_ID, v);
            }
            QueryRole::Plain => {}
        }
        if opts.query_role != QueryRole::Plan {
            h.insert(names::IS_QUERY, TRUE);
        }
        if inputs.partition_key.is_none() && inputs.resource_type == ResourceType::Item {
            h.insert(names::ENABLE_CROSS_PARTITION, TRUE);
        }
        if opts.populate_query_metrics {
            h.insert(names::POPULATE_QUERY_METRICS, TRUE);
        }
        if opts.populate_index_metrics {
            h.insert(names::POPULATE_INDEX_METRICS, TRUE);
        }
    } else if let Some(v) = body_content_type(inputs.kind, inputs.has_body) {
        h.insert(http::header::CONTENT_TYPE, v);
    }
    if inputs.kind.is_feed() {
        if let Some(n) = opts.max_item_count {
            h.insert(names::MAX_ITEM_COUNT, HeaderValue::from(n));
        }
        if let Some(c) = &opts.continuation {
            let v = HeaderValue::from_str(c).map_err(|_| ConfigError::InvalidSetting {
                name: "continuation".into(),
                value: c.chars().take(64).collect(),
                expected: "a continuation token returned by a previous page".into(),
            })?;
            h.insert(names::CONTINUATION, v);
        }
    }
    if inputs.kind == OperationKind::Upsert {
        h.insert(names::IS_UPSERT, TRUE);
    }
    if let Some(cf) = opts.change_feed.as_deref() {
        // PROTOCOL.md §9.1: one range (or one partition key) of a change-feed page.
        let value = |what: &str, v: &str| {
            HeaderValue::from_str(v).map_err(|_| {
                ConfigError::InvalidOperation(format!(
                    "change feed {what} {v:?} is not a valid header value"
                ))
            })
        };
        if cf.full_fidelity {
            h.insert(names::A_IM, HeaderValue::from_static("Full-Fidelity Feed"));
            h.insert(
                names::CHANGE_FEED_WIRE_FORMAT,
                HeaderValue::from_static("2021-09-15"),
            );
        } else {
            h.insert(names::A_IM, HeaderValue::from_static("Incremental Feed"));
        }
        if let Some(e) = &cf.if_none_match {
            h.insert(names::IF_NONE_MATCH, value("etag", e)?);
        }
        if let Some(t) = &cf.if_modified_since {
            h.insert(names::IF_MODIFIED_SINCE, value("start time", t)?);
        }
        match &opts.query_role {
            QueryRole::Range(id) => {
                h.insert(names::PARTITION_KEY_RANGE_ID, value("range id", id)?);
            }
            QueryRole::SubRange(bounds) => {
                let (id, min, max) = &**bounds;
                h.insert(names::PARTITION_KEY_RANGE_ID, value("range id", id)?);
                h.insert(
                    names::READ_KEY_TYPE,
                    HeaderValue::from_static("EffectivePartitionKeyRange"),
                );
                h.insert(names::START_EPK, value("range bound", min)?);
                h.insert(names::END_EPK, value("range bound", max)?);
            }
            QueryRole::Plain | QueryRole::Plan => {}
        }
    }
    if inputs.kind == OperationKind::Batch {
        h.insert(names::IS_BATCH_REQUEST, TRUE);
        if let QueryRole::Range(id) = &opts.query_role {
            // PROTOCOL.md §8.3: a bulk batch targets a range; each operation carries its
            // own partition key and fails alone.
            let v = HeaderValue::from_str(id).map_err(|_| {
                ConfigError::InvalidOperation(format!(
                    "partition key range id {id:?} is not a valid header value"
                ))
            })?;
            h.insert(names::PARTITION_KEY_RANGE_ID, v);
            h.insert(names::BATCH_ATOMIC, HeaderValue::from_static("False"));
            h.insert(names::BATCH_CONTINUE_ON_ERROR, TRUE);
        } else {
            // PROTOCOL.md §8.2: an atomic batch stops at the first failure.
            h.insert(names::BATCH_ATOMIC, TRUE);
            h.insert(
                names::BATCH_CONTINUE_ON_ERROR,
                HeaderValue::from_static("False"),
            );
        }
    }
    if let Some(v) = &opts.if_match {
        h.insert(names::IF_MATCH, v.clone());
    }
    if let Some(v) = &opts.if_none_match {
        h.insert(names::IF_NONE_MATCH, v.clone());
    }
    if let Some(v) = &opts.session_token {
        h.insert(names::SESSION_TOKEN, v.clone());
    }
    if let Some(v) = consistency_value(d, opts) {
        h.insert(names::CONSISTENCY_LEVEL, v);
    }
    if prefer_minimal(d, inputs.kind, inputs.resource_type, opts) {
        h.insert(names::PREFER, RETURN_MINIMAL);
    }
    for (n, v) in inputs.op_headers.iter().chain(&opts.custom_headers) {
        h.append(n.clone(), v.clone());
    }
    Ok(h)
}

impl Prepared {
    /// The static headers for the next attempt: the prepared map itself for the first attempt
    /// of an operation, a rebuilt one (same headers, same order) for later attempts; a clone for
    /// requests that cannot rebuild them.
    fn static_headers(&mut self, d: &mut Driver) -> Result<HeaderMap, ConfigError> {
        let Some(r) = &mut self.rebuild else {
            return Ok(self.headers.clone());
        };
        if !self.taken {
            self.taken = true;
            return Ok(std::mem::take(&mut self.headers));
        }
        let activity_id = r.take_activity_id(&mut d.header_values);
        static_headers(
            d,
            &HeaderInputs {
                kind: self.kind,
                resource_type: self.resource_type,
                has_body: r.has_body,
                partition_key: self.partition_key.as_ref().or(r.partition_key.as_ref()),
                op_headers: &r.op_headers,
            },
            &r.opts,
            activity_id,
        )
    }
}

/// `x-ms-cosmos-sdk-supportedcapabilities`: `1`, partition merge (the JS SDK's value; .NET and
/// Java send a bitmask with this bit set). The service refuses clients without it on accounts
/// with merge enabled. Sextant handles merges: routing re-reads the map on 410/1002, query
/// tokens, change-feed positions and processor leases are EPK ranges that a merged range is read
/// with bounds for (tests/tests/merge.rs, the processor test's merge).
pub(super) const SUPPORTED_CAPABILITIES: &str = "1";

/// The `authorization` header value for one request, signed as of the driver's current
/// `x-ms-date`.
fn authorization(
    d: &mut Driver,
    method: &Method,
    resource_type: &str,
    link: &str,
) -> Result<HeaderValue, ConfigError> {
    let date = d.date.text();
    let value = match d.account.credential() {
        Credential::MasterKey(key) => {
            // Cut from the shared buffer: no allocation per signature.
            return (d.header_values)
                .signature(key, method.as_str(), resource_type, link, date)
                .map_err(|_| invalid_authorization());
        }
        Credential::ResourceTokens(tokens) => {
            let t = select_resource_token(tokens, link).ok_or_else(|| {
                ConfigError::InvalidCredential {
                    reason: format!("no resource token covers {link:?}"),
                }
            })?;
            encode_uri_component(&t.token)
        }
        Credential::TokenCredential(_) => {
            let token = d
                .token
                .current()
                .ok_or_else(|| ConfigError::InvalidCredential {
                    reason: "no Entra ID token available".into(),
                })?;
            encode_uri_component(&format!("type=aad&ver=1.0&sig={}", token.token))
        }
    };
    HeaderValue::try_from(value).map_err(|_| invalid_authorization())
}

/// The error of an `authorization` value that is not a valid header.
fn invalid_authorization() -> ConfigError {
    ConfigError::InvalidCredential {
        reason: "the authorization value is not a valid header".into(),
    }
}

impl Prepared {
    /// A metadata read (container properties or pk ranges) for routing.
    pub fn metadata_read(
        d: &Driver,
        activity_id: HeaderValue,
        container: &ContainerReference,
        pk_ranges: Option<(Option<&str>, Option<&str>)>,
    ) -> Prepared {
        let mut p = Prepared::account_read(d, activity_id);
        p.container = Some(container.clone());
        p.link = Address::Shared(container.link_arc().clone());
        match pk_ranges {
            None => {
                p.resource_type = ResourceType::Container;
                p.path = Some(container.path().to_string());
            }
            Some((etag, continuation)) => {
                p.resource_type = ResourceType::PartitionKeyRange;
                p.path = Some(format!("{}/pkranges", container.path()));
                if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
                    p.headers
                        .insert(names::A_IM, HeaderValue::from_static("Incremental Feed"));
                    p.headers.insert(names::IF_NONE_MATCH, etag);
                }
                if let Some(c) = continuation.and_then(|c| HeaderValue::from_str(c).ok()) {
                    p.headers.insert(names::CONTINUATION, c);
                }
            }
        }
        p
    }
}

#[cfg(test)]
#[path = "point_headers_tests.rs"]
mod point_headers_tests;
