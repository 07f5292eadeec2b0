//! [`InlineList`]: a list whose first `N` entries live inline, for the drain contract's short
//! per-operation lists (the requests a turn sends, the inputs fed to it), which hold one or two
//! entries in nearly every operation. A `Vec` there allocated on its first push, once per
//! operation.

use std::fmt;

/// A list that keeps its first `N` entries inline (no heap allocation) and the rest in a
/// `Vec`. Order is kept. It offers the few `Vec` operations the drain loop needs.
///
/// ```
/// use sextant_core::InlineList;
///
/// let mut list = InlineList::<u32, 2>::new();
/// list.extend([1, 2, 3]); // the third entry goes to the heap
/// assert_eq!(list.len(), 3);
/// assert_eq!(list.remove(0), Some(1));
/// assert_eq!(list.drain().collect::<Vec<_>>(), [2, 3]);
/// assert!(list.is_empty());
/// ```
#[derive(Clone)]
pub struct InlineList<T, const N: usize> {
    /// `inline[..len]` are `Some`, the rest `None`.
    inline: [Option<T>; N],
    len: usize,
    /// Entries past the first `N` (empty unless `len == N`).
    more: Vec<T>,
}

impl<T, const N: usize> Default for InlineList<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for InlineList<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq, const N: usize> PartialEq for InlineList<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Eq, const N: usize> Eq for InlineList<T, N> {}

impl<T, const N: usize> InlineList<T, N> {
    /// An empty list (allocates nothing).
    pub const fn new() -> Self {
        InlineList {
            inline: [const { None }; N],
            len: 0,
            more: Vec::new(),
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len + self.more.len()
    }

    /// True when the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.more.is_empty()
    }

    /// Appends an entry: inline while there is room, on the heap after that.
    pub fn push(&mut self, value: T) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(value);
                self.len += 1;
            }
            None => self.more.push(value),
        }
    }

    /// The entry at `index`, if any.
    pub fn get(&self, index: usize) -> Option<&T> {
        if index < self.len {
            self.inline.get(index).and_then(Option::as_ref)
        } else {
            self.more.get(index - self.len)
        }
    }

    /// The entry at `index`, mutably, if any.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        if index < self.len {
            self.inline.get_mut(index).and_then(Option::as_mut)
        } else {
            self.more.get_mut(index - self.len)
        }
    }

    /// The first entry, if any.
    pub fn first(&self) -> Option<&T> {
        self.get(0)
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        let used = self.inline.get(..self.len).unwrap_or_default();
        used.iter()
            .filter_map(Option::as_ref)
            .chain(self.more.iter())
    }

    /// The entries, in order, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        let used = self.inline.get_mut(..self.len).unwrap_or_default();
        used.iter_mut()
            .filter_map(Option::as_mut)
            .chain(self.more.iter_mut())
    }

    /// True when an entry equals `value`.
    pub fn contains(&self, value: &T) -> bool
    where
        T: PartialEq,
    {
        self.iter().any(|v| v == value)
    }

    /// Removes and returns the entry at `index`, shifting the later ones; `None` (and no change)
    /// when `index` is out of bounds.
    pub fn remove(&mut self, index: usize) -> Option<T> {
        if index >= self.len {
            let i = index - self.len;
            return (i < self.more.len()).then(|| self.more.remove(i));
        }
        let taken = self.inline.get_mut(index).and_then(Option::take);
        // Close the gap: shift the later inline entries left (the hole moves to the end of the
        // used part), then refill that slot from the overflow.
        if let Some(tail) = self.inline.get_mut(index..self.len) {
            tail.rotate_left(1);
        }
        if self.more.is_empty() {
            self.len -= 1;
        } else if let Some(last) = self.inline.get_mut(self.len - 1) {
            *last = Some(self.more.remove(0));
        }
        taken
    }

    /// Keeps only the entries for which `keep` returns true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut i = 0;
        while let Some(v) = self.get(i) {
            if keep(v) {
                i += 1;
            } else {
                self.remove(i);
            }
        }
    }

    /// Removes every entry (the heap part keeps its capacity).
    pub fn clear(&mut self) {
        let used = self.inline.get_mut(..self.len).unwrap_or_default();
        used.iter_mut().for_each(|slot| *slot = None);
        self.len = 0;
        self.more.clear();
    }

    /// Removes every entry and yields them in order. Entries the iterator has not yielded when
    /// it is dropped are dropped with it, like `Vec::drain(..)`.
    pub fn drain(&mut self) -> Drain<'_, T> {
        let used = self.len;
        self.len = 0;
        // No `Vec` drain when nothing overflowed (the usual case): creating and dropping one is
        // most of the cost of draining one or two entries.
        let more = &mut self.more;
        Drain {
            inline: self.inline.get_mut(..used).unwrap_or_default().iter_mut(),
            more: (!more.is_empty()).then(|| more.drain(..)),
        }
    }
}

