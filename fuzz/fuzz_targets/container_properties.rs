#![no_main]
//! `container_properties`: see `sextant_fuzz_bodies::container_properties`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::container_properties(data) {
        panic!("{violation}");
    }
});
