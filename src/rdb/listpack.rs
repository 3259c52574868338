//! Redis's listpack, as RDB files and DUMP payloads carry small hashes, sets, sorted sets
//! and list nodes (RDB types 16-20): decoding into elements, and encoding elements into
//! the very bytes Redis 7 would build. (ferrokv's own compact encodings, in `types/`, are
//! laid out differently: this is the exchange format only.)
//!
//! Layout: a 4-byte little-endian total size, a 2-byte element count (65535: too many
//! to say), the entries, and a 0xff terminator. An entry is an encoding byte that says
//! what follows (a 7-bit unsigned integer in the byte itself; a 13-bit integer with one
//! more byte; a 6-bit, 12-bit or 32-bit string length and the string; a 16, 24, 32 or
//! 64-bit little-endian integer), then the entry's own length again, 1 to 5 bytes of 7
//! bits, most significant first, so the list can be walked backwards. Every size is
//! checked against the buffer: a corrupt or hostile listpack is an error, never a panic.
//!
//! Encoding follows Redis's choice for each element: the canonical decimal text of an
//! i64 (as `num::parse_i64` decides: no sign but `-`, no leading zero, no `-0`) goes in
//! the narrowest integer form, anything else as a string with the narrowest length.

use super::decimal;
use super::read::RdbError;

/// The count a listpack declares when it holds 65535 elements or more.
const COUNT_UNKNOWN: u16 = u16::MAX;

fn corrupt(what: &str) -> RdbError {
    RdbError::Corrupt(format!("listpack: {what}"))
}

/// Bytes of the back-length that follows an entry of `len` bytes.
fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// The elements of the listpack `lp`, integers as their decimal text, in order.
pub fn decode(lp: &[u8]) -> Result<Vec<Vec<u8>>, RdbError> {
    if lp.len() < 7 {
        return Err(corrupt("shorter than its header"));
    }
    let total = u32::from_le_bytes(lp[0..4].try_into().expect("4 bytes")) as usize;
    let count = u16::from_le_bytes(lp[4..6].try_into().expect("2 bytes"));
    if total != lp.len() || lp[lp.len() - 1] != 0xff {
        return Err(corrupt("size or terminator does not match"));
    }
    let end = lp.len() - 1;
    let mut out = Vec::with_capacity((count as usize).min(end / 2));
    let mut p = 6;
    while p < end {
        let b = lp[p];
        let need = |n: usize| -> Result<&[u8], RdbError> {
            lp.get(p + 1..p + 1 + n)
                .filter(|_| p + 1 + n <= end)
                .ok_or_else(|| corrupt("entry runs past the end"))
        };
        let (elem, len): (Vec<u8>, usize) = match b {
            0x00..=0x7f => (decimal(b as i64), 1),
            0x80..=0xbf => {
                let n = (b & 0x3f) as usize;
                (need(n)?.to_vec(), 1 + n)
            }
            0xc0..=0xdf => {
                let u = ((b & 0x1f) as i64) << 8 | need(1)?[0] as i64;
                let v = if u >= 1 << 12 { u - (1 << 13) } else { u };
                (decimal(v), 2)
            }
            0xe0..=0xef => {
                let n = ((b & 0x0f) as usize) << 8 | need(1)?[0] as usize;
                let s = lp
                    .get(p + 2..p + 2 + n)
                    .filter(|_| p + 2 + n <= end)
                    .ok_or_else(|| corrupt("string runs past the end"))?;
                (s.to_vec(), 2 + n)
            }
            0xf0 => {
                let n = u32::from_le_bytes(need(4)?.try_into().expect("4 bytes")) as usize;
                let s = p
                    .checked_add(5 + n)
                    .filter(|&e| e <= end)
                    .map(|e| &lp[p + 5..e])
                    .ok_or_else(|| corrupt("string runs past the end"))?;
                (s.to_vec(), 5 + n)
            }
            0xf1..=0xf4 => {
                let n = [2, 3, 4, 8][(b - 0xf1) as usize];
                let raw = need(n)?;
                let mut x = [0u8; 8];
                x[..n].copy_from_slice(raw);
                // Sign-extend from the integer's own width.
                let shift = 64 - 8 * n as u32;
                let v = (i64::from_le_bytes(x) << shift) >> shift;
                (decimal(v), 1 + n)
            }
            _ => return Err(corrupt("unknown entry encoding")),
        };
        let bl = backlen_size(len);
        let back = lp
            .get(p + len..p + len + bl)
            .filter(|_| p + len + bl <= end)
            .ok_or_else(|| corrupt("back-length runs past the end"))?;
        let stated = back
            .iter()
            .fold(0usize, |acc, &x| (acc << 7) | (x & 0x7f) as usize);
        if stated != len {
            return Err(corrupt("back-length does not match the entry"));
        }
        out.push(elem);
        p += len + bl;
    }
    if p != end || (count != COUNT_UNKNOWN && count as usize != out.len()) {
        return Err(corrupt("element count does not match"));
    }
    Ok(out)
}

