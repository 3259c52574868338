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

/// Writes `x` as C's `printf("%.17g")` does (glibc: exact, round-half-even), which is how
/// Redis 7.0 prints every sorted-set score (ZSCORE, ZRANGE WITHSCORES, ZSCAN...): `0.1` is
/// `0.10000000000000001`, `1e300` is `1.0000000000000001e+300`, `3` is `3`, `-0.0` is
/// `-0`, infinities `inf` / `-inf`. Seventeen significant digits always parse back to the
/// same double, so AOF records written with it replay exactly. Returns the used part of
/// `tmp`.
pub fn fmt_score(x: f64, tmp: &mut [u8; 32]) -> &[u8] {
    use std::io::Write;
    if x.is_nan() {
        tmp[..3].copy_from_slice(b"nan");
        return &tmp[..3];
    }
    if x.is_infinite() {
        let s: &[u8] = if x > 0.0 { b"inf" } else { b"-inf" };
        tmp[..s.len()].copy_from_slice(s);
        return &tmp[..s.len()];
    }
    // Rust's exact formatting rounds the binary value half to even, as glibc does:
    // "d.dddddddddddddddde[-]X", 17 significant digits.
    let mut sci = [0u8; 32];
    let n = {
        let mut w = &mut sci[..];
        let _ = write!(w, "{:.16e}", x.abs());
        32 - w.len()
    };
    let sci = &sci[..n];
    let e_at = sci.iter().position(|&c| c == b'e').unwrap_or(n);
    let mut digits = [0u8; 17];
    digits[0] = sci[0];
    digits[1..].copy_from_slice(&sci[2..e_at]);
    let exp: i32 = std::str::from_utf8(&sci[e_at + 1..])
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    // Trailing zeros go (no '#' flag); at least one digit stays.
    let mut nd = 17;
    while nd > 1 && digits[nd - 1] == b'0' {
        nd -= 1;
    }
    let mut i = 0;
    let mut put = |tmp: &mut [u8; 32], c: u8| {
        tmp[i] = c;
        i += 1;
    };
    if x.is_sign_negative() {
        put(tmp, b'-');
    }
    if !(-4..17).contains(&exp) {
        put(tmp, digits[0]);
        if nd > 1 {
            put(tmp, b'.');
            for &d in &digits[1..nd] {
                put(tmp, d);
            }
        }
        put(tmp, b'e');
        put(tmp, if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e >= 100 {
            put(tmp, b'0' + (e / 100) as u8);
        }
        put(tmp, b'0' + (e / 10 % 10) as u8);
        put(tmp, b'0' + (e % 10) as u8);
    } else if exp < 0 {
        put(tmp, b'0');
        put(tmp, b'.');
        for _ in 0..(-exp - 1) {
            put(tmp, b'0');
        }
        for &d in &digits[..nd] {
            put(tmp, d);
        }
    } else {
        let int_digits = exp as usize + 1;
        for k in 0..int_digits {
            put(
                tmp,
                digits.get(k).filter(|_| k < nd).copied().unwrap_or(b'0'),
            );
        }
        if nd > int_digits {
            put(tmp, b'.');
            for &d in &digits[int_digits..nd] {
                put(tmp, d);
            }
        }
    }
    &tmp[..i]
}

/// Writes a score as Redis 7.0's `d2string` does, the text a listpack stores and ZSCAN
/// returns for a small sorted set: an integral value within +-2^62 as an integer (`-0` is
/// `0`, `1e17` is `100000000000000000`), anything else as `fmt_score`.
pub fn fmt_d2string(x: f64, tmp: &mut [u8; 32]) -> &[u8] {
    const LIMIT: f64 = 4_611_686_018_427_387_904.0; // LLONG_MAX / 2 as a double: 2^62
    if (-LIMIT..=LIMIT).contains(&x) && x == x.trunc() {
        let mut t = [0u8; 20];
        let s = fmt_i64(x as i64, &mut t);
        tmp[..s.len()].copy_from_slice(s);
        return &tmp[..s.len()];
    }
    fmt_score(x, tmp)
}

/// Appends a sorted-set score as Redis 7.0 prints it (`fmt_score`).
pub fn push_score(buf: &mut Vec<u8>, score: f64) {
    let mut tmp = [0u8; 32];
    buf.extend_from_slice(fmt_score(score, &mut tmp));
}

/// C's `isspace` in the "C" locale.
fn c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses the whole of `s` (after optional leading white space) as glibc's `strtod` would
/// consume it: an optional sign, then `inf` / `infinity` / `nan` / `nan(...)` in any case,
/// a hexadecimal float (`0x1.8p3`) or a decimal one (`1.`, `.5`, `1e-5`). None if `strtod`
/// would stop before the end. Returns the correctly rounded value and whether `strtod`
/// reports ERANGE for it (a nonzero literal that overflows to infinity or underflows to
/// zero).
fn strtod_full(s: &[u8]) -> Option<(f64, bool)> {
    let mut i = 0;
    while i < s.len() && c_space(s[i]) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let body = &s[i..];
    let sign = |v: f64| if neg { -v } else { v };
    match body.first().map(|c| c | 0x20) {
        Some(b'i') => {
            return (body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity"))
                .then(|| (sign(f64::INFINITY), false));
        }
        Some(b'n') => {
            let ok = body.eq_ignore_ascii_case(b"nan")
                || (body.len() >= 5
                    && body[..4].eq_ignore_ascii_case(b"nan(")
                    && body[body.len() - 1] == b')'
                    && body[4..body.len() - 1]
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || *c == b'_'));
            return ok.then_some((f64::NAN, false));
        }
        _ => {}
    }
    if body.len() > 2 && body[0] == b'0' && body[1] | 0x20 == b'x' {
        let (v, nonzero) = parse_hex_f64(&body[2..])?;
        let v = sign(v);
        return Some((v, nonzero && (v == 0.0 || v.is_infinite())));
    }
    // Decimal: digits [. digits] [e [sign] digits], with at least one mantissa digit.
    let mut j = 0;
    let mut nonzero = false;
    let mut mant_digits = 0;
    while j < body.len() && body[j].is_ascii_digit() {
        nonzero |= body[j] != b'0';
        mant_digits += 1;
        j += 1;
    }
    if j < body.len() && body[j] == b'.' {
        j += 1;
        while j < body.len() && body[j].is_ascii_digit() {
            nonzero |= body[j] != b'0';
            mant_digits += 1;
            j += 1;
        }
    }
    if mant_digits == 0 {
        return None;
    }
    if j < body.len() && body[j] | 0x20 == b'e' {
        let mut k = j + 1;
        if k < body.len() && (body[k] == b'+' || body[k] == b'-') {
            k += 1;
        }
        let start = k;
        while k < body.len() && body[k].is_ascii_digit() {
            k += 1;
        }
        if k == start {
            return None; // "1e": strtod stops before the 'e'.
        }
        j = k;
    }
    if j != body.len() {
        return None;
    }
    // The grammar is checked; Rust's parser is correctly rounded, as glibc's strtod.
    let v: f64 = std::str::from_utf8(body).ok()?.parse().ok()?;
    let v = sign(v);
    Some((v, nonzero && (v == 0.0 || v.is_infinite())))
}

/// The part of a hexadecimal float after "0x": correctly rounded (half to even), and
/// whether the literal was nonzero.
fn parse_hex_f64(s: &[u8]) -> Option<(f64, bool)> {
    let (acc, exp, sticky) = crate::ldouble::scan_hex(s)?;
    if acc == 0 {
        return Some((0.0, false));
    }
    // value = acc * 2^exp (plus sticky below). Round to 53 bits, or to the subnormal grid.
    let bits = 128 - acc.leading_zeros() as i64;
    let msb = exp + bits - 1;
    if msb > 1023 {
        return Some((f64::INFINITY, true));
    }
    // Exponent of the last kept bit.
    let lsb = (msb - 52).max(-1074);
    let drop = lsb - exp;
    let mut m: u128;
    if drop <= 0 {
        m = acc << (-drop) as u32;
    } else if drop >= 128 {
        // acc < 2^128: below half of the last place unless drop is 128 and the leading
        // bit is the half bit; an exact half rounds to even (zero).
        m = u128::from(drop == 128 && acc >> 127 == 1 && ((acc << 1) != 0 || sticky));
    } else {
        let d = drop as u32;
        let kept_bits = acc >> d;
        let rem = acc & ((1u128 << d) - 1);
        let half = 1u128 << (d - 1);
        m = kept_bits;
        if rem > half || (rem == half && (sticky || kept_bits & 1 == 1)) {
            m += 1;
        }
    }
    // m * 2^lsb; m < 2^54 here.
    let mut lsb = lsb;
    if m >> 53 != 0 {
        m >>= 1;
        lsb += 1;
    }
    if m == 0 {
        return Some((0.0, true));
    }
    let m = m as u64;
    let v = if m >> 52 == 0 {
        // Subnormal (lsb is -1074).
        f64::from_bits(m)
    } else {
        let e = lsb + 52; // exponent of the leading bit
        if e > 1023 {
            return Some((f64::INFINITY, true));
        }
        f64::from_bits((((e + 1023) as u64) << 52) | (m & ((1u64 << 52) - 1)))
    };
    Some((v, true))
}

/// Parses a score or increment the way Redis's `string2d` does (ZADD, ZINCRBY, WEIGHTS):
/// the whole argument must be a `strtod` literal, without leading white space; NaN, and
/// finite literals out of range (`1e400`, `1e-400`) are refused. `inf`, `-inf`, hex
/// floats and subnormals are accepted.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    if s.is_empty() || c_space(s[0]) {
        return None;
    }
    let (v, range_err) = strtod_full(s)?;
    if v.is_nan() || (range_err && (v == 0.0 || v.is_infinite())) {
        return None;
    }
    Some(v)
}

