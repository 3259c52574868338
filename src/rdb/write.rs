//! Writing RDB's primitives (the inverse of `read`): lengths in the narrowest width, and
//! strings as Redis writes them when compression is off: a decimal integer that fits 32
//! bits as its integer encoding, anything else plainly. Redis's loaders read both; LZF
//! compression on save is left out (`rdbcompression` trades CPU for file size only).
//!
//! The running CRC-64 covers every byte written, for the file's or payload's trailer.

use std::io::{self, Write};

use super::Tally;
use super::read::{ENC_INT8, ENC_INT16, ENC_INT32};

/// An RDB output with its running checksum.
pub struct Writer<W> {
    inner: W,
    /// Checksum and count of the bytes so far.
    pub tally: Tally,
}

impl<W: Write> Writer<W> {
    pub fn new(inner: W) -> Writer<W> {
        Writer {
            inner,
            tally: Tally::default(),
        }
    }

    /// The output written so far.
    pub fn inner(&self) -> &W {
        &self.inner
    }

    /// The output, to drain (the running checksum and count go on).
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    pub fn into_inner(self) -> W {
        self.inner
    }

    pub fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.inner.write_all(b)?;
        self.tally.add(b);
        Ok(())
    }

    pub fn u8(&mut self, b: u8) -> io::Result<()> {
        self.bytes(&[b])
    }

    #[cfg(test)]
    pub fn u16_le(&mut self, v: u16) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u64_le(&mut self, v: u64) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn f64_le(&mut self, v: f64) -> io::Result<()> {
        self.u64_le(v.to_bits())
    }

    /// A length in the narrowest of its four widths.
    pub fn len(&mut self, n: u64) -> io::Result<()> {
        if n < 1 << 6 {
            self.u8(n as u8)
        } else if n < 1 << 14 {
            self.bytes(&[0x40 | (n >> 8) as u8, n as u8])
        } else if n <= u32::MAX as u64 {
            self.u8(0x80)?;
            self.bytes(&(n as u32).to_be_bytes())
        } else {
            self.u8(0x81)?;
            self.bytes(&n.to_be_bytes())
        }
    }

    /// A string: its integer encoding when it is the canonical decimal text of a 32-bit
    /// integer (`parse_i64` accepts only that, so it reads back as the same bytes), else
    /// its length and bytes.
    pub fn string(&mut self, s: &[u8]) -> io::Result<()> {
        if s.len() <= 11
            && let Some(v) = crate::num::parse_i64(s)
        {
            if let Ok(v) = i8::try_from(v) {
                return self.bytes(&[0xc0 | ENC_INT8, v as u8]);
            }
            if let Ok(v) = i16::try_from(v) {
                self.u8(0xc0 | ENC_INT16)?;
                return self.bytes(&v.to_le_bytes());
            }
            if let Ok(v) = i32::try_from(v) {
                self.u8(0xc0 | ENC_INT32)?;
                return self.bytes(&v.to_le_bytes());
            }
        }
        self.len(s.len() as u64)?;
        self.bytes(s)
    }
}

#[cfg(test)]
mod tests {
    use super::super::read::{Len, Reader};
    use super::*;

    fn dump_of(s: &[u8]) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.u8(0).unwrap();
        w.string(s).unwrap();
        w.u16_le(10).unwrap();
        let crc = w.tally.crc;
        w.u64_le(crc).unwrap();
        w.into_inner()
    }

    /// Strings Redis writes without compression come out byte for byte as in
    /// redis-server 7.0.15's DUMP payloads, CRC included.
    #[test]
    fn writes_what_redis_writes() {
        let cases: [(&str, &str); 6] = [
            ("00c0070a0074cd48a283abce92", "7"),
            ("00c1d4fe0a00c6c48623febede2e", "-300"),
            ("00c2a08601000a00f12403506f2fa674", "100000"),
            ("000568656c6c6f0a006372df766534200a", "hello"),
            ("00c2000000800a00c74f873e33558187", "-2147483648"),
            ("000a323134373438333634380a00e7b129a34c1d76ee", "2147483648"),
        ];
        for (hex, s) in cases {
            let got: String = dump_of(s.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(got, hex, "{s}");
        }
    }

    /// Lengths and strings read back as written, at every width boundary, and
    /// integer-looking strings that are not canonical stay plain.
    #[test]
    fn round_trips_through_the_reader() {
        let lens = [
            0u64,
            63,
            64,
            16383,
            16384,
            u32::MAX as u64,
            1 << 32,
            u64::MAX,
        ];
        let strs: [&[u8]; 9] = [
            b"", b"0", b"-0", b"007", b"+5", b"-128", b"32768", b" 1", b"x",
        ];
        let mut w = Writer::new(Vec::new());
        for &n in &lens {
            w.len(n).unwrap();
        }
        for s in strs {
            w.string(s).unwrap();
        }
        let (crc, buf) = (w.tally.crc, w.into_inner());
        let mut r = Reader::new(&buf[..]);
        for &n in &lens {
            assert_eq!(r.len().unwrap(), Len::Plain(n));
        }
        for s in strs {
            assert_eq!(r.string().unwrap(), s);
        }
        assert_eq!(r.tally.crc, crc);
    }
}
