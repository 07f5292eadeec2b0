#![no_main]
//! `environment`: see `sextant_core::fuzzing::environment`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_core::fuzzing::environment(data) {
        panic!("{violation}");
    }
});
