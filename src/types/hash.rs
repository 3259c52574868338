//! The hash type and its two encodings.
//!
//! Small hashes are a `Listpack`: field/value strings packed in one buffer and searched
//! linearly, like Redis's listpack: fields come back in insertion order and an update keeps the field's position, which users
//! and the tutorial's printed outputs rely on. Once a hash grows past
//! `hash-max-listpack-entries` fields, or a field or value is longer than
//! `hash-max-listpack-value` bytes, it becomes an indexed table (one-way, as in Redis).
//! The table keeps entries in a vector with a hash index, so HSCAN can walk it by position
//! and HRANDFIELD can pick by index.

use indexmap::IndexMap;

use super::bytes::Bytes;
use super::listpack::{Listpack, ListpackIter};

/// Conversion thresholds, from the `hash-max-listpack-*` directives.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

#[derive(Debug, Clone)]
pub enum Hash {
    Listpack(Listpack),
    // Boxed: a table is rare and large, and inline it would make every keyspace entry
    // (strings and small hashes too) as big as an IndexMap.
    Table(Box<IndexMap<Bytes, Bytes>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Listpack::default())
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(v) => v.len(),
            Hash::Table(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(lp) => lp.get(field),
            Hash::Table(m) => m.get(field).map(|v| &**v),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Converts to the table encoding if a field or value of these lengths would not fit the
    /// compact one. Call before inserting, like Redis's `hashTypeTryConversion`.
    pub fn prepare_insert(&mut self, field_len: usize, value_len: usize, lim: HashLimits) {
        if let Hash::Listpack(_) = self
            && (field_len > lim.max_value || value_len > lim.max_value)
        {
            self.convert();
        }
    }

    /// Sets `field` to `value`; returns true if the field is new. The field keeps its
    /// position when it already exists.
    pub fn insert(&mut self, field: &[u8], value: &[u8], lim: HashLimits) -> bool {
        self.prepare_insert(field.len(), value.len(), lim);
        let new = match self {
            Hash::Listpack(lp) => lp.insert(field, value),
            Hash::Table(m) => {
                if let Some(slot) = m.get_mut(field) {
                    *slot = value.into();
                    false
                } else {
                    crate::keyspace::reserve_one(m);
                    m.insert(field.into(), value.into());
                    true
                }
            }
        };
        if new
            && let Hash::Listpack(lp) = self
            && lp.len() > lim.max_entries
        {
            self.convert();
        }
        new
    }

    /// Removes `field`; returns true if it existed. Listpack order of the rest is kept.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => lp.remove(field),
            Hash::Table(m) => m.swap_remove(field).is_some(),
        }
    }

    /// The pair at position `i` (0..len), for random picks and cursor scans.
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(lp) => lp.get_index(i),
            Hash::Table(m) => m.get_index(i).map(|(f, v)| (&**f, &**v)),
        }
    }

    pub fn iter(&self) -> HashIter<'_> {
        match self {
            Hash::Listpack(lp) => HashIter::Listpack(lp.iter()),
            Hash::Table(m) => HashIter::Table(m.iter()),
        }
    }

    fn convert(&mut self) {
        if let Hash::Listpack(lp) = self {
            let mut m = IndexMap::with_capacity(lp.len());
            for (f, val) in lp.iter() {
                m.insert(f.into(), val.into());
            }
            *self = Hash::Table(Box::new(m));
        }
    }

    /// Bytes allocated for the hash: the pair storage plus out-of-line strings.
    pub fn heap_bytes(&self) -> usize {
        let pair = std::mem::size_of::<(Bytes, Bytes)>();
        match self {
            Hash::Listpack(lp) => lp.heap_bytes(),
            // Entries (pair + cached hash), the index (a word and a control byte per
            // slot, a power of two at most 7/8 full), and out-of-line strings.
            Hash::Table(m) => {
                let slots = (m.len() * 8 / 7 + 1).next_power_of_two();
                m.capacity() * (pair + 8)
                    + slots * 9
                    + m.iter()
                        .map(|(f, x)| f.heap_bytes() + x.heap_bytes())
                        .sum::<usize>()
            }
        }
    }
}

/// Iterates field/value pairs in storage order.
pub enum HashIter<'a> {
    Listpack(ListpackIter<'a>),
    Table(indexmap::map::Iter<'a, Bytes, Bytes>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(it) => it.next(),
            HashIter::Table(it) => it.next().map(|(f, v)| (&**f, &**v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: HashLimits = HashLimits {
        max_entries: 4,
        max_value: 8,
    };

    #[test]
    fn insertion_order_and_update_in_place() {
        let mut h = Hash::new();
        assert!(h.insert(b"name", b"Alice", LIM));
        assert!(h.insert(b"age", b"25", LIM));
        assert!(!h.insert(b"name", b"Bob", LIM));
        let fields: Vec<_> = h.iter().map(|(f, _)| f.to_vec()).collect();
        assert_eq!(fields, vec![b"name".to_vec(), b"age".to_vec()]);
        assert_eq!(h.get(b"name"), Some(&b"Bob"[..]));
        assert!(h.remove(b"name"));
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn converts_on_size_and_keeps_data() {
        let mut h = Hash::new();
        for i in 0..5 {
            h.insert(format!("f{i}").as_bytes(), b"v", LIM);
        }
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 5);
        let mut h2 = Hash::new();
        h2.insert(b"f", b"0123456789", LIM);
        assert_eq!(h2.encoding_name(), "hashtable");
        assert_eq!(h2.get(b"f"), Some(&b"0123456789"[..]));
    }
}
