//! The string type: bytes plus the encoding Redis would report for them.
//!
//! Redis picks `int`, `embstr` or `raw` when a value is written and `OBJECT ENCODING` shows
//! that choice; clients and tests read it, so ferrokv records the same decision even though
//! it stores every string the same way.

/// Longest string Redis stores as `embstr`.
const EMBSTR_MAX: usize = 44;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StrEnc {
    Int,
    Embstr,
    Raw,
}

#[derive(Debug, Clone)]
pub struct Str {
    pub bytes: Vec<u8>,
    pub enc: StrEnc,
}

impl Str {
    /// A value written by SET and friends: `int` if it is a canonical integer, otherwise
    /// `embstr` or `raw` by length (Redis's `tryObjectEncoding`).
    pub fn new(bytes: Vec<u8>) -> Str {
        let enc = if bytes.len() <= 20 && crate::num::parse_i64(&bytes).is_some() {
            StrEnc::Int
        } else if bytes.len() <= EMBSTR_MAX {
            StrEnc::Embstr
        } else {
            StrEnc::Raw
        };
        Str { bytes, enc }
    }

    /// A value built by a command that Redis never integer-encodes (INCRBYFLOAT).
    pub fn new_plain(bytes: Vec<u8>) -> Str {
        let enc = if bytes.len() <= EMBSTR_MAX {
            StrEnc::Embstr
        } else {
            StrEnc::Raw
        };
        Str { bytes, enc }
    }

    /// A value edited in place (APPEND, SETRANGE): always `raw` in Redis.
    pub fn new_raw(bytes: Vec<u8>) -> Str {
        Str {
            bytes,
            enc: StrEnc::Raw,
        }
    }

    pub fn from_i64(n: i64) -> Str {
        let mut bytes = Vec::with_capacity(20);
        crate::num::push_i64(&mut bytes, n);
        Str {
            bytes,
            enc: StrEnc::Int,
        }
    }

    pub fn encoding_name(&self) -> &'static str {
        match self.enc {
            StrEnc::Int => "int",
            StrEnc::Embstr => "embstr",
            StrEnc::Raw => "raw",
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}
