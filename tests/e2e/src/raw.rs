//! The baseline: reqwest with hand-built, hand-signed headers — the minimum a correct Cosmos DB
//! request needs (x-ms-date, x-ms-version, authorization, x-ms-documentdb-partitionkey,
//! content-type on writes), on a reqwest client built like sextant-tokio's.
//!
//! Variants:
//! - `raw` ([`Raw::read`], [`Raw::create`]): that minimum, and only the status and body of the
//!   response are looked at. The strict baseline.
//! - `raw-wire` ([`Raw::read_wire`], [`Raw::create_wire`]): the identical wire work of a
//!   hand-written application that follows the protocol as Sextant does — Sextant's header set in
//!   Sextant's order (`x-ms-version`, `x-ms-cosmos-sdk-supportedcapabilities`, `user-agent`,
//!   `accept`, `x-ms-activity-id`, `x-ms-documentdb-partitionkey`, `content-type` on creates,
//!   `x-ms-date`, `authorization`, `x-ms-session-token` on reads once one was returned), and the
//!   response's session token, request charge and activity id read; see [`crate::wire`].
//!
//! - `raw-wire-app`: `raw-wire` plus what an application does (re-keyed HMAC per request,
//!   deserialized body; [`Wire::application`]).
//!
//! It is also used to set up each block (database, container, the item the reads read).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use sextant_core::auth::MasterKey;

use crate::wire::Wire;
use crate::workload::Target;

const X_MS_DATE: HeaderName = HeaderName::from_static("x-ms-date");
const X_MS_VERSION: HeaderName = HeaderName::from_static("x-ms-version");
const X_MS_PK: HeaderName = HeaderName::from_static("x-ms-documentdb-partitionkey");
const VERSION: HeaderValue = HeaderValue::from_static("2020-07-15");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A raw client for one container.
pub struct Raw {
    client: reqwest::Client,
    key: MasterKey,
    /// `http://127.0.0.1:PORT/`.
    base: String,
    /// `dbs/{db}/colls/{coll}`.
    container_link: String,
    timeout: Duration,
    /// The `raw-wire` variant's activity ids and session token (unused by `raw`).
    wire: Wire,
}

/// Builds a reqwest client the way sextant-tokio does (rustls, keep-alive pool, no retries,
/// no redirects, TCP_NODELAY).
pub fn build_client(pool_max_idle: usize) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .pool_max_idle_per_host(pool_max_idle)
        .pool_idle_timeout(Duration::from_secs(90))
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .retry(reqwest::retry::never())
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .build()
        .map_err(|e| format!("reqwest client: {e}"))
}

impl Raw {
    /// A raw client for `target`'s container.
    pub fn new(target: &Target, pool_max_idle: usize, timeout: Duration) -> Result<Raw, String> {
        Ok(Raw {
            client: build_client(pool_max_idle)?,
            key: MasterKey::parse(&target.key).map_err(|e| e.to_string())?,
            base: target.endpoint.clone(),
            container_link: format!("dbs/{}/colls/{}", target.database, target.container),
            timeout,
            wire: Wire::new(),
        })
    }

    /// The `raw-wire-app` client: the wire requests re-key the HMAC from `key_base64` per
    /// request and deserialize the body ([`Wire::application`]).
    pub fn wire_application(mut self, key_base64: &str) -> Self {
        self.wire = Wire::application(key_base64);
        self
    }

    /// Point read: `GET {base}dbs/{db}/colls/{coll}/docs/{id}`, expects 200.
    pub async fn read(&self, id: &str, pk: &str) -> Result<(), String> {
        let link = format!("{}/docs/{id}", self.container_link);
        let (status, body) = self
            .send(reqwest::Method::GET, "docs", &link, &link, Some(pk), None)
            .await?;
        expect(status, 200, &body)
    }

