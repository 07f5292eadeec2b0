#![no_main]
//! `throughput_flow`: see `sextant_fuzz_bodies::throughput_flow`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::throughput_flow(data) {
        panic!("{violation}");
    }
});
