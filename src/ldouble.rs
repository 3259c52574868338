//! Software x87 80-bit extended precision ("`long double`" on x86-64 Linux).
//!
//! Redis computes INCRBYFLOAT and HINCRBYFLOAT in C `long double`: the operands are
//! parsed with `strtold`, added on the x87 FPU (64-bit significand, round to nearest
//! even) and the result is printed with `snprintf("%.17Lf")` minus trailing zeros.
//! Doing the same sum in `f64` gives different strings: `10.5 + 0.1` is
//! `10.6` in Redis but `10.59999999999999964` when the f64 sum is printed with 17
//! decimals, and integers above 2^53 lose digits. To answer byte for byte like
//! Redis this module implements the 80-bit format in software: exact decimal
//! parsing (glibc's `strtold` is correctly rounded), a correctly rounded addition,
//! and exact decimal printing (glibc's `printf` expands the binary value exactly and
//! rounds half to even).
//!
//! Exact conversions need more than 64 bits, so a tiny unsigned big integer
//! ([`Big`]) is used for the rare inputs outside the `u128` fast paths (very long
//! digit strings, large decimal exponents, values of 2^127 or more).

use std::cmp::Ordering;

/// Exponent bias of the 15-bit exponent field.
const BIAS: i32 = 16383;
/// All-ones exponent field: infinities and NaNs.
const EXP_SPECIAL: u16 = 0x7FFF;
/// Sign bit inside the sign/exponent word.
const SIGN: u16 = 0x8000;
/// The explicit integer bit of the significand.
const INT_BIT: u64 = 1 << 63;
/// Binary exponent of the significand's last bit for subnormals (and for the
/// smallest normal exponent): the smallest subnormal is 2^-16445.
const MIN_LSB_EXP: i32 = 1 - BIAS - 63;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` refuses inputs this long or longer.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;
/// Largest n with 5^n < 2^63 (bounds the `u128` fast paths).
const MAX_FAST_POW5: u32 = 27;

/// An x86 80-bit extended precision value (C `long double` on x86-64 Linux).
///
/// Stored exactly like the x87 register: a sign/exponent word and a 64-bit
/// significand with an explicit integer bit. Equality is bitwise (so `+0 != -0`
/// and a NaN equals an identical NaN), which is what the tests want.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongDouble {
    /// Sign bit (0x8000) and 15-bit biased exponent.
    se: u16,
    /// Significand; bit 63 is the explicit integer bit (clear only for zero and
    /// subnormals, whose exponent field is 0).
    mant: u64,
}

impl LongDouble {
    const fn zero(neg: bool) -> LongDouble {
        LongDouble {
            se: if neg { SIGN } else { 0 },
            mant: 0,
        }
    }

    const fn infinity(neg: bool) -> LongDouble {
        LongDouble {
            se: EXP_SPECIAL | if neg { SIGN } else { 0 },
            mant: INT_BIT,
        }
    }

    /// The "real indefinite" NaN the x87 FPU returns for invalid operations such
    /// as `inf + -inf` (printed by glibc as `-nan`).
    const DEFAULT_NAN: LongDouble = LongDouble {
        se: EXP_SPECIAL | SIGN,
        mant: 0xC000_0000_0000_0000,
    };

    /// Redis's `string2ld`: parse like C `strtold` over the whole slice.
    ///
    /// Returns `None` when Redis replies "value is not a valid float": the input is
    /// empty or at least 5120 bytes long, starts with whitespace, has bytes that
    /// `strtold` would not consume, is a NaN, or is a finite literal that
    /// `strtold` flags with `ERANGE` and turns into an infinity or a zero
    /// (`1e5000`, `1e-5000`). Subnormal results are accepted, as in Redis.
    /// Accepted syntax: optional sign, then a decimal number with optional
    /// fraction and exponent (`1.`, `.5`, `+1e1`, `5.0e3`), a hexadecimal float
    /// (`0x10`, `0x1.8p3`), or `inf`/`infinity` in any case.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        // Leading whitespace is skipped by strtold but rejected by Redis, and
        // anything else that is not a number fails the grammar below.
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        match body.first().map(|c| c | 0x20) {
            Some(b'i') => {
                return (body.eq_ignore_ascii_case(b"inf")
                    || body.eq_ignore_ascii_case(b"infinity"))
                .then(|| LongDouble::infinity(neg));
            }
            // Either a NaN (rejected) or trailing garbage after "nan".
            Some(b'n') => return None,
            _ => {}
        }
        let (value, nonzero) = if body.len() > 2 && body[0] == b'0' && body[1] | 0x20 == b'x' {
            parse_hex(neg, &body[2..])?
        } else {
            parse_decimal(neg, body)?
        };
        // strtold reports ERANGE when a finite nonzero literal overflows to
        // infinity or underflows to zero; Redis rejects both.
        if !value.is_finite() || (nonzero && value.mant == 0) {
            return None;
        }
        Some(value)
    }

    /// The exact value of `n` (every i64 fits in the 64-bit significand).
    pub fn from_i64(n: i64) -> LongDouble {
        let neg = n < 0;
        let mag = n.unsigned_abs();
        if mag == 0 {
            return LongDouble::zero(false);
        }
        let lz = mag.leading_zeros();
        LongDouble {
            se: (BIAS as u16 + 63 - lz as u16) | if neg { SIGN } else { 0 },
            mant: mag << lz,
        }
    }

    /// Correctly rounded (round-half-even) sum, like the x87 FPU with 64-bit
    /// precision; overflow gives +-inf, `inf + -inf` gives a NaN, an exact zero
    /// sum is +0 unless both operands are -0.
    // An inherent method (not `ops::Add`) so callers need no trait import.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, other: LongDouble) -> LongDouble {
        if self.is_nan() || other.is_nan() {
            // x87: a NaN operand is returned quieted; of two, the larger significand.
            let pick = match (self.is_nan(), other.is_nan()) {
                (true, true) if (other.mant << 1) > (self.mant << 1) => other,
                (true, _) => self,
                _ => other,
            };
            return LongDouble {
                se: pick.se,
                mant: pick.mant | (1 << 62),
            };
        }
        if !self.is_finite() {
            if !other.is_finite() && self.se != other.se {
                return LongDouble::DEFAULT_NAN;
            }
            return self;
        }
        if !other.is_finite() {
            return other;
        }
        let (na, ma, ea) = self.parts();
        let (nb, mb, eb) = other.parts();
        if mb == 0 {
            return if ma == 0 {
                LongDouble::zero(na && nb)
            } else {
                self
            };
        }
        if ma == 0 {
            return other;
        }
        // Order by magnitude. Nonzero significands are normalized except at the
        // minimum exponent, so (exponent, significand) compares magnitudes.
        let ((na, ma, ea), (nb, mb, eb)) = if (ea, ma) >= (eb, mb) {
            ((na, ma, ea), (nb, mb, eb))
        } else {
            ((nb, mb, eb), (na, ma, ea))
        };
        // 62 guard bits; bits shifted out of the smaller operand are folded into
        // its last bit ("sticky"), which cannot change the rounding.
        let a = u128::from(ma) << 62;
        let b = u128::from(mb) << 62;
        let d = (ea - eb) as u32;
        let b = match d {
            0 => b,
            1..=126 => (b >> d) | u128::from(b & ((1u128 << d) - 1) != 0),
            _ => 1,
        };
        let mag = if na == nb { a + b } else { a - b };
        if mag == 0 {
            return LongDouble::zero(false);
        }
        round_pack(na, mag, ea - 62, false)
    }

    /// False for infinities and NaNs.
    pub fn is_finite(&self) -> bool {
        self.se & EXP_SPECIAL != EXP_SPECIAL
    }

    #[allow(dead_code)] // Part of the module's API; not every caller needs it.
    pub fn is_nan(&self) -> bool {
        self.se & EXP_SPECIAL == EXP_SPECIAL && self.mant << 1 != 0
    }

    fn is_negative(&self) -> bool {
        self.se & SIGN != 0
    }

    /// (negative, significand, exponent) of a finite value: |value| = significand * 2^exponent.
    fn parts(&self) -> (bool, u64, i32) {
        let exp = i32::from(self.se & EXP_SPECIAL);
        (self.is_negative(), self.mant, exp.max(1) - BIAS - 63)
    }

    /// Appends Redis's `LD_STR_HUMAN` form (what INCRBYFLOAT and HINCRBYFLOAT
    /// reply and store): `%.17Lf`, then trailing zeros after the '.' and a bare
    /// '.' removed; `inf`/`-inf` for infinities.
    ///
    /// Like Redis 6.0 and later (`ld2string`), a result of "-0" (negative zero,
    /// or a negative value that rounds to zero at 17 decimals) is printed as
    /// "0", even though C's `%.17Lf` itself writes "-0.00000000000000000".
    /// NaN, which Redis never formats here, comes out as glibc's `nan`/`-nan`.
    pub fn format_human(&self, out: &mut Vec<u8>) {
        if !self.is_finite() {
            self.write_special(out);
            return;
        }
        let start = out.len();
        self.write_fixed17(out);
        // "%.17Lf" of a finite value always has a '.' with 17 digits after it.
        while out.last() == Some(&b'0') {
            out.pop();
        }
        if out.last() == Some(&b'.') {
            out.pop();
        }
        if &out[start..] == b"-0" {
            out.truncate(start);
            out.push(b'0');
        }
    }

    /// Appends C's `%.17Lg` form (Redis's `LD_STR_AUTO`): 17 significant digits,
    /// `%e` style when the decimal exponent is below -4 or at least 17, trailing
    /// zeros removed; `inf`, `-inf`, `nan`, `-nan` as glibc prints them.
    #[allow(dead_code)] // Part of the module's API; not every caller needs it.
    pub fn format_g17(&self, out: &mut Vec<u8>) {
        if !self.is_finite() {
            self.write_special(out);
            return;
        }
        let (neg, mant, e2) = self.parts();
        if neg {
            out.push(b'-');
        }
        if mant == 0 {
            out.push(b'0');
            return;
        }
        // Find x with 10^16 <= round(value * 10^(16 - x)) < 10^17; the first guess
        // from the binary exponent is at most one too small.
        let top_bit = e2 + 63 - mant.leading_zeros() as i32;
        let mut x = (f64::from(top_bit) * std::f64::consts::LOG10_2).floor() as i32;
        let digits = loop {
            let n = scaled_round(mant, e2, 16 - x);
            if n >= 100_000_000_000_000_000 {
                x += 1;
            } else if n < 10_000_000_000_000_000 {
                x -= 1;
            } else {
                break n as u64;
            }
        };
        let mut d = [0u8; 17];
        let mut v = digits;
        for slot in d.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        // Significant digits without trailing zeros (the first is never zero).
        let sig = &d[..17 - d.iter().rev().take_while(|&&c| c == b'0').count()];
        if !(-4..17).contains(&x) {
            out.push(sig[0]);
            if sig.len() > 1 {
                out.push(b'.');
                out.extend_from_slice(&sig[1..]);
            }
            out.push(b'e');
            out.push(if x < 0 { b'-' } else { b'+' });
            if x.unsigned_abs() < 10 {
                out.push(b'0');
            }
            write_u128(u128::from(x.unsigned_abs()), out);
        } else if x >= 0 {
            let int_len = x as usize + 1;
            out.extend_from_slice(&d[..int_len]);
            if sig.len() > int_len {
                out.push(b'.');
                out.extend_from_slice(&sig[int_len..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-x - 1) as usize));
            out.extend_from_slice(sig);
        }
    }

    fn write_special(&self, out: &mut Vec<u8>) {
        if self.is_negative() {
            out.push(b'-');
        }
        out.extend_from_slice(if self.mant << 1 == 0 { b"inf" } else { b"nan" });
    }

    /// Appends C's `%.17Lf` of a finite value: the exact binary value rounded
    /// half to even at the 17th decimal.
    fn write_fixed17(&self, out: &mut Vec<u8>) {
        const SCALE: u64 = 100_000_000_000_000_000;
        let (neg, mant, e2) = self.parts();
        if neg {
            out.push(b'-');
        }
        if e2 >= 0 {
            // An integer, exact.
            if e2 < 64 {
                write_u128(u128::from(mant) << e2, out);
            } else {
                let mut b = Big::from_u64(mant);
                b.shl(e2 as u64);
                b.write_decimal(out);
            }
            out.extend_from_slice(b".00000000000000000");
            return;
        }
        // value * 10^17 = mant * 10^17 / 2^-e2; mant * 10^17 < 2^121.
        let scaled = u128::from(mant) * u128::from(SCALE);
        let n = shr_round_even(scaled, e2.unsigned_abs());
        write_u128(n / u128::from(SCALE), out);
        out.push(b'.');
        let frac = (n % u128::from(SCALE)) as u64;
        let mut buf = [b'0'; 17];
        let mut v = frac;
        for slot in buf.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&buf);
    }
}

/// `round_half_even(v / 2^sh)`.
fn shr_round_even(v: u128, sh: u32) -> u128 {
    match sh {
        0 => v,
        1..=127 => {
            let q = v >> sh;
            let rem = v & ((1u128 << sh) - 1);
            let half = 1u128 << (sh - 1);
            q + u128::from(rem > half || (rem == half && q & 1 == 1))
        }
        128 => u128::from(v > 1u128 << 127),
        _ => 0,
    }
}

/// Rounds `mag * 2^exp` (plus a nonzero amount below `mag`'s last bit if `sticky`)
/// to the 80-bit format, half to even, with gradual underflow and overflow to
/// infinity. `mag` must be nonzero, and have at least 65 significant bits when
/// `sticky` is set (so that the rounding bit is inside `mag`).
fn round_pack(neg: bool, mag: u128, exp: i32, sticky: bool) -> LongDouble {
    debug_assert!(mag != 0);
    let bits = 128 - mag.leading_zeros() as i32;
    // Exponent of the last kept bit: 64 significant bits, but never below 2^-16445.
    let lsb = (exp + bits - 64).max(MIN_LSB_EXP);
    let shift = lsb - exp;
    let (m, round, rest) = if shift <= 0 {
        (mag << -shift, false, sticky)
    } else if shift <= 128 {
        let sh = shift as u32;
        let m = if sh == 128 { 0 } else { mag >> sh };
        let round = (mag >> (sh - 1)) & 1 == 1;
        let below = if sh == 1 {
            0
        } else {
            mag & ((1u128 << (sh - 1)) - 1)
        };
        (m, round, sticky || below != 0)
    } else {
        (0, false, true)
    };
    let mut m = m + u128::from(round && (rest || m & 1 == 1));
    let mut lsb = lsb;
    if m == 1 << 64 {
        m = 1 << 63;
        lsb += 1;
    }
    if m == 0 {
        return LongDouble::zero(neg);
    }
    let exp_field = if m >> 63 == 1 {
        lsb - MIN_LSB_EXP + 1
    } else {
        0
    };
    if exp_field >= i32::from(EXP_SPECIAL) {
        return LongDouble::infinity(neg);
    }
    LongDouble {
        se: exp_field as u16 | if neg { SIGN } else { 0 },
        mant: m as u64,
    }
}

/// Scans the part of a hexadecimal float after "0x" (digits, an optional point, an
/// optional `p` exponent, nothing after): the first 30 significant hex digits exactly
/// (at least 117 bits), the value's binary exponent, and whether any digit dropped after
/// them was nonzero. Shared by the 80-bit and the double parsers, which round differently.
pub(crate) fn scan_hex(s: &[u8]) -> Option<(u128, i64, bool)> {
    let mut acc: u128 = 0;
    let mut kept = 0;
    let mut sticky = false;
    let mut exp: i64 = 0;
    let mut any_digit = false;
    let mut i = 0;
    let mut in_fraction = false;
    while i < s.len() {
        let c = s[i];
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            b'.' if !in_fraction => {
                in_fraction = true;
                i += 1;
                continue;
            }
            _ => break,
        };
        any_digit = true;
        if in_fraction {
            exp -= 4;
        }
        if kept < 30 {
            if acc != 0 || v != 0 {
                acc = (acc << 4) | u128::from(v);
                kept += 1;
            }
        } else {
            sticky |= v != 0;
            exp += 4;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    if i < s.len() && s[i] | 0x20 == b'p' {
        let (e, end) = parse_exponent(s, i + 1)?;
        exp += e;
        i = end;
    }
    if i != s.len() {
        return None;
    }
    Some((acc, exp, sticky))
}

/// Parses the part of a hexadecimal float after "0x". Returns the rounded value
/// and whether the literal was nonzero.
fn parse_hex(neg: bool, s: &[u8]) -> Option<(LongDouble, bool)> {
    let (mut acc, exp, sticky) = scan_hex(s)?;
    if acc == 0 {
        return Some((LongDouble::zero(neg), false));
    }
    // glibc quirk (seen in 2.36): when the leading bit is 2^-16446, half the
    // smallest subnormal, strtold ignores the 65th significant bit while rounding,
    // so 0x1.0000000000000001p-16446 becomes 0 (ERANGE, rejected by Redis) instead
    // of 2^-16445. Decimal input cannot hit this: it would need over 10000 digits.
    let bits = i64::from(128 - acc.leading_zeros());
    if exp + bits - 1 == i64::from(MIN_LSB_EXP) - 1 && bits >= 65 {
        acc &= !(1u128 << (bits - 65));
    }
    // Far outside the format either way; clamping keeps the arithmetic small.
    let exp = exp.clamp(-100_000, 100_000) as i32;
    Some((round_pack(neg, acc, exp, sticky), true))
}

/// Parses `[+-]digits` starting at `s[i]`, saturating huge values. Returns the
/// value and the index after it, or `None` without digits.
fn parse_exponent(s: &[u8], mut i: usize) -> Option<(i64, usize)> {
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
    let start = i;
    let mut v: i64 = 0;
    while let Some(c @ b'0'..=b'9') = s.get(i) {
        v = (v * 10 + i64::from(c - b'0')).min(1_000_000_000);
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((if neg { -v } else { v }, i))
}

/// Parses a decimal literal (after the sign). Returns the correctly rounded
/// value and whether the literal was nonzero.
fn parse_decimal(neg: bool, s: &[u8]) -> Option<(LongDouble, bool)> {
    let int_len = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let int = &s[..int_len];
    let mut i = int_len;
    let mut frac: &[u8] = &[];
    if s.get(i) == Some(&b'.') {
        let n = s[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        frac = &s[i + 1..i + 1 + n];
        i += 1 + n;
    }
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut exp: i64 = 0;
    if i < s.len() && s[i] | 0x20 == b'e' {
        let (e, end) = parse_exponent(s, i + 1)?;
        exp = e;
        i = end;
    }
    if i != s.len() {
        return None;
    }

    // The digits of int and frac form the integer D; value = D * 10^exp10.
    let total = int.len() + frac.len();
    let digit = |j: usize| {
        if j < int.len() {
            int[j] - b'0'
        } else {
            frac[j - int.len()] - b'0'
        }
    };
    let lead = (0..total).take_while(|&j| digit(j) == 0).count();
    if lead == total {
        return Some((LongDouble::zero(neg), false));
    }
    let trail = (lead..total).rev().take_while(|&j| digit(j) == 0).count();
    let sig = lead..total - trail;
    let count = sig.len() as i64;
    let exp10 = exp - frac.len() as i64 + trail as i64;
    // value >= 10^(count - 1 + exp10) overflows; value < 10^(count + exp10) <=
    // 10^-4952 is below half the smallest subnormal (1.8e-4951) and rounds to 0.
    if count + exp10 > 4933 || count + exp10 < -4951 {
        return None;
    }
    let exp10 = exp10 as i32;

    if count <= 19 && exp10.unsigned_abs() <= MAX_FAST_POW5 {
        // D < 10^19 < 2^64 and 5^|exp10| < 2^63: exact in u128.
        let d = sig.fold(0u64, |acc, j| acc * 10 + u64::from(digit(j)));
        let p5 = 5u128.pow(exp10.unsigned_abs());
        if exp10 >= 0 {
            return Some((round_pack(neg, u128::from(d) * p5, exp10, false), true));
        }
        // D * 2^s / 5^m with D * 2^s in [2^127, 2^128): the quotient has >= 65 bits.
        let s = u128::from(d).leading_zeros();
        let num = u128::from(d) << s;
        let q = num / p5;
        let sticky = num % p5 != 0;
        return Some((round_pack(neg, q, exp10 - s as i32, sticky), true));
    }

    let mut d = Big::with_capacity(sig.len() / 9 + 2);
    let mut chunk = 0u32;
    let mut chunk_len = 0;
    for j in sig {
        chunk = chunk * 10 + u32::from(digit(j));
        chunk_len += 1;
        if chunk_len == 9 {
            d.mul_add_small(1_000_000_000, chunk);
            chunk = 0;
            chunk_len = 0;
        }
    }
    if chunk_len > 0 {
        d.mul_add_small(10u32.pow(chunk_len), chunk);
    }
    if exp10 >= 0 {
        // value = D * 5^e * 2^e, an integer: round its top bits.
        d.mul_pow5(exp10.unsigned_abs());
        let (top, shift, sticky) = d.top_u128();
        return Some((round_pack(neg, top, exp10 + shift as i32, sticky), true));
    }
    // value = D / 5^m * 2^-m: divide with enough extra bits for a quotient of
    // 66 or 67 bits and use the remainder as the sticky bit.
    let mut den = Big::from_u64(1);
    den.mul_pow5(exp10.unsigned_abs());
    let s = 66 + den.bit_len() as i64 - d.bit_len() as i64;
    if s >= 0 {
        d.shl(s as u64);
    } else {
        den.shl(s.unsigned_abs());
    }
    let q = div_small_quotient(&mut d, &den);
    Some((round_pack(neg, q, exp10 - s as i32, !d.is_zero()), true))
}

/// `round_half_even(mant * 2^e2 * 10^k)`, for results below 2^127.
fn scaled_round(mant: u64, e2: i32, k: i32) -> u128 {
    let shift = e2 + k; // value * 10^k = mant * 5^k * 2^shift
    if (0..=MAX_FAST_POW5 as i32).contains(&k) {
        let num = u128::from(mant) * 5u128.pow(k as u32);
        if shift <= 0 {
            return shr_round_even(num, shift.unsigned_abs());
        }
        if num.leading_zeros() > shift as u32 {
            return num << shift;
        }
    }
    let mut num = Big::from_u64(mant);
    let mut den = Big::from_u64(1);
    if k >= 0 {
        num.mul_pow5(k as u32);
    } else {
        den.mul_pow5(k.unsigned_abs());
    }
    if shift >= 0 {
        num.shl(shift as u64);
    } else {
        den.shl(u64::from(shift.unsigned_abs()));
    }
    let q = div_small_quotient(&mut num, &den);
    // num is now the remainder: compare it with half the divisor.
    num.shl(1);
    match num.cmp(&den) {
        Ordering::Greater => q + 1,
        Ordering::Equal => q + (q & 1),
        Ordering::Less => q,
    }
}

/// Appends the decimal digits of `v`.
fn write_u128(mut v: u128, out: &mut Vec<u8>) {
    let mut buf = [0u8; 39];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Divides `num` by `den` when the quotient is known to be below 2^128; `num`
/// is left holding the remainder. Schoolbook binary long division, fine for the
/// few quotient bits needed here.
fn div_small_quotient(num: &mut Big, den: &Big) -> u128 {
    let (nb, db) = (num.bit_len(), den.bit_len());
    if nb < db {
        return 0;
    }
    let qbits = nb - db;
    assert!(qbits < 128, "quotient too large");
    let mut d = den.clone();
    d.shl(qbits);
    let mut q = 0u128;
    for i in (0..=qbits).rev() {
        if num.cmp(&d) != Ordering::Less {
            num.sub_assign(&d);
            q |= 1 << i;
        }
        d.shr1();
    }
    q
}

/// A minimal arbitrary-precision unsigned integer: little-endian 32-bit limbs
/// with no high zero limbs (zero is the empty vector).
#[derive(Clone, Debug)]
struct Big {
    limbs: Vec<u32>,
}

impl Big {
    fn with_capacity(n: usize) -> Big {
        Big {
            limbs: Vec::with_capacity(n),
        }
    }

    fn from_u64(v: u64) -> Big {
        let mut b = Big {
            limbs: vec![v as u32, (v >> 32) as u32],
        };
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(&top) => (self.limbs.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
        }
    }

    /// self = self * m + a.
    fn mul_add_small(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.limbs {
            let p = u64::from(*limb) * u64::from(m) + carry;
            *limb = p as u32;
            carry = p >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    /// self *= 5^n.
    fn mul_pow5(&mut self, mut n: u32) {
        const POW5_13: u32 = 1_220_703_125;
        self.limbs.reserve((n as usize * 7 / 3) / 32 + 1);
        while n >= 13 {
            self.mul_add_small(POW5_13, 0);
            n -= 13;
        }
        if n > 0 {
            self.mul_add_small(5u32.pow(n), 0);
        }
    }

    /// self <<= n.
    fn shl(&mut self, n: u64) {
        if self.is_zero() || n == 0 {
            return;
        }
        let bits = (n % 32) as u32;
        if bits != 0 {
            let mut carry = 0u32;
            for limb in &mut self.limbs {
                let v = *limb;
                *limb = (v << bits) | carry;
                carry = v >> (32 - bits);
            }
            if carry != 0 {
                self.limbs.push(carry);
            }
        }
        let words = (n / 32) as usize;
        if words > 0 {
            self.limbs.splice(0..0, std::iter::repeat_n(0, words));
        }
    }

    /// self >>= 1.
    fn shr1(&mut self) {
        let mut carry = 0u32;
        for limb in self.limbs.iter_mut().rev() {
            let v = *limb;
            *limb = (v >> 1) | (carry << 31);
            carry = v & 1;
        }
        self.trim();
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    /// self -= other; requires self >= other.
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0u64;
        for (i, limb) in self.limbs.iter_mut().enumerate() {
            let o = other.limbs.get(i).copied().unwrap_or(0);
            if o == 0 && borrow == 0 && i >= other.limbs.len() {
                break;
            }
            let v = u64::from(*limb)
                .wrapping_sub(u64::from(o))
                .wrapping_sub(borrow);
            *limb = v as u32;
            borrow = (v >> 63) & 1;
        }
        debug_assert_eq!(borrow, 0);
        self.trim();
    }

    /// self /= d, returning the remainder.
    fn div_rem_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / u64::from(d)) as u32;
            rem = cur % u64::from(d);
        }
        self.trim();
        rem as u32
    }

    /// 32 bits starting at bit `pos` (bits past the end read as zero).
    fn bits32_at(&self, pos: u64) -> u32 {
        let w = (pos / 32) as usize;
        let b = (pos % 32) as u32;
        let lo = self.limbs.get(w).copied().unwrap_or(0);
        if b == 0 {
            return lo;
        }
        let hi = self.limbs.get(w + 1).copied().unwrap_or(0);
        (lo >> b) | (hi << (32 - b))
    }

    /// Splits self into `top * 2^shift + low` with `top < 2^128`; returns
    /// `(top, shift, low != 0)`.
    fn top_u128(&self) -> (u128, u64, bool) {
        let shift = self.bit_len().saturating_sub(128);
        let top = (0..4).rev().fold(0u128, |acc, j| {
            (acc << 32) | u128::from(self.bits32_at(shift + 32 * j))
        });
        let w = (shift / 32) as usize;
        let partial = self.limbs.get(w).copied().unwrap_or(0) & ((1u32 << (shift % 32)) - 1);
        let sticky = partial != 0
            || self.limbs[..w.min(self.limbs.len())]
                .iter()
                .any(|&l| l != 0);
        (top, shift, sticky)
    }

    /// Appends the decimal digits of self.
    fn write_decimal(mut self, out: &mut Vec<u8>) {
        const CHUNK: u32 = 1_000_000_000;
        let mut chunks = Vec::with_capacity(self.limbs.len() * 32 / 29 + 1);
        while !self.is_zero() {
            chunks.push(self.div_rem_small(CHUNK));
        }
        let Some((&top, rest)) = chunks.split_last() else {
            out.push(b'0');
            return;
        };
        write_u128(u128::from(top), out);
        for &c in rest.iter().rev() {
            let mut buf = [b'0'; 9];
            let mut v = c;
            for slot in buf.iter_mut().rev() {
                *slot = b'0' + (v % 10) as u8;
                v /= 10;
            }
            out.extend_from_slice(&buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(s: &str) -> LongDouble {
        LongDouble::parse(s.as_bytes()).unwrap_or_else(|| panic!("{s:?} should parse"))
    }

    fn human(v: LongDouble) -> String {
        let mut out = Vec::new();
        v.format_human(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn g17(v: LongDouble) -> String {
        let mut out = Vec::new();
        v.format_g17(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn bits(v: LongDouble) -> String {
        format!("{:04x}:{:016x}", v.se, v.mant)
    }

    fn sum(a: &str, b: &str) -> String {
        human(ld(a).add(ld(b)))
    }

    #[test]
    fn redis_examples() {
        assert_eq!(sum("10.5", "0.1"), "10.6");
        assert_eq!(sum("1999.99", "-99.99"), "1900");
        assert_eq!(sum("0", "5.0e3"), "5000");
        assert_eq!(sum("0.1", "0.2"), "0.3");
        assert_eq!(
            sum("0", "1.234567890123456789012345678901234"),
            "1.23456789012345679"
        );
        assert_eq!(sum("0", "0.000000000000000001"), "0");
        assert_eq!(sum("2.000", "0"), "2");
        // 64 significant bits: more digits than f64, fewer than 24.
        assert_eq!(
            sum("123456789012345678901234", "0"),
            "123456789012345678897152"
        );
        assert_eq!(sum("3.0000000000000001", "0"), "3.0000000000000001");
        let big = sum("1e308", "1e308");
        assert_eq!(big.len(), 309);
        assert!(big.starts_with(
            "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640"
        ));
        // Why not f64: the same sum printed with 17 decimals.
        assert_eq!(format!("{:.17}", 10.5f64 + 0.1), "10.59999999999999964");
    }

    #[test]
    fn zeros_and_signs() {
        assert_eq!(bits(ld("-0.0")), "8000:0000000000000000");
        assert_eq!(human(ld("-0.0")), "0");
        assert_eq!(g17(ld("-0.0")), "-0");
        assert_eq!(human(ld("-0.0").add(ld("-0"))), "0");
        assert_eq!(bits(ld("-0.0").add(ld("0"))), "0000:0000000000000000");
        assert_eq!(bits(ld("1.5").add(ld("-1.5"))), "0000:0000000000000000");
        assert_eq!(human(ld("-1e-20")), "0");
        assert_eq!(g17(ld("-1e-20")), "-1e-20");
        assert_eq!(human(ld("1e-17")), "0.00000000000000001");
        assert_eq!(human(ld("0x1p-18")), "0.00000381469726562");
    }

    #[test]
    fn parse_rejections() {
        for s in [
            "",
            " 1",
            "1 ",
            "\t1",
            "abc",
            "1e",
            "1e+",
            "--1",
            "+.e1",
            "nan",
            "-nan",
            ".",
            "0x",
            "1_000",
            "1e5000",
            "1e-5000",
            "0x1p-16446",
            "1\0",
            "infinit",
        ] {
            assert_eq!(LongDouble::parse(s.as_bytes()), None, "{s:?}");
        }
        // Redis's 5120-byte limit: "1.000...0001".
        let mut long = vec![b'0'; 5120];
        long[0] = b'1';
        long[1] = b'.';
        long[5119] = b'1';
        assert_eq!(LongDouble::parse(&long), None);
        long.remove(2);
        assert_eq!(human(LongDouble::parse(&long).unwrap()), "1");
        assert_eq!(human(ld("Infinity")), "inf");
        assert_eq!(human(ld("-inf")), "-inf");
        assert_eq!(human(ld("0x1.8p3")), "12");
        assert_eq!(g17(ld("0x1p-16445")), "3.6451995318824746e-4951");
        assert!(ld("1e4932").is_finite());
        assert!(ld("1e4931").add(ld("1e4932")).is_finite());
        assert_eq!(human(ld("1e4932").add(ld("1e4932"))), "inf");
        assert!(ld("inf").add(ld("-inf")).is_nan());
        assert!(!ld("inf").is_nan());
    }

    #[test]
    fn from_i64_is_exact() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut values = vec![
            0,
            1,
            -1,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            1 << 53,
            (1 << 53) + 1,
        ];
        for _ in 0..500 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x as i64) >> (x % 64));
        }
        for n in values {
            assert_eq!(LongDouble::from_i64(n), ld(&n.to_string()), "{n}");
            assert_eq!(human(LongDouble::from_i64(n)), n.to_string());
        }
    }

    /// Undoes the C generator's escaping: `\\`, `\xNN`, `\e` (empty input) and
    /// `\*N*c` (N copies of c).
    fn unescape(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'\\' {
                out.push(b[i]);
                i += 1;
                continue;
            }
            match b[i + 1] {
                b'\\' => {
                    out.push(b'\\');
                    i += 2;
                }
                b'e' => i += 2,
                b'x' => {
                    out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
                    i += 4;
                }
                b'*' => {
                    let end = i + 2 + s[i + 2..].find('*').unwrap();
                    let n: usize = s[i + 2..end].parse().unwrap();
                    out.extend(std::iter::repeat_n(b[end + 1], n));
                    i = end + 2;
                }
                c => panic!("bad escape {c}"),
            }
        }
        out
    }

    fn from_bits(s: &str) -> LongDouble {
        let (se, m) = s.split_once(':').unwrap();
        LongDouble {
            se: u16::from_str_radix(se, 16).unwrap(),
            mant: u64::from_str_radix(m, 16).unwrap(),
        }
    }

    /// Checks an output against a fixture field, which is either the text itself
    /// or `~length:fnv1a64` for long outputs.
    fn check(got: &str, want: &str, ctx: &dyn Fn() -> String) {
        if !want.starts_with('~') {
            assert_eq!(got, want, "{}", ctx());
            return;
        }
        let hash = got.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        assert_eq!(
            format!("~{}:{hash:016x}", got.len()),
            want,
            "{}: {got:.200}",
            ctx()
        );
    }

    /// Cases generated by a C program (embedded at the top of the fixture) with
    /// glibc's strtold/printf on the x86-64 long double:
    /// `P input bits|-`, `S a b sum-bits human %.17Lg`, `F bits human %.17Lg`.
    #[test]
    fn golden() {
        let mut counts = [0usize; 3];
        for (n, line) in include_str!("ldouble_golden.txt").lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let ctx = || format!("line {}: {line:.200}", n + 1);
            match f[0] {
                "P" => {
                    let got = LongDouble::parse(&unescape(f[1]));
                    let want = (f[2] != "-").then(|| from_bits(f[2]));
                    assert_eq!(got, want, "{}", ctx());
                    counts[0] += 1;
                }
                "S" => {
                    let a =
                        LongDouble::parse(&unescape(f[1])).unwrap_or_else(|| panic!("{}", ctx()));
                    let b =
                        LongDouble::parse(&unescape(f[2])).unwrap_or_else(|| panic!("{}", ctx()));
                    let s = a.add(b);
                    assert_eq!(bits(s), f[3], "{}", ctx());
                    check(&human(s), f[4], &ctx);
                    check(&g17(s), f[5], &ctx);
                    counts[1] += 1;
                }
                "F" => {
                    let v = from_bits(f[1]);
                    check(&human(v), f[2], &ctx);
                    check(&g17(v), f[3], &ctx);
                    counts[2] += 1;
                }
                other => panic!("unknown record {other:?} at {}", ctx()),
            }
        }
        assert!(counts.iter().all(|&c| c > 500), "{counts:?}");
    }
}
