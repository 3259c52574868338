//! Expiry arguments, shared by every command that sets a deadline: the unit words
//! (EX / PX / EXAT / PXAT), the conditions (NX / XX / GT / LT), and the conversion to an
//! absolute Unix time in milliseconds. Redis checks the number differently per family
//! (SET's must be positive, EXPIRE's may be negative and deletes, a hash field's must be
//! non-negative and below 2^46), so the conversion takes the family; the words and the
//! conditions mean the same everywhere.

use super::Args;
use crate::error::CmdError;
use crate::num::parse_i64;

/// The unit and base of an expiry argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub millis: bool,
    /// A Unix time rather than a duration from now.
    pub absolute: bool,
}

impl Unit {
    pub const EX: Unit = Unit {
        millis: false,
        absolute: false,
    };
    pub const PX: Unit = Unit {
        millis: true,
        absolute: false,
    };
    pub const EXAT: Unit = Unit {
        millis: false,
        absolute: true,
    };
    pub const PXAT: Unit = Unit {
        millis: true,
        absolute: true,
    };

    /// EX, PX, EXAT or PXAT (any case).
    pub fn from_word(w: &[u8]) -> Option<Unit> {
        [
            (&b"ex"[..], Unit::EX),
            (b"px", Unit::PX),
            (b"exat", Unit::EXAT),
            (b"pxat", Unit::PXAT),
        ]
        .into_iter()
        .find(|(name, _)| w.eq_ignore_ascii_case(name))
        .map(|(_, u)| u)
    }
}

/// Which command family's rules check the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// SET, GETEX, SETEX, PSETEX: positive, `invalid expire time in '<cmd>'` otherwise.
    Set,
    /// EXPIRE and friends: any integer; a result in the past deletes the key.
    Key,
    /// HEXPIRE, HGETEX, HSETEX: non-negative, at most `MAX_FIELD_MS`.
    Field,
}

/// Latest hash field deadline accepted, in Unix ms (Redis: `EB_EXPIRE_TIME_MAX >> 2`).
pub const MAX_FIELD_MS: i64 = (1 << 46) - 1;

/// The deadline argument `i` of `a` as absolute Unix ms under `rules`; `now` is the base
/// of relative units. Errors name the command as Redis does.
pub fn deadline(a: &Args, i: usize, unit: Unit, now: i64, rules: Rules) -> Result<i64, CmdError> {
    let invalid = || CmdError::InvalidExpire(a.text(0).to_ascii_lowercase());
    let v = parse_i64(a.get(i)).ok_or(CmdError::NotInteger)?;
    let base = if unit.absolute { 0 } else { now };
    match rules {
        Rules::Set => {
            if v <= 0 || (!unit.millis && v > i64::MAX / 1000) {
                return Err(invalid());
            }
            let ms = if unit.millis { v } else { v * 1000 };
            let at = ms.checked_add(base).ok_or_else(invalid)?;
            if at <= 0 {
                return Err(invalid());
            }
            Ok(at)
        }
        Rules::Key => {
            let ms = if unit.millis {
                v
            } else {
                v.checked_mul(1000).ok_or_else(invalid)?
            };
            if ms > i64::MAX - base {
                return Err(invalid());
            }
            Ok(ms + base)
        }
        Rules::Field => {
            if v < 0 {
                return Err(CmdError::err("invalid expire time, must be >= 0"));
            }
            if !unit.millis && v > MAX_FIELD_MS / 1000 {
                return Err(invalid());
            }
            let ms = if unit.millis { v } else { v * 1000 };
            if ms > MAX_FIELD_MS - base {
                return Err(invalid());
            }
            Ok(ms + base)
        }
    }
}

/// NX / XX / GT / LT: when a new deadline may replace the current one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cond {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Cond {
    /// Adds the condition named by `w`; false if `w` names none.
    pub fn add(&mut self, w: &[u8]) -> bool {
        let flag = match w.to_ascii_lowercase().as_slice() {
            b"nx" => &mut self.nx,
            b"xx" => &mut self.xx,
            b"gt" => &mut self.gt,
            b"lt" => &mut self.lt,
            _ => return false,
        };
        *flag = true;
        true
    }

    /// The condition named by `w`, if it names one (HEXPIRE takes at most one).
    pub fn from_word(w: &[u8]) -> Option<Cond> {
        let mut c = Cond::default();
        c.add(w).then_some(c)
    }

    /// Redis's errors for conditions that cannot hold together (EXPIRE).
    pub fn check(&self) -> Result<(), CmdError> {
        if self.nx && (self.xx || self.gt || self.lt) {
            return Err(CmdError::err(
                "NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if self.gt && self.lt {
            return Err(CmdError::err(
                "GT and LT options at the same time are not compatible",
            ));
        }
        Ok(())
    }

    /// True if the conditions refuse replacing `current` (None: no deadline, which counts
    /// as infinite) by `new`.
    pub fn refuses(&self, current: Option<i64>, new: i64) -> bool {
        (self.nx && current.is_some())
            || (self.xx && current.is_none())
            || (self.gt && current.is_none_or(|c| new <= c))
            || (self.lt && current.is_some_and(|c| new >= c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(words: &[&str], unit: Unit, rules: Rules) -> Result<i64, CmdError> {
        let (buf, ranges) = crate::resp::args::owned(words);
        let a = Args {
            buf: &buf,
            ranges: &ranges,
        };
        deadline(&a, 1, unit, 1000, rules)
    }

    #[test]
    fn rules_per_family() {
        assert_eq!(at(&["set", "5"], Unit::EX, Rules::Set), Ok(6000));
        assert_eq!(
            at(&["set", "0"], Unit::EX, Rules::Set),
            Err(CmdError::InvalidExpire("set".into()))
        );
        assert_eq!(at(&["expire", "-5"], Unit::EX, Rules::Key), Ok(-4000));
        assert_eq!(at(&["pexpireat", "7"], Unit::PXAT, Rules::Key), Ok(7));
        assert_eq!(
            at(&["expire", "9223372036854775"], Unit::EX, Rules::Key),
            Err(CmdError::InvalidExpire("expire".into()))
        );
        assert_eq!(
            at(&["hexpire", "-1"], Unit::EX, Rules::Field),
            Err(CmdError::err("invalid expire time, must be >= 0"))
        );
        assert_eq!(at(&["hpexpireat", "0"], Unit::PXAT, Rules::Field), Ok(0));
        assert_eq!(
            at(&["x", "1.5"], Unit::EX, Rules::Set),
            Err(CmdError::NotInteger)
        );
    }

    #[test]
    fn conditions() {
        let gt = Cond::from_word(b"GT").unwrap();
        assert!(gt.refuses(None, 5));
        assert!(gt.refuses(Some(5), 5));
        assert!(!gt.refuses(Some(4), 5));
        let lt = Cond::from_word(b"lt").unwrap();
        assert!(!lt.refuses(None, 5));
        assert!(lt.refuses(Some(5), 6));
        let mut c = Cond::default();
        assert!(c.add(b"nx") && c.add(b"gt"));
        assert!(c.check().is_err());
        assert!(Cond::from_word(b"zz").is_none());
        assert!(!Cond::default().refuses(Some(1), 0));
    }
}
