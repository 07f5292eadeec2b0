#![no_main]
//! `response_headers`: see `sextant_fuzz_bodies::response_headers`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::response_headers(data) {
        panic!("{violation}");
    }
});
