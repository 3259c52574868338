//! LZF decompression (liblzf's format, as Redis writes compressed strings into RDB files
//! and DUMP payloads when `rdbcompression` is on, for strings over 20 bytes).
//!
//! The stream is a series of runs. A control byte below 32 starts a literal run of that
//! many plus one bytes. Any other is a back-reference: its top three bits are the length
//! minus 2 (7 means a further byte adds to it), its low five bits and the next byte the
//! distance back minus 1. Every length and distance is checked against the output, so a
//! corrupt or hostile payload gives an error, never a panic or an oversized allocation.

/// Why a compressed string could not be expanded.
#[derive(Debug, PartialEq)]
pub enum LzfError {
    /// The input ends inside a run.
    Truncated,
    /// A back-reference points before the start of the output.
    BadReference,
    /// The output would not be exactly the length the RDB header announced.
    WrongLength,
}

/// Expands `input` into exactly `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, LzfError> {
    // The announced length is trusted only as far as the input could produce it: at
    // most 264 bytes per 3 input bytes (a long back-reference), 88 per byte.
    if out_len > input.len().saturating_mul(88) {
        return Err(LzfError::WrongLength);
    }
    let mut out = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            let lit = input.get(i..i + n).ok_or(LzfError::Truncated)?;
            if out.len() + n > out_len {
                return Err(LzfError::WrongLength);
            }
            out.extend_from_slice(lit);
            i += n;
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            len += *input.get(i).ok_or(LzfError::Truncated)? as usize;
            i += 1;
        }
        len += 2;
        let low = *input.get(i).ok_or(LzfError::Truncated)? as usize;
        i += 1;
        let back = ((ctrl & 0x1f) << 8 | low) + 1;
        if back > out.len() {
            return Err(LzfError::BadReference);
        }
        if out.len() + len > out_len {
            return Err(LzfError::WrongLength);
        }
        // Byte by byte: a reference may overlap the bytes it produces (a repeated run).
        let start = out.len() - back;
        for k in 0..len {
            let b = out[start + k];
            out.push(b);
        }
    }
    if out.len() != out_len {
        return Err(LzfError::WrongLength);
    }
    Ok(out)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// `DUMP k` from redis-server 7.0.15 for a 147-byte string: type 0, encoding LZF
    /// (0xc3), compressed length 28, plain length 147, the runs, RDB version 10, CRC-64.
    pub const REDIS_DUMP: &[u8] = &[
        0x00, 0xc3, 0x1c, 0x40, 0x93, 0x03, 0x61, 0x62, 0x63, 0x61, 0xe0, 0x6b, 0x02, 0x0b, 0x68,
        0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x20, 0xe0, 0x03, 0x0b, 0x02,
        0x78, 0x79, 0x7a, 0x0a, 0x00, 0x79, 0x4e, 0xfc, 0xf9, 0x92, 0xf5, 0xe5, 0x81,
    ];

    #[test]
    fn expands_what_redis_compressed() {
        let runs = &REDIS_DUMP[5..5 + 28];
        let want = format!("{}hello world hello world xyz", "abcabcabcabc".repeat(10));
        assert_eq!(decompress(runs, 147).unwrap(), want.as_bytes());
    }

    /// Every cut and every flipped byte of the sample gives an error or some output of
    /// the announced length, never a panic.
    #[test]
    fn hostile_input_is_an_error() {
        let runs = &REDIS_DUMP[5..5 + 28];
        for cut in 0..runs.len() {
            assert!(decompress(&runs[..cut], 147).is_err());
        }
        for at in 0..runs.len() {
            for x in [0x01u8, 0x20, 0x80, 0xff] {
                let mut bad = runs.to_vec();
                bad[at] ^= x;
                if let Ok(v) = decompress(&bad, 147) {
                    assert_eq!(v.len(), 147);
                }
            }
        }
        assert_eq!(decompress(&[0x20, 0x00], 3), Err(LzfError::BadReference));
        assert_eq!(decompress(&[0x00, b'a'], 2), Err(LzfError::WrongLength));
        assert_eq!(decompress(&[0x00], 1), Err(LzfError::Truncated));
        assert_eq!(
            decompress(&[0x00, b'a'], usize::MAX),
            Err(LzfError::WrongLength)
        );
    }
}
