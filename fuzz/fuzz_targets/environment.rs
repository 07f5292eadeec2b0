#![no_main]
//! `environment`: see `sextant_fuzz_bodies::environment`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::environment(data) {
        panic!("{violation}");
    }
});
