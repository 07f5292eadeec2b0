//! Idle keep-alive connections per `(scheme, host, port)`, bounded in count and age.
//!
//! The lock is held only to move connections in and out; connections that are dropped (expired,
//! over the limit) are dropped after it is released.
//!
//! The keys are few (an account's regional endpoints), so they are kept in a list searched with a
//! key borrowed from the request's URI, and a key's list stays when it empties: taking and
//! returning a connection allocates nothing.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::connection::Connection;
use crate::connector::{KeyRef, PoolKey};

/// Empty per-key lists beyond this many are dropped (keys no longer used).
const MAX_EMPTY_KEYS: usize = 16;

struct Idle {
    conn: Connection,
    since: Instant,
}

/// The idle pool.
pub(crate) struct Pool {
    idle: Mutex<Vec<(PoolKey, Vec<Idle>)>>,
    max_idle_per_host: usize,
    idle_timeout: Duration,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("idle", &self.idle_count())
            .field("max_idle_per_host", &self.max_idle_per_host)
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}

impl Pool {
    /// An empty pool keeping at most `max_idle_per_host` connections per key, each for at most
    /// `idle_timeout`.
    pub(crate) fn new(max_idle_per_host: usize, idle_timeout: Duration) -> Self {
        Pool {
            idle: Mutex::new(Vec::new()),
            max_idle_per_host,
            idle_timeout,
        }
    }

    /// Takes the most recently used idle connection for `key` that is still fresh and open.
    pub(crate) fn take(&self, key: KeyRef<'_>, now: Instant) -> Option<Connection> {
        let mut discarded = Vec::new();
        let found = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let mut found = None;
            if let Some((_, list)) = idle.iter_mut().find(|(k, _)| key.is(k)) {
                while let Some(entry) = list.pop() {
                    if self.fresh(&entry, now) {
                        found = Some(entry.conn);
                        break;
                    }
                    discarded.push(entry);
                }
                // Entries are pushed in time order: the oldest, at the front, expire first.
                let keep_from = list
                    .iter()
                    .position(|e| self.fresh(e, now))
                    .unwrap_or(list.len());
                discarded.extend(list.drain(..keep_from));
            }
            found
        };
        drop(discarded);
        found
    }

    /// Returns a connection after a complete exchange. Closed connections, and connections over
    /// the per-host limit, are dropped.
    pub(crate) fn put(&self, conn: Connection, now: Instant) {
        if !conn.is_open() || self.max_idle_per_host == 0 || self.idle_timeout.is_zero() {
            return;
        }
        let (rejected, expired) = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let at = match idle.iter().position(|(k, _)| k == conn.key()) {
                Some(at) => at,
                None => {
                    if idle.iter().filter(|(_, l)| l.is_empty()).count() >= MAX_EMPTY_KEYS {
                        idle.retain(|(_, l)| !l.is_empty());
                    }
                    idle.push((conn.key().clone(), Vec::new()));
                    idle.len() - 1
                }
            };
            let list = &mut idle[at].1;
            let keep_from = list
                .iter()
                .position(|e| self.fresh(e, now))
                .unwrap_or(list.len());
            let expired: Vec<Idle> = list.drain(..keep_from).collect();
            if list.len() >= self.max_idle_per_host {
                (Some(conn), expired)
            } else {
                list.push(Idle { conn, since: now });
                (None, expired)
            }
        };
        drop((rejected, expired));
    }

    /// Idle connections currently held, over all keys.
    pub(crate) fn idle_count(&self) -> usize {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.iter().map(|(_, l)| l.len()).sum()
    }

    fn fresh(&self, entry: &Idle, now: Instant) -> bool {
        entry.conn.is_open() && now.saturating_duration_since(entry.since) < self.idle_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::TcpListener;
    use std::sync::Arc;

    use futures_lite::future::block_on;

    use crate::connector::Connector;
    use crate::tls::client_config;

    fn key_ref(key: &PoolKey) -> KeyRef<'_> {
        KeyRef {
            https: key.https,
            host: &key.host,
            port: key.port,
        }
    }

    /// Opens `n` real connections to a loopback listener (which accepts and stays silent).
    fn connections(n: usize) -> (TcpListener, PoolKey, Vec<Connection>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let key = PoolKey {
            https: false,
            host: "127.0.0.1".into(),
            port,
        };
        let connector = Connector::new(client_config(false).unwrap(), Duration::from_secs(5));
        let conns = (0..n)
            .map(|_| block_on(connector.connect(&key)).unwrap())
            .collect();
        (listener, key, conns)
    }

    #[test]
    fn keeps_at_most_max_idle_per_host_and_reuses_the_newest() {
        let (_listener, key, conns) = connections(3);
        let marks: Vec<Arc<_>> = conns.iter().map(|c| Arc::clone(c.counters())).collect();
        let pool = Pool::new(2, Duration::from_secs(90));
        let now = Instant::now();
        for c in conns {
            pool.put(c, now);
        }
        assert_eq!(
            pool.idle_count(),
            2,
            "the third connection is over the limit"
        );
        let taken = pool.take(key_ref(&key), now).unwrap();
        assert!(
            Arc::ptr_eq(taken.counters(), &marks[1]),
            "last in, first out"
        );
        assert_eq!(pool.idle_count(), 1);
        let other = PoolKey {
            port: key.port.wrapping_add(1),
            ..key
        };
        assert!(
            pool.take(key_ref(&other), now).is_none(),
            "keys do not share connections"
        );
    }

    #[test]
    fn connections_idle_past_the_timeout_are_dropped() {
        let (_listener, key, conns) = connections(2);
        let pool = Pool::new(10, Duration::from_secs(90));
        let start = Instant::now();
        let mut conns = conns.into_iter();
        pool.put(conns.next().unwrap(), start);
        // A later put purges nothing that is still fresh.
        pool.put(conns.next().unwrap(), start + Duration::from_secs(60));
        assert_eq!(pool.idle_count(), 2);
        // At 120 s the first is 120 s idle (expired), the second 60 s (fresh).
        assert!(pool
            .take(key_ref(&key), start + Duration::from_secs(120))
            .is_some());
        assert_eq!(
            pool.idle_count(),
            0,
            "the expired one was dropped, not kept"
        );
        let pool = Pool::new(0, Duration::from_secs(90));
        let (_l, _key, mut conns) = connections(1);
        pool.put(conns.remove(0), start);
        assert_eq!(pool.idle_count(), 0, "max 0 disables pooling");
    }
}
