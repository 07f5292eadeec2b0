#![no_main]
//! `pk_ranges`: see `sextant_core::fuzzing::pk_ranges`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_core::fuzzing::pk_ranges(data) {
        panic!("{violation}");
    }
});
