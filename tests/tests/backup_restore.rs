//! Backup and restore (issue 13) on the blocking transport (the CLI's) against the 8-range
//! test gateway: 50,000 items exported to NDJSON (the export interrupted once and resumed from
//! its checkpoint), restored into another container that then holds identical documents; a
//! restore killed half-way and run again gives the same container; an incremental backup from
//! the export's final token carries the changes since.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sextant_blocking::{BulkBuilder, BulkOperation, CosmosDriver, CosmosDriverRuntime};
use sextant_core::backup::{strip_system_properties, BackupError};
use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_core::{CosmosOperation, QuerySpec};
use sextant_tests::gateway::TestGateway;
use sextant_tests::server::EMULATOR_KEY;

const ITEMS: usize = 50_000;

fn container(d: &CosmosDriver, db: &DatabaseReference, name: &str) -> ContainerReference {
    let props = ContainerProperties::new(name, PartitionKeyDefinition::hash("/pk"));
    d.execute_operation(CosmosOperation::create_container(db.clone(), &props), None)
        .unwrap();
    ContainerReference::in_database(db, name)
}

/// Every document of `c` without system properties, by id.
fn contents(d: &CosmosDriver, c: &ContainerReference) -> BTreeMap<String, Value> {
    let op = CosmosOperation::query(c.clone(), QuerySpec::new("SELECT * FROM c"));
    let mut out = BTreeMap::new();
    for page in d.query(op, None).unwrap() {
        for mut item in page.unwrap().into_items() {
            strip_system_properties(&mut item);
            let id = item["id"].as_str().unwrap().to_string();
            assert!(out.insert(id.clone(), item).is_none(), "{id} twice");
        }
    }
    out
}

fn load(d: &CosmosDriver, c: &ContainerReference, items: impl Iterator<Item = Value>) {
    let ops = items.enumerate().map(|(i, doc)| {
        let pk = PartitionKey::from(doc["pk"].as_str().unwrap());
        (i, BulkOperation::upsert(pk, doc.to_string()))
    });
    let mut run = d.bulk(BulkBuilder::new(c.clone()), ops);
    while let Some(results) = run.next_results() {
        for r in results {
            assert!(
                r.outcome.as_ref().is_ok_and(|o| o.is_success()),
                "{:?}",
                r.outcome
            );
        }
    }
}

#[test]
fn backup_then_restore_gives_an_identical_container_and_a_killed_restore_reruns_safely() {
    let g = TestGateway::start(8);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let d = CosmosDriverRuntime::builder()
        .environment(Default::default())
        .build()
        .unwrap()
        .get_or_create_driver(account.clone(), None)
        .unwrap();
    d.execute_operation(
        CosmosOperation::create_database(account.clone(), "bk"),
        None,
    )
    .unwrap();
    let db = DatabaseReference::from_name(account, "bk");
    let source = container(&d, &db, "source");
    let doc = |i: usize, v: i64| json!({"id": format!("i{i}"), "pk": format!("p{}", i % 500), "v": v, "tags": ["a", i % 7], "nested": {"x": i}});
    load(&d, &source, (0..ITEMS).map(|i| doc(i, 0)));

    // Export, interrupted after the third page's checkpoint, then resumed from it.
    let mut backup: Vec<u8> = Vec::new();
    let mut saved: Option<String> = None;
    let mut pages = 0;
    let interrupted = d.export_container(source.clone(), &mut backup, None, |token| {
        pages += 1;
        if pages == 3 {
            return Err(std::io::Error::other("killed"));
        }
        saved = Some(token.to_string());
        Ok(())
    });
    assert!(
        matches!(interrupted, Err(BackupError::Io(_))),
        "{interrupted:?}"
    );
    let summary = d
        .export_container(source.clone(), &mut backup, saved.as_deref(), |_| Ok(()))
        .unwrap();
    let lines = backup
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert!(lines >= ITEMS, "{lines} lines");
    let ids: std::collections::BTreeSet<String> = backup
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), ITEMS, "every item in the backup");

    // Restore into another container: identical documents.
    let target = container(&d, &db, "target");
    let restored = d
        .restore_container(target.clone(), backup.as_slice(), 5_000)
        .unwrap();
    assert_eq!(restored.lines, lines as u64);
    assert_eq!(restored.upserted, lines as u64);
    let expected = contents(&d, &source);
    assert_eq!(expected.len(), ITEMS);
    assert!(
        contents(&d, &target) == expected,
        "the restored container differs"
    );

    // A restore killed after 20,000 lines, then run again: the same container.
    let killed = container(&d, &db, "killed");
    let cut = backup
        .split_inclusive(|b| *b == b'\n')
        .take(20_000)
        .flatten()
        .copied()
        .collect::<Vec<u8>>();
    d.restore_container(killed.clone(), cut.as_slice(), 5_000)
        .unwrap();
    assert_eq!(contents(&d, &killed).len(), 20_000);
    d.restore_container(killed.clone(), backup.as_slice(), 5_000)
        .unwrap();
    assert!(
        contents(&d, &killed) == expected,
        "the re-run restore differs"
    );

    // Incremental: 100 new items and 50 changed ones since the export.
    load(
        &d,
        &source,
        (ITEMS..ITEMS + 100)
            .map(|i| doc(i, 0))
            .chain((0..50).map(|i| doc(i, 1))),
    );
    let mut incremental: Vec<u8> = Vec::new();
    let inc = d
        .export_container(
            source.clone(),
            &mut incremental,
            Some(&summary.continuation),
            |_| Ok(()),
        )
        .unwrap();
    assert_eq!(inc.items, 150);
    d.restore_container(target.clone(), incremental.as_slice(), 5_000)
        .unwrap();
    assert!(
        contents(&d, &target) == contents(&d, &source),
        "incremental restore differs"
    );

    // A malformed line stops the restore and names it.
    let e = d
        .restore_container(
            target,
            "{\"id\":\"x\",\"pk\":\"p\"}\nnot json\n".as_bytes(),
            10,
        )
        .unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
}
