//! Commands encoded as RESP multibulk (`*N\r\n$len\r\narg\r\n...`): what clients send, and
//! what the write stream, the AOF and (later) replicas carry. Appends to a buffer, never
//! allocates beyond its growth.

use crate::num::{fmt_i64, push_i64};

/// Appends one command made of `args`.
pub fn push_record<'a>(buf: &mut Vec<u8>, args: impl ExactSizeIterator<Item = &'a [u8]>) {
    push_header(buf, args.len());
    for a in args {
        push_bulk(buf, a);
    }
}

/// Appends `SELECT db`.
pub fn push_select(buf: &mut Vec<u8>, db: usize) {
    let mut n = [0u8; 20];
    push_record(
        buf,
        [&b"SELECT"[..], fmt_i64(db as i64, &mut n)].into_iter(),
    );
}

/// Appends the `*N\r\n` header of a command with `n` arguments.
pub fn push_header(buf: &mut Vec<u8>, n: usize) {
    buf.push(b'*');
    push_i64(buf, n as i64);
    buf.extend_from_slice(b"\r\n");
}

/// Appends one `$len\r\nbytes\r\n` argument.
pub fn push_bulk(buf: &mut Vec<u8>, a: &[u8]) {
    buf.push(b'$');
    push_i64(buf, a.len() as i64);
    buf.extend_from_slice(b"\r\n");
    buf.extend_from_slice(a);
    buf.extend_from_slice(b"\r\n");
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
        push_header(&mut b, 2);
        push_bulk(&mut b, b"DEL");
        push_bulk(&mut b, b"key");
        assert_eq!(b, b"*2\r\n$3\r\nDEL\r\n$3\r\nkey\r\n");
    }
}
