//! Batch annotations of the AOF.
//!
//! A record is a command in RESP multibulk form (`*N\r\n$len\r\narg\r\n...`, encoded by
//! `resp/encode.rs`), exactly what redis-server writes and loads. Every batch ferrokv
//! flushes is preceded by one annotation line, `#crc32 <8 hex digits> <len>\r\n`, giving
//! the CRC32 and byte length of the records that follow it. Redis 7 skips lines starting with `#` when it loads an AOF, so the files
//! stay loadable by redis-server; ferrokv uses the annotation to tell a torn tail (the last
//! write was cut short) from corruption in the middle.

use std::io::Write as _;

/// Prefix of a batch annotation line.
pub const CRC_PREFIX: &[u8] = b"#crc32 ";
/// Longest annotation line: prefix, 8 hex digits, a space, up to 20 digits, CRLF.
pub const HEADER_MAX: usize = 7 + 8 + 1 + 20 + 2;

/// Formats the annotation for a batch of `body` into `out`; returns its length.
pub fn annotation(body: &[u8], out: &mut [u8; HEADER_MAX]) -> usize {
    let crc = crc32fast::hash(body);
    let mut cur = std::io::Cursor::new(&mut out[..]);
    // The buffer is sized for the longest possible line, so this cannot fail.
    let _ = write!(cur, "#crc32 {crc:08x} {}\r\n", body.len());
    cur.position() as usize
}

/// Parses an annotation line (without its line ending): `(crc, len)`.
pub fn parse_annotation(line: &[u8]) -> Option<(u32, u64)> {
    let rest = line.strip_prefix(CRC_PREFIX)?;
    let rest = std::str::from_utf8(rest).ok()?;
    let mut parts = rest.split(' ');
    let crc = parts.next()?;
    let len = parts.next()?;
    // Strict form (lowercase hex, plain digits), so a damaged line is never read as a
    // different valid one.
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if parts.next().is_some()
        || crc.len() != 8
        || !crc.bytes().all(lower_hex)
        || len.is_empty()
        || !len.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((u32::from_str_radix(crc, 16).ok()?, len.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_round_trips() {
        let mut h = [0u8; HEADER_MAX];
        let n = annotation(b"hello", &mut h);
        let line = &h[..n];
        assert!(line.ends_with(b"\r\n"));
        let (crc, len) = parse_annotation(&line[..n - 2]).unwrap();
        assert_eq!(crc, crc32fast::hash(b"hello"));
        assert_eq!(len, 5);
        assert!(parse_annotation(b"#crc32 zz 5").is_none());
        assert!(parse_annotation(b"#TS:123").is_none());
    }
}