    /// Create: `POST {base}dbs/{db}/colls/{coll}/docs` with `body`, expects 201.
    pub async fn create(&self, pk: &str, body: String) -> Result<(), String> {
        let path = format!("{}/docs", self.container_link);
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "docs",
                &self.container_link,
                &path,
                Some(pk),
                Some(body),
            )
            .await?;
        expect(status, 201, &body)
    }

    /// One signed request. `link` is signed; `path` is appended to the base URL (the ids the
    /// harness uses never need percent-encoding).
    pub async fn send(
        &self,
        method: reqwest::Method,
        resource_type: &str,
        link: &str,
        path: &str,
        pk: Option<&str>,
        body: Option<String>,
    ) -> Result<(u16, Bytes), String> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let auth = self.key.sign(method.as_str(), resource_type, link, &date);
        let mut url = String::with_capacity(self.base.len() + path.len());
        url.push_str(&self.base);
        url.push_str(path);
        let mut req = self
            .client
            .request(method, url)
            .header(X_MS_DATE, date)
            .header(X_MS_VERSION, VERSION)
            .header(AUTHORIZATION, auth)
            .timeout(self.timeout);
        if let Some(pk) = pk {
            req = req.header(X_MS_PK, format!("[\"{pk}\"]"));
        }
        if let Some(body) = body {
            req = req.header(CONTENT_TYPE, JSON).body(body);
        }
        let resp = req.send().await.map_err(|e| format!("raw request: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("raw response body: {e}"))?;
        Ok((status, body))
    }

    /// `raw-wire` point read: as [`Raw::read`] with Sextant's headers (the session token
    /// when one was captured), reading the response headers Sextant reads.
    pub async fn read_wire(&self, id: &str, pk: &str) -> Result<(), String> {
        let link = format!("{}/docs/{id}", self.container_link);
        let (status, body) = self
            .send_wire(reqwest::Method::GET, &link, &link, pk, None)
            .await?;
        expect(status, 200, &body)?;
        self.wire.read_body(&body)
    }

    /// `raw-wire` create: as [`Raw::create`] with Sextant's headers, reading the response
    /// headers Sextant reads.
    pub async fn create_wire(&self, pk: &str, body: String) -> Result<(), String> {
        let path = format!("{}/docs", self.container_link);
        let (status, body) = self
            .send_wire(
                reqwest::Method::POST,
                &self.container_link,
                &path,
                pk,
                Some(body),
            )
            .await?;
        expect(status, 201, &body)?;
        self.wire.read_body(&body)
    }

    /// One signed item request with the `raw-wire` headers, in Sextant's order, in a map
    /// sized for them (given to the request whole, so it never grows).
    async fn send_wire(
        &self,
        method: reqwest::Method,
        link: &str,
        path: &str,
        pk: &str,
        body: Option<String>,
    ) -> Result<(u16, Bytes), String> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let auth = self
            .wire
            .sign(&self.key, method.as_str(), "docs", link, &date)?;
        let mut url = String::with_capacity(self.base.len() + path.len());
        url.push_str(&self.base);
        url.push_str(path);
        let url = reqwest::Url::parse(&url).map_err(|e| format!("raw url: {e}"))?;
        let headers = self.wire.request_headers(pk, body.is_some(), date, auth)?;
        let mut req = reqwest::Request::new(method, url);
        *req.headers_mut() = headers;
        *req.timeout_mut() = Some(self.timeout);
        if let Some(body) = body {
            *req.body_mut() = Some(body.into());
        }
        let resp = self
            .client
            .execute(req)
            .await
            .map_err(|e| format!("raw request: {e}"))?;
        let status = resp.status().as_u16();
        self.wire.read_response(resp.headers());
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("raw response body: {e}"))?;
        Ok((status, body))
    }

    /// Creates the block's database and container (pk path `/pk`) and the item the reads read.
    pub async fn setup(&self, target: &Target) -> Result<(), String> {
        let db = serde_json::json!({ "id": target.database }).to_string();
        let (s, b) = self
            .send(reqwest::Method::POST, "dbs", "", "dbs", None, Some(db))
            .await?;
        expect(s, 201, &b)?;
        let db_link = format!("dbs/{}", target.database);
        let coll = serde_json::json!({
            "id": target.container,
            "partitionKey": { "paths": ["/pk"], "kind": "Hash", "version": 2 }
        })
        .to_string();
        let (s, b) = self
            .send(
                reqwest::Method::POST,
                "colls",
                &db_link,
                &format!("{db_link}/colls"),
                None,
                Some(coll),
            )
            .await?;
        expect(s, 201, &b)?;
        let item = crate::workload::item_body(
            crate::workload::READ_ITEM_ID,
            crate::workload::READ_ITEM_PK,
            0,
        );
        self.create(crate::workload::READ_ITEM_PK, item).await
    }
}

fn expect(status: u16, want: u16, body: &Bytes) -> Result<(), String> {
    if status == want && !body.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "expected {want}, got {status}: {}",
            String::from_utf8_lossy(body)
        ))
    }
}
