//! One query client per transport, each blocking the test thread, so a query test is written
//! once and run on tokio, blocking and async-std (smol) alike.

use std::collections::BTreeMap;
use std::time::Duration;

use sextant_core::models::AccountReference;
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, OperationOptions, QueryPage};
use sextant_tests::scenarios::Client;

/// Bounds every blocking wait in these tests.
const BOUND: Duration = Duration::from_secs(120);

/// Which transport a client drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tokio,
    Blocking,
    AsyncStd,
}

pub const ALL: [Transport; 3] = [Transport::Tokio, Transport::Blocking, Transport::AsyncStd];

enum Inner {
    Tokio(tokio::runtime::Runtime, sextant_tokio::CosmosDriver),
    Blocking(sextant_blocking::CosmosDriver),
    AsyncStd(sextant_async_std::CosmosDriver),
}

/// A driver of one transport for one account, isolated from the process environment.
pub struct QueryClient {
    #[allow(dead_code)] // read by some of the test files that include this module
    pub transport: Transport,
    inner: Inner,
}

fn smol_bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    smol::block_on(futures_lite::future::or(f, async {
        smol::Timer::after(BOUND).await;
        panic!("not finished within {BOUND:?}")
    }))
}

impl QueryClient {
    pub fn new(transport: Transport, account: &AccountReference) -> QueryClient {
        Self::build(transport, account, false)
    }

    /// A client whose driver is its own (`create_driver`), as resource tokens need.
    #[allow(dead_code)] // used by the control-plane tests only
    pub fn own(transport: Transport, account: &AccountReference) -> QueryClient {
        Self::build(transport, account, true)
    }

    fn build(transport: Transport, account: &AccountReference, own: bool) -> QueryClient {
        let env = BTreeMap::new();
        let inner = match transport {
            Transport::Tokio => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                let driver = rt
                    .block_on(async {
                        let rt = sextant_tokio::CosmosDriverRuntime::builder()
                            .environment(env)
                            .build()
                            .await?;
                        if own {
                            rt.create_driver(account.clone(), None).await
                        } else {
                            rt.get_or_create_driver(account.clone(), None).await
                        }
                    })
                    .unwrap();
                Inner::Tokio(rt, driver)
            }
            Transport::Blocking => {
                let rt = sextant_blocking::CosmosDriverRuntime::builder()
                    .environment(env)
                    .build()
                    .unwrap();
                Inner::Blocking(if own {
                    rt.create_driver(account.clone(), None).unwrap()
                } else {
                    rt.get_or_create_driver(account.clone(), None).unwrap()
                })
            }
            Transport::AsyncStd => Inner::AsyncStd(
                smol_bounded(async {
                    let rt = sextant_async_std::CosmosDriverRuntime::builder()
                        .environment(env)
                        .build()
                        .await?;
                    if own {
                        rt.create_driver(account.clone(), None).await
                    } else {
                        rt.get_or_create_driver(account.clone(), None).await
                    }
                })
                .unwrap(),
            ),
        };
        QueryClient { transport, inner }
    }

    /// One page from a fresh pager: `opts` carries the continuation of the previous page, so
    /// every call proves the token alone is enough to resume.
    pub fn page_from_token(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Option<Result<QueryPage, CosmosError>> {
        match &self.inner {
            Inner::Tokio(rt, d) => {
                let mut pager = d.query(op, Some(opts)).ok()?;
                rt.block_on(async { tokio::time::timeout(BOUND, pager.next_page()).await })
                    .expect("bounded")
            }
            Inner::Blocking(d) => d.query(op, Some(opts)).ok()?.next_page(),
            Inner::AsyncStd(d) => {
                let mut pager = d.query(op, Some(opts)).ok()?;
                smol_bounded(pager.next_page())
            }
        }
    }

    /// Every page of the query through one pager (state kept between pages).
    pub fn all_pages(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<Vec<QueryPage>, CosmosError> {
        let mut pages = Vec::new();
        match &self.inner {
            Inner::Tokio(rt, d) => {
                let mut pager = d.query(op, Some(opts))?;
                while let Some(p) = rt
                    .block_on(async { tokio::time::timeout(BOUND, pager.next_page()).await })
                    .expect("bounded")
                {
                    pages.push(p?);
                }
            }
            Inner::Blocking(d) => {
                for p in d.query(op, Some(opts))? {
                    pages.push(p?);
                }
            }
            Inner::AsyncStd(d) => {
                let mut pager = d.query(op, Some(opts))?;
                while let Some(p) = smol_bounded(pager.next_page()) {
                    pages.push(p?);
                }
            }
        }
        Ok(pages)
    }

    /// Every page, each from a fresh pager resumed from the previous page's token.
    pub fn all_pages_by_token(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<Vec<QueryPage>, CosmosError> {
        let mut pages: Vec<QueryPage> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut o = opts.clone();
            if let Some(t) = &token {
                o = o.with_continuation(t.clone());
            }
            let Some(page) = self.page_from_token(op.clone(), o) else {
                break;
            };
            let page = page?;
            token = page.continuation().map(str::to_owned);
            pages.push(page);
            if token.is_none() {
                break;
            }
        }
        Ok(pages)
    }
}

/// A pager of one transport, stepped one page at a time from the test thread.
pub struct Pages<'a> {
    client: &'a QueryClient,
    pager: Option<PagerOf>,
}

enum PagerOf {
    Tokio(sextant_tokio::QueryPager),
    Blocking(sextant_blocking::QueryPager),
    AsyncStd(sextant_async_std::QueryPager),
}

