//! Redis's ziplist, the compact encoding before listpack: RDB files written by Redis 2.6
//! to 6.2 carry small lists, sorted sets and hashes in it (RDB types 10, 12, 13 and the
//! nodes of type 14 quicklists). Redis 7 still loads them (converting to listpack) but
//! never writes one, so only decoding is needed here.
//!
//! Layout, integers little-endian unless said otherwise: a 4-byte total size, the 4-byte
//! offset of the last entry (the header size, 10, when there is none), a 2-byte entry
//! count (65535: too many to say), the entries, and a 0xff terminator.
//!
//! An entry starts with the size of the entry before it (0 for the first), so the list
//! can be walked backwards: one byte below 0xfe, or 0xfe and 4 bytes. Redis never
//! shrinks that field in place, so a 5-byte one may hold a small size. Then an encoding
//! byte; its top two bits tell a string from an integer:
//! - `00`: a string of up to 63 bytes, the length in the low six bits;
//! - `01`: a string of up to 16383 bytes, the length in those six bits and the next
//!   byte, big-endian;
//! - `10`: a longer string, its length in the next 4 bytes, big-endian (Redis ignores
//!   the low six bits of this byte, and so does this decoder);
//! - `11`: an integer: 0xc0, 0xd0, 0xe0 for 16, 32 and 64 bits, 0xf0 for 24 bits, 0xfe
//!   for 8 bits, each followed by that many bytes, and 0xf1 to 0xfd for the values 0 to
//!   12 held in the byte itself. Any other byte is corrupt.
//!
//! Integers decode to their decimal text, as Redis hands them out. Every size, offset
//! and back-link is checked, and the entry count if stated: a corrupt or hostile ziplist
//! is an error, never a panic.

use super::decimal;
use super::read::RdbError;

/// Total size, tail offset and count.
const HEADER: usize = 10;
/// The terminator; no entry starts with it.
const END: u8 = 0xff;
/// The first byte of a 5-byte previous-entry size.
const BIG_PREVLEN: u8 = 0xfe;
/// The count a ziplist declares when it holds 65535 entries or more.
const COUNT_UNKNOWN: u16 = u16::MAX;
/// The smallest entry: a previous-entry size and an immediate integer.
const MIN_ENTRY: usize = 2;

fn corrupt(what: &str) -> RdbError {
    RdbError::Corrupt(format!("ziplist: {what}"))
}

/// `n` bytes of `zl` from `at`, all before `end` (the terminator's offset).
fn field(zl: &[u8], at: usize, n: usize, end: usize) -> Result<&[u8], RdbError> {
    at.checked_add(n)
        .filter(|&e| e <= end)
        .map(|e| &zl[at..e])
        .ok_or_else(|| corrupt("entry runs past the end"))
}

/// Decodes the encoding and data of the entry whose encoding byte is at `at`: the
/// element, and the bytes it took from `at` on.
fn entry(zl: &[u8], at: usize, end: usize) -> Result<(Vec<u8>, usize), RdbError> {
    let b = field(zl, at, 1, end)?[0];
    let (head, len) = match b >> 6 {
        0 => (1, (b & 0x3f) as usize),
        1 => (
            2,
            ((b & 0x3f) as usize) << 8 | field(zl, at + 1, 1, end)?[0] as usize,
        ),
        2 => {
            let n = field(zl, at + 1, 4, end)?;
            (
                5,
                u32::from_be_bytes(n.try_into().expect("4 bytes")) as usize,
            )
        }
        _ => {
            let n = match b {
                0xf1..=0xfd => return Ok((decimal((b & 0x0f) as i64 - 1), 1)),
                0xfe => 1,
                0xc0 => 2,
                0xf0 => 3,
                0xd0 => 4,
                0xe0 => 8,
                _ => return Err(corrupt("unknown entry encoding")),
            };
            let raw = field(zl, at + 1, n, end)?;
            let mut x = [0u8; 8];
            x[..n].copy_from_slice(raw);
            // Sign-extend from the integer's own width.
            let shift = 64 - 8 * n as u32;
            return Ok((decimal((i64::from_le_bytes(x) << shift) >> shift), 1 + n));
        }
    };
    let s = field(zl, at + head, len, end)?;
    Ok((s.to_vec(), head + len))
}

