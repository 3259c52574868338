//! Redis's RDB format: the snapshot file (`dump.rdb`), the base of a Redis 7 AOF
//! directory with `aof-use-rdb-preamble`, DUMP/RESTORE payloads and a replica's full sync
//! all carry values in it.
//!
//! Being built for issue 14, bottom up: the checksum every RDB file and DUMP payload ends
//! with (`crc64`), the LZF decompression of compressed strings (`lzf`) and the reading of
//! lengths, strings and numbers (`read`, and `write` for the other way) come first, then
//! the codecs of Redis's small encodings, as pure functions over byte slices: `listpack`
//! (Redis 7's, both ways), and for files older Redis versions wrote, `ziplist`, `intset`
//! and `zipmap`, decoding only. Above them: one value in RDB form (`object`), DUMP
//! payloads (`dump`), whole files (`file`), and the fork-less save (`save`).

pub mod crc64;
pub mod dump;
pub mod file;
pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod object;
pub mod read;
pub mod save;
pub mod write;
pub mod ziplist;
pub mod zipmap;

/// The running CRC-64 and byte count of an RDB stream, read or written: the trailer of a
/// file or payload is checked against (or written from) the bytes before it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub crc: u64,
    pub pos: u64,
}

impl Tally {
    fn add(&mut self, b: &[u8]) {
        self.crc = crc64::update(self.crc, b);
        self.pos += b.len() as u64;
    }
}

/// The decimal text of an integer stored in binary (RDB's integer encodings).
fn decimal(v: i64) -> Vec<u8> {
    let mut b = Vec::with_capacity(20);
    crate::num::push_i64(&mut b, v);
    b
}

/// Bytes from hex text (test vectors copied from redis-server's replies).
#[cfg(test)]
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A DUMP payload: the RDB type `ty`, `body` as one plain RDB string, the RDB version
/// and the CRC-64 (Redis 6 wrote version 9, Redis 7.0 writes 10).
#[cfg(test)]
pub fn dump_of(ty: u8, body: &[u8], version: u16) -> Vec<u8> {
    let mut w = write::Writer::new(Vec::new());
    w.u8(ty).unwrap();
    w.len(body.len() as u64).unwrap();
    w.bytes(body).unwrap();
    w.u16_le(version).unwrap();
    let crc = w.tally.crc;
    w.u64_le(crc).unwrap();
    w.into_inner()
}
