//! Single-partition queries through every transport against the local server: parameters,
//! paging with a kept pager and with a fresh pager per page (the token alone resumes).
//!
//! The local server ignores the partition key header on queries and needs a partition key
//! equality in the WHERE clause instead (LOCAL_SERVER.md Q2–Q5), so these queries carry both;
//! cross-partition queries are tested against the multi-partition gateway.

mod support;

use serde_json::json;
use sextant_core::models::{AccountReference, PartitionKey};
use sextant_core::{CosmosOperation, OperationOptions, QuerySpec};
use sextant_tests::scenarios::{create_database_and_container, Client};
use sextant_tests::server::{TestServer, EMULATOR_KEY};
use support::query_clients::{QueryClient, ALL};

#[test]
fn single_partition_queries_page_and_resume_on_every_transport() {
    let server = TestServer::start();
    let account = AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let client = QueryClient::new(transport, &account);
        let (_db, container) = create_database_and_container(&client, &account);
        for i in 0..10 {
            let pk = if i < 7 { "a" } else { "b" };
            let doc = json!({"id": format!("d{i}"), "pk": pk, "n": i});
            client
                .execute(
                    CosmosOperation::create(container.clone())
                        .with_partition_key(PartitionKey::from(pk))
                        .with_body(doc.to_string()),
                    OperationOptions::new(),
                )
                .unwrap();
        }
        let op = CosmosOperation::query(
            container.clone(),
            QuerySpec::new("SELECT * FROM c WHERE c.pk = @pk AND c.n >= @min")
                .with_parameter("@pk", "a")
                .with_parameter("@min", 1),
        )
        .with_partition_key(PartitionKey::from("a"));
        let opts = OperationOptions::new().with_max_item_count(4);
        for by_token in [false, true] {
            let pages = if by_token {
                client.all_pages_by_token(op.clone(), opts.clone())
            } else {
                client.all_pages(op.clone(), opts.clone())
            }
            .unwrap_or_else(|e| panic!("{transport:?}: {e}"));
            let mut ns: Vec<i64> = pages
                .iter()
                .flat_map(|p| p.items().iter().map(|i| i["n"].as_i64().unwrap()))
                .collect();
            assert!(pages.iter().all(|p| p.items().len() <= 4), "{transport:?}");
            assert_eq!(
                pages.len(),
                2,
                "{transport:?} by_token={by_token}: 6 items in pages of 4"
            );
            assert!(pages[0].continuation().is_some() && pages[1].continuation().is_none());
            ns.sort();
            assert_eq!(
                ns,
                vec![1, 2, 3, 4, 5, 6],
                "{transport:?} by_token={by_token}"
            );
            assert!(pages.iter().all(|p| p.request_charge() > 0.0));
        }
    }
}