/// Appends the back-length of an entry of `len` bytes: its 7-bit groups, most
/// significant first, every byte after the first flagged with the top bit (so a reader
/// walking backwards knows where the field starts).
fn push_backlen(out: &mut Vec<u8>, len: usize) {
    let n = backlen_size(len);
    for i in 0..n {
        let group = ((len >> (7 * (n - 1 - i))) & 0x7f) as u8;
        out.push(if i == 0 { group } else { group | 0x80 });
    }
}

/// Appends the entry (encoding, data; no back-length) that holds the integer `v`.
fn push_int(out: &mut Vec<u8>, v: i64) {
    match v {
        0..=127 => out.push(v as u8),
        -4096..=4095 => {
            // 13 bits, two's complement, split over the encoding byte and the next.
            let u = (v as u16) & 0x1fff;
            out.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
        }
        _ => {
            let (enc, n) = if i16::try_from(v).is_ok() {
                (0xf1, 2)
            } else if (-(1 << 23)..1 << 23).contains(&v) {
                (0xf2, 3)
            } else if i32::try_from(v).is_ok() {
                (0xf3, 4)
            } else {
                (0xf4, 8)
            };
            out.push(enc);
            out.extend_from_slice(&v.to_le_bytes()[..n]);
        }
    }
}

/// Appends the entry (encoding, length, bytes; no back-length) that holds the string `s`.
fn push_str(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n < 64 {
        out.push(0x80 | n as u8);
    } else if n < 4096 {
        out.extend_from_slice(&[0xe0 | (n >> 8) as u8, n as u8]);
    } else {
        let n = u32::try_from(n).expect("a listpack string is under 4 GiB");
        out.push(0xf0);
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(s);
}

/// The listpack of `items`, byte for byte as Redis 7 builds it by appending them one at
/// a time (`lpAppend`): integers in their narrowest form, the count saturating at 65535.
///
/// Callers keep listpacks small (Redis's `*-max-listpack-*` limits); one past 4 GiB,
/// which the format cannot express, panics.
pub fn encode<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut lp = vec![0u8; 6];
    let mut count = 0usize;
    for item in items {
        let start = lp.len();
        match crate::num::parse_i64(item) {
            Some(v) => push_int(&mut lp, v),
            None => push_str(&mut lp, item),
        }
        let len = lp.len() - start;
        push_backlen(&mut lp, len);
        count += 1;
    }
    lp.push(0xff);
    let total = u32::try_from(lp.len()).expect("a listpack is under 4 GiB");
    let count = u16::try_from(count).unwrap_or(COUNT_UNKNOWN);
    lp[0..4].copy_from_slice(&total.to_le_bytes());
    lp[4..6].copy_from_slice(&count.to_le_bytes());
    lp
}

#[cfg(test)]
mod tests {
    use super::super::read::Reader;
    use super::*;
    use crate::rdb::unhex;

    /// `DUMP` of a listpack hash from redis-server 7.0.15 (RDB type 16) holding every
    /// integer width and string length class a small hash uses.
    const HASH_DUMP: &str = "1040c8c8000000220081610201018162028568656c6c6f06816302dffb02816402c12c02816502f2a0860104816602d06002816702f4001a71180200000009816802bc7878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878783d816902f290eefe04816a02f4000064a7b3b6e00d09816b02f4000000000000008009816c027f01816d02c08002816e02cfff02816f02d00002817002f2ffff7f04817102f3ffff7fff05ff0a003e2ac8a3957530ce";

