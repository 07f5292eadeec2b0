//! Session tokens (V1 and V2): parsing, merging with false-progress protection, and the per-container store.