/// Parses a score bound of ZRANGEBYSCORE and friends (after a leading `(`), as Redis's
/// `zslParseRange` does with plain `strtod`: leading white space is skipped, the text ends
/// at a NUL byte as it does in C, an empty text is 0, out-of-range literals saturate to
/// infinity or zero; only NaN and trailing garbage are refused.
pub fn parse_range_score(s: &[u8]) -> Option<f64> {
    let s = match s.iter().position(|&c| c == 0) {
        Some(n) => &s[..n],
        None => s,
    };
    if s.iter().all(|&c| c_space(c)) {
        // strtod converts nothing: 0, and the end pointer is the start, which must be
        // the end of the string.
        return s.is_empty().then_some(0.0);
    }
    let (v, _) = strtod_full(s)?;
    (!v.is_nan()).then_some(v)
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

    fn score_text(x: f64) -> String {
        let mut t = [0u8; 32];
        String::from_utf8(fmt_score(x, &mut t).to_vec()).unwrap()
    }

    #[test]
    #[allow(clippy::excessive_precision)]
    fn scores_print_as_percent_17g() {
        for (x, want) in [
            (0.1, "0.10000000000000001"),
            (1.5e-7, "1.4999999999999999e-07"),
            (1e300, "1.0000000000000001e+300"),
            (3.0, "3"),
            (-3.0, "-3"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1.5, "1.5"),
            (100.0, "100"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (123456789012345.125, "123456789012345.12"),
            (123456789012345.375, "123456789012345.38"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
        ] {
            assert_eq!(score_text(x), want, "{x:e}");
        }
        let mut t = [0u8; 32];
        for (x, want) in [
            (1e17, "100000000000000000"),
            (-0.0, "0"),
            (4611686018427387904.0, "4611686018427387904"),
            (-4611686018427387904.0, "-4611686018427387904"),
            (9223372036854775807.0, "9.2233720368547758e+18"),
            (0.5, "0.5"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(fmt_d2string(x, &mut t), want.as_bytes());
        }
        let mut b = Vec::new();
        push_score(&mut b, 2.5);
        assert_eq!(b, b"2.5");
    }

    /// Thousands of values (random bit patterns, decimals, integers, subnormals) against
    /// Python's `'%.17g' % x` and `float.hex(x)`; every form parses back to the same bits.
    #[test]
    fn scores_match_the_golden_file() {
        let text = include_str!("score_golden.txt");
        let mut n = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut it = line.split(' ');
            let bits = u64::from_str_radix(it.next().unwrap(), 16).unwrap();
            let g = it.next().unwrap();
            let hex = it.next().unwrap();
            let x = f64::from_bits(bits);
            assert_eq!(score_text(x), g, "bits {bits:016x}");
            let back = parse_score(g.as_bytes()).unwrap();
            assert_eq!(back.to_bits(), bits, "{g}");
            let h = parse_score(hex.as_bytes()).unwrap();
            assert_eq!(h.to_bits(), bits, "{hex}");
            assert_eq!(
                parse_range_score(g.as_bytes()).map(f64::to_bits),
                Some(bits)
            );
            n += 1;
        }
        assert!(n > 3000);
    }

    #[test]
    fn score_arguments_follow_string2d() {
        let ok = |s: &str, v: f64| {
            assert_eq!(
                parse_score(s.as_bytes()).map(f64::to_bits),
                Some(v.to_bits()),
                "{s}"
            )
        };
        ok("1", 1.0);
        ok("-1.5", -1.5);
        ok("+2", 2.0);
        ok("1.", 1.0);
        ok(".5", 0.5);
        ok("1e5", 1e5);
        ok("1E+05", 1e5);
        ok("inf", f64::INFINITY);
        ok("+inf", f64::INFINITY);
        ok("-Infinity", f64::NEG_INFINITY);
        ok("0x10", 16.0);
        ok("0x1.8p1", 3.0);
        ok("-0", -0.0);
        ok("1e-310", 1e-310);
        ok("0e99999", 0.0);
        ok("0x1p-1074", 5e-324);
        ok("0x1.0000000000001p-1075", 5e-324);
        for bad in [
            "",
            " 1",
            "1 ",
            "nan",
            "-nan",
            "NaN(1)",
            "1e400",
            "-1e400",
            "1e-400",
            "abc",
            "1e",
            "0x",
            "0x1p",
            "1.2.3",
            "inf1",
            "infin",
            "1\x000",
            "--1",
            "+",
            ".",
            "e5",
            "0x1p-1076",
            "0x1p-1075",
            "0x1p1024",
        ] {
            assert_eq!(parse_score(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn range_bounds_follow_strtod() {
        let ok = |s: &[u8], v: f64| {
            assert_eq!(
                parse_range_score(s).map(f64::to_bits),
                Some(v.to_bits()),
                "{s:?}"
            )
        };
        ok(b"", 0.0);
        ok(b" 5", 5.0);
        ok(b"1e400", f64::INFINITY);
        ok(b"1e-400", 0.0);
        ok(b"-inf", f64::NEG_INFINITY);
        ok(b"3\0garbage", 3.0);
        ok(b"0x20", 32.0);
        for bad in [&b"nan"[..], b"1 ", b" ", b"abc", b"1e", b"\0"] {
            let r = parse_range_score(bad);
            if bad == b"\0" {
                assert_eq!(r, Some(0.0));
            } else {
                assert_eq!(r, None, "{bad:?}");
            }
        }
    }
}
