#![no_main]
//! `pk_ranges`: see `sextant_fuzz_bodies::pk_ranges`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::pk_ranges(data) {
        panic!("{violation}");
    }
});
