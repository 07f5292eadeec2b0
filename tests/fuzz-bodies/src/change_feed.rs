//! `change_feed_token`: the change-feed continuation token (`cf1.`) callers hand back.

use sextant_core::changefeed::token_parts;
use sextant_core::feed::token::MAX_TOKEN_BYTES;
use sextant_core::models::{AccountReference, ContainerReference};
use sextant_core::{
    ChangeFeedMode, ChangeFeedPager, ChangeFeedStart, CosmosOperation, OperationOptions,
};

use super::{ensure, Violation};

const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";

/// A token resumes a pager (whose own token then round-trips) or is a short typed error;
/// its parts (a lease split) are each a token of exactly one range. Nothing panics.
pub fn change_feed_token(data: &[u8]) -> Result<(), Violation> {
    const T: &str = "change_feed_token";
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    for (min, max, part) in token_parts(text) {
        ensure!(T, min < max, "part [{min}, {max}) is empty or reversed");
        ensure!(
            T,
            token_parts(&part).len() == 1,
            "a part is not a one-range token"
        );
    }
    let Ok(account) =
        AccountReference::with_master_key("https://fuzz.documents.azure.com:443/", KEY)
    else {
        return Err(Violation::new(T, "the fuzz account does not build".into()));
    };
    let op = CosmosOperation::change_feed(
        ContainerReference::from_name(account, "db", "c"),
        ChangeFeedMode::LatestVersion,
        ChangeFeedStart::Beginning,
    );
    match ChangeFeedPager::new(op.clone(), OperationOptions::new().with_continuation(text)) {
        Ok(pager) => {
            let Some(again) = pager.continuation() else {
                return Err(Violation::new(T, "a resumed pager has no token".into()));
            };
            let back = ChangeFeedPager::new(op, OperationOptions::new().with_continuation(&again))
                .map_err(|e| Violation::new(T, format!("a pager's own token is refused: {e}")))?;
            ensure!(
                T,
                back.continuation().as_deref() == Some(again.as_str()),
                "round trip changed the token"
            );
        }
        Err(e) => {
            let msg = e.to_string();
            ensure!(
                T,
                msg.len() <= 2 * MAX_TOKEN_BYTES.min(4096),
                "an error of {} bytes",
                msg.len()
            );
        }
    }
    Ok(())
}
