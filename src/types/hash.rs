//! The hash type and its two encodings.
//!
//! Small hashes are a vector of field/value pairs searched linearly, like Redis's listpack:
//! fields come back in insertion order and an update keeps the field's position, which users
//! and the tutorial's printed outputs rely on. Once a hash grows past
//! `hash-max-listpack-entries` fields, or a field or value is longer than
//! `hash-max-listpack-value` bytes, it becomes an indexed table (one-way, as in Redis).
//! The table keeps entries in a vector with a hash index, so HSCAN can walk it by position
//! and HRANDFIELD can pick by index.

use indexmap::IndexMap;

use super::bytes::Bytes;

/// Conversion thresholds, from the `hash-max-listpack-*` directives.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

#[derive(Debug, Clone)]
pub enum Hash {
    Listpack(Vec<(Bytes, Bytes)>),
    // Boxed: a table is rare and large, and inline it would make every keyspace entry
    // (strings and small hashes too) as big as an IndexMap.
    Table(Box<IndexMap<Bytes, Bytes>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Vec::new())
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
            Hash::Listpack(v) => v.iter().find(|(f, _)| &**f == field).map(|(_, v)| &**v),
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
            Hash::Listpack(v) => {
                if let Some(slot) = v.iter_mut().find(|(f, _)| &**f == field) {
                    if *slot.1 != *value {
                        slot.1 = value.into();
                    }
                    false
                } else {
                    // Grow by a quarter, not double: most hashes are small and stay as
                    // built, and Vec's first allocation alone would be four pairs.
                    if v.len() == v.capacity() {
                        v.reserve_exact(1 + v.len() / 4);
                    }
                    v.push((field.into(), value.into()));
                    true
                }
            }
            Hash::Table(m) => {
                if let Some(slot) = m.get_mut(field) {
                    *slot = value.into();
                    false
                } else {
                    m.insert(field.into(), value.into());
                    true
                }
            }
        };
        if new
            && let Hash::Listpack(v) = self
            && v.len() > lim.max_entries
        {
            self.convert();
        }
        new
    }

    /// Removes `field`; returns true if it existed. Listpack order of the rest is kept.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(v) => match v.iter().position(|(f, _)| &**f == field) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            Hash::Table(m) => m.swap_remove(field).is_some(),
        }
    }

    /// The pair at position `i` (0..len), for random picks and cursor scans.
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(v) => v.get(i).map(|(f, v)| (&**f, &**v)),
            Hash::Table(m) => m.get_index(i).map(|(f, v)| (&**f, &**v)),
        }
    }

    pub fn iter(&self) -> HashIter<'_> {
        HashIter { h: self, i: 0 }
    }

    fn convert(&mut self) {
        if let Hash::Listpack(v) = self {
            let mut m = IndexMap::with_capacity(v.len());
            for (f, val) in v.drain(..) {
                m.insert(f, val);
            }
            *self = Hash::Table(Box::new(m));
        }
    }

    /// Bytes allocated for the hash: the pair storage plus out-of-line strings.
    pub fn heap_bytes(&self) -> usize {
        let pair = std::mem::size_of::<(Bytes, Bytes)>();
        match self {
            Hash::Listpack(v) => {
                v.capacity() * pair
                    + v.iter()
                        .map(|(f, x)| f.heap_bytes() + x.heap_bytes())
                        .sum::<usize>()
            }
            // Entries (pair + cached hash) plus the index table (a word and a control byte).
            Hash::Table(m) => {
                m.capacity() * (pair + 8 + 9)
                    + m.iter()
                        .map(|(f, x)| f.heap_bytes() + x.heap_bytes())
                        .sum::<usize>()
            }
        }
    }
}

/// Iterates field/value pairs in storage order.
pub struct HashIter<'a> {
    h: &'a Hash,
    i: usize,
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.h.get_index(self.i)?;
        self.i += 1;
        Some(r)
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
