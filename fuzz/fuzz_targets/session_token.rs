#![no_main]
//! `session_token`: see `sextant_core::fuzzing::session_token`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_core::fuzzing::session_token(data) {
        panic!("{violation}");
    }
});
