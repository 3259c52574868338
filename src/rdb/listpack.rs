//! Redis's listpack, as RDB files and DUMP payloads carry small hashes, sets, sorted sets
//! and list nodes (RDB types 16-20): decoding into elements. (ferrokv's own compact
//! encodings, in `types/`, are laid out differently: this is the exchange format only.)
//!
//! Layout: a 4-byte little-endian total size, a 2-byte element count (65535: too many
//! to say), the entries, and a 0xff terminator. An entry is an encoding byte that says
//! what follows (a 7-bit unsigned integer in the byte itself; a 13-bit integer with one
//! more byte; a 6-bit, 12-bit or 32-bit string length and the string; a 16, 24, 32 or
//! 64-bit little-endian integer), then the entry's own length again, 1 to 5 bytes of 7
//! bits, most significant first, so the list can be walked backwards. Every size is
//! checked against the buffer: a corrupt or hostile listpack is an error, never a panic.

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

#[cfg(test)]
mod tests {
    use super::super::read::Reader;
    use super::*;
    use crate::rdb::unhex;

    /// `DUMP` of a listpack hash from redis-server 7.0.15 (RDB type 16) holding every
    /// integer width and string length class a small hash uses.
    const HASH_DUMP: &str = "1040c8c8000000220081610201018162028568656c6c6f06816302dffb02816402c12c02816502f2a0860104816602d06002816702f4001a71180200000009816802bc7878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878783d816902f290eefe04816a02f4000064a7b3b6e00d09816b02f4000000000000008009816c027f01816d02c08002816e02cfff02816f02d00002817002f2ffff7f04817102f3ffff7fff05ff0a003e2ac8a3957530ce";

    fn listpack_of_dump() -> Vec<u8> {
        let p = unhex(HASH_DUMP);
        let mut r = Reader::new(&p[..]);
        assert_eq!(r.u8().unwrap(), 16);
        let lp = r.string().unwrap();
        assert_eq!(r.u16_le().unwrap(), 10);
        let crc = r.tally.crc;
        assert_eq!(r.u64_le().unwrap(), crc);
        lp
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
}
