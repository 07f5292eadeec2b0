#![no_main]
//! `partition_key`: see `sextant_fuzz_bodies::partition_key`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::partition_key(data) {
        panic!("{violation}");
    }
});