    /// `DUMP` of a listpack hash from redis-server 7.0.15 (`hash-max-listpack-value
    /// 5000`) whose fields and values sit on either side of every boundary: integer-like
    /// text that is not canonical (`-0`, `01`, ` 1`, `+1`, `00`, one past i64), every
    /// integer width's limits, strings of 63, 64, 4095 and 4096 bytes. The payload string
    /// is LZF-compressed.
    const EDGE_DUMP: &str = "10c34144616c136c210000280080010001822d3003823031038220200308312003822b3103f4008000038009f4ff8000187f09933932323333373230333638353437373538303814942de009151539157f01c08002d00002f1ffef03cfff02f1001003df200611ff7f03f200800004f1008003f2ff7fff04f220570104f32066020005f220050104f3200f01ff05200502ff7f0540820080408500092020020080054088007f201908ff09836b363304bf61e0350000402045043404e04062e036000a42856b3430393506efff63e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e07d000120817009073606f00010000064e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e07e000c208582303003843078313005ff0a00d451e26a5754bb92";

    /// The fields and values of `EDGE_DUMP`, in order.
    fn edge_items() -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = [
            "",
            "0",
            "-0",
            "01",
            " 1",
            "1 ",
            "+1",
            "-9223372036854775808",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "127",
            "128",
            "-4096",
            "-4097",
            "4095",
            "4096",
            "-1",
            "32767",
            "32768",
            "-32768",
            "-32769",
            "8388607",
            "8388608",
            "-8388608",
            "-8388609",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for (k, c, n) in [("k63", b'a', 63), ("k64", b'b', 64), ("k4095", b'c', 4095)] {
            v.push(k.as_bytes().to_vec());
            v.push(vec![c; n]);
        }
        v.push(b"k4096".to_vec());
        v.push(vec![b'd'; 4096]);
        v.push(b"00".to_vec());
        v.push(b"0x10".to_vec());
        v
    }

    /// The listpack inside a DUMP payload of a listpack hash (RDB type 16), the version
    /// and checksum checked.
    fn listpack_of(dump: &str) -> Vec<u8> {
        let p = unhex(dump);
        let mut r = Reader::new(&p[..]);
        assert_eq!(r.u8().unwrap(), 16);
        let lp = r.string().unwrap();
        assert_eq!(r.u16_le().unwrap(), 10);
        let crc = r.tally.crc;
        assert_eq!(r.u64_le().unwrap(), crc);
        assert_eq!(r.tally.pos, p.len() as u64);
        lp
    }

    fn listpack_of_dump() -> Vec<u8> {
        listpack_of(HASH_DUMP)
    }

    #[test]
    fn decodes_what_redis_wrote() {
        let x60 = "x".repeat(60);
        let want: Vec<(&str, &str)> = vec![
            ("a", "1"),
            ("b", "hello"),
            ("c", "-5"),
            ("d", "300"),
            ("e", "100000"),
            ("f", "-4000"),
            ("g", "9000000000"),
            ("h", &x60),
            ("i", "-70000"),
            ("j", "1000000000000000000"),
            ("k", "-9223372036854775808"),
            ("l", "127"),
            ("m", "128"),
            ("n", "4095"),
            ("o", "-4096"),
            ("p", "8388607"),
            ("q", "-8388609"),
        ];
        let got = decode(&listpack_of_dump()).unwrap();
        let flat: Vec<&[u8]> = want
            .iter()
            .flat_map(|(f, v)| [f.as_bytes(), v.as_bytes()])
            .collect();
        assert_eq!(got, flat);
    }

    /// An entry of 202 bytes (a 12-bit string length) has a 2-byte back-length, most
    /// significant group first: 202 = 1 << 7 | 74.
    #[test]
    fn two_byte_back_length() {
        let mut lp = vec![0u8; 6];
        lp.extend_from_slice(&[0xe0, 200]);
        lp.extend(std::iter::repeat_n(b'z', 200));
        lp.extend_from_slice(&[0x01, 0x80 | 74, 0xff]);
        let n = lp.len() as u32;
        lp[0..4].copy_from_slice(&n.to_le_bytes());
        lp[4..6].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(decode(&lp).unwrap(), vec![vec![b'z'; 200]]);
        let at = lp.len() - 2;
        lp[at] = 0x80 | 75;
        assert!(decode(&lp).is_err());
    }

