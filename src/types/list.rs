//! The list type. FOUNDATION STUB: a plain deque so the rest of the server compiles and
//! knows the type; issue 12 replaces it with Redis's encodings (one listpack while small,
//! a chain of listpack nodes when big), keeping this interface.

use super::bytes::Bytes;
use super::listpack::Val;

// Boxed so a Value stays 24 bytes (see keyspace::tests::entry_stays_small).
#[allow(clippy::box_collection)]
#[derive(Debug, Clone, Default)]
pub struct List {
    items: Box<Vec<Bytes>>,
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The name OBJECT ENCODING replies with.
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    /// Heap bytes (MEMORY USAGE), estimated from `samples` elements (0: all).
    pub fn heap_bytes_sampled(&self, _samples: usize) -> usize {
        self.items
            .iter()
            .map(|b| super::alloc_size(b.len()))
            .sum::<usize>()
            + super::alloc_size(self.items.capacity() * std::mem::size_of::<Bytes>())
    }

    /// Roughly how many allocations freeing it takes (lazy-free decides by this).
    pub fn allocations(&self) -> usize {
        self.items.len()
    }

    /// Elements from head to tail.
    pub fn iter(&self) -> impl Iterator<Item = Val<'_>> {
        self.items.iter().map(|b| Val::Bytes(b))
    }
}
