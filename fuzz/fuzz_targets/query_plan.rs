#![no_main]
//! `query_plan`: see `sextant_fuzz_bodies::query_plan`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::query_plan(data) {
        panic!("{violation}");
    }
});
