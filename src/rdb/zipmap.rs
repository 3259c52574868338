//! Redis's zipmap, the compact encoding of small hashes in Redis 2.x: RDB files from
//! that era carry them (RDB type 9). Redis 7 still loads them, converting to listpack or
//! a hash table, and so must ferrokv; nothing writes them any more, so only decoding is
//! needed here.
//!
//! Layout: one byte with the pair count (254: too many to say), the pairs, and a 0xff
//! terminator. A pair is the key's length, the key, the value's length, one byte saying
//! how many unused bytes follow the value, the value, and those unused bytes (what was
//! left when a value was overwritten by a shorter one; their content is meaningless).
//! A length is one byte below 254, or 254 and a 4-byte little-endian length (`zipmap.c`'s
//! notes say host order, but its code stores little-endian on any host); 255 only ever
//! ends the map, where a key would start.
//!
//! Pairs come out in their stored order, duplicates included, and an empty map decodes
//! to no pairs: whether either is fatal is for the loader to decide (Redis's refuses
//! both). Unlike Redis, bytes after the first terminator are refused: its loader only
//! looks at the last byte, but nothing it wrote ever had any. Every length is checked
//! against the buffer: a corrupt or hostile zipmap is an error, never a panic.

use super::read::RdbError;

/// The terminator, where a key's length would start.
const END: u8 = 0xff;
/// The first byte of a 5-byte length, and the count that means "unknown".
const BIGLEN: u8 = 254;
/// The smallest pair: two one-byte lengths and the unused-bytes count.
const MIN_PAIR: usize = 3;

/// A key and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

fn corrupt(what: &str) -> RdbError {
    RdbError::Corrupt(format!("zipmap: {what}"))
}

/// `n` bytes of `zm` from `at`, all before `end` (the terminator's offset).
fn field(zm: &[u8], at: usize, n: usize, end: usize) -> Result<&[u8], RdbError> {
    at.checked_add(n)
        .filter(|&e| e <= end)
        .map(|e| &zm[at..e])
        .ok_or_else(|| corrupt("pair runs past the end"))
}

/// The length that starts at `at`, and where what it measures starts.
fn length(zm: &[u8], at: usize, end: usize) -> Result<(usize, usize), RdbError> {
    match field(zm, at, 1, end)?[0] {
        END => Err(corrupt("terminator where a length belongs")),
        BIGLEN => {
            let n = field(zm, at + 1, 4, end)?;
            Ok((
                u32::from_le_bytes(n.try_into().expect("4 bytes")) as usize,
                at + 5,
            ))
        }
        b => Ok((b as usize, at + 1)),
    }
}

