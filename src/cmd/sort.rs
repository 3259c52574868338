//! SORT and SORT_RO: the elements of a list, set or sorted set, sorted numerically or
//! (ALPHA) bytewise, optionally by other keys' values (`BY weight_*`, `BY h_*->field`),
//! with a LIMIT, replaced by other keys' values (`GET`), or stored as a list (`STORE`).
//!
//! Semantics follow Redis's sort.c: options are parsed first, then the key's type is
//! checked; `BY` with a pattern holding no `*` means "do not sort" (natural order, which
//! a list and a sorted set serve as a range, so LIMIT costs only what it returns); a set
//! that would be stored unsorted is sorted ALPHA instead, so the stored list, and the
//! replay of the logged command, do not depend on the set's internal order. Numeric ties
//! fall back to comparing the elements bytewise, so numeric results are deterministic.

use std::cmp::Ordering;

use super::table::{BeginSearch, Command, FindKeys, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx, DbView};
use crate::error::{CmdError, CmdResult};
use crate::num::parse_i64;
use crate::types::list::End;
use crate::types::{Hash, List, Value};

const ROW_SORT: Command = Command {
    acl: acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS,
    group: "generic",
    ..ROW
};

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "sort", arity: -2, flags: WRITE | DENYOOM, keys: &[KeySpec::one(RO | ACCESS), UNKNOWN_READ, UNKNOWN_STORE], keys_fn: Some(sort_keys), handler: sort, usage: "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA] [STORE destination]", summary: "Sorts the elements of a list, set or sorted set, optionally storing the result.", ..ROW_SORT },
    Command { name: "sort_ro", arity: -2, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS), UNKNOWN_READ], keys_fn: Some(sort_ro_keys), handler: sort_ro, usage: "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]", summary: "Sorts the elements of a list, set or sorted set (read-only SORT).", ..ROW_SORT },
];

/// Keys BY and GET patterns read: not knowable from the arguments (Redis's spec too).
const UNKNOWN_READ: KeySpec = KeySpec {
    flags: RO | ACCESS,
    begin: BeginSearch::Unknown,
    find: FindKeys::Unknown,
};
/// The STORE destination, found by `sort_keys`.
const UNKNOWN_STORE: KeySpec = KeySpec {
    flags: OW | UPDATE,
    begin: BeginSearch::Unknown,
    find: FindKeys::Unknown,
};

