#![no_main]
//! `recording`: see `sextant_fuzz_bodies::recording`. The core never reads a clock; replay's
//! virtual clock starts at a real `Instant` read here.

use std::time::Instant;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::recording(data, Instant::now()) {
        panic!("{violation}");
    }
});
