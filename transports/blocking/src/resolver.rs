//! Name resolution without a thread per request.
//!
//! ureq resolves the host of *every* request, even when a pooled connection will be used, and
//! with a timeout configured (we always configure one: the attempt deadline) its default resolver
//! runs each lookup on a new thread. This resolver answers IP literals directly and keeps resolved
//! names for [`DNS_CACHE_TTL`], so the hot path neither spawns nor queries DNS; misses go to ureq's
//! default resolver, deadline included.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::Uri;
use ureq::config::Config;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a resolved name is reused. Precedent: the JVM's `networkaddress.cache.ttl` default
/// of 30 s (used by the Java Cosmos SDK); short enough to follow a regional DNS change.
pub(crate) const DNS_CACHE_TTL: Duration = Duration::from_secs(30);
/// Names kept at most (an account has one endpoint per region; this bounds memory).
const DNS_CACHE_ENTRIES: usize = 256;

/// IP literals answered directly; names cached for [`DNS_CACHE_TTL`].
#[derive(Debug, Default)]
pub(crate) struct CachingResolver {
    fallback: DefaultResolver,
    /// A few entries (one per region endpoint): a linear scan, no key allocation per lookup.
    cache: Mutex<Vec<Entry>>,
}

#[derive(Debug)]
struct Entry {
    host: String,
    port: u16,
    at: Instant,
    addrs: Vec<SocketAddr>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return self.fallback.resolve(uri, config, timeout);
        };
        let Some(port) = authority
            .port_u16()
            .or_else(|| default_port(scheme.as_str()))
        else {
            return self.fallback.resolve(uri, config, timeout);
        };
        let host = authority.host();
        let literal = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = literal.parse::<IpAddr>() {
            let mut out = self.empty();
            out.push(SocketAddr::new(ip, port));
            return Ok(out);
        }

        let now = Instant::now();
        let fresh = |e: &Entry| now.saturating_duration_since(e.at) < DNS_CACHE_TTL;
        {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = cache.iter().find(|e| e.port == port && e.host == host) {
                if fresh(e) {
                    let mut out = self.empty();
                    for a in &e.addrs {
                        out.push(*a);
                    }
                    return Ok(out);
                }
            }
        }
        let resolved = self.fallback.resolve(uri, config, timeout)?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|e| fresh(e) && !(e.port == port && e.host == host));
        if cache.len() >= DNS_CACHE_ENTRIES {
            cache.clear();
        }
        cache.push(Entry {
            host: host.to_owned(),
            port,
            at: now,
            addrs: resolved.to_vec(),
        });
        Ok(resolved)
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(r: &CachingResolver, uri: &str) -> Vec<SocketAddr> {
        let uri: Uri = uri.parse().unwrap();
        let config = Config::default();
        r.resolve(&uri, &config, NextTimeout::default())
            .unwrap()
            .to_vec()
    }

    #[test]
    fn ip_literals_need_no_lookup() {
        let r = CachingResolver::default();
        assert_eq!(
            resolve(&r, "https://127.0.0.1:8081/dbs"),
            vec!["127.0.0.1:8081".parse().unwrap()]
        );
        assert_eq!(
            resolve(&r, "http://[::1]/"),
            vec!["[::1]:80".parse().unwrap()]
        );
        assert!(
            r.cache.lock().unwrap().is_empty(),
            "literals are not cached"
        );
    }

    #[test]
    fn names_are_cached() {
        let r = CachingResolver::default();
        let first = resolve(&r, "http://localhost:1234/");
        assert!(!first.is_empty());
        assert!(r
            .cache
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.host == "localhost" && e.port == 1234));
        assert_eq!(resolve(&r, "http://localhost:1234/x"), first);
    }
}
