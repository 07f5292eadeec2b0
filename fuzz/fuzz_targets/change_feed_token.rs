#![no_main]
//! `change_feed_token`: see `sextant_fuzz_bodies::change_feed_token`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = sextant_fuzz_bodies::change_feed_token(data) {
        panic!("{violation}");
    }
});
