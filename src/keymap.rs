//! `KeyMap`: the keyspace's table, an insertion-ordered map from keys to entries.
//!
//! It behaves like `IndexMap` (entries in a vector, positions stable except that removal
//! moves the last entry into the hole, so SCAN and the AOF rewrite can walk positions) but
//! costs less per key, which matters with millions of small keys:
//! - the hash index holds 4-byte positions instead of 8-byte ones (a database holds fewer
//!   than 2^32 keys), so at 1M keys, just past a power of two, the index is 10 MB, not 19;
//! - entries do not cache their hash (8 bytes each). A lookup compares the key only after
//!   the index's 7-bit tag matched, and growing the index rehashes the keys, which is rare
//!   and cheap for short keys.
//!
//! The hasher is `KeyHasher`, keyed with random seeds drawn for each map, so clients
//! cannot aim collisions.

use hashbrown::HashTable;

use crate::keyhash::KeyHasher;
use crate::prefetch;
use crate::types::bytes::Bytes;

/// Where a map's index lives in memory (see `KeyMap::index_layout`).
#[derive(Clone, Copy)]
pub struct IndexLayout {
    ctrl: usize,
    mask: usize,
}

#[derive(Clone)]
pub struct KeyMap<V> {
    entries: Vec<(Bytes, V)>,
    index: HashTable<u32>,
    hasher: KeyHasher,
}

impl<V: std::fmt::Debug> std::fmt::Debug for KeyMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<V> Default for KeyMap<V> {
    fn default() -> Self {
        KeyMap::new()
    }
}

