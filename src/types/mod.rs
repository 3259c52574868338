//! Value types stored in the keyspace. They know nothing of RESP or commands.
pub mod bytes;
pub mod hash;
pub mod list;
pub mod listpack;
pub mod set;
pub mod string;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use string::Str;
pub use zset::ZSet;

/// Bytes the system allocator really takes for a request of `n` bytes (glibc: an 8-byte
/// header, 16-byte granularity, 32 bytes at least), so MEMORY USAGE matches RSS growth.
pub fn alloc_size(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n + 8).div_ceil(16).max(2) * 16
    }
}

/// A value in the keyspace.
#[derive(Debug, Clone)]
pub enum Value {
    Str(Str),
    Hash(Hash),
    List(List),
    Set(Set),
    ZSet(ZSet),
}

/// Bytes of a packed value prefetched ahead of a command: a small hash of 10 fields, or
/// the start of a longer one, where lookups begin.
const PREFETCH_BYTES: usize = 256;

/// Asks for the cache lines of the first `PREFETCH_BYTES` of `b`.
fn prefetch_front(b: &[u8]) {
    let end = b.len().min(PREFETCH_BYTES);
    let base = b.as_ptr();
    let mut at = 0;
    while at < end {
        crate::prefetch::read(base.wrapping_add(at));
        at += 64;
    }
    // The last byte's line, which the steps skip when the buffer does not start on a
    // line boundary.
    if end > 0 {
        crate::prefetch::read(base.wrapping_add(end - 1));
    }
}

impl Value {
    /// Asks for the first cache lines of the value's heap part, which a command on it
    /// reads first (batch prefetching, see `Db::prefetch`).
    pub fn prefetch(&self) {
        match self {
            Value::Str(s) => s.prefetch(),
            Value::Hash(h) => h.prefetch(),
            Value::List(l) => l.prefetch(),
            Value::Set(s) => s.prefetch(),
            Value::ZSet(z) => z.prefetch(),
        }
    }

    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The name OBJECT ENCODING replies with.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding_name(),
            Value::Hash(h) => h.encoding_name(),
            Value::List(l) => l.encoding_name(),
            Value::Set(s) => s.encoding_name(),
            Value::ZSet(z) => z.encoding_name(),
        }
    }

    /// Approximate heap bytes used by the value (for MEMORY USAGE), nested elements
    /// estimated from `samples` of them (0: all), as Redis's SAMPLES option.
    pub fn heap_bytes(&self, samples: usize) -> usize {
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::Hash(h) => h.heap_bytes_sampled(samples),
            Value::List(l) => l.heap_bytes_sampled(samples),
            Value::Set(s) => s.heap_bytes_sampled(samples),
            Value::ZSet(z) => z.heap_bytes_sampled(samples),
        }
    }

    /// An aggregate left with no element (the last was removed): the key goes, as in
    /// Redis. Strings are never "empty" in this sense.
    pub fn is_empty_aggregate(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}
