//! Reading RDB's primitives from a file, a socket or a DUMP payload: lengths, strings
//! (plain, integer-encoded, LZF-compressed), fixed-width numbers, with a running CRC-64
//! of every byte read (the file's or payload's trailer is checked against it).
//!
//! A length is one to nine bytes: the top two bits of the first say how it goes on.
//! `00`: the other six bits are the length; `01`: fourteen bits with the next byte;
//! `10`: byte 0x80 is followed by a 32-bit and 0x81 by a 64-bit big-endian length; `11`:
//! not a length but a string encoding, in the low six bits (an 8, 16 or 32-bit
//! little-endian integer stored for its decimal text, or an LZF-compressed string).
//!
//! Nothing is allocated ahead of the bytes that fill it: a hostile length costs an
//! error when the input runs out, never a huge reservation.

use std::io::{self, Read};

use super::lzf;
use super::{Tally, decimal};

/// String encodings (the low six bits of a length byte that starts with `11`).
pub const ENC_INT8: u8 = 0;
pub const ENC_INT16: u8 = 1;
pub const ENC_INT32: u8 = 2;
pub const ENC_LZF: u8 = 3;

/// Most bytes reserved at once while reading a string of a declared length.
const READ_STEP: u64 = 1 << 20;

/// Why an RDB stream could not be read.
#[derive(Debug)]
pub enum RdbError {
    /// The input ended early: a torn file or payload.
    Truncated,
    /// The bytes are not valid RDB here; the text says what was wrong.
    Corrupt(String),
    /// A value of a type ferrokv does not have (its RDB name and type byte): a stream
    /// or a module's type.
    Unsupported(&'static str, u8),
    Io(io::Error),
}

impl From<io::Error> for RdbError {
    fn from(e: io::Error) -> RdbError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            RdbError::Truncated
        } else {
            RdbError::Io(e)
        }
    }
}

pub type Result<T> = std::result::Result<T, RdbError>;

/// A length, or the string encoding that stands in its place.
#[derive(Debug, PartialEq, Clone, Copy)]
pub enum Len {
    Plain(u64),
    Encoded(u8),
}

/// An RDB input with its running checksum and position.
pub struct Reader<R> {
    inner: R,
    /// Checksum and count of the bytes so far.
    pub tally: Tally,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Reader<R> {
        Reader {
            inner,
            tally: Tally::default(),
        }
    }

    /// Fills `buf` exactly.
    pub fn bytes(&mut self, buf: &mut [u8]) -> Result<()> {
        self.inner.read_exact(buf)?;
        self.tally.add(buf);
        Ok(())
    }

    pub fn u8(&mut self) -> Result<u8> {
        let mut b = [0u8; 1];
        self.bytes(&mut b)?;
        Ok(b[0])
    }

