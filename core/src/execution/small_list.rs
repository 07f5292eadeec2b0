//! `SmallList`: a list whose first `N` entries live inline (no allocation), for the
//! execution's short lists (attempts in flight, endpoints tried), which hold one or two
//! entries in nearly every operation.

/// A list that keeps its first `N` entries inline and the rest in a `Vec`. Order is kept.
#[derive(Debug, Clone)]
pub(super) struct SmallList<T, const N: usize> {
    /// `inline[..len]` are `Some`, the rest `None`.
    inline: [Option<T>; N],
    len: usize,
    /// Entries past the first `N`.
    more: Vec<T>,
}

impl<T, const N: usize> Default for SmallList<T, N> {
    fn default() -> Self {
        SmallList {
            inline: [const { None }; N],
            len: 0,
            more: Vec::new(),
        }
    }
}

impl<T, const N: usize> SmallList<T, N> {
    pub(super) fn len(&self) -> usize {
        self.len + self.more.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn push(&mut self, value: T) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(value);
                self.len += 1;
            }
            None => self.more.push(value),
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        let used = self.inline.get(..self.len).unwrap_or_default();
        used.iter()
            .filter_map(Option::as_ref)
            .chain(self.more.iter())
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        let used = self.inline.get_mut(..self.len).unwrap_or_default();
        used.iter_mut()
            .filter_map(Option::as_mut)
            .chain(self.more.iter_mut())
    }

    pub(super) fn contains(&self, value: &T) -> bool
    where
        T: PartialEq,
    {
        self.iter().any(|v| v == value)
    }

    pub(super) fn clear(&mut self) {
        *self = SmallList::default();
    }

    /// Removes and returns the entry at `index` (in iteration order), shifting the later ones.
    pub(super) fn remove(&mut self, index: usize) -> Option<T> {
        if index >= self.len {
            let i = index - self.len;
            return (i < self.more.len()).then(|| self.more.remove(i));
        }
        let taken = self.inline.get_mut(index).and_then(Option::take);
        if index + 1 == self.len && self.more.is_empty() {
            // The last entry: nothing to shift.
            self.len -= 1;
            return taken;
        }
        // Close the gap: shift the later inline entries left, then refill the last inline slot
        // from the overflow.
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

    /// Removes every entry, in order.
    pub(super) fn take_all(&mut self) -> impl Iterator<Item = T> {
        let list = std::mem::take(self);
        list.inline.into_iter().flatten().chain(list.more)
    }
}

#[cfg(test)]
mod tests {
    use super::SmallList;

    fn items(l: &SmallList<u32, 2>) -> Vec<u32> {
        l.iter().copied().collect()
    }

    #[test]
    fn keeps_order_across_the_inline_part_and_the_overflow() {
        let mut l = SmallList::<u32, 2>::default();
        assert!(l.is_empty());
        for i in 0..5 {
            l.push(i);
        }
        assert_eq!(l.len(), 5);
        assert_eq!(items(&l), [0, 1, 2, 3, 4]);
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
        for i in 0..3 {
            l.push(i);
        }
        for v in l.iter_mut() {
            *v += 10;
        }
        assert_eq!(l.take_all().collect::<Vec<_>>(), [10, 11, 12]);
        assert!(l.is_empty());
        l.push(1);
        l.clear();
        assert_eq!(l.len(), 0);
    }
}
