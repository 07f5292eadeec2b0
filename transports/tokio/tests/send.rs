//! The transport's futures are `Send`, so callers can spawn them on a multi-threaded runtime:
//! the point operation's and the paged runs' (written once in `sextant_host::paged`).

use std::collections::BTreeMap;

use sextant_tokio::models::{AccountReference, ContainerReference};
use sextant_tokio::{
    BulkBuilder, BulkOperation, ChangeFeedMode, ChangeFeedStart, CosmosDriverRuntime,
    CosmosOperation, QuerySpec,
};

fn assert_send<T: Send>(_: &T) {}

#[test]
fn operation_and_paged_futures_are_send() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // Nothing listens on port 1; no future here is polled, so no request is made.
        let account =
            AccountReference::with_master_key("http://127.0.0.1:1/", "a2V5").expect("account");
        let runtime = CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .build()
            .await
            .expect("runtime");
        let driver = runtime
            .get_or_create_driver(account.clone(), None)
            .await
            .expect("driver");
        assert_send(
            &driver.execute_operation(CosmosOperation::read_account(account.clone()), None),
        );
        let container = ContainerReference::from_name(account, "db", "c");
        let query = CosmosOperation::query(container.clone(), QuerySpec::new("SELECT * FROM c"));
        let mut pager = driver.query(query, None).expect("pager");
        assert_send(&pager.next_page());
        let feed = CosmosOperation::change_feed(
            container.clone(),
            ChangeFeedMode::LatestVersion,
            ChangeFeedStart::Beginning,
        );
        let mut feed = driver.change_feed(feed, None).expect("feed pager");
        assert_send(&feed.next_page());
        let ops: Vec<(u32, BulkOperation)> = Vec::new();
        let mut bulk = driver.bulk(BulkBuilder::new(container), ops);
        assert_send(&bulk.next_results());
    });
}
