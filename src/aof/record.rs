//! Encoding of AOF records and batch annotations.
//!
//! A record is a command in RESP multibulk form (`*N\r\n$len\r\narg\r\n...`), exactly what
//! redis-server writes and loads. Every batch ferrokv flushes is preceded by one annotation
//! line, `#crc32 <8 hex digits> <len>\r\n`, giving the CRC32 and byte length of the records
//! that follow it. Redis 7 skips lines starting with `#` when it loads an AOF, so the files
//! stay loadable by redis-server; ferrokv uses the annotation to tell a torn tail (the last
//! write was cut short) from corruption in the middle.

use std::io::Write as _;

pub use crate::resp::reply::fmt_i64 as int_arg;

/// Prefix of a batch annotation line.
pub const CRC_PREFIX: &[u8] = b"#crc32 ";
/// Longest annotation line: prefix, 8 hex digits, a space, up to 20 digits, CRLF.
pub const HEADER_MAX: usize = 7 + 8 + 1 + 20 + 2;

/// Appends `n` in decimal without allocating.
pub fn push_int(buf: &mut Vec<u8>, n: i64) {
    let mut tmp = [0u8; 20];
    buf.extend_from_slice(int_arg(n, &mut tmp));
}

/// Appends one record made of `args`.
pub fn push_record<'a>(buf: &mut Vec<u8>, args: impl ExactSizeIterator<Item = &'a [u8]>) {
    buf.push(b'*');
    push_int(buf, args.len() as i64);
    buf.extend_from_slice(b"\r\n");
    for a in args {
        push_bulk(buf, a);
    }
}

/// Appends the `*N\r\n` header of a record with `n` arguments.
pub fn push_header(buf: &mut Vec<u8>, n: usize) {
    buf.push(b'*');
    push_int(buf, n as i64);
    buf.extend_from_slice(b"\r\n");
}

/// Appends one `$len\r\nbytes\r\n` argument.
pub fn push_bulk(buf: &mut Vec<u8>, a: &[u8]) {
    buf.push(b'$');
    push_int(buf, a.len() as i64);
    buf.extend_from_slice(b"\r\n");
    buf.extend_from_slice(a);
    buf.extend_from_slice(b"\r\n");
}

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
    fn records_are_resp() {
        let mut b = Vec::new();
        push_record(&mut b, [&b"SET"[..], b"k", b""].into_iter());
        assert_eq!(b, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        let mut b = Vec::new();
        push_int(&mut b, i64::MIN);
        assert_eq!(b, b"-9223372036854775808");
        let mut t = [0u8; 20];
        assert_eq!(int_arg(-12, &mut t), b"-12");
        assert_eq!(int_arg(1700000000123, &mut t), b"1700000000123");
    }

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