    pub fn u16_le(&mut self) -> Result<u16> {
        let mut b = [0u8; 2];
        self.bytes(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    pub fn u32_le(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn u64_le(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// An 8-byte little-endian IEEE double (sorted-set scores since RDB 8).
    pub fn f64_le(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64_le()?))
    }

    /// A length or a string encoding (see the module notes).
    pub fn len(&mut self) -> Result<Len> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain(((b & 0x3f) as u64) << 8 | self.u8()? as u64),
            2 => match b {
                0x80 => {
                    let mut x = [0u8; 4];
                    self.bytes(&mut x)?;
                    Len::Plain(u32::from_be_bytes(x) as u64)
                }
                0x81 => {
                    let mut x = [0u8; 8];
                    self.bytes(&mut x)?;
                    Len::Plain(u64::from_be_bytes(x))
                }
                _ => return Err(RdbError::Corrupt(format!("unknown length encoding {b:#x}"))),
            },
            _ => Len::Encoded(b & 0x3f),
        })
    }

    /// A length that must be a plain one (a count, not a string).
    pub fn plain_len(&mut self) -> Result<u64> {
        match self.len()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(e) => Err(RdbError::Corrupt(format!(
                "string encoding {e} where a length belongs"
            ))),
        }
    }

    /// Exactly `n` bytes, reserved a step (at most `READ_STEP`) at a time as they arrive.
    /// Each step is one `read_exact` into a sized buffer: `read_to_end` on a `Take`
    /// probed and grew the vector per string, a fifth of an RDB load's time.
    pub fn take(&mut self, n: u64) -> Result<Vec<u8>> {
        let mut v = Vec::with_capacity(n.min(READ_STEP) as usize);
        let mut left = n;
        while left > 0 {
            let step = left.min(READ_STEP) as usize;
            let start = v.len();
            // Exactly one step more: `resize` alone doubles, reserving as much again as
            // the bytes read so far when a declared length is a lie.
            v.reserve_exact(step);
            v.resize(start + step, 0);
            self.inner.read_exact(&mut v[start..])?;
            self.tally.add(&v[start..]);
            left -= step as u64;
        }
        Ok(v)
    }

    /// A string in any of its encodings, as its bytes (an integer-encoded one as its
    /// decimal text, a compressed one expanded).
    pub fn string(&mut self) -> Result<Vec<u8>> {
        let len = self.len()?;
        self.string_of(len)
    }

    /// `string` into `out`, reusing its allocation for a plain string (a hash's fields
    /// and values are read this way, without a vector each).
    pub fn string_into(&mut self, out: &mut Vec<u8>) -> Result<()> {
        match self.len()? {
            Len::Plain(n) if n <= READ_STEP => {
                out.clear();
                out.resize(n as usize, 0);
                self.inner.read_exact(out)?;
                self.tally.add(out);
            }
            len => *out = self.string_of(len)?,
        }
        Ok(())
    }

    /// The string whose length (or encoding) `len` was just read.
    fn string_of(&mut self, len: Len) -> Result<Vec<u8>> {
        match len {
            Len::Plain(n) => self.take(n),
            Len::Encoded(ENC_INT8) => Ok(decimal(self.u8()? as i8 as i64)),
            Len::Encoded(ENC_INT16) => Ok(decimal(self.u16_le()? as i16 as i64)),
            Len::Encoded(ENC_INT32) => Ok(decimal(self.u32_le()? as i32 as i64)),
            Len::Encoded(ENC_LZF) => {
                let clen = self.plain_len()?;
                let len = self.plain_len()?;
                let packed = self.take(clen)?;
                let len = usize::try_from(len)
                    .map_err(|_| RdbError::Corrupt("compressed string too long".into()))?;
                lzf::decompress(&packed, len)
                    .map_err(|e| RdbError::Corrupt(format!("LZF string: {e:?}")))
            }
            Len::Encoded(e) => Err(RdbError::Corrupt(format!("unknown string encoding {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::unhex;

    /// DUMP payloads of strings from redis-server 7.0.15, in each encoding: the type
    /// byte, the string, RDB version 10, and a CRC-64 that matches.
    #[test]
    fn reads_redis_dump_payloads_of_strings() {
        let x70 = "x".repeat(70);
        let cases: [(&str, &str); 8] = [
            ("00c0070a0074cd48a283abce92", "7"),
            ("00c1d4fe0a00c6c48623febede2e", "-300"),
            ("00c2a08601000a00f12403506f2fa674", "100000"),
            ("000568656c6c6f0a006372df766534200a", "hello"),
            ("00c3094046017878e039000178780a0031ca1bede0f32a8d", &x70),
            (
                "001431323334353637383930313233343536373839300a00bd37243ee83df2b1",
                "12345678901234567890",
            ),
            ("00c2000000800a00c74f873e33558187", "-2147483648"),
            ("000a323134373438333634380a00e7b129a34c1d76ee", "2147483648"),
        ];
        for (hex, want) in cases {
            let p = unhex(hex);
            let mut r = Reader::new(&p[..]);
            assert_eq!(r.u8().unwrap(), 0, "type");
            assert_eq!(r.string().unwrap(), want.as_bytes(), "{hex}");
            assert_eq!(r.u16_le().unwrap(), 10, "version");
            let crc = r.tally.crc;
            assert_eq!(r.u64_le().unwrap(), crc, "{hex}");
            assert_eq!(r.tally.pos, p.len() as u64);
        }
    }

    #[test]
    fn lengths_in_every_width() {
        let mut r = Reader::new(
            &[
                0x3f, 0x40, 0x00, 0x7f, 0xff, 0x80, 0, 1, 0, 0, 0x81, 0, 0, 0, 1, 0, 0, 0, 0, 0xc3,
            ][..],
        );
        assert_eq!(r.len().unwrap(), Len::Plain(63));
        assert_eq!(r.len().unwrap(), Len::Plain(0));
        assert_eq!(r.len().unwrap(), Len::Plain(0x3fff));
        assert_eq!(r.len().unwrap(), Len::Plain(65536));
        assert_eq!(r.len().unwrap(), Len::Plain(1 << 32));
        assert_eq!(r.len().unwrap(), Len::Encoded(ENC_LZF));
        assert!(matches!(r.len(), Err(RdbError::Truncated)));
    }

    /// Every cut of a payload is an error, and a declared length far past the input
    /// reserves no more than one step before failing.
    #[test]
    fn torn_and_hostile_input_is_an_error() {
        let p = unhex("00c3094046017878e039000178780a0031ca1bede0f32a8d");
        for cut in 1..p.len() - 10 {
            let mut r = Reader::new(&p[..cut]);
            r.u8().unwrap();
            assert!(r.string().is_err(), "cut at {cut}");
        }
        let huge = [0x81u8, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, b'a'];
        assert!(matches!(
            Reader::new(&huge[..]).string(),
            Err(RdbError::Truncated)
        ));
        assert!(matches!(
            Reader::new(&[0x84u8][..]).len(),
            Err(RdbError::Corrupt(_))
        ));
        assert!(matches!(
            Reader::new(&[0xc4u8][..]).string(),
            Err(RdbError::Corrupt(_))
        ));
    }
}
