//! The contiguous prefix of finished lines of an import: results arrive out of order, and a
//! resumed import may skip exactly the lines before the watermark.

use std::collections::BTreeSet;

/// Lines are numbered from 1. Every line before [`Watermark::next`] is finished.
#[derive(Debug, Clone)]
pub struct Watermark {
    next: u64,
    ahead: BTreeSet<u64>,
}

impl Watermark {
    /// Nothing after line `done` is finished.
    pub fn new(done: u64) -> Watermark {
        Watermark {
            next: done + 1,
            ahead: BTreeSet::new(),
        }
    }

    /// Line `line` is finished.
    pub fn finish(&mut self, line: u64) {
        if line < self.next {
            return;
        }
        self.ahead.insert(line);
        while self.ahead.remove(&self.next) {
            self.next += 1;
        }
    }

    /// The number of leading lines that are finished.
    pub fn done(&self) -> u64 {
        self.next - 1
    }

    /// Lines finished beyond the watermark (waiting for an earlier line).
    pub fn pending(&self) -> usize {
        self.ahead.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watermark_moves_only_over_a_contiguous_prefix() {
        let mut w = Watermark::new(10);
        assert_eq!(w.done(), 10);
        w.finish(12);
        w.finish(13);
        assert_eq!((w.done(), w.pending()), (10, 2));
        w.finish(11);
        assert_eq!((w.done(), w.pending()), (13, 0));
        w.finish(5); // before the watermark: already counted
        assert_eq!(w.done(), 13);
    }
}
