//! Redis's intset, as RDB files and DUMP payloads carry a set whose members are all
//! integers (RDB type 11): decoding into the integers.
//!
//! Layout: a 4-byte little-endian width (2, 4 or 8: the bytes every member takes), a
//! 4-byte little-endian member count, then the members, each a little-endian signed
//! integer of that width, in strictly increasing order (Redis binary-searches them). The
//! size is exact: header plus count times width, nothing after. Redis widens all members
//! together when one no longer fits, so the width is normally the narrowest that holds
//! the largest magnitude, but a wider one still reads correctly and is accepted.
//!
//! An empty intset decodes to no members; Redis's loader refuses empty values, and
//! that is a policy for the loader above this layer, not a property of the bytes.

use super::read::RdbError;

/// Width and count, 4 bytes each.
const HEADER: usize = 8;

fn corrupt(what: &str) -> RdbError {
    RdbError::Corrupt(format!("intset: {what}"))
}

/// The members of the intset `is`, in their (increasing) order.
pub fn decode(is: &[u8]) -> Result<Vec<i64>, RdbError> {
    if is.len() < HEADER {
        return Err(corrupt("shorter than its header"));
    }
    let width = u32::from_le_bytes(is[0..4].try_into().expect("4 bytes"));
    let count = u32::from_le_bytes(is[4..8].try_into().expect("4 bytes"));
    let width: usize = match width {
        2 | 4 | 8 => width as usize,
        _ => return Err(corrupt("unknown member width")),
    };
    let body = &is[HEADER..];
    // In u64: a hostile count times 8 cannot wrap.
    if count as u64 * width as u64 != body.len() as u64 {
        return Err(corrupt("size does not match the member count"));
    }
    // The count is now backed by the bytes that hold it.
    let mut out: Vec<i64> = Vec::with_capacity(count as usize);
    for m in body.chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes(m.try_into().expect("2 bytes")) as i64,
            4 => i32::from_le_bytes(m.try_into().expect("4 bytes")) as i64,
            _ => i64::from_le_bytes(m.try_into().expect("8 bytes")),
        };
        if out.last().is_some_and(|&prev| prev >= v) {
            return Err(corrupt("members not strictly increasing"));
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::read::Reader;
    use super::*;
    use crate::rdb::unhex;

    /// `DUMP` payloads of intset-encoded sets from redis-server 7.0.15 (RDB type 11), one
    /// per member width; the 64-bit one's string is LZF-compressed.
    const DUMPS: [(&str, &[i64]); 3] = [
        (
            "0b0e02000000030000000100020003000a00a5025ce26d6e4d1b",
            &[1, 2, 3],
        ),
        (
            "0b100400000002000000fbffffff701101000a005c8cec7a27ad205e",
            &[-5, 70000],
        ),
        (
            "0bc31d280408000000042003a000018001a0080300f2052a400b00ff600001ff7f0a000a2dccf7eaca5cab",
            &[i64::MIN, 1, 5_000_000_000, i64::MAX],
        ),
    ];

    fn intset_of(dump: &str) -> Vec<u8> {
        let p = unhex(dump);
        let mut r = Reader::new(&p[..]);
        assert_eq!(r.u8().unwrap(), 11);
        let is = r.string().unwrap();
        assert_eq!(r.u16_le().unwrap(), 10);
        let crc = r.tally.crc;
        assert_eq!(r.u64_le().unwrap(), crc);
        assert_eq!(r.tally.pos, p.len() as u64);
        is
    }

    /// An intset of `width` built byte by byte.
    fn build(width: u32, members: &[i64]) -> Vec<u8> {
        let mut is = Vec::new();
        is.extend_from_slice(&width.to_le_bytes());
        is.extend_from_slice(&(members.len() as u32).to_le_bytes());
        for &m in members {
            is.extend_from_slice(&m.to_le_bytes()[..width as usize]);
        }
        is
    }

    #[test]
    fn decodes_what_redis_wrote() {
        for (dump, want) in DUMPS {
            let is = intset_of(dump);
            assert_eq!(decode(&is).unwrap(), want, "{dump}");
            let width = u32::from_le_bytes(is[0..4].try_into().unwrap());
            assert_eq!(build(width, want), is, "{dump}");
        }
    }

    /// Each width's extremes, sign-extended; a wider width than needed also reads.
    #[test]
    fn every_width() {
        let cases: [(u32, &[i64]); 4] = [
            (2, &[i16::MIN as i64, -1, 0, i16::MAX as i64]),
            (4, &[i32::MIN as i64, -70000, 70000, i32::MAX as i64]),
            (8, &[i64::MIN, -1, i64::MAX]),
            (8, &[1, 2, 3]),
        ];
        for (w, m) in cases {
            assert_eq!(decode(&build(w, m)).unwrap(), m);
        }
        assert_eq!(decode(&build(2, &[])).unwrap(), Vec::<i64>::new());
    }

    #[test]
    fn bad_intsets_are_errors() {
        let good = build(4, &[-3, 7, 9]);
        for w in [0u32, 1, 3, 6, 16, u32::MAX] {
            let mut bad = good.clone();
            bad[0..4].copy_from_slice(&w.to_le_bytes());
            assert!(decode(&bad).is_err(), "width {w}");
        }
        for n in [0u32, 2, 4, u32::MAX / 2, u32::MAX] {
            let mut bad = good.clone();
            bad[4..8].copy_from_slice(&n.to_le_bytes());
            assert!(decode(&bad).is_err(), "count {n}");
        }
        let mut long = good.clone();
        long.push(0);
        assert!(decode(&long).is_err());
        assert!(decode(&build(2, &[1, 1])).is_err(), "duplicate");
        assert!(decode(&build(2, &[2, 1])).is_err(), "decreasing");
        assert!(decode(&build(8, &[i64::MAX, i64::MIN])).is_err());
    }

    /// Every cut is an error; every flipped byte is an error or a decoding, never a
    /// panic.
    #[test]
    fn hostile_intsets_are_errors() {
        for (dump, _) in DUMPS {
            let is = intset_of(dump);
            for cut in 0..is.len() {
                assert!(decode(&is[..cut]).is_err(), "cut at {cut}");
            }
            for at in 0..is.len() {
                for x in [0x01u8, 0x40, 0x80, 0xff] {
                    let mut bad = is.clone();
                    bad[at] ^= x;
                    let _ = decode(&bad);
                }
            }
        }
    }
}
