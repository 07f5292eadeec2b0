//! The workload of the `query_instructions*` binaries, written once: a container of 100 items
//! (about 300 bytes each) in one partition key, and the single-partition query that returns all
//! of them. Each binary runs it through its own transport.

use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_core::{CosmosOperation, OperationOptions, QuerySpec};

/// Items per query.
pub const ITEMS: usize = 100;

/// The operations that create the database, the container and its items, in order; and the
/// container.
pub fn setup(account: &AccountReference) -> (Vec<CosmosOperation>, ContainerReference) {
    let db = DatabaseReference::from_name(account.clone(), "qi");
    let props = ContainerProperties::new("items", PartitionKeyDefinition::hash("/pk"));
    let container = ContainerReference::in_database(&db, "items");
    let mut ops = vec![
        CosmosOperation::create_database(account.clone(), "qi"),
        CosmosOperation::create_container(db, &props),
    ];
    for i in 0..ITEMS {
        let body = format!(
            r#"{{"id":"d{i}","pk":"p","n":{i},"pad":"{}"}}"#,
            "x".repeat(200)
        );
        ops.push(
            CosmosOperation::create(container.clone())
                .with_partition_key(PartitionKey::from("p"))
                .with_body(body),
        );
    }
    (ops, container)
}

/// The measured query and its options. The key is named in the WHERE clause as well as in the
/// scope, because the local server needs that (LOCAL_SERVER.md §1.2).
pub fn query(container: &ContainerReference) -> (CosmosOperation, OperationOptions) {
    let op = CosmosOperation::query(
        container.clone(),
        QuerySpec::new("SELECT * FROM c WHERE c.pk = @pk").with_parameter("@pk", "p"),
    )
    .with_partition_key(PartitionKey::from("p"));
    (
        op,
        OperationOptions::new().with_max_item_count(ITEMS as u32),
    )
}

/// N from the command line.
pub fn queries_arg(bin: &str) -> Result<usize, Box<dyn std::error::Error>> {
    Ok(std::env::args()
        .nth(1)
        .ok_or_else(|| format!("usage: {bin} N"))?
        .parse()?)
}