/// The elements of the ziplist `zl`, integers as their decimal text, in order.
pub fn decode(zl: &[u8]) -> Result<Vec<Vec<u8>>, RdbError> {
    if zl.len() < HEADER + 1 {
        return Err(corrupt("shorter than its header"));
    }
    let total = u32::from_le_bytes(zl[0..4].try_into().expect("4 bytes")) as usize;
    let tail = u32::from_le_bytes(zl[4..8].try_into().expect("4 bytes")) as usize;
    let count = u16::from_le_bytes(zl[8..10].try_into().expect("2 bytes"));
    if total != zl.len() || zl[zl.len() - 1] != END {
        return Err(corrupt("size or terminator does not match"));
    }
    let end = zl.len() - 1;
    let mut out = Vec::with_capacity((count as usize).min((end - HEADER) / MIN_ENTRY));
    let mut p = HEADER;
    // Size of the entry before `p`, and where the last one began.
    let mut prev_size = 0;
    let mut last = HEADER;
    while zl[p] != END {
        let (prevlen, at) = if zl[p] < BIG_PREVLEN {
            (zl[p] as usize, p + 1)
        } else {
            let n = field(zl, p + 1, 4, end)?;
            (
                u32::from_le_bytes(n.try_into().expect("4 bytes")) as usize,
                p + 5,
            )
        };
        if prevlen != prev_size {
            return Err(corrupt("previous-entry size does not match"));
        }
        let (elem, len) = entry(zl, at, end)?;
        out.push(elem);
        last = p;
        prev_size = at + len - p;
        p = at + len;
    }
    if p != end {
        return Err(corrupt("terminator before the end"));
    }
    if tail != last {
        return Err(corrupt("tail offset does not point at the last entry"));
    }
    if count != COUNT_UNKNOWN && count as usize != out.len() {
        return Err(corrupt("entry count does not match"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::read::Reader;
    use super::*;
    use crate::rdb::{dump_of, unhex};

    /// A ziplist of `items` as Redis 6 builds one by pushing each at the tail: the
    /// canonical decimal text of an i64 under 32 bytes as the narrowest integer, other
    /// items as strings with the narrowest length. (Test-only: ferrokv writes listpacks.)
    fn encode(items: &[&[u8]]) -> Vec<u8> {
        let mut zl = vec![0u8; HEADER];
        let (mut prev, mut last) = (0usize, HEADER);
        for &item in items {
            let start = zl.len();
            if prev < BIG_PREVLEN as usize {
                zl.push(prev as u8);
            } else {
                zl.push(BIG_PREVLEN);
                zl.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match crate::num::parse_i64(item).filter(|_| item.len() < 32) {
                Some(v @ 0..=12) => zl.push(0xf1 + v as u8),
                Some(v) => {
                    let (enc, n) = if i8::try_from(v).is_ok() {
                        (0xfe, 1)
                    } else if i16::try_from(v).is_ok() {
                        (0xc0, 2)
                    } else if (-(1 << 23)..1 << 23).contains(&v) {
                        (0xf0, 3)
                    } else if i32::try_from(v).is_ok() {
                        (0xd0, 4)
                    } else {
                        (0xe0, 8)
                    };
                    zl.push(enc);
                    zl.extend_from_slice(&v.to_le_bytes()[..n]);
                }
                None => {
                    let n = item.len();
                    if n <= 0x3f {
                        zl.push(n as u8);
                    } else if n <= 0x3fff {
                        zl.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
                    } else {
                        zl.push(0x80);
                        zl.extend_from_slice(&(n as u32).to_be_bytes());
                    }
                    zl.extend_from_slice(item);
                }
            }
            prev = zl.len() - start;
            last = start;
        }
        zl.push(END);
        let total = zl.len() as u32;
        let count = items.len().min(COUNT_UNKNOWN as usize) as u16;
        zl[0..4].copy_from_slice(&total.to_le_bytes());
        zl[4..8].copy_from_slice(&(last as u32).to_le_bytes());
        zl[8..10].copy_from_slice(&count.to_le_bytes());
        zl
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// The ziplist of the two integers 2 and 5 that `ziplist.c`'s notes take apart, then
    /// with the string "Hello World" pushed after them.
    #[test]
    fn matches_the_format_notes() {
        let zl = unhex("0f0000000c000000020000f302f6ff");
        assert_eq!(decode(&zl).unwrap(), [b"2", b"5"]);
        assert_eq!(encode(&[b"2", b"5"]), zl);
        let zl = unhex("1c0000000e000000030000f302f6020b48656c6c6f20576f726c64ff");
        assert_eq!(decode(&zl).unwrap(), [&b"2"[..], b"5", b"Hello World"]);
        assert_eq!(encode(&[b"2", b"5", b"Hello World"]), zl);
        assert_eq!(encode(&[]), unhex("0b0000000a0000000000ff"));
        assert_eq!(decode(&encode(&[])).unwrap(), Vec::<Vec<u8>>::new());
    }

    /// DUMP payloads built with `encode` that redis-server 7.0.15 RESTOREs with
    /// `sanitize-dump-payload yes` (its deep ziplist check) and then reads back as
    /// `items`: a hash (type 13, every integer encoding, and a 300-byte value after
    /// which the next entry's previous-size field takes 5 bytes), a sorted set (type 12)
    /// and a list (type 10, with a 20000-byte string: a 32-bit big-endian length). The
    /// list's payload is only pinned by its checksum.
    #[test]
    fn decodes_payloads_redis_accepts() {
        let x300 = vec![b'x'; 300];
        let hash: Vec<&[u8]> = vec![
            b"a",
            b"1",
            b"b",
            b"hello",
            b"c",
            b"-5",
            b"d",
            b"300",
            b"e",
            b"100000",
            b"f",
            b"-4000",
            b"g",
            b"9000000000",
            b"h",
            b"12",
            b"i",
            b"13",
            b"j",
            b"-8388608",
            b"k",
            b"8388608",
            b"l",
            b"-0",
            b"m",
            b"",
            b"n",
            &x300,
            b"o",
            b"after300",
            b"p",
            b"-128",
            b"q",
            b"127",
        ];
        let hash_hex = format!(
            "{}{}{}",
            "0d41baba010000b6010000220000016103f2020162030568656c6c6f07016303fefb03016403c02c\
             0104016503f0a0860105016603c060f004016703e0001a7118020000000a016803fd02016903fe0d\
             03016a03f000008005016b03d00000800006016c03022d3004016d030002016e03412c",
            "78".repeat(300),
            "fe2f010000016f070861667465723330300a017003fe8003017103fe7fff090072ca6596d26d9e00"
        );
        let zset: Vec<&[u8]> = vec![b"m1", b"1.5", b"m2", b"2", b"m3", b"-3"];
        let zset_hex = "0c21210000001d000000060000026d310403312e3505026d3204f302026d3304fefdff\
                        090057e10044e5dfb4f6";
        for (ty, items, want) in [(13, &hash, &hash_hex[..]), (12, &zset, zset_hex)] {
            let p = dump_of(ty, &encode(items), 9);
            assert_eq!(hex(&p), want);
            let mut r = Reader::new(&p[..]);
            assert_eq!(r.u8().unwrap(), ty);
            assert_eq!(decode(&r.string().unwrap()).unwrap(), *items);
        }
        let x20000 = vec![b'y'; 20000];
        let list: Vec<&[u8]> = vec![
            b"2",
            b"5",
            b"Hello World",
            &x20000,
            b"-9223372036854775808",
            b"9223372036854775807",
            b"0",
        ];
        let zl = encode(&list);
        assert_eq!(&zl[28..33], [0x80, 0, 0, 0x4e, 0x20]);
        let p = dump_of(10, &zl, 9);
        assert_eq!(hex(&p[p.len() - 8..]), "683327748fcab64b");
        assert_eq!(decode(&zl).unwrap(), list);
    }

    /// Redis grows a previous-entry size field to 5 bytes but never shrinks it: a 5-byte
    /// field holding 3 is valid. redis-server 7.0.15 RESTOREs this list (type 10) as
    /// `a`, `b`.
    #[test]
    fn wide_previous_size_holding_a_small_one() {
        let p = unhex("0a15150000000d0000000200000161fe030000000162ff090071408211a2e2a0da");
        let mut r = Reader::new(&p[..]);
        assert_eq!(r.u8().unwrap(), 10);
        let zl = r.string().unwrap();
        assert_eq!(r.u16_le().unwrap(), 9);
        let crc = r.tally.crc;
        assert_eq!(r.u64_le().unwrap(), crc);
        assert_eq!(decode(&zl).unwrap(), [b"a", b"b"]);
    }

    /// Payloads from Redis's own corruption tests (`tests/integration/corrupt-dump.tcl`),
    /// one-node quicklists (type 14) whose checksums are right but whose ziplist is not:
    /// a previous-entry size too big, one too small, and a count one too many. Mending
    /// the one wrong byte makes each valid.
    #[test]
    fn redis_corruption_cases() {
        // Type, node count, ziplist length | header | entries | end | version, CRC.
        let cases = [
            (
                "0e0113 130000000e0000000200 00026100 0e026200 ff 0900499730b20da1edaa",
                14,
                4u8,
            ),
            (
                "0e0113 130000000e0000000200 00026100 02026200 ff 0900c77103970775b063",
                14,
                4,
            ),
            (
                "0e0113 130000000e0000000300 00026100 04026200 ff 09004de20a2f0825df91",
                8,
                2,
            ),
        ];
        for (h, at, fix) in cases {
            let p = unhex(&h.replace(' ', ""));
            let mut r = Reader::new(&p[..]);
            assert_eq!(r.u8().unwrap(), 14);
            assert_eq!(r.plain_len().unwrap(), 1);
            let mut zl = r.string().unwrap();
            assert_eq!(r.u16_le().unwrap(), 9);
            let crc = r.tally.crc;
            assert_eq!(r.u64_le().unwrap(), crc);
            assert!(matches!(decode(&zl), Err(RdbError::Corrupt(_))), "{h}");
            zl[at] = fix;
            assert_eq!(decode(&zl).unwrap(), [b"a\0", b"b\0"], "{h}");
        }
    }

    /// Generated items round-trip through the test encoder: every encoding, strings at
    /// each length boundary, entries on both sides of the 254-byte previous-size limit.
    #[test]
    fn round_trips() {
        let mut items: Vec<Vec<u8>> = Vec::new();
        for s in [
            "",
            "-0",
            "01",
            " 1",
            "+1",
            "-",
            "0x1",
            "-9223372036854775809",
            "9223372036854775808",
            "1234567890123456789012345678901",
        ] {
            items.push(s.as_bytes().to_vec());
        }
        for v in [
            0i64,
            12,
            13,
            -1,
            127,
            128,
            -128,
            -129,
            32767,
            32768,
            -32768,
            -32769,
            8388607,
            8388608,
            -8388608,
            -8388609,
            i32::MAX as i64,
            i32::MAX as i64 + 1,
            i32::MIN as i64,
            i32::MIN as i64 - 1,
            i64::MAX,
            i64::MIN,
        ] {
            items.push(v.to_string().into_bytes());
        }
        for n in [
            1, 63, 64, 250, 251, 252, 253, 254, 255, 16383, 16384, 70000, 3, 2,
        ] {
            items.push((0..n).map(|i| (i * 13 % 256) as u8).collect());
        }
        let refs: Vec<&[u8]> = items.iter().map(|v| &v[..]).collect();
        let zl = encode(&refs);
        assert_eq!(decode(&zl).unwrap(), items);
    }

    /// 65535 entries or more: the count says "unknown", and decoding walks them all.
    #[test]
    fn count_saturates() {
        for n in [65534usize, 65535, 70000] {
            let items: Vec<Vec<u8>> = (0..n).map(|i| i.to_string().into_bytes()).collect();
            let refs: Vec<&[u8]> = items.iter().map(|v| &v[..]).collect();
            let zl = encode(&refs);
            assert_eq!(u16::from_le_bytes([zl[8], zl[9]]), n.min(65535) as u16);
            assert_eq!(decode(&zl).unwrap(), items);
        }
    }

    /// Hand-made damage to each header field and entry part is an error.
    #[test]
    fn bad_ziplists_are_errors() {
        let good = encode(&[b"ab", b"7", &[b'z'; 300], b"-70000", b"c"]);
        assert!(decode(&good).is_ok());
        let bad = |at: usize, v: u8| {
            let mut b = good.clone();
            b[at] = v;
            decode(&b).is_err()
        };
        assert!(bad(0, good[0] + 1), "size");
        assert!(bad(4, good[4] - 1), "tail");
        assert!(bad(8, 4), "count");
        assert!(bad(8, 6), "count");
        assert!(bad(10, 1), "first entry's previous size");
        assert!(bad(14, 3), "second entry's previous size");
        assert!(bad(15, 0xc1), "unknown integer encoding");
        assert!(bad(15, 0xff), "terminator as an encoding");
        assert!(bad(good.len() - 1, 0), "terminator");
        // The count may say "unknown".
        let mut unknown = good.clone();
        unknown[8..10].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(decode(&unknown).unwrap(), decode(&good).unwrap());
        // A terminator early, the rest padding.
        let mut early = encode(&[b"ab"]);
        early.splice(14..14, [0xff, 0]);
        let n = early.len() as u32;
        early[0..4].copy_from_slice(&n.to_le_bytes());
        assert!(decode(&early).is_err());
        // An empty ziplist's tail is the header size.
        let mut empty = encode(&[]);
        empty[4] = 0;
        assert!(decode(&empty).is_err());
        // Hostile lengths: a 32-bit string length near the top, a 5-byte previous size.
        for entry in [
            &[0u8, 0x80, 0xff, 0xff, 0xff, 0xf0][..],
            &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xf1],
            &[0, 0x7f, 0xff],
        ] {
            let mut zl = vec![0u8; HEADER];
            zl.extend_from_slice(entry);
            zl.push(END);
            let n = zl.len() as u32;
            zl[0..4].copy_from_slice(&n.to_le_bytes());
            zl[4..8].copy_from_slice(&(HEADER as u32).to_le_bytes());
            zl[8..10].copy_from_slice(&1u16.to_le_bytes());
            assert!(decode(&zl).is_err(), "{entry:?}");
        }
    }

    /// Every cut is an error; every flipped byte is an error or a decoding, never a
    /// panic.
    #[test]
    fn hostile_ziplists_are_errors() {
        let zl = encode(&[
            b"a",
            b"1",
            b"hello",
            b"-5",
            b"300",
            b"100000",
            b"-4000",
            b"9000000000",
            &[b'x'; 300],
            b"after",
            b"-128",
            b"127",
            &[b'y'; 70],
            b"-8388608",
        ]);
        for cut in 0..zl.len() {
            assert!(decode(&zl[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..zl.len() {
            for x in [0x01u8, 0x02, 0x10, 0x40, 0x80, 0xff] {
                let mut bad = zl.clone();
                bad[at] ^= x;
                let _ = decode(&bad);
            }
        }
    }
}