    /// Every cut and every flipped byte is an error or a decoding, never a panic; cuts
    /// are always errors (the size in the header no longer matches).
    #[test]
    fn hostile_listpacks_are_errors() {
        let lp = listpack_of_dump();
        for cut in 0..lp.len() {
            assert!(decode(&lp[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..lp.len() {
            for x in [0x01u8, 0x40, 0x80, 0xff] {
                let mut bad = lp.clone();
                bad[at] ^= x;
                let _ = decode(&bad);
            }
        }
        // A 32-bit string length near the top of the range.
        let mut huge = vec![0u8; 6];
        huge.extend_from_slice(&[0xf0, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff]);
        let n = huge.len() as u32;
        huge[0..4].copy_from_slice(&n.to_le_bytes());
        assert!(decode(&huge).is_err());
    }

    /// Encoding what Redis's listpacks hold gives back Redis's bytes exactly.
    #[test]
    fn encodes_what_redis_wrote() {
        for dump in [HASH_DUMP, EDGE_DUMP] {
            let lp = listpack_of(dump);
            let items = decode(&lp).unwrap();
            assert_eq!(encode(items.iter().map(|v| &v[..])), lp);
        }
        assert_eq!(decode(&listpack_of(EDGE_DUMP)).unwrap(), edge_items());
    }

    /// The encoding byte Redis picks, at each width boundary.
    #[test]
    fn narrowest_encoding() {
        let cases: [(&str, u8, usize); 22] = [
            ("0", 0x00, 1),
            ("127", 0x7f, 1),
            ("128", 0xc0, 2),
            ("-1", 0xdf, 2),
            ("4095", 0xcf, 2),
            ("-4096", 0xd0, 2),
            ("4096", 0xf1, 3),
            ("-4097", 0xf1, 3),
            ("-32768", 0xf1, 3),
            ("32768", 0xf2, 4),
            ("-8388608", 0xf2, 4),
            ("8388608", 0xf3, 5),
            ("-2147483648", 0xf3, 5),
            ("2147483648", 0xf4, 9),
            ("-9223372036854775808", 0xf4, 9),
            ("9223372036854775807", 0xf4, 9),
            ("9223372036854775808", 0x80 | 19, 20),
            ("-0", 0x82, 3),
            ("01", 0x82, 3),
            (" 1", 0x82, 3),
            ("+1", 0x82, 3),
            ("", 0x80, 1),
        ];
        for (s, enc, len) in cases {
            let lp = encode([s.as_bytes()]);
            assert_eq!(lp[6], enc, "{s:?}");
            assert_eq!(lp.len(), 6 + len + 1 + 1, "{s:?}");
            assert_eq!(lp[6 + len], len as u8, "back-length of {s:?}");
        }
    }

    /// Generated values read back as they went in, across every encoding and every
    /// back-length width (entries of 127/128, 16382/16383 bytes...).
    #[test]
    fn round_trips() {
        let mut items: Vec<Vec<u8>> = Vec::new();
        for s in [
            "",
            "0",
            "-0",
            "01",
            " 1",
            "1 ",
            "+1",
            "-",
            "00",
            "1e3",
            "0x1",
            "12a",
            "-9223372036854775808",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "-99999999999999999999",
        ] {
            items.push(s.as_bytes().to_vec());
        }
        for v in [
            0i64,
            1,
            12,
            13,
            63,
            64,
            127,
            128,
            255,
            256,
            4095,
            4096,
            -1,
            -4096,
            -4097,
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
            i64::MAX - 1,
            i64::MIN + 1,
        ] {
            items.push(v.to_string().into_bytes());
        }
        // Powers of two and their neighbours, both signs.
        for shift in 0..63 {
            for d in [-1i64, 0, 1] {
                let v = (1i64 << shift) + d;
                items.push(v.to_string().into_bytes());
                items.push((-v).to_string().into_bytes());
            }
        }
        for n in [
            1, 62, 63, 64, 65, 125, 126, 127, 128, 4093, 4094, 4095, 4096, 4097, 16377, 16378,
            16379, 70000, 2_097_145, 2_097_146,
        ] {
            items.push(vec![b'q'; n]);
            // Not all bytes are text.
            items.push((0..n).map(|i| (i * 7 % 256) as u8).collect());
        }
        let lp = encode(items.iter().map(|v| &v[..]));
        assert_eq!(decode(&lp).unwrap(), items);
        assert_eq!(encode(std::iter::empty()), [7, 0, 0, 0, 0, 0, 0xff]);
    }

    /// 65535 elements or more: the count says "unknown", and decoding walks them all.
    #[test]
    fn count_saturates() {
        for n in [65534usize, 65535, 70000] {
            let items: Vec<Vec<u8>> = (0..n).map(|i| i.to_string().into_bytes()).collect();
            let lp = encode(items.iter().map(|v| &v[..]));
            let want = n.min(65535) as u16;
            assert_eq!(u16::from_le_bytes([lp[4], lp[5]]), want);
            assert_eq!(decode(&lp).unwrap(), items);
        }
    }
}
