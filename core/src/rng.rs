//! The driver's only source of randomness: a seeded SplitMix64 generator.
//!
//! SplitMix64 (Steele, Lea, Flood 2014) is tiny, fast and passes BigCrush; we need jitter and
//! activity ids, not cryptographic strength, and the same seed must give the same transcript.

/// Deterministic pseudo-random generator seeded by the caller.
#[derive(Debug, Clone)]
pub struct DetRng {
    state: u64,
}

impl DetRng {
    /// A generator whose whole output sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        DetRng { state: seed }
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (0 when `bound` is 0). The tiny modulo bias is irrelevant for jitter.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DetRng;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = DetRng::new(7);
        let mut b = DetRng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(DetRng::new(1).next_u64(), DetRng::new(2).next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = DetRng::new(3);
        assert_eq!(r.below(0), 0);
        for _ in 0..1000 {
            assert!(r.below(5) < 5);
        }
    }
}
