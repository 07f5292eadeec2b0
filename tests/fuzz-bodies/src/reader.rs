//! A tiny byte cursor: structured fuzz input decoded by hand, so the core needs no `arbitrary`.
//!
//! Every read is total: an exhausted input yields zeros (and empty slices), so any byte string
//! decodes to something and libFuzzer can shorten inputs freely. [`ByteWriter`] is the mirror
//! image, used to write seed inputs that decode to a chosen structure.

/// Reads numbers, choices and slices off the front of a byte string.
#[derive(Debug, Clone)]
pub struct ByteReader<'a> {
    data: &'a [u8],
}

impl<'a> ByteReader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        ByteReader { data }
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len()
    }

    /// One byte (0 once exhausted).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// The low bit of one byte.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// Four bytes, little-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Eight bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    /// A number in `0..n` from one byte (`n` at most 256; 0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        let b = usize::from(self.u8());
        if n == 0 {
            0
        } else {
            b % n
        }
    }

    /// One of `items` (the first when exhausted). `items` must not be empty.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        let i = self.below(items.len());
        items.get(i).cloned()
    }

    /// Up to `n` bytes (fewer when the input runs out).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A length byte (reduced modulo `max + 1`), then that many bytes.
    pub fn len_prefixed(&mut self, max: usize) -> &'a [u8] {
        let n = self.below(max.saturating_add(1).min(256));
        self.bytes(n)
    }

    /// [`len_prefixed`](Self::len_prefixed) as lossy UTF-8.
    pub fn string(&mut self, max: usize) -> String {
        String::from_utf8_lossy(self.len_prefixed(max)).into_owned()
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let all = self.data;
        self.data = &[];
        all
    }
}

/// Writes bytes that a [`ByteReader`] decodes back to the same values (for seed inputs).
#[derive(Debug, Clone, Default)]
pub struct ByteWriter {
    out: Vec<u8>,
}

impl ByteWriter {
    /// An empty writer.
    pub fn new() -> Self {
        ByteWriter::default()
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }

    /// A boolean as one byte.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Four bytes, little-endian.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Eight bytes, little-endian.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Raw bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.out.extend_from_slice(v);
        self
    }

    /// A length byte then the bytes (at most 255 of them are written).
    pub fn len_prefixed(&mut self, v: &[u8]) -> &mut Self {
        let v = v.get(..v.len().min(255)).unwrap_or_default();
        self.out.push(u8::try_from(v.len()).unwrap_or(u8::MAX));
        self.out.extend_from_slice(v);
        self
    }

    /// The bytes written so far.
    pub fn finish(&self) -> Vec<u8> {
        self.out.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_reader_agree() {
        let mut w = ByteWriter::new();
        w.u8(7).bool(true).u16(513).u32(70_000).u64(u64::MAX - 3);
        w.len_prefixed(b"hello");
        let bytes = w.finish();
        let mut r = ByteReader::new(&bytes);
        assert_eq!(r.u8(), 7);
        assert!(r.bool());
        assert_eq!(r.u16(), 513);
        assert_eq!(r.u32(), 70_000);
        assert_eq!(r.u64(), u64::MAX - 3);
        assert_eq!(r.len_prefixed(255), b"hello");
        assert!(r.is_empty());
        assert_eq!(r.u64(), 0);
    }
}