/// SORT's keys, as Redis's sortGetKeys finds them: the sorted key, and the destination
/// of the last STORE (skipping the arguments of LIMIT, GET and BY).
fn sort_keys(a: &Args, key: &mut dyn FnMut(usize, u32)) -> bool {
    key(1, RO | ACCESS);
    let mut store = None;
    let mut i = 2;
    while i < a.len() {
        if a.is(i, "limit") {
            i += 2;
        } else if a.is(i, "get") || a.is(i, "by") {
            i += 1;
        } else if a.is(i, "store") && i + 1 < a.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    if let Some(p) = store {
        key(p, OW | UPDATE);
    }
    true
}

/// SORT_RO's one key.
fn sort_ro_keys(_a: &Args, key: &mut dyn FnMut(usize, u32)) -> bool {
    key(1, RO | ACCESS);
    true
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination] -> the sorted elements (or GET values), or with STORE their count.
pub fn sort(c: &mut Ctx, a: &Args) -> CmdResult {
    run(c, a, false)
}

/// SORT_RO: SORT without STORE.
pub fn sort_ro(c: &mut Ctx, a: &Args) -> CmdResult {
    run(c, a, true)
}

/// The parsed options.
struct Opts<'a> {
    desc: bool,
    alpha: bool,
    /// LIMIT offset count (count < 0: all).
    limit: (i64, i64),
    by: Option<&'a [u8]>,
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

fn parse<'a>(c: &Ctx, a: &'a Args, readonly: bool) -> Result<Opts<'a>, CmdError> {
    let mut o = Opts {
        desc: false,
        alpha: false,
        limit: (0, -1),
        by: None,
        dontsort: false,
        gets: Vec::new(),
        store: None,
    };
    let full_keys = || c.eng.acl.full_key_access(c.cl.user);
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        if a.is(j, "asc") {
            o.desc = false;
        } else if a.is(j, "desc") {
            o.desc = true;
        } else if a.is(j, "alpha") {
            o.alpha = true;
        } else if a.is(j, "limit") && left >= 2 {
            let n = |i: usize| parse_i64(a.get(i)).ok_or(CmdError::NotInteger);
            o.limit = (n(j + 1)?, n(j + 2)?);
            j += 2;
        } else if !readonly && a.is(j, "store") && left >= 1 {
            o.store = Some(a.get(j + 1));
            j += 1;
        } else if a.is(j, "by") && left >= 1 {
            let p = a.get(j + 1);
            o.by = Some(p);
            if !p.contains(&b'*') {
                o.dontsort = true;
            } else if !full_keys() {
                return Err(CmdError::err(
                    "BY option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            j += 1;
        } else if a.is(j, "get") && left >= 1 {
            if !full_keys() {
                return Err(CmdError::err(
                    "GET option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            o.gets.push(a.get(j + 1));
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// One element being sorted, with what it sorts by.
struct Item {
    elem: Vec<u8>,
    score: f64,
    /// The BY value for ALPHA sorting by a pattern (None: missing, sorts first).
    by: Option<Vec<u8>>,
}

fn run(c: &mut Ctx, a: &Args, readonly: bool) -> CmdResult {
    let mut o = parse(c, a, readonly)?;
    let lim = c.eng.config.list_limits;
    let mut db = c.db();
    let (len, kind) = match db.get_read(a.get(1)).map(|e| &e.val) {
        None => (0, "none"),
        Some(Value::List(l)) => (l.len(), "list"),
        Some(Value::Set(s)) => (s.len(), "set"),
        Some(Value::ZSet(z)) => (z.len(), "zset"),
        Some(_) => return Err(CmdError::WrongType),
    };
    if o.dontsort && kind == "set" && o.store.is_some() {
        // A stored result must not depend on the set's internal order.
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    // LIMIT, clamped as Redis does: [start, end] inclusive, empty when end < start.
    let n = len as i64;
    let start = o.limit.0.clamp(0, n);
    let count = o.limit.1.clamp(-1, n);
    let mut end = if count < 0 { n - 1 } else { start + count - 1 };
    let mut start = start;
    if start >= n {
        start = n - 1;
        end = n - 2;
    }
    end = end.min(n - 1);

    // Natural order of a list or sorted set: only the range is read.
    let ranged = o.dontsort && (kind == "list" || kind == "zset");
    let mut items: Vec<Item> = Vec::with_capacity(if ranged {
        (end - start + 1).max(0) as usize
    } else {
        len
    });
    let item = |e: &[u8]| Item {
        elem: e.to_vec(),
        score: 0.0,
        by: None,
    };
    let value = match db.peek(a.get(1)) {
        // An empty range of a list or sorted set reads nothing.
        Some(_) if ranged && end < start => None,
        e => e.map(|e| &e.val),
    };
    match value {
        Some(Value::List(l)) if ranged => {
            let (s, e) = (start as usize, end as usize);
            if o.desc {
                let (s, e) = (len - 1 - e, len - 1 - s);
                items.extend(l.range(s, e).rev().map(|v| item(&v)));
            } else {
                items.extend(l.range(s, e).map(|v| item(&v)));
            }
        }
        Some(Value::ZSet(z)) if ranged => {
            let take = (end - start + 1) as usize;
            let skip = if o.desc {
                len - 1 - end as usize
            } else {
                start as usize
            };
            // Rank access: O(log n) to the first, not O(offset).
            let from = items.len();
            items.extend(z.range(skip, take, false).map(|(m, _)| item(m)));
            if o.desc {
                items[from..].reverse();
            }
        }
        Some(Value::List(l)) => items.extend(l.iter().map(|v| item(&v))),
        Some(Value::Set(s)) => items.extend(s.iter().map(|v| item(&v))),
        Some(Value::ZSet(z)) => items.extend(z.iter().map(|(m, _)| item(&m))),
        _ => {}
    }
    if ranged {
        end -= start;
        start = 0;
    }

    if !o.dontsort {
        let mut bad_number = false;
        for it in items.iter_mut() {
            let byval = match o.by {
                Some(p) => match lookup(&mut db, p, &it.elem) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    it.by = Some(byval);
                }
            } else {
                match strtod(&byval) {
                    Some(x) => it.score = x,
                    None => bad_number = true,
                }
            }
        }
        if bad_number {
            return Err(CmdError::err(
                "One or more scores can't be converted into double",
            ));
        }
        let by_pattern = o.by.is_some();
        let cmp = |x: &Item, y: &Item| -> Ordering {
            let ord = if !o.alpha {
                x.score
                    .partial_cmp(&y.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.elem.cmp(&y.elem))
            } else if by_pattern {
                match (&x.by, &y.by) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(p), Some(q)) => p.cmp(q),
                }
            } else {
                x.elem.cmp(&y.elem)
            };
            if o.desc { ord.reverse() } else { ord }
        };
        items.sort_by(cmp);
    }

    let range = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &items[..0]
    };
    match o.store {
        None => {
            let (mut db, out) = c.db_out();
            let per = o.gets.len().max(1);
            out.array(range.len() * per);
            for it in range {
                if o.gets.is_empty() {
                    out.bulk(&it.elem);
                }
                for g in &o.gets {
                    match lookup(&mut db, g, &it.elem) {
                        Some(v) => out.bulk(&v),
                        None => out.null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut values: Vec<Vec<u8>> = Vec::with_capacity(range.len() * o.gets.len().max(1));
            for it in range {
                if o.gets.is_empty() {
                    values.push(it.elem.clone());
                }
                for g in &o.gets {
                    values.push(lookup(&mut db, g, &it.elem).unwrap_or_default());
                }
            }
            let stored = values.len();
            if stored > 0 {
                let mut l = List::new();
                l.push_many(End::Tail, values.iter().map(|v| v.as_slice()), &lim);
                db.db.set(dst, Value::List(l), 0);
                c.dirty(stored as u64);
                c.notify(crate::notify::class::LIST, "sortstore", dst);
            } else if db.db.remove(dst).is_some() {
                c.dirty(1);
                c.notify(crate::notify::class::GENERIC, "del", dst);
            }
            c.out.int(stored as i64);
        }
    }
    Ok(())
}

/// The value `pattern` names for element `elem` (Redis's lookupKeyByPattern): `#` is the
/// element itself; otherwise the first `*` is replaced by the element to name a string
/// key, or with `->field` after the `*` a hash field. None if there is no `*`, or the key
/// is missing or of another type.
fn lookup(db: &mut DbView, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(elem.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let (postfix, field) = match after.windows(2).position(|w| w == b"->") {
        Some(i) if i + 2 < after.len() => (&after[..i], Some(&after[i + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(pattern.len() + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);
    match field {
        Some(f) => {
            let h = db.read::<Hash>(&key).ok()??;
            h.get(f).map(|v| v.to_vec())
        }
        None => db.string(&key).ok()?.map(|s| s.bytes().to_vec()),
    }
}

/// A sort weight as C's strtod reads it where Redis checks that the whole text was used:
/// leading blanks allowed, nothing after; NaN and out-of-range values refused (None). An
/// empty string reads as 0, as in Redis.
fn strtod(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    let t = s.trim_ascii_start();
    let text = std::str::from_utf8(t).ok()?;
    let x: f64 = text.parse().ok()?;
    if x.is_nan() {
        return None;
    }
    let literal_inf = text
        .trim_start_matches(['+', '-'])
        .to_ascii_lowercase()
        .starts_with("inf");
    if x.is_infinite() && !literal_inf {
        return None; // Overflow: ERANGE.
    }
    if x == 0.0
        && text
            .bytes()
            .take_while(|b| !matches!(b, b'e' | b'E'))
            .any(|b| matches!(b, b'1'..=b'9'))
    {
        return None; // Underflow to zero: ERANGE.
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::strtod;

    #[test]
    fn weights_read_as_strtod() {
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b" 1.5"), Some(1.5));
        assert_eq!(strtod(b"1.5 "), None);
        assert_eq!(strtod(b"  "), None);
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"nan"), None);
        assert_eq!(strtod(b"1e400"), None);
        assert_eq!(strtod(b"1e-400"), None);
        assert_eq!(strtod(b"0e5"), Some(0.0));
        assert_eq!(strtod(b"abc"), None);
    }
}
