#![no_main]
//! `execution`: see `sextant_fuzz_bodies::execution`. The core never reads a clock; the
//! virtual clock of each run starts at a real `Instant` read here.

use std::time::Instant;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::execution(data, Instant::now()) {
        panic!("{violation}");
    }
});
