//! Value types stored in the keyspace. They know nothing of RESP or commands.
pub mod bytes;
pub mod hash;
pub mod listpack;
pub mod string;

pub use hash::Hash;
pub use string::Str;

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
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
        }
    }

    /// The name OBJECT ENCODING replies with.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding_name(),
            Value::Hash(h) => h.encoding_name(),
        }
    }

    /// Approximate heap bytes used by the value (for MEMORY USAGE), nested elements
    /// estimated from `samples` of them (0: all), as Redis's SAMPLES option.
    pub fn heap_bytes(&self, samples: usize) -> usize {
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::Hash(h) => h.heap_bytes_sampled(samples),
        }
    }
}
