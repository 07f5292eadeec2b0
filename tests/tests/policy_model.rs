//! Property test: an `Execution` against a reference model of the policy table.
//!
//! The model below is written independently of `core/src/policy/table.rs` and `budget.rs`, from
//! PROTOCOL.md §4 and the budgets' documented defaults. For random operations and random
//! sequences of answers (single region, no deadline), the core and the model must agree on the
//! outcome (success or the final status/failure) and on how many operation attempts were made.

use proptest::prelude::*;
use sextant_core::models::{ContainerReference, ItemReference, PartitionKey};
use sextant_core::{
    CosmosOperation, DriverOptions, OperationOptions, Purpose, RequestSent, TransportErrorKind,
};
use sextant_tests::sim::{Answer, Sim};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Read,
    Create,
    ReplaceIfMatch,
    Upsert,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ans {
    Ok,
    S(u16, u32),
    NotSent,
    Unknown,
}

fn answer(a: Ans, op: Op) -> Answer {
    match a {
        Ans::Ok => Answer::ok(if op == Op::Create { 201 } else { 200 }),
        Ans::S(429, sub) => Answer::throttled(sub, 10),
        Ans::S(s, sub) => Answer::status(s, sub),
        Ans::NotSent => Answer::fail(TransportErrorKind::Connect, RequestSent::NotSent),
        Ans::Unknown => Answer::fail(TransportErrorKind::Io, RequestSent::Unknown),
    }
}

/// What the model expects: the final outcome and the number of operation attempts.
#[derive(Debug, PartialEq)]
struct Expect {
    ok: bool,
    status: Option<u16>,
    attempts: usize,
}

/// The reference model: PROTOCOL.md §4 for one region.
fn model(op: Op, answers: &[Ans]) -> Expect {
    let read = op == Op::Read;
    let replayable = read || op == Op::ReplaceIfMatch;
    // Budgets (retries allowed), per the documented defaults.
    let (
        mut throttle,
        mut retry_with,
        mut failover,
        mut forbidden,
        mut not_found,
        mut session,
        mut topology,
        mut recreated,
    ) = (9, 64, 2, 120, 120, 2, 1, 1);
    let take = |b: &mut i32| {
        if *b == 0 {
            false
        } else {
            *b -= 1;
            true
        }
    };
    for (i, a) in answers
        .iter()
        .chain(std::iter::repeat(&Ans::Ok))
        .enumerate()
    {
        let attempts = i + 1;
        let fail = |status| Expect {
            ok: false,
            status,
            attempts,
        };
        let retried = match *a {
            Ans::Ok => {
                return Expect {
                    ok: true,
                    status: Some(if op == Op::Create { 201 } else { 200 }),
                    attempts,
                }
            }
            Ans::S(429, _) => take(&mut throttle),
            Ans::S(449, _) => take(&mut retry_with),
            Ans::S(503, _) | Ans::S(408, _) if replayable => take(&mut failover),
            Ans::S(500, _) if read => take(&mut failover),
            Ans::S(403, 3) if !read => take(&mut forbidden),
            Ans::S(403, 1008) => take(&mut not_found),
            Ans::S(404, 1002) => take(&mut session),
            Ans::S(410, 1002) | Ans::S(410, 1007) | Ans::S(410, 1008) => take(&mut topology),
            Ans::S(410, 1000) | Ans::S(400, 1024) => take(&mut recreated),
            Ans::S(..) => false,
            Ans::NotSent => take(&mut failover),
            Ans::Unknown => replayable && take(&mut failover),
        };
        if !retried {
            return match *a {
                Ans::S(s, _) => fail(Some(s)),
                _ => fail(None),
            };
        }
    }
    unreachable!("the chained iterator never ends")
}

fn ans() -> impl Strategy<Value = Ans> {
    prop_oneof![
        3 => Just(Ans::Ok),
        2 => Just(Ans::S(429, 3200)),
        1 => Just(Ans::S(449, 0)),
        2 => Just(Ans::S(503, 0)),
        1 => Just(Ans::S(500, 0)),
        1 => Just(Ans::S(408, 0)),
        1 => Just(Ans::S(403, 3)),
        1 => Just(Ans::S(403, 1008)),
        1 => Just(Ans::S(404, 1002)),
        1 => Just(Ans::S(410, 1002)),
        1 => Just(Ans::S(410, 1000)),
        1 => Just(Ans::S(400, 1024)),
        1 => Just(Ans::S(404, 0)),
        1 => Just(Ans::S(409, 0)),
        1 => Just(Ans::S(412, 0)),
        2 => Just(Ans::NotSent),
        2 => Just(Ans::Unknown),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Read),
        Just(Op::Create),
        Just(Op::ReplaceIfMatch),
        Just(Op::Upsert)
    ]
}

fn run(seed: u64, op: Op, answers: &[Ans]) -> Expect {
    let mut sim = Sim::new(seed, DriverOptions::default());
    let container = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let pk = PartitionKey::from("p");
    let item = ItemReference::in_container(&container, "a");
    let mut opts = OperationOptions::new().with_hedging(false);
    let operation = match op {
        Op::Read => CosmosOperation::read(item).with_partition_key(pk),
        Op::Create => CosmosOperation::create(container)
            .with_partition_key(pk)
            .with_body(r#"{"id":"a"}"#),
        Op::ReplaceIfMatch => {
            opts = opts.with_if_match("\"e\"");
            CosmosOperation::replace(item)
                .with_partition_key(pk)
                .with_body(r#"{"id":"a"}"#)
        }
        Op::Upsert => CosmosOperation::upsert(container)
            .with_partition_key(pk)
            .with_body(r#"{"id":"a"}"#),
    };
    let script = answers.to_vec();
    let result = sim.run(operation, opts, move |i, _| {
        answer(script.get(i).copied().unwrap_or(Ans::Ok), op)
    });
    let diagnostics = match &result {
        Ok(r) => r.diagnostics().clone(),
        Err(e) => e.diagnostics().clone(),
    };
    let attempts = diagnostics
        .requests()
        .iter()
        .filter(|r| r.purpose == Purpose::Operation)
        .count();
    Expect {
        ok: result.is_ok(),
        status: match &result {
            Ok(r) => Some(r.status()),
            Err(e) => e.status(),
        },
        attempts,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_execution_follows_the_reference_model(
        seed in any::<u64>(),
        op in op(),
        answers in proptest::collection::vec(ans(), 0..12),
    ) {
        let expected = model(op, &answers);
        let actual = run(seed, op, &answers);
        prop_assert_eq!(actual, expected, "op {:?}, answers {:?}", op, answers);
    }
}