impl<V> KeyMap<V> {
    pub fn new() -> KeyMap<V> {
        KeyMap {
            entries: Vec::new(),
            index: HashTable::new(),
            hasher: KeyHasher::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    /// Position of `key`.
    #[inline]
    pub fn get_index_of(&self, key: &[u8]) -> Option<usize> {
        self.find(self.hash(key), key)
    }

    #[inline]
    fn find(&self, h: u64, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(h, |&i| &*entries[i as usize].0 == key)
            .map(|&i| i as usize)
    }

    /// The hash `get_index_of` would compute for `key` (for `find_hashed` and the
    /// prefetch steps, which look a batch of keys up in stages).
    #[inline]
    pub fn hash_of(&self, key: &[u8]) -> u64 {
        self.hash(key)
    }

    /// `get_index_of` with the key's hash already computed by `hash_of`.
    #[inline]
    pub fn find_hashed(&self, h: u64, key: &[u8]) -> Option<usize> {
        self.find(h, key)
    }

    /// Where the index's buckets are, for `prefetch_slot`; None while it is empty.
    ///
    /// hashbrown keeps a control byte per bucket in one array and the value of bucket `b`
    /// `b + 1` values below the array's start; the start is found from the bucket of the
    /// last entry (a lookup, where scanning for the first occupied bucket would cost time
    /// in proportion to the table's size once most keys are gone). This layout is
    /// hashbrown's own business: if it ever changes, the hints land elsewhere and only
    /// speed is lost (a prefetch never faults).
    pub fn index_layout(&self) -> Option<IndexLayout> {
        let last = self.entries.len().checked_sub(1)?;
        let h = self.hash(&self.entries[last].0);
        let b = self.index.find_bucket_index(h, |&j| j as usize == last)?;
        let at = std::ptr::from_ref(self.index.get_bucket(b)?) as usize;
        Some(IndexLayout {
            ctrl: at.wrapping_add((b + 1) * std::mem::size_of::<u32>()),
            mask: self.index.num_buckets() - 1,
        })
    }

    /// Stage 1 of a batch lookup: asks for the cache lines of the bucket where the probe
    /// for hash `h` starts (its control bytes and its value), without reading them.
    #[inline]
    pub fn prefetch_slot(&self, at: IndexLayout, h: u64) {
        let b = h as usize & at.mask;
        prefetch::read((at.ctrl + b) as *const u8);
        prefetch::read(at.ctrl.wrapping_sub((b + 1) * std::mem::size_of::<u32>()) as *const u8);
    }

    /// Stage 2: reads the index (prefetched by stage 1) for the first position whose tag
    /// matches `h`, and asks for that entry's cache line, without comparing keys (which
    /// would wait for it).
    #[inline]
    pub fn prefetch_entry(&self, h: u64) {
        if let Some(b) = self.index.iter_hash_buckets(h).next()
            && let Some(&i) = self.index.get_bucket(b)
            && let Some(e) = self.entries.get(i as usize)
        {
            prefetch::read(e);
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.get_index_of(key).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.get_index_of(key).map(|i| &mut self.entries[i].1)
    }

    pub fn get_index(&self, i: usize) -> Option<(&Bytes, &V)> {
        self.entries.get(i).map(|(k, v)| (k, v))
    }

    pub fn get_index_mut(&mut self, i: usize) -> Option<(&Bytes, &mut V)> {
        self.entries.get_mut(i).map(|(k, v)| (&*k, v))
    }

    /// Appends `key`, which the caller has just looked up and found absent (the keyspace
    /// always has), without a second lookup; returns its position.
    pub fn push_new(&mut self, key: &[u8], value: V) -> usize {
        debug_assert!(self.get_index_of(key).is_none());
        self.push_hashed(self.hash(key), key, value)
    }

    fn push_hashed(&mut self, h: u64, key: &[u8], value: V) -> usize {
        let i = self.entries.len();
        assert!(
            i < u32::MAX as usize,
            "more than 2^32-1 keys in one database"
        );
        if self.entries.len() == self.entries.capacity() {
            // Grow by an eighth, not double: at millions of keys doubling leaves up to half
            // the vector reserved, which INFO used_memory would report. Large vectors are
            // moved by remapping pages, so this stays amortized O(1).
            self.entries.reserve_exact(i / 8 + 16);
        }
        self.entries.push((Bytes::from(key), value));
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index
            .insert_unique(h, i as u32, |&j| hasher.hash(&entries[j as usize].0));
        i
    }

    /// An empty map with room for `n` entries (a set created for a known number of
    /// members).
    pub fn with_capacity(n: usize) -> KeyMap<V> {
        KeyMap {
            entries: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            hasher: KeyHasher::new(),
        }
    }

    /// Appends `key` with `make()` unless it is there, hashing it once: (position, true if
    /// appended).
    pub fn insert_if_absent(&mut self, key: &[u8], make: impl FnOnce() -> V) -> (usize, bool) {
        let h = self.hash(key);
        match self.find(h, key) {
            Some(i) => (i, false),
            None => (self.push_hashed(h, key, make()), true),
        }
    }

    /// Removes `key`, moving the last entry into its place; returns it.
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<(Bytes, V)> {
        let h = self.hash(key);
        let i = self.find(h, key)?;
        Some(self.swap_remove_hashed(i, h))
    }

    /// Allocated room: (entries, index slots), for memory estimates.
    pub fn capacities(&self) -> (usize, usize) {
        // hashbrown keeps a power-of-two number of slots at most 7/8 full.
        let slots = match self.index.capacity() {
            0 => 0,
            c if c < 8 => (c + 1).next_power_of_two(),
            c => (c * 8 / 7).next_power_of_two(),
        };
        (self.entries.capacity(), slots)
    }

    /// Shrinks the hash index once it is less than an eighth full (after most entries went),
    /// as Redis resizes a set's dict down; the entries shrink on their own (see
    /// `swap_remove_index`).
    pub fn shrink_index_if_sparse(&mut self) {
        let cap = self.index.capacity();
        if cap > 64 && self.entries.len() < cap / 8 {
            let (entries, hasher) = (&self.entries, &self.hasher);
            self.index.shrink_to(self.entries.len() * 2, |&j| {
                hasher.hash(&entries[j as usize].0)
            });
        }
    }

    /// Removes the entry at `i`, moving the last entry into its place.
    pub fn swap_remove_index(&mut self, i: usize) -> Option<(Bytes, V)> {
        if i >= self.entries.len() {
            return None;
        }
        let h = self.hash(&self.entries[i].0);
        Some(self.swap_remove_hashed(i, h))
    }

    /// `swap_remove_index` with the hash of the entry at `i` already known.
    fn swap_remove_hashed(&mut self, i: usize, h: u64) -> (Bytes, V) {
        match self.index.find_entry(h, |&j| j as usize == i) {
            Ok(e) => {
                e.remove();
            }
            Err(_) => unreachable!("index and entries agree"),
        }
        let last = self.entries.len() - 1;
        if last != i {
            let h = self.hash(&self.entries[last].0);
            let slot = self
                .index
                .find_mut(h, |&j| j as usize == last)
                .expect("index and entries agree");
            *slot = i as u32;
        }
        let removed = self.entries.swap_remove(i);
        if self.entries.capacity() > 64 && self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to(self.entries.len() * 2);
        }
        removed
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<V> std::ops::Index<usize> for KeyMap<V> {
    type Output = V;
    fn index(&self, i: usize) -> &V {
        &self.entries[i].1
    }
}

impl<V> std::ops::IndexMut<usize> for KeyMap<V> {
    fn index_mut(&mut self, i: usize) -> &mut V {
        &mut self.entries[i].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random appends, replacements and swap-removals agree with a vector model.
    #[test]
    fn matches_a_model() {
        let mut rng = crate::rand::Rng::from_entropy();
        let mut m: KeyMap<u64> = KeyMap::new();
        let mut model: Vec<(Vec<u8>, u64)> = Vec::new();
        for step in 0..50_000u64 {
            let k = format!("key:{}", rng.below(3000)).into_bytes();
            let pos = model.iter().position(|(x, _)| *x == k);
            if rng.below(3) == 0 {
                if let Some(i) = pos {
                    let (rk, rv) = m.swap_remove_index(i).unwrap();
                    assert_eq!(&*rk, &k[..]);
                    assert_eq!(rv, model[i].1);
                    model.swap_remove(i);
                }
            } else {
                match (m.get_index_of(&k), pos) {
                    (Some(i), Some(p)) => {
                        assert_eq!(i, p);
                        assert_eq!(m[i], model[p].1);
                        m[i] = step;
                        model[p].1 = step;
                    }
                    (None, None) => {
                        assert_eq!(m.push_new(&k, step), model.len());
                        model.push((k.clone(), step));
                    }
                    other => panic!("map and model disagree: {other:?}"),
                }
            }
            assert_eq!(m.len(), model.len());
            if step % 997 == 0 {
                for (i, (k, v)) in model.iter().enumerate() {
                    assert_eq!(m.get_index_of(k), Some(i));
                    assert_eq!(m.get(k), Some(v));
                    assert_eq!(&**m.get_index(i).unwrap().0, &k[..]);
                }
                assert_eq!(m.get_index_of(b"absent"), None);
            }
        }
    }

    /// The prefetch stages point where hashbrown keeps the buckets: for every occupied
    /// bucket, the address `index_layout` computes is the address of its value. A
    /// hashbrown release that lays the table out differently fails here, instead of
    /// silently losing the speed of batch prefetching.
    #[test]
    fn index_layout_matches_hashbrown() {
        let mut m: KeyMap<u32> = KeyMap::new();
        assert!(m.index_layout().is_none());
        for n in [1usize, 7, 100, 5000] {
            while m.len() < n {
                let k = format!("k:{}", m.len());
                m.push_new(k.as_bytes(), 0);
            }
            let at = m.index_layout().expect("not empty");
            assert_eq!(at.mask + 1, m.index.num_buckets());
            for b in m.index.iter_buckets() {
                let addr = std::ptr::from_ref(m.index.get_bucket(b).unwrap()) as usize;
                assert_eq!(addr, at.ctrl - (b + 1) * std::mem::size_of::<u32>());
            }
            // The stages themselves only hint: every key is still found.
            for i in 0..n {
                let k = format!("k:{i}");
                let h = m.hash_of(k.as_bytes());
                m.prefetch_slot(at, h);
                m.prefetch_entry(h);
                assert_eq!(m.find_hashed(h, k.as_bytes()), Some(i));
            }
        }
    }
}
