//! The keyspace's hash function: keyed with random seeds (fresh for every map), and a
//! few times cheaper than std's SipHash for the short keys a keyspace holds.
//!
//! Every command hashes its key once to find it, and batch prefetching (see
//! `Db::prefetch`) hashes it once more ahead of time, so the hash is on the path of every
//! request: SipHash-1-3 costs about 20 ns for a 14-byte key, this about 3.
//!
//! The construction multiplies 64-bit words of the key, each mixed with secret seeds,
//! into 128-bit products and folds the halves together; the length enters through a
//! secret starting state, so keys of different lengths share no structure either. The
//! seeds come from std's `RandomState` (the OS's randomness), so a client cannot compute
//! which keys collide, and the map never shows its hash order (SCAN and KEYS follow
//! insertion order), which leaves nothing to learn the seeds from.

use std::hash::{BuildHasher, RandomState};

/// Odd 64-bit constants (digits of pi) that spread lengths and chunk counts.
const SPREAD: [u64; 2] = [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7345];

/// A keyed hash of byte strings.
#[derive(Clone)]
pub struct KeyHasher {
    seeds: [u64; 3],
}

impl Default for KeyHasher {
    fn default() -> Self {
        KeyHasher::new()
    }
}

/// The 128-bit product of `a` and `b`, its halves folded together with xor: every bit of
/// the result depends on (nearly) every bit of both inputs.
#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = (a as u128) * (b as u128);
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[inline(always)]
fn half(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")) as u64
}

impl KeyHasher {
    /// A hasher with fresh random seeds.
    pub fn new() -> KeyHasher {
        let rs = RandomState::new();
        KeyHasher {
            seeds: [rs.hash_one(1u8), rs.hash_one(2u8), rs.hash_one(3u8)],
        }
    }

    /// The hash of `b`.
    #[inline]
    pub fn hash(&self, b: &[u8]) -> u64 {
        let [k0, k1, k2] = self.seeds;
        let len = b.len();
        // A secret state per length: two keys of different lengths start apart.
        let mut s = fold_mul(k2 ^ len as u64, k1 ^ SPREAD[0]);
        // Two words that between them cover the key (overlapping when shorter than 16
        // bytes), after the chain of whole 16-byte blocks of a longer key.
        let (a, c) = if len <= 16 {
            if len >= 8 {
                (word(b, 0), word(b, len - 8))
            } else if len >= 4 {
                (half(b, 0), half(b, len - 4))
            } else if len > 0 {
                (
                    b[0] as u64 | (b[len / 2] as u64) << 8 | (b[len - 1] as u64) << 16,
                    0,
                )
            } else {
                (0, 0)
            }
        } else {
            let mut at = 0;
            while at + 16 < len {
                s = fold_mul(word(b, at) ^ k0, word(b, at + 8) ^ s);
                at += 16;
            }
            (word(b, len - 16), word(b, len - 8))
        };
        s = fold_mul(a ^ k0, c ^ s);
        fold_mul(s ^ k1, SPREAD[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal keys hash alike; keys that differ in one byte, or only in length, hash apart;
    /// and the low bits (hashbrown's bucket) and top 7 bits (its tag) of keys that differ
    /// in a single digit are spread out.
    #[test]
    fn distinguishes_and_spreads() {
        let h = KeyHasher::new();
        let mut seen = std::collections::HashSet::new();
        let mut buckets = [0u32; 256];
        let mut tags = [0u32; 128];
        for len in 0..80 {
            let base: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert_eq!(h.hash(&base), h.hash(&base.clone()));
            assert!(seen.insert(h.hash(&base)), "length {len}");
            for i in 0..len {
                let mut k = base.clone();
                k[i] ^= 1;
                assert!(seen.insert(h.hash(&k)), "length {len} byte {i}");
            }
        }
        let n = 256 * 400;
        for i in 0..n {
            let k = format!("h:{i:012}");
            let v = h.hash(k.as_bytes());
            buckets[(v & 255) as usize] += 1;
            tags[(v >> 57) as usize] += 1;
        }
        // Uniform would be 400 and 800 per cell; allow wide statistical slack.
        assert!(
            buckets.iter().all(|&c| (300..500).contains(&c)),
            "{buckets:?}"
        );
        assert!(tags.iter().all(|&c| (650..950).contains(&c)), "{tags:?}");
        // Another map (another seed) hashes differently.
        assert_ne!(KeyHasher::new().hash(b"key"), h.hash(b"key"));
    }

    /// Keys of different lengths built so that their words line up once the length is
    /// folded in linearly (an earlier version let anyone build such pairs, whatever the
    /// seeds) do not collide.
    #[test]
    fn lengths_do_not_cancel_out() {
        let lin = |n: usize| (n as u64).wrapping_mul(SPREAD[0]);
        let mut rng = crate::rand::Rng::from_entropy();
        for _ in 0..1000 {
            let h = KeyHasher::new();
            let x = rng.below(u64::MAX);
            let short = x.to_le_bytes().to_vec();
            let mut long = short.clone();
            long.extend_from_slice(&(x ^ lin(8) ^ lin(16)).to_le_bytes());
            assert_ne!(h.hash(&short), h.hash(&long));
            let block: Vec<u8> = (0..16).map(|_| rng.below(256) as u8).collect();
            let y = rng.below(u64::MAX);
            let mut k24 = block.clone();
            k24.extend_from_slice(&y.to_le_bytes());
            let mut k32 = block.clone();
            k32.extend_from_slice(&block[8..16]);
            k32.extend_from_slice(&(y ^ lin(24) ^ lin(32)).to_le_bytes());
            assert_ne!(h.hash(&k24), h.hash(&k32));
        }
    }
}