impl Pages<'_> {
    /// The next page (`None` when the query is done); a refused query is its first page's error.
    pub fn next_page(&mut self) -> Option<Result<QueryPage, CosmosError>> {
        match (self.pager.as_mut()?, &self.client.inner) {
            (PagerOf::Tokio(p), Inner::Tokio(rt, _)) => rt
                .block_on(async { tokio::time::timeout(BOUND, p.next_page()).await })
                .expect("bounded"),
            (PagerOf::Blocking(p), _) => p.next_page(),
            (PagerOf::AsyncStd(p), _) => smol_bounded(p.next_page()),
            _ => unreachable!("a pager of another transport"),
        }
    }
}

impl QueryClient {
    /// The container's feed ranges (`read_feed_ranges` of the transport).
    pub fn read_feed_ranges(
        &self,
        container: sextant_core::models::ContainerReference,
    ) -> Result<Vec<sextant_core::feed::FeedRange>, CosmosError> {
        match &self.inner {
            Inner::Tokio(rt, d) => rt
                .block_on(async {
                    tokio::time::timeout(BOUND, d.read_feed_ranges(container)).await
                })
                .expect("bounded"),
            Inner::Blocking(d) => d.read_feed_ranges(container),
            Inner::AsyncStd(d) => smol_bounded(d.read_feed_ranges(container)),
        }
    }

    /// A pager for `op` whose pages the caller steps (to act between pages).
    ///
    /// # Panics
    /// If the query is refused before any request.
    pub fn pager(&self, op: CosmosOperation, opts: OperationOptions) -> Pages<'_> {
        let pager = match &self.inner {
            Inner::Tokio(_, d) => PagerOf::Tokio(d.query(op, Some(opts)).expect("query")),
            Inner::Blocking(d) => PagerOf::Blocking(d.query(op, Some(opts)).expect("query")),
            Inner::AsyncStd(d) => PagerOf::AsyncStd(d.query(op, Some(opts)).expect("query")),
        };
        Pages {
            client: self,
            pager: Some(pager),
        }
    }
}

impl Client for QueryClient {
    fn execute(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        match &self.inner {
            Inner::Tokio(rt, d) => rt
                .block_on(async {
                    tokio::time::timeout(BOUND, d.execute_operation(op, Some(opts))).await
                })
                .expect("bounded"),
            Inner::Blocking(d) => d.execute_operation(op, Some(opts)),
            Inner::AsyncStd(d) => smol_bounded(d.execute_operation(op, Some(opts))),
        }
    }
}

impl QueryClient {
    /// Runs a bulk run to the end on this transport; `between(n)` runs after window `n`.
    #[allow(dead_code)] // used by the bulk tests only
    pub fn bulk<I>(
        &self,
        builder: sextant_core::BulkBuilder,
        ops: I,
        mut between: impl FnMut(usize),
    ) -> (
        Vec<sextant_core::BulkResult<usize>>,
        sextant_core::BulkProgress,
    )
    where
        I: IntoIterator<Item = (usize, sextant_core::BulkOperation)>,
    {
        let mut out = Vec::new();
        let mut window = 0;
        let progress = match &self.inner {
            Inner::Tokio(rt, d) => {
                let mut run = d.bulk(builder, ops);
                while let Some(r) = rt
                    .block_on(async { tokio::time::timeout(BOUND, run.next_results()).await })
                    .expect("bounded")
                {
                    out.extend(r);
                    between(window);
                    window += 1;
                }
                run.progress()
            }
            Inner::Blocking(d) => {
                let mut run = d.bulk(builder, ops);
                while let Some(r) = run.next_results() {
                    out.extend(r);
                    between(window);
                    window += 1;
                }
                run.progress()
            }
            Inner::AsyncStd(d) => {
                let mut run = d.bulk(builder, ops);
                while let Some(r) = smol_bounded(run.next_results()) {
                    out.extend(r);
                    between(window);
                    window += 1;
                }
                run.progress()
            }
        };
        (out, progress)
    }
}

impl QueryClient {
    /// One change-feed page from a fresh pager resumed from `token` (so every page proves the
    /// token alone is enough, on this transport).
    #[allow(dead_code)] // used by the change-feed tests only
    pub fn change_feed_page(
        &self,
        op: CosmosOperation,
        token: Option<String>,
        max_items: Option<u32>,
    ) -> Result<sextant_core::ChangeFeedPage, CosmosError> {
        let mut opts = OperationOptions::new();
        if let Some(t) = token {
            opts = opts.with_continuation(t);
        }
        if let Some(n) = max_items {
            opts = opts.with_max_item_count(n);
        }
        match &self.inner {
            Inner::Tokio(rt, d) => {
                let mut pager = d.change_feed(op, Some(opts))?;
                rt.block_on(async { tokio::time::timeout(BOUND, pager.next_page()).await })
                    .expect("bounded")
            }
            Inner::Blocking(d) => d.change_feed(op, Some(opts))?.next_page(),
            Inner::AsyncStd(d) => {
                let mut pager = d.change_feed(op, Some(opts))?;
                smol_bounded(pager.next_page())
            }
        }
    }
}

impl QueryClient {
    /// Runs a throughput flow to its end on this transport.
    #[allow(dead_code)] // used by the control-plane tests only
    pub fn throughput(
        &self,
        flow: sextant_core::throughput::ThroughputFlow,
    ) -> Result<Option<sextant_core::throughput::ThroughputResponse>, CosmosError> {
        match &self.inner {
            Inner::Tokio(rt, d) => rt
                .block_on(async { tokio::time::timeout(BOUND, d.drive_throughput(flow)).await })
                .expect("bounded"),
            Inner::Blocking(d) => d.drive_throughput(flow),
            Inner::AsyncStd(d) => smol_bounded(d.drive_throughput(flow)),
        }
    }
}
