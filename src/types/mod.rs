//! Value types stored in the keyspace. They know nothing of RESP or commands.
pub mod bytes;
pub mod hash;
pub mod listpack;
pub mod string;

pub use hash::Hash;
pub use string::Str;

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

    /// Approximate heap bytes used by the value (for MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::Hash(h) => h.heap_bytes(),
        }
    }
}
