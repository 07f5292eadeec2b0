#![no_main]
//! `query_page`: see `sextant_fuzz_bodies::query_page`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::query_page(data) {
        panic!("{violation}");
    }
});
