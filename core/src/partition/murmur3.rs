//! MurmurHash3 (Austin Appleby's public-domain reference), the two variants Cosmos DB uses:
//! `x86_32` for V1 effective partition keys and `x64_128` for V2 and MultiHash ones.
//!
//! Hand-written rather than taken from a crate: the `murmur3` crate (0.5.2) reads through
//! `std::io::Read` and was last released in 2022, `fastmurmur3` (0.2.0) is a single-author
//! speed-oriented crate; the algorithm is some sixty lines, and the SMHasher verification values
//! plus every EPK vector in `tests/epk_vectors.rs` pin this implementation down.

const C1_32: u32 = 0xcc9e_2d51;
const C2_32: u32 = 0x1b87_3593;
const C1_64: u64 = 0x87c3_7b91_1142_53d5;
const C2_64: u64 = 0x4cf5_ad43_2745_937f;

/// MurmurHash3 x86 32-bit of `data` with `seed`.
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    let mut h1 = seed;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let k1 = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        h1 ^= mix_k1_32(k1);
        h1 = h1.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let k1 = tail
            .iter()
            .rev()
            .fold(0u32, |k, &byte| (k << 8) | u32::from(byte));
        h1 ^= mix_k1_32(k1);
    }
    // The reference mixes the length in as a 32-bit value (it is `int len`).
    h1 ^= data.len() as u32;
    fmix32(h1)
}

/// MurmurHash3 x64 128-bit of `data` with `seed`, as the 16 bytes the reference writes
/// (`h1` then `h2`, each little-endian).
pub fn murmur3_x64_128(data: &[u8], seed: u32) -> [u8; 16] {
    let mut h1 = u64::from(seed);
    let mut h2 = u64::from(seed);
    let mut blocks = data.chunks_exact(16);
    for block in &mut blocks {
        let (k1, k2) = split_block(block);
        h1 ^= mix_k1_64(k1);
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= mix_k2_64(k2);
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    if tail.len() > 8 {
        let k2 = tail[8..]
            .iter()
            .rev()
            .fold(0u64, |k, &byte| (k << 8) | u64::from(byte));
        h2 ^= mix_k2_64(k2);
    }
    if !tail.is_empty() {
        let k1 = tail[..tail.len().min(8)]
            .iter()
            .rev()
            .fold(0u64, |k, &byte| (k << 8) | u64::from(byte));
        h1 ^= mix_k1_64(k1);
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&h1.to_le_bytes());
    out[8..].copy_from_slice(&h2.to_le_bytes());
    out
}

fn split_block(block: &[u8]) -> (u64, u64) {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&block[..8]);
    hi.copy_from_slice(&block[8..16]);
    (u64::from_le_bytes(lo), u64::from_le_bytes(hi))
}

fn mix_k1_32(k1: u32) -> u32 {
    k1.wrapping_mul(C1_32).rotate_left(15).wrapping_mul(C2_32)
}

fn mix_k1_64(k1: u64) -> u64 {
    k1.wrapping_mul(C1_64).rotate_left(31).wrapping_mul(C2_64)
}

fn mix_k2_64(k2: u64) -> u64 {
    k2.wrapping_mul(C2_64).rotate_left(33).wrapping_mul(C1_64)
}

fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SMHasher's `VerificationTest`: hash keys `[]`, `[0]`, `[0, 1]`, … `[0..=254]` with seed
    /// `256 - len`, concatenate the outputs, hash that with seed 0 and read the first 4 bytes
    /// little-endian.
    fn verification(hash: impl Fn(&[u8], u32) -> Vec<u8>, width: usize) -> u32 {
        let mut key = [0u8; 256];
        let mut all = vec![0u8; width * 256];
        for i in 0..256usize {
            key[i] = i as u8;
            let out = hash(&key[..i], (256 - i) as u32);
            all[i * width..(i + 1) * width].copy_from_slice(&out);
        }
        let fin = hash(&all, 0);
        u32::from_le_bytes([fin[0], fin[1], fin[2], fin[3]])
    }

    #[test]
    fn smhasher_verification_values() {
        let v32 = verification(|d, s| murmur3_x86_32(d, s).to_le_bytes().to_vec(), 4);
        assert_eq!(v32, 0xB0F5_7EE3);
        let v128 = verification(|d, s| murmur3_x64_128(d, s).to_vec(), 16);
        assert_eq!(v128, 0x6384_BA69);
    }

    #[test]
    fn known_x86_32_values() {
        assert_eq!(murmur3_x86_32(b"", 0), 0);
        assert_eq!(murmur3_x86_32(b"", 1), 0x514E_28B7);
        assert_eq!(murmur3_x86_32(b"", 0xffff_ffff), 0x81F1_6F39);
        assert_eq!(murmur3_x86_32(b"aaaa", 0x9747_b28c), 0x5A97_808A);
        assert_eq!(murmur3_x86_32(b"abc", 0x9747_b28c), 0xC84A_62DD);
        assert_eq!(murmur3_x86_32(b"Hello, world!", 0x9747_b28c), 0x2488_4CBA);
        assert_eq!(
            murmur3_x86_32(b"The quick brown fox jumps over the lazy dog", 0x9747_b28c),
            0x2FA8_26CD
        );
    }

    #[test]
    fn known_x64_128_values() {
        assert_eq!(murmur3_x64_128(b"", 0), [0u8; 16]);
        let fox = murmur3_x64_128(b"The quick brown fox jumps over the lazy dog", 0);
        let hex: String = fox.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "6c1b07bc7bbc4be347939ac4a93c437a");
    }
}