/// The key-value pairs of the zipmap `zm`, in order.
pub fn decode(zm: &[u8]) -> Result<Vec<Pair>, RdbError> {
    if zm.len() < 2 || zm[zm.len() - 1] != END {
        return Err(corrupt("too short, or no terminator"));
    }
    let end = zm.len() - 1;
    let stated = zm[0];
    let room = (end - 1) / MIN_PAIR;
    let mut out = Vec::with_capacity(if stated < BIGLEN {
        (stated as usize).min(room)
    } else {
        0
    });
    let mut p = 1;
    while zm[p] != END {
        let (klen, at) = length(zm, p, end)?;
        let key = field(zm, at, klen, end)?;
        let (vlen, at) = length(zm, at + klen, end)?;
        let free = field(zm, at, 1, end)?[0] as usize;
        let value = field(zm, at + 1, vlen, end)?;
        // The unused bytes must fit too.
        field(zm, at + 1 + vlen, free, end)?;
        out.push((key.to_vec(), value.to_vec()));
        p = at + 1 + vlen + free;
    }
    if p != end {
        return Err(corrupt("terminator before the end"));
    }
    if stated != BIGLEN && stated as usize != out.len() {
        return Err(corrupt("pair count does not match"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::read::Reader;
    use super::*;
    use crate::rdb::dump_of;

    /// A key, its value, and the unused bytes after the value.
    type Spec<'a> = (&'a [u8], &'a [u8], u8);

    fn push_len(zm: &mut Vec<u8>, n: usize) {
        if n < BIGLEN as usize {
            zm.push(n as u8);
        } else {
            zm.push(BIGLEN);
            zm.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }

    /// A zipmap stating `count`, of `pairs` each with that many unused bytes after the
    /// value (filled with 0xff, which must not be mistaken for the terminator).
    fn build(count: u8, pairs: &[Spec]) -> Vec<u8> {
        let mut zm = vec![count];
        for &(k, v, free) in pairs {
            push_len(&mut zm, k.len());
            zm.extend_from_slice(k);
            push_len(&mut zm, v.len());
            zm.push(free);
            zm.extend_from_slice(v);
            zm.extend(std::iter::repeat_n(END, free as usize));
        }
        zm.push(END);
        zm
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn pairs(p: &[Spec]) -> Vec<Pair> {
        p.iter()
            .map(|&(k, v, _)| (k.to_vec(), v.to_vec()))
            .collect()
    }

    /// The "most compact representation" of `foo => bar, hello => world` that
    /// `zipmap.c`'s notes spell out.
    #[test]
    fn matches_the_format_notes() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        let want = pairs(&[(b"foo", b"bar", 0), (b"hello", b"world", 0)]);
        assert_eq!(decode(zm).unwrap(), want);
    }

    /// DUMP payloads (type 9) built with `build` that redis-server 7.0.15 RESTOREs with
    /// `sanitize-dump-payload yes` and reads back as the same pairs: unused bytes after
    /// values (0xff, like the terminator), empty keys and values, 5-byte lengths (a
    /// 300-byte key, 254-byte value) beside a 253-byte value with a 1-byte length, and
    /// 300 pairs with the count "unknown". The large ones are pinned by their checksum.
    #[test]
    fn decodes_payloads_redis_accepts() {
        let k300 = vec![b'k'; 300];
        let v254 = vec![b'v'; 254];
        let many: Vec<Pair> = (0..300)
            .map(|i| (format!("f{i}").into_bytes(), i.to_string().into_bytes()))
            .collect();
        let many: Vec<Spec> = many.iter().map(|(k, v)| (&k[..], &v[..], 0)).collect();
        let cases: [(u8, Vec<Spec>, &str); 4] = [
            (
                2,
                vec![(b"foo", b"bar", 0), (b"hello", b"world", 0)],
                "09180203666f6f03006261720568656c6c6f0500776f726c64ff090061a9eeca284bdc97",
            ),
            (
                4,
                vec![
                    (b"name", b"foo", 2),
                    (b"", b"", 0),
                    (b"n", b"12", 3),
                    (b"x", b"", 1),
                ],
                "091f04046e616d650302666f6fffff000000016e02033132ffffff01780001ffff0900fa3b98\
                 7f1adf3c45",
            ),
            (
                3,
                vec![
                    (&k300, b"long key", 0),
                    (b"long value", &v254, 1),
                    (b"253", &v254[..253], 0),
                ],
                "ff5a56f31d5cb9ad",
            ),
            (254, many, "8eebf785a094679c"),
        ];
        for (count, p, want) in cases {
            let zm = build(count, &p);
            let payload = dump_of(9, &zm, 9);
            assert!(hex(&payload).ends_with(want), "{count}");
            let mut r = Reader::new(&payload[..]);
            assert_eq!(r.u8().unwrap(), 9);
            assert_eq!(decode(&r.string().unwrap()).unwrap(), pairs(&p));
        }
    }

    #[test]
    fn bad_zipmaps_are_errors() {
        let good = build(2, &[(b"foo", b"bar", 1), (b"hello", b"world", 0)]);
        assert!(decode(&good).is_ok());
        let bad = |at: usize, v: u8| {
            let mut b = good.clone();
            b[at] = v;
            decode(&b).is_err()
        };
        for count in [0, 1, 3, 253, 255] {
            assert!(bad(0, count), "count {count}");
        }
        assert!(!bad(0, BIGLEN), "count unknown");
        assert!(bad(good.len() - 1, 0), "terminator");
        assert!(bad(5, END), "terminator as a value length");
        assert!(bad(6, 2), "an unused-bytes count one too many");
        // Redis accepts bytes after an early terminator; nothing it wrote has them.
        let mut early = good.clone();
        early.push(END);
        assert!(decode(&early).is_err());
        // A key with no value.
        assert!(decode(b"\x01\x03foo\xff").is_err());
        // Hostile lengths near the top of the range.
        assert!(decode(b"\x01\xfe\xff\xff\xff\xff\x00\x00\xff").is_err());
        assert!(decode(b"\x01\x01k\xfe\xff\xff\xff\xff\x00\xff").is_err());
        assert!(decode(b"\x01\x01k\x00\xff\xff").is_err());
        // Empty: no pairs (Redis's loader refuses it; that is the loader's call).
        assert_eq!(decode(b"\x00\xff").unwrap(), Vec::new());
        assert!(decode(b"\xff").is_err());
        assert!(decode(b"").is_err());
    }

    /// Every cut is an error; every flipped byte is an error or a decoding, never a
    /// panic.
    #[test]
    fn hostile_zipmaps_are_errors() {
        let k300 = vec![b'k'; 300];
        let zm = build(
            4,
            &[
                (b"name", b"foo", 2),
                (b"", b"", 0),
                (&k300, b"12", 3),
                (b"x", &k300[..254], 1),
            ],
        );
        for cut in 0..zm.len() {
            assert!(decode(&zm[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..zm.len() {
            for x in [0x01u8, 0x02, 0x40, 0x80, 0xff] {
                let mut bad = zm.clone();
                bad[at] ^= x;
                let _ = decode(&bad);
            }
        }
    }
}