impl<T, const N: usize> Extend<T> for InlineList<T, N> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.push(v);
        }
    }
}

impl<T, const N: usize> FromIterator<T> for InlineList<T, N> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut list = InlineList::new();
        list.extend(iter);
        list
    }
}

/// The iterator of [`InlineList::drain`]: yields the entries in order and leaves the list
/// empty.
#[derive(Debug)]
pub struct Drain<'a, T> {
    inline: std::slice::IterMut<'a, Option<T>>,
    more: Option<std::vec::Drain<'a, T>>,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self.inline.next() {
            Some(slot) => slot.take(),
            None => self.more.as_mut()?.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.inline.len() + self.more.as_ref().map_or(0, ExactSizeIterator::len);
        (n, Some(n))
    }
}

impl<T> ExactSizeIterator for Drain<'_, T> {}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        // Keep the list's invariant (unused inline slots are `None`); the `Vec` drain, if any,
        // drops its own rest.
        for slot in &mut self.inline {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::InlineList;

    fn items(l: &InlineList<u32, 2>) -> Vec<u32> {
        l.iter().copied().collect()
    }

    #[test]
    fn keeps_order_across_the_inline_part_and_the_overflow() {
        let mut l = InlineList::<u32, 2>::new();
        assert!(l.is_empty());
        for i in 0..5 {
            l.push(i);
        }
        assert_eq!(l.len(), 5);
        assert_eq!(items(&l), [0, 1, 2, 3, 4]);
        assert_eq!((l.get(1), l.get(3), l.get(5)), (Some(&1), Some(&3), None));
        assert!(l.contains(&3) && !l.contains(&7));
        assert_eq!(l.remove(0), Some(0));
        assert_eq!(items(&l), [1, 2, 3, 4]);
        assert_eq!(l.remove(3), Some(4));
        assert_eq!(items(&l), [1, 2, 3]);
        assert_eq!(l.remove(1), Some(2));
        assert_eq!(items(&l), [1, 3]);
        assert_eq!(l.remove(5), None);
        assert_eq!(l.remove(1), Some(3));
        assert_eq!(l.remove(0), Some(1));
        assert!(l.is_empty());
        assert_eq!(l.remove(0), None);
        l.extend(0..3);
        for v in l.iter_mut() {
            *v += 10;
        }
        if let Some(v) = l.get_mut(2) {
            *v += 10;
        }
        assert_eq!(l.first(), Some(&10));
        assert_eq!(l.drain().collect::<Vec<_>>(), [10, 11, 22]);
        assert!(l.is_empty());
        l.push(1);
        l.clear();
        assert_eq!(l.len(), 0);
        assert_eq!(l, InlineList::default());
    }

    #[test]
    fn retain_keeps_order() {
        let mut l: InlineList<u32, 2> = (0..6).collect();
        l.retain(|v| v % 2 == 1);
        assert_eq!(items(&l), [1, 3, 5]);
        l.retain(|_| false);
        assert!(l.is_empty());
        assert_eq!(format!("{l:?}"), "[]");
    }

    #[test]
    fn a_partly_consumed_drain_empties_the_list() {
        let mut l: InlineList<String, 2> = ["a", "b", "c"].map(String::from).into_iter().collect();
        let mut d = l.drain();
        assert_eq!(d.len(), 3);
        assert_eq!(d.next().as_deref(), Some("a"));
        drop(d);
        assert!(l.is_empty());
        assert_eq!(l.get(0), None);
        l.push("d".into());
        assert_eq!(l.iter().collect::<Vec<_>>(), ["d"]);
        // A drain of the inline part only, dropped at once.
        let mut l: InlineList<String, 2> = ["x"].map(String::from).into_iter().collect();
        drop(l.drain());
        assert!(l.is_empty());
        l.extend(["y", "z", "w"].map(String::from));
        assert_eq!(l.len(), 3);
    }
}
