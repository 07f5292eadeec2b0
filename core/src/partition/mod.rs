//! Effective partition keys: V1, V2 and MultiHash hashing, and routing an EPK to its range.
