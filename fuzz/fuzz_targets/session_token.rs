#![no_main]
//! `session_token`: see `sextant_fuzz_bodies::session_token`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::session_token(data) {
        panic!("{violation}");
    }
});
