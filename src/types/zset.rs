//! The sorted set type. FOUNDATION STUB: a plain vector so the rest of the server
//! compiles and knows the type; issue 12 replaces it with a listpack while small and an
//! ordered tree plus a member index when big, keeping this interface.

use super::bytes::Bytes;
use super::listpack::Val;

// Boxed so a Value stays 24 bytes (see keyspace::tests::entry_stays_small).
#[allow(clippy::box_collection)]
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    /// (score, member), ordered by score then member.
    items: Box<Vec<(f64, Bytes)>>,
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The name OBJECT ENCODING replies with.
    pub fn encoding_name(&self) -> &'static str {
        "skiplist"
    }

    /// Heap bytes (MEMORY USAGE), estimated from `samples` members (0: all).
    pub fn heap_bytes_sampled(&self, _samples: usize) -> usize {
        self.items
            .iter()
            .map(|(_, b)| super::alloc_size(b.len()) + 8)
            .sum()
    }

    /// Roughly how many allocations freeing it takes (lazy-free decides by this).
    pub fn allocations(&self) -> usize {
        self.items.len()
    }

    /// (member, score) from the lowest score up.
    pub fn iter(&self) -> impl Iterator<Item = (Val<'_>, f64)> {
        self.items.iter().map(|(s, m)| (Val::Bytes(m), *s))
    }
}
