//! Throughput and tenant-scoped access (the operations plan's "throughput monitoring", "token
//! management" and "access patterns"; issue 14):
//!
//! 1. create a container with 400 RU/s, read its throughput, scale it to 1,000 RU/s, then move
//!    it to autoscale (up to 4,000 RU/s), waiting for each change to apply;
//! 2. create a user per tenant with a permission on the tenant's partition only, and hand the
//!    tenant a driver built from the permission's resource token: it reads and writes its own
//!    orders and is refused another tenant's (a typed 403);
//! 3. run a stored procedure that writes a tenant's order and its audit record in one
//!    transaction.
//!
//! Uses `COSMOS_ENDPOINT` and `COSMOS_KEY` when set, otherwise the local test gateway (see
//! `sextant_examples`, the set-up you do not copy). Exits non-zero on a failure.
//!
//! ```text
//! cargo run -p sextant-examples --bin tenant_access
//! ```

use std::process::ExitCode;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_blocking::core::throughput::ThroughputFlow;
use sextant_blocking::models::{
    AccountReference, ContainerProperties, DatabaseReference, PartitionKeyDefinition,
    PermissionMode, PermissionProperties, StoredProcedureProperties, ThroughputProperties,
    UserProperties,
};
use sextant_blocking::{CosmosDriver, CosmosDriverRuntime, CosmosOperation};

type BoxError = Box<dyn std::error::Error>;

const PLACE_ORDER: &str = r#"function (order) {
    var c = getContext().getCollection();
    c.createDocument(c.getSelfLink(), order, {}, function (err, created) {
        if (err) throw err;
        var audit = { id: "audit-" + order.id, pk: order.pk, kind: "audit", order: order.id };
        c.createDocument(c.getSelfLink(), audit, {}, function (err2) {
            if (err2) throw err2;
            getContext().getResponse().setBody({ placed: created.id });
        });
    });
}"#;

/// An order or its audit record, partitioned by tenant (`pk`).
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    id: String,
    pk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    order: Option<String>,
}

fn main() -> ExitCode {
    // Set-up, not for copying: a real account from the environment, or a local test gateway.
    let result = sextant_examples::target_with_control_plane()
        .and_then(|t| run(&t.endpoint, &t.key, t.local));
    match result {
        Ok(()) => {
            println!("tenant_access: all steps succeeded");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tenant_access failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(endpoint: &str, key: &str, local: bool) -> Result<(), BoxError> {
    let runtime = CosmosDriverRuntime::builder()
        .emulator_server_cert_validation_disabled(local)
        .build()?;
    let account = AccountReference::with_master_key(endpoint, key)?;
    let driver = runtime.get_or_create_driver(account.clone(), None)?;
    let db_name = sextant_examples::unique_name("tenants-db");
    driver.execute_operation(
        CosmosOperation::create_database(account.clone(), &db_name),
        None,
    )?;
    let db = DatabaseReference::from_name(account.clone(), &db_name);
    let result = demo(&runtime, &driver, &db);
    let deleted = driver.execute_operation(CosmosOperation::delete_database(db), None);
    result?;
    deleted?;
    Ok(())
}

fn demo(
    runtime: &CosmosDriverRuntime,
    driver: &CosmosDriver,
    db: &DatabaseReference,
) -> Result<(), BoxError> {
    // 1. Throughput.
    let props = ContainerProperties::new("orders", PartitionKeyDefinition::hash("/pk"));
    driver.execute_operation(
        CosmosOperation::create_container(db.clone(), &props)
            .with_throughput(&ThroughputProperties::manual(400)?),
        None,
    )?;
    let orders_client = driver.database(db.name()).container("orders");
    let orders = orders_client.reference().clone();
    let now = orders_client
        .read_throughput()?
        .ok_or("the container has no throughput of its own")?;
    println!(
        "provisioned: {:?} (minimum {:?})",
        now.throughput, now.min_throughput
    );
    for goal in [
        ThroughputProperties::manual(1000)?,
        ThroughputProperties::autoscale(4000)?,
    ] {
        // Poll every second for up to two minutes (the default is every 5 s for 10 minutes).
        let flow =
            ThroughputFlow::replace(orders.clone(), goal).with_polling(Duration::from_secs(1), 120);
        let r = driver
            .drive_throughput(flow)?
            .ok_or("the container has no throughput of its own")?;
        if r.replace_pending {
            return Err(format!("scaling to {goal:?} is still pending").into());
        }
        println!(
            "scaled to {:?} in {} requests ({} RU)",
            r.throughput, r.requests, r.request_charge
        );
    }

    // 2. A user per tenant, limited to the tenant's partition.
    let mut tenant_drivers = Vec::new();
    for tenant in ["contoso", "fabrikam"] {
        driver.execute_operation(
            CosmosOperation::create_user(db.clone(), &UserProperties::new(tenant)),
            None,
        )?;
        let permission = PermissionProperties::new("orders", PermissionMode::All, orders.link())
            .with_partition_key(tenant);
        let created: PermissionProperties = driver
            .execute_operation(
                CosmosOperation::create_permission(db.clone(), tenant, &permission)
                    .with_token_expiry(Duration::from_secs(3600)),
                None,
            )?
            .json()?;
        let token = created
            .resource_token()
            .ok_or("the permission carries no token")?;
        // What a backend hands to the tenant's process; it never sees the account key.
        let tenant_account =
            AccountReference::with_resource_tokens(driver.account().endpoint(), vec![token])?;
        // Its own driver: resource tokens belong to one user and never share the endpoint's.
        tenant_drivers.push((tenant, runtime.create_driver(tenant_account, None)?));
    }
    // Each tenant writes and reads its own orders...
    for (tenant, d) in &tenant_drivers {
        let mine = d.database(db.name()).container("orders");
        mine.create_item(&Record {
            id: format!("{tenant}-1"),
            pk: tenant.to_string(),
            total: Some(42),
            order: None,
        })?;
        let back = mine
            .read_item::<Record>(*tenant, &format!("{tenant}-1"))?
            .ok_or("the tenant's order is missing")?;
        println!("{tenant} reads its order {}", back.item.id);
    }
    // ...and is refused the other's.
    let (tenant, d) = &tenant_drivers[0];
    let other = tenant_drivers[1].0;
    let theirs = d.database(db.name()).container("orders");
    match theirs.read_item::<Record>(other, &format!("{other}-1")) {
        Err(e) if e.status() == Some(403) => {
            println!("{tenant} may not read {other}'s orders (403)")
        }
        Err(e) => return Err(format!("expected a 403, got {e}").into()),
        Ok(_) => return Err(format!("{tenant} could read {other}'s order").into()),
    }

    // 3. A stored procedure: the order and its audit record commit together.
    driver.execute_operation(
        CosmosOperation::create_stored_procedure(
            orders.clone(),
            &StoredProcedureProperties::new("placeOrder", PLACE_ORDER),
        ),
        None,
    )?;
    let placed: Value = driver
        .execute_operation(
            CosmosOperation::execute_stored_procedure(
                orders.clone(),
                "placeOrder",
                "contoso",
                &[json!({"id": "contoso-2", "pk": "contoso", "total": 7})],
            ),
            None,
        )?
        .json()?;
    println!("stored procedure placed {}", placed["placed"]);
    let audit = orders_client
        .read_item::<Record>("contoso", "audit-contoso-2")?
        .ok_or("the audit record is missing")?;
    if audit.item.order.as_deref() != Some("contoso-2") {
        return Err(format!("unexpected audit record {:?}", audit.item).into());
    }
    Ok(())
}
