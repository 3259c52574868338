//! The string type: bytes plus the encoding Redis would report for them.
//!
//! Redis picks `int`, `embstr` or `raw` when a value is written and `OBJECT ENCODING` shows
//! that choice; clients and tests read it, so ferrokv records the same decision even though
//! it stores strings its own way: up to 21 bytes inside the keyspace entry (no allocation
//! and no pointer to chase: counters, flags, short tokens), longer ones in an exactly sized
//! heap slice, and strings edited in place (APPEND, SETRANGE) in a growable vector.

/// Longest string Redis stores as `embstr`.
const EMBSTR_MAX: usize = 44;
/// Longest string kept inline; with the tag, length and encoding bytes it fills 24 bytes,
/// the size of the other variants, so `Str` is 24 bytes and a keyspace value too.
pub const INLINE_MAX: usize = 21;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StrEnc {
    Int,
    Embstr,
    Raw,
}

#[derive(Debug, Clone)]
pub enum Str {
    Inline {
        len: u8,
        enc: StrEnc,
        buf: [u8; INLINE_MAX],
    },
    /// Written whole (SET): exactly sized, no capacity word.
    Heap { bytes: Box<[u8]>, enc: StrEnc },
    /// Edited in place (APPEND, SETRANGE; always `raw`): a vector with room to grow, so
    /// repeated appends stay amortized O(1). Boxed to keep `Str` small.
    #[allow(clippy::box_collection)]
    Growing(Box<Vec<u8>>),
}

/// Redis's choice for a value written by SET and friends (`tryObjectEncoding`).
fn written_encoding(b: &[u8]) -> StrEnc {
    if b.len() <= 20 && crate::num::parse_i64(b).is_some() {
        StrEnc::Int
    } else if b.len() <= EMBSTR_MAX {
        StrEnc::Embstr
    } else {
        StrEnc::Raw
    }
}

impl Str {
    /// Asks for the cache lines a read of the value starts with (see `Value::prefetch`).
    pub fn prefetch(&self) {
        match self {
            Str::Inline { .. } => {}
            Str::Heap { bytes, .. } => super::prefetch_front(bytes),
            Str::Growing(v) => crate::prefetch::read(&**v),
        }
    }

    fn with_enc(b: &[u8], enc: StrEnc) -> Str {
        if b.len() <= INLINE_MAX {
            let mut buf = [0u8; INLINE_MAX];
            buf[..b.len()].copy_from_slice(b);
            Str::Inline {
                len: b.len() as u8,
                enc,
                buf,
            }
        } else {
            Str::Heap {
                bytes: b.into(),
                enc,
            }
        }
    }

    /// A value written by SET and friends: `int` if it is a canonical integer, otherwise
    /// `embstr` or `raw` by length.
    pub fn new(b: &[u8]) -> Str {
        Str::with_enc(b, written_encoding(b))
    }

    /// A value built by a command that Redis never integer-encodes (INCRBYFLOAT).
    pub fn new_plain(b: &[u8]) -> Str {
        let enc = if b.len() <= EMBSTR_MAX {
            StrEnc::Embstr
        } else {
            StrEnc::Raw
        };
        Str::with_enc(b, enc)
    }

    pub fn from_i64(n: i64) -> Str {
        let mut tmp = [0u8; 20];
        Str::with_enc(crate::num::fmt_i64(n, &mut tmp), StrEnc::Int)
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Str::Inline { len, buf, .. } => &buf[..*len as usize],
            Str::Heap { bytes, .. } => bytes,
            Str::Growing(v) => v,
        }
    }

    /// The bytes for editing in place (APPEND, SETRANGE): moved to a vector if inline, and
    /// the encoding becomes `raw`, as Redis's does. A heap string becomes the vector
    /// without a copy (a SETRANGE on a 300 MB value used to copy it whole first).
    pub fn edit(&mut self) -> &mut Vec<u8> {
        match self {
            Str::Growing(_) => {}
            Str::Heap { bytes, .. } => {
                let v = std::mem::take(bytes).into_vec();
                *self = Str::Growing(Box::new(v));
            }
            Str::Inline { .. } => {
                let b = self.bytes();
                let mut v = Vec::with_capacity(b.len() * 2 + 8);
                v.extend_from_slice(b);
                *self = Str::Growing(Box::new(v));
            }
        }
        match self {
            Str::Growing(v) => v,
            _ => unreachable!("made growable above"),
        }
    }

    /// Makes room in an edited string (`edit`) for a total length of `len`, greedily as
    /// Redis's sds does: doubling while under 1 MB, then 1 MB at a time. A vector that
    /// doubles would hold up to twice a big value's size after a single APPEND.
    pub fn reserve_for(v: &mut Vec<u8>, len: usize) {
        const STEP: usize = 1 << 20;
        if len <= v.capacity() {
            return;
        }
        let want = if len < STEP { len * 2 } else { len + STEP };
        v.reserve_exact(want - v.len());
    }

    pub fn encoding_name(&self) -> &'static str {
        let enc = match self {
            Str::Inline { enc, .. } | Str::Heap { enc, .. } => enc,
            Str::Growing(_) => &StrEnc::Raw,
        };
        match enc {
            StrEnc::Int => "int",
            StrEnc::Embstr => "embstr",
            StrEnc::Raw => "raw",
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Str::Inline { .. } => 0,
            Str::Heap { bytes, .. } => super::alloc_size(bytes.len()),
            Str::Growing(v) => super::alloc_size(24) + super::alloc_size(v.capacity()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_small_and_reports_redis_encodings() {
        assert_eq!(std::mem::size_of::<Str>(), 24);
        assert_eq!(Str::new(b"123").encoding_name(), "int");
        assert_eq!(Str::new(b"0123").encoding_name(), "embstr");
        assert_eq!(Str::new(&[b'x'; 44]).encoding_name(), "embstr");
        assert_eq!(Str::new(&[b'x'; 45]).encoding_name(), "raw");
        assert_eq!(Str::new_plain(b"10.5").encoding_name(), "embstr");
        let mut s = Str::new(b"hello");
        assert_eq!(s.heap_bytes(), 0);
        s.edit().extend_from_slice(b" world");
        assert_eq!(s.bytes(), b"hello world");
        assert_eq!(s.encoding_name(), "raw");
        let long = Str::new(&[b'y'; 30]);
        assert_eq!(long.bytes(), &[b'y'; 30][..]);
    }
}
