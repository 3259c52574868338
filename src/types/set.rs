//! The set type. FOUNDATION STUB: a plain ordered vector so the rest of the server compiles
//! and knows the type; issue 12 replaces it with Redis's encodings (intset, listpack,
//! hash table), keeping this interface.

use super::bytes::Bytes;
use super::listpack::Val;

// Boxed so a Value stays 24 bytes (see keyspace::tests::entry_stays_small).
#[allow(clippy::box_collection)]
#[derive(Debug, Clone, Default)]
pub struct Set {
    members: Box<Vec<Bytes>>,
}

impl Set {
    pub fn new() -> Set {
        Set::default()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The name OBJECT ENCODING replies with.
    pub fn encoding_name(&self) -> &'static str {
        "hashtable"
    }

    /// Heap bytes (MEMORY USAGE), estimated from `samples` members (0: all).
    pub fn heap_bytes_sampled(&self, _samples: usize) -> usize {
        self.members
            .iter()
            .map(|b| super::alloc_size(b.len()))
            .sum()
    }

    /// Roughly how many allocations freeing it takes (lazy-free decides by this).
    pub fn allocations(&self) -> usize {
        self.members.len()
    }

    /// Every member, in the encoding's order.
    pub fn iter(&self) -> impl Iterator<Item = Val<'_>> {
        self.members.iter().map(|b| Val::Bytes(b))
    }
}
