//! Reply encoding straight into a connection's output buffer, in RESP2 or RESP3.
//!
//! Handlers call `out.bulk(v)`, `out.int(n)`, ... and never build intermediate values, so a
//! reply costs no allocation beyond the output buffer growing. Aggregate types that differ
//! between protocols (maps, sets, nulls, doubles) are encoded here once, from the
//! connection's protocol version.

use crate::error::CmdError;
use crate::num::{fmt_i64, push_i64};

pub const OK: &[u8] = b"+OK\r\n";
pub const QUEUED: &[u8] = b"+QUEUED\r\n";
pub const PONG: &[u8] = b"+PONG\r\n";

/// Encoder bound to one output buffer and one protocol version.
pub struct Reply<'a> {
    pub buf: &'a mut Vec<u8>,
    pub resp3: bool,
}

impl<'a> Reply<'a> {
    pub fn new(buf: &'a mut Vec<u8>, resp3: bool) -> Reply<'a> {
        Reply { buf, resp3 }
    }

    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    pub fn ok(&mut self) {
        self.raw(OK);
    }

    /// `+<s>\r\n`; `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `-<text>\r\n`; newlines in the text are replaced by spaces, as Redis does.
    pub fn error_text(&mut self, s: &str) {
        self.error_bytes(s.as_bytes());
    }

    /// `-<bytes>\r\n`, with CR and LF replaced by spaces.
    pub fn error_bytes(&mut self, s: &[u8]) {
        self.buf.push(b'-');
        for &c in s {
            self.buf
                .push(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn error(&mut self, e: &CmdError) {
        match e {
            CmdError::Bytes(b) => self.error_bytes(b),
            e => self.error_text(&e.to_string()),
        }
    }

    fn header(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        push_i64(self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, v: &[u8]) {
        self.header(b'$', v.len() as i64);
        self.buf.extend_from_slice(v);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_str(&mut self, v: &str) {
        self.bulk(v.as_bytes());
    }

    /// An integer sent as a bulk string (`$2\r\n42\r\n`).
    pub fn bulk_i64(&mut self, n: i64) {
        let mut tmp = [0u8; 20];
        let s = fmt_i64(n, &mut tmp);
        self.header(b'$', s.len() as i64);
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A sorted-set score as Redis 7.0's `addReplyDouble` sends it: `%.17g` text (`inf`,
    /// `-inf`), a bulk string in RESP2 and a double (`,`) in RESP3.
    pub fn score(&mut self, x: f64) {
        let mut tmp = [0u8; 32];
        let text = crate::num::fmt_score(x, &mut tmp);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Null bulk: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        self.raw(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// Null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        self.raw(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }

    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs: `%n` in RESP3, a flat array of 2n in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    /// A set: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// Long text (INFO, CLIENT LIST): a verbatim string `=` in RESP3, a bulk in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.header(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_both_protocols() {
        let mut b = Vec::new();
        let mut r = Reply::new(&mut b, false);
        r.int(-42);
        r.bulk(b"hi");
        r.null();
        r.map(2);
        r.bulk_i64(1234);
        assert_eq!(b, b":-42\r\n$2\r\nhi\r\n$-1\r\n*4\r\n$4\r\n1234\r\n");
        let mut b = Vec::new();
        let mut r = Reply::new(&mut b, true);
        r.null();
        r.map(2);
        r.int(i64::MIN);
        assert_eq!(b, b"_\r\n%2\r\n:-9223372036854775808\r\n");
    }
}
