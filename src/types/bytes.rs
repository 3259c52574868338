//! `Bytes`: an immutable byte string stored inline when short.
//!
//! Keys, hash fields and hash values are mostly short (`user:1`, `email`, `25`). Storing
//! those inside the table entry saves a heap allocation each and, more importantly for
//! speed, a dependent cache miss on every lookup: comparing a key no longer chases a
//! pointer. Longer strings live on the heap as before. Hashing and equality are those of
//! the byte slice, so maps keyed by `Bytes` are looked up with a plain `&[u8]`.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// Longest string kept inline (the enum stays 24 bytes, the size of a `Vec`).
pub const INLINE_MAX: usize = 22;

#[derive(Clone)]
pub enum Bytes {
    Inline { len: u8, buf: [u8; INLINE_MAX] },
    Heap(Box<[u8]>),
}

impl Bytes {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Inline { len, buf } => &buf[..*len as usize],
            Bytes::Heap(b) => b,
        }
    }

    /// Heap bytes owned beyond the inline size (for memory estimates).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Bytes::Inline { .. } => 0,
            Bytes::Heap(b) => super::alloc_size(b.len()),
        }
    }
}

impl From<&[u8]> for Bytes {
    fn from(s: &[u8]) -> Bytes {
        if s.len() <= INLINE_MAX {
            let mut buf = [0u8; INLINE_MAX];
            buf[..s.len()].copy_from_slice(s);
            Bytes::Inline {
                len: s.len() as u8,
                buf,
            }
        } else {
            Bytes::Heap(s.into())
        }
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Borrow<[u8]> for Bytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Hash for Bytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must hash exactly like `[u8]` so `&[u8]` lookups find the entry.
        self.as_slice().hash(state)
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Bytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Bytes {}

impl PartialOrd for Bytes {
    fn partial_cmp(&self, other: &Bytes) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bytes {
    fn cmp(&self, other: &Bytes) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    #[test]
    fn inline_and_heap_behave_alike() {
        assert_eq!(std::mem::size_of::<Bytes>(), 24);
        let short = Bytes::from(&b"user:1"[..]);
        let long = Bytes::from(&[7u8; 40][..]);
        assert!(matches!(short, Bytes::Inline { .. }));
        assert!(matches!(long, Bytes::Heap(_)));
        let mut m: IndexMap<Bytes, u32> = IndexMap::new();
        m.insert(short, 1);
        m.insert(long, 2);
        assert_eq!(m.get(&b"user:1"[..]), Some(&1));
        assert_eq!(m.get(&[7u8; 40][..]), Some(&2));
        assert_eq!(m.get(&b""[..]), None);
        m.insert(Bytes::from(&b""[..]), 3);
        assert_eq!(m.get(&b""[..]), Some(&3));
    }
}
