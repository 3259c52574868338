//! Number parsing and formatting with Redis's exact rules.
//!
//! Redis accepts an integer argument only in canonical form (`string2ll`): an optional `-`,
//! no `+`, no spaces, no leading zeros, within i64. Using Rust's `str::parse` would accept
//! `+5` and `007`, and replies would then differ from Redis for those inputs.
//!
//! `fmt_i64` is the one integer formatter: replies, AOF records, stored integers and
//! listpack entries all print through it, into a stack buffer, without allocating.

/// Writes the decimal form of `n` into `tmp`, returning the used tail.
pub fn fmt_i64(n: i64, tmp: &mut [u8; 20]) -> &[u8] {
    let mut u = n.unsigned_abs();
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        tmp[i] = b'-';
    }
    &tmp[i..]
}

/// Appends the decimal form of `n` to `buf`.
pub fn push_i64(buf: &mut Vec<u8>, n: i64) {
    let mut tmp = [0u8; 20];
    buf.extend_from_slice(fmt_i64(n, &mut tmp));
}

/// Parses a canonical decimal i64 the way Redis's `string2ll` does.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses an i64 argument or fails with Redis's generic integer error.
pub fn arg_i64(s: &[u8]) -> Result<i64, crate::error::CmdError> {
    parse_i64(s).ok_or(crate::error::CmdError::NotInteger)
}

/// Appends a sorted-set score as Redis prints it. FOUNDATION STUB: Rust's shortest
/// round-trip form (`inf`, `-inf`, `1e300`); issue 12 makes it byte-identical to Redis's
/// `%.17g` replies. Any form here must parse back to the same double.
pub fn push_score(buf: &mut Vec<u8>, score: f64) {
    use std::io::Write;
    if score.is_infinite() {
        buf.extend_from_slice(if score > 0.0 { b"inf" } else { b"-inf" });
    } else {
        let _ = write!(buf, "{score:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_every_width() {
        let mut t = [0u8; 20];
        assert_eq!(fmt_i64(0, &mut t), b"0");
        assert_eq!(fmt_i64(-12, &mut t), b"-12");
        assert_eq!(fmt_i64(1700000000123, &mut t), b"1700000000123");
        assert_eq!(fmt_i64(i64::MIN, &mut t), b"-9223372036854775808");
        assert_eq!(fmt_i64(i64::MAX, &mut t), b"9223372036854775807");
        let mut b = b"x".to_vec();
        push_i64(&mut b, -5);
        assert_eq!(b, b"x-5");
    }

    #[test]
    fn canonical_integers_only() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"-",
            b"1.0",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }
}
