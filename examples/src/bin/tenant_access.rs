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
//! Uses `COSMOS_ENDPOINT` and `COSMOS_KEY` when set, otherwise the local test gateway. Exits
//! non-zero on a failure.
//!
//! ```text
//! cargo run -p sextant-examples --bin tenant_access
//! ```

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};
use sextant_blocking::core::throughput::ThroughputFlow;
use sextant_blocking::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, ItemReference,
    PartitionKeyDefinition, PermissionMode, PermissionProperties, StoredProcedureProperties,
    ThroughputProperties, UserProperties,
};
use sextant_blocking::{CosmosDriver, CosmosDriverRuntime, CosmosOperation};
use sextant_examples::{target_with_control_plane, unique_name};

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

fn main() -> ExitCode {
    match run() {
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

fn run() -> Result<(), BoxError> {
    let target = target_with_control_plane()?;
    let account = target.account.clone();
    let runtime = CosmosDriverRuntime::builder()
        .emulator_server_cert_validation_disabled(target.local)
        .build()?;
    let driver = runtime.get_or_create_driver(account.clone(), None)?;
    let db_name = unique_name("tenants-db");
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
    let orders = ContainerReference::in_database(db, "orders");
    let now = driver
        .read_throughput(orders.clone())?
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
        let order = json!({"id": format!("{tenant}-1"), "pk": tenant, "total": 42});
        d.execute_operation(
            CosmosOperation::create(orders.clone())
                .with_partition_key(*tenant)
                .with_body(order.to_string()),
            None,
        )?;
        let back: Value = d
            .execute_operation(
                CosmosOperation::read(ItemReference::in_container(&orders, format!("{tenant}-1")))
                    .with_partition_key(*tenant),
                None,
            )?
            .json()?;
        println!("{tenant} reads its order {}", back["id"]);
    }
    // ...and is refused the other's.
    let (tenant, d) = &tenant_drivers[0];
    let other = tenant_drivers[1].0;
    match d.execute_operation(
        CosmosOperation::read(ItemReference::in_container(&orders, format!("{other}-1")))
            .with_partition_key(other),
        None,
    ) {
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
    let audit: Value = driver
        .execute_operation(
            CosmosOperation::read(ItemReference::in_container(&orders, "audit-contoso-2"))
                .with_partition_key("contoso"),
            None,
        )?
        .json()?;
    if audit["order"] != "contoso-2" {
        return Err(format!("unexpected audit record {audit}").into());
    }
    Ok(())
}
