//! The typed layer against the byte-level API (issue 15: no extra copies on the hot path):
//! what a write costs on top of `serde_json::to_vec` (the id and partition key taken from the
//! item), and what a read costs on top of `serde_json::from_slice` (the field path kept for
//! errors).
//!
//! Run: `cargo bench -p sextant-core --bench typed`. Results are in docs/PERFORMANCE.md.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use serde::{Deserialize, Serialize};
use sextant_core::diagnostics::CosmosDiagnostics;
use sextant_core::models::PartitionKeyDefinition;
use sextant_core::typed;

#[derive(Serialize, Deserialize)]
struct Line {
    sku: String,
    quantity: u32,
    price: f64,
}

#[derive(Serialize, Deserialize)]
struct Customer {
    tenant: String,
    name: String,
    email: String,
}

#[derive(Serialize, Deserialize)]
struct Order {
    id: String,
    customer: Customer,
    status: String,
    lines: Vec<Line>,
    notes: Option<String>,
    total: f64,
}

fn order() -> Order {
    Order {
        id: "order-000123".into(),
        customer: Customer {
            tenant: "tenant-42".into(),
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
        },
        status: "placed".into(),
        lines: (0..8)
            .map(|i| Line {
                sku: format!("sku-{i:04}"),
                quantity: i + 1,
                price: 9.99 * f64::from(i + 1),
            })
            .collect(),
        notes: Some("leave at the door".into()),
        total: 359.64,
    }
}

fn bench(c: &mut Criterion) {
    let o = order();
    let def = PartitionKeyDefinition::hash("/customer/tenant");
    c.bench_function("write: serde_json::to_vec (bytes API)", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&o)).unwrap()))
    });
    c.bench_function("write: typed encode + id + partition key", |b| {
        b.iter(|| black_box(typed::encode_item(black_box(&o), &def, None).unwrap()))
    });
    let body = serde_json::to_vec(&o).unwrap();
    let d = Arc::new(CosmosDiagnostics::empty());
    c.bench_function("read: serde_json::from_slice (bytes API)", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Order>(black_box(&body)).unwrap()))
    });
    c.bench_function("read: typed decode", |b| {
        b.iter(|| black_box(typed::decode::<Order>(black_box(&body), &d).unwrap()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
