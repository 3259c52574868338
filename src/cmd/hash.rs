//! Hash commands: HSET HSETNX HMSET HGET HMGET HGETALL HDEL HLEN HEXISTS HKEYS HVALS HSTRLEN
//! HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN. Argument checks run in the order Redis runs them,
//! so the same bad input gets the same error.

use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::ldouble::LongDouble;
use crate::notify::class as ev;
use crate::num::{arg_i64, fmt_i64, parse_i64};

/// Longest HRANDFIELD / SRANDMEMBER reply with repetitions (negative count) that ferrokv
/// will build.
pub const MAX_RANDOM_PICKS: i64 = 10_000_000;

/// The count of HRANDFIELD / ZRANDMEMBER / SRANDMEMBER and whether `word` (WITHVALUES,
/// WITHSCORES; none for SRANDMEMBER) follows it, checked in Redis's order with its texts.
pub fn random_count(a: &Args, word: Option<&str>) -> Result<(i64, bool), CmdError> {
    let count = arg_i64(a.get(2))?;
    if count == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with = match (a.len(), word) {
        (3, _) => false,
        (4, Some(w)) if a.is(3, w) => true,
        _ => return Err(CmdError::Syntax),
    };
    // Redis refuses counts whose reply length (two items each) could overflow.
    if with && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::err("value is out of range"));
    }
    // A negative count repeats picks, so its reply is as long as asked: refuse lengths no
    // client can want instead of building gigabytes (redis-server 7.0 dies trying).
    if count < -MAX_RANDOM_PICKS {
        return Err(CmdError::err("value is out of range"));
    }
    Ok((count, with))
}

const HASH: Command = Command {
    acl: acl::HASH,
    group: "hash",
    ..ROW
};
const ORDER: &[&str] = &["nondeterministic_output_order"];
const RANDOM: &[&str] = &["nondeterministic_output"];

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "hset", arity: -4, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(RW | UPDATE)], handler: hset, usage: "key field value [field value ...]", summary: "Sets fields of a hash, creating it if needed.", ..HASH },
    Command { name: "hsetnx", arity: 4, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(RW | INSERT)], handler: hsetnx, usage: "key field value", summary: "Sets a hash field only if it does not exist.", ..HASH },
    Command { name: "hmset", arity: -4, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(RW | UPDATE)], handler: hmset, usage: "key field value [field value ...]", summary: "Sets fields of a hash (replies OK).", ..HASH },
    Command { name: "hget", arity: 3, flags: READONLY | FAST, keys: &[KeySpec::one(RO | ACCESS)], handler: hget, usage: "key field", summary: "Returns the value of a hash field.", ..HASH },
    Command { name: "hmget", arity: -3, flags: READONLY | FAST, keys: &[KeySpec::one(RO | ACCESS)], handler: hmget, usage: "key field [field ...]", summary: "Returns the values of several hash fields.", ..HASH },
    Command { name: "hgetall", arity: 2, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], tips: ORDER, handler: hgetall, usage: "key", summary: "Returns all fields and values of a hash.", ..HASH },
    Command { name: "hdel", arity: -3, flags: WRITE | FAST, keys: &[KeySpec::one(RW | DELETE)], handler: hdel, usage: "key field [field ...]", summary: "Deletes fields from a hash.", ..HASH },
    Command { name: "hlen", arity: 2, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: hlen, usage: "key", summary: "Returns the number of fields in a hash.", ..HASH },
    Command { name: "hexists", arity: 3, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: hexists, usage: "key field", summary: "Tells whether a hash field exists.", ..HASH },
    Command { name: "hkeys", arity: 2, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], tips: ORDER, handler: hkeys, usage: "key", summary: "Returns all field names of a hash.", ..HASH },
    Command { name: "hvals", arity: 2, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], tips: ORDER, handler: hvals, usage: "key", summary: "Returns all values of a hash.", ..HASH },
    Command { name: "hstrlen", arity: 3, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: hstrlen, usage: "key field", summary: "Returns the length of a hash field's value.", ..HASH },
    Command { name: "hincrby", arity: 4, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(RW | ACCESS | UPDATE)], handler: hincrby, usage: "key field increment", summary: "Adds an integer to a hash field.", ..HASH },
    Command { name: "hincrbyfloat", arity: 4, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(RW | ACCESS | UPDATE)], handler: hincrbyfloat, usage: "key field increment", summary: "Adds a float to a hash field.", ..HASH },
    Command { name: "hrandfield", arity: -2, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], tips: RANDOM, handler: hrandfield, usage: "key [count [WITHVALUES]]", summary: "Returns random fields of a hash.", ..HASH },
    Command { name: "hscan", arity: -3, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], tips: RANDOM, handler: hscan, usage: "key cursor [MATCH pattern] [COUNT count] [NOVALUES]", summary: "Iterates over the fields of a hash.", ..HASH },
];

/// HSET key field value [field value ...] -> number of new fields.
pub fn hset(c: &mut Ctx, a: &Args) -> CmdResult {
    let added = set_pairs(c, a)?;
    c.out.int(added as i64);
    Ok(())
}

/// HMSET key field value [field value ...] -> OK (old form of HSET).
pub fn hmset(c: &mut Ctx, a: &Args) -> CmdResult {
    set_pairs(c, a)?;
    c.out.ok();
    Ok(())
}

fn set_pairs(c: &mut Ctx, a: &Args) -> Result<usize, CmdError> {
    if !a.len().is_multiple_of(2) {
        return Err(CmdError::Arity(a.text(0).to_ascii_lowercase()));
    }
    let lim = c.eng.config.hash_limits;
    let mut db = c.db();
    let h = db.hash_or_new(a.get(1))?;
    let timed = h.min_ttl() != 0;
    let mut added = 0;
    for i in (2..a.len()).step_by(2) {
        if h.insert(a.get(i), a.get(i + 1), lim) {
            added += 1;
        }
    }
    if timed {
        // HSET drops the deadlines of the fields it sets.
        db.db.retrack_fields(a.get(1));
    }
    c.dirty((a.len() as u64 - 2) / 2);
    c.notify(ev::HASH, "hset", a.get(1));
    Ok(added)
}

/// HSETNX key field value -> 1 if set, 0 if the field existed.
pub fn hsetnx(c: &mut Ctx, a: &Args) -> CmdResult {
    let lim = c.eng.config.hash_limits;
    let mut db = c.db();
    // Creating the hash is safe: a new hash cannot already hold the field.
    let h = db.hash_or_new(a.get(1))?;
    if h.contains(a.get(2)) {
        c.out.int(0);
        return Ok(());
    }
    h.insert(a.get(2), a.get(3), lim);
    c.dirty(1);
    c.notify(ev::HASH, "hset", a.get(1));
    c.out.int(1);
    Ok(())
}

/// HGET key field -> value or null.
pub fn hget(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    match db.hash(a.get(1))?.and_then(|h| h.get(a.get(2))) {
        Some(v) => out.bulk(&v),
        None => out.null(),
    }
    Ok(())
}

/// HMGET key field [field ...] -> array of values or nulls.
pub fn hmget(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let h = db.hash(a.get(1))?;
    out.array(a.len() - 2);
    for i in 2..a.len() {
        match h.as_ref().and_then(|h| h.get(a.get(i))) {
            Some(v) => out.bulk(&v),
            None => out.null(),
        }
    }
    Ok(())
}

/// HGETALL key -> map of fields to values (flat array in RESP2).
pub fn hgetall(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    match db.hash(a.get(1))? {
        Some(h) => {
            out.map(h.len());
            for (f, v) in h.iter() {
                out.bulk(f);
                out.bulk(&v);
            }
        }
        None => out.map(0),
    }
    Ok(())
}

/// HKEYS key -> array of field names.
pub fn hkeys(c: &mut Ctx, a: &Args) -> CmdResult {
    list(c, a, true)
}

/// HVALS key -> array of values.
pub fn hvals(c: &mut Ctx, a: &Args) -> CmdResult {
    list(c, a, false)
}

fn list(c: &mut Ctx, a: &Args, keys: bool) -> CmdResult {
    let (mut db, out) = c.db_out();
    match db.hash(a.get(1))? {
        Some(h) => {
            out.array(h.len());
            for (f, v) in h.iter() {
                out.bulk(if keys { f } else { &v });
            }
        }
        None => out.array(0),
    }
    Ok(())
}

/// HDEL key field [field ...] -> number removed; the key goes when the hash empties.
pub fn hdel(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut db = c.db();
    let mut removed = 0;
    if let Some(h) = db.hash(a.get(1))? {
        let timed = h.min_ttl() != 0;
        for i in 2..a.len() {
            if h.remove(a.get(i)) {
                removed += 1;
            }
            if h.is_empty() {
                break;
            }
        }
        db.drop_if_empty(a.get(1));
        if timed {
            db.db.retrack_fields(a.get(1));
        }
    }
    c.dirty(removed);
    if removed > 0 {
        c.notify_removal(ev::HASH, "hdel", a.get(1));
    }
    c.out.int(removed as i64);
    Ok(())
}

/// HLEN key -> number of fields.
pub fn hlen(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = db.hash(a.get(1))?.map_or(0, |h| h.len());
    out.int(n as i64);
    Ok(())
}

/// HEXISTS key field -> 1 or 0.
pub fn hexists(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let e = db.hash(a.get(1))?.is_some_and(|h| h.contains(a.get(2)));
    out.int(e as i64);
    Ok(())
}

/// HSTRLEN key field -> length of the value (0 if missing).
pub fn hstrlen(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = db
        .hash(a.get(1))?
        .and_then(|h| h.get(a.get(2)))
        .map_or(0, |v| v.len());
    out.int(n as i64);
    Ok(())
}

/// HINCRBY key field increment -> the new value.
pub fn hincrby(c: &mut Ctx, a: &Args) -> CmdResult {
    let incr = arg_i64(a.get(3))?;
    let lim = c.eng.config.hash_limits;
    let mut db = c.db();
    let h = db.hash_or_new(a.get(1))?;
    let cur = match h.get(a.get(2)) {
        Some(v) => parse_i64(&v).ok_or(CmdError::HashNotInteger)?,
        None => 0,
    };
    let new = cur.checked_add(incr).ok_or(CmdError::Overflow)?;
    let mut tmp = [0u8; 20];
    // An increment keeps the field's deadline, as in Redis.
    h.insert_keep_ttl(a.get(2), fmt_i64(new, &mut tmp), lim);
    c.dirty(1);
    c.notify(ev::HASH, "hincrby", a.get(1));
    c.out.int(new);
    Ok(())
}

/// HINCRBYFLOAT key field increment -> the new value as text. Computed in 80-bit extended
/// precision and printed like Redis (`%.17Lf` without trailing zeros).
pub fn hincrbyfloat(c: &mut Ctx, a: &Args) -> CmdResult {
    let incr = LongDouble::parse(a.get(3)).ok_or(CmdError::NotFloat)?;
    if !incr.is_finite() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let lim = c.eng.config.hash_limits;
    let mut db = c.db();
    // Creating the hash first is safe: in a new hash the field is 0, and 0 plus a finite
    // increment is finite, so no error can follow and leave an empty hash behind.
    let h = db.hash_or_new(a.get(1))?;
    let cur = match h.get(a.get(2)) {
        Some(v) => LongDouble::parse(&v).ok_or(CmdError::HashNotFloat)?,
        None => LongDouble::from_i64(0),
    };
    let new = cur.add(incr);
    if !new.is_finite() {
        return Err(CmdError::NanOrInf);
    }
    let mut text = Vec::with_capacity(32);
    new.format_human(&mut text);
    h.insert_keep_ttl(a.get(2), &text, lim);
    let has_ttl = h.ttl(a.get(2)).is_some_and(|t| t != 0);
    c.dirty(1);
    c.notify(ev::HASH, "hincrbyfloat", a.get(1));
    c.out.bulk(&text);
    // The result, not the increment, so replay cannot round differently; a field with a
    // deadline keeps it through HSETEX KEEPTTL (plain HSET stays readable by Redis 7).
    if has_ttl {
        c.propagate(&[
            b"HSETEX",
            a.get(1),
            b"KEEPTTL",
            b"FIELDS",
            b"1",
            a.get(2),
            &text,
        ]);
    } else {
        c.propagate(&[b"HSET", a.get(1), a.get(2), &text]);
    }
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]].
pub fn hrandfield(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() == 2 {
        let r = c.eng.rng.next_u64();
        let (mut db, out) = c.db_out();
        match db.hash(a.get(1))? {
            Some(h) if !h.is_empty() => {
                let i = ((r as u128 * h.len() as u128) >> 64) as usize;
                out.bulk(h.get_index(i).expect("index in range").0);
            }
            _ => out.null(),
        }
        return Ok(());
    }
    let (count, with_values) = random_count(a, Some("withvalues"))?;
    let resp3 = c.out.resp3;
    let now = c.eng.now_ms;
    let ks = &mut c.eng.ks;
    let rng = &mut c.eng.rng;
    let db = &mut ks.dbs[c.cl.db];
    let out = &mut c.out;
    let h = match db.get(a.get(1), now, &mut ks.stats) {
        None => {
            out.array(0);
            return Ok(());
        }
        Some(e) => match &e.val {
            crate::types::Value::Hash(h) => h,
            _ => return Err(CmdError::WrongType),
        },
    };
    let len = h.len();
    // Emits one pick: a pair array in RESP3 WITHVALUES, otherwise flat.
    let emit = |out: &mut crate::resp::reply::Reply, f: &[u8], v: &[u8]| {
        if with_values && resp3 {
            out.array(2);
        }
        out.bulk(f);
        if with_values {
            out.bulk(v);
        }
    };
    let header = |out: &mut crate::resp::reply::Reply, n: usize| {
        if with_values && !resp3 {
            out.array(n * 2);
        } else {
            out.array(n);
        }
    };
    // Picking by position: a compact hash is a list scanned from the start, so index it
    // once rather than scanning per pick.
    let listed: Vec<(&[u8], crate::types::hash::Val)> = match h {
        crate::types::Hash::Listpack(_) if count != 0 && (count as usize) < len || count < 0 => {
            h.iter().collect()
        }
        _ => Vec::new(),
    };
    let at = |i: usize| match listed.get(i) {
        Some(&p) => p,
        None => h.get_index(i).expect("in range"),
    };
    if count == 0 || len == 0 {
        out.array(0);
    } else if count < 0 {
        let n = count.unsigned_abs() as usize;
        header(out, n);
        for _ in 0..n {
            let (f, v) = at(rng.below(len as u64) as usize);
            emit(out, f, &v);
        }
    } else if count as usize >= len {
        header(out, len);
        for (f, v) in h.iter() {
            emit(out, f, &v);
        }
    } else {
        // Distinct picks: a partial Fisher-Yates over positions, with only the swapped
        // positions remembered, so two picks from a million fields cost two steps (a full
        // list of positions made it O(fields)).
        let n = count as usize;
        let mut moved: std::collections::HashMap<usize, usize> = Default::default();
        header(out, n);
        for i in 0..n {
            let j = i + rng.below((len - i) as u64) as usize;
            let pick = moved.get(&j).copied().unwrap_or(j);
            let here = moved.get(&i).copied().unwrap_or(i);
            moved.insert(j, here);
            let (f, v) = at(pick);
            emit(out, f, &v);
        }
    }
    Ok(())
}

/// Options shared by SCAN and HSCAN.
pub struct ScanOpts<'a> {
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub type_name: Option<String>,
    pub novalues: bool,
}

/// Parses a scan cursor with C `strtoul` rules, as Redis does: an empty string is 0, a
/// leading `+` or `-` is accepted (`-1` wraps around), anything else must be digits.
pub fn parse_cursor(s: &[u8]) -> Result<u64, CmdError> {
    let bad = || CmdError::err("invalid cursor");
    if s.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((d - b'0') as u64))
            .ok_or_else(bad)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// What a scan iterates, which decides the options it takes besides MATCH and COUNT.
#[derive(Clone, Copy, PartialEq)]
pub enum ScanOf {
    /// SCAN: TYPE.
    Keys,
    /// HSCAN: NOVALUES.
    Hash,
    /// SSCAN: nothing more.
    Set,
}

/// Parses `[MATCH p] [COUNT n] [TYPE t] [NOVALUES]` from position `from`.
pub fn parse_scan_opts<'a>(
    a: &Args<'a>,
    from: usize,
    of: ScanOf,
) -> Result<ScanOpts<'a>, CmdError> {
    let mut o = ScanOpts {
        pattern: None,
        count: 10,
        type_name: None,
        novalues: false,
    };
    let mut i = from;
    while i < a.len() {
        let more = i + 1 < a.len();
        if a.is(i, "count") && more {
            let n = arg_i64(a.get(i + 1))?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = n as usize;
            i += 2;
        } else if a.is(i, "match") && more {
            let p = a.get(i + 1);
            o.pattern = (p != b"*").then_some(p);
            i += 2;
        } else if of == ScanOf::Keys && a.is(i, "type") && more {
            o.type_name = Some(a.text(i + 1).to_ascii_lowercase());
            i += 2;
        } else if of == ScanOf::Hash && a.is(i, "novalues") {
            o.novalues = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

/// Walks positions of a table of `len` entries for a cursor scan: visits at most `count`
/// positions from the cursor towards 0 and returns the next cursor (0 when done).
/// Removal swaps the last entry into the hole, so walking from the end never skips an
/// entry that stays for the whole scan.
pub fn scan_positions(len: usize, cursor: u64, count: usize, mut visit: impl FnMut(usize)) -> u64 {
    let mut p = if cursor == 0 {
        len
    } else {
        (cursor.min(len as u64)) as usize
    };
    let mut steps = 0;
    while p > 0 && steps < count {
        p -= 1;
        visit(p);
        steps += 1;
    }
    p as u64
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES].
pub fn hscan(c: &mut Ctx, a: &Args) -> CmdResult {
    let cursor = parse_cursor(a.get(2))?;
    let (mut db, out) = c.db_out();
    let Some(h) = db.hash(a.get(1))? else {
        out.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
        return Ok(());
    };
    let o = parse_scan_opts(a, 3, ScanOf::Hash)?;
    let mut picked: Vec<(&[u8], crate::types::hash::Val)> = Vec::new();
    let glob = o.pattern.map(|p| crate::glob::Glob::new(p, false));
    let keep = |f: &[u8]| glob.as_ref().is_none_or(|g| g.matches(f));
    let next = if let crate::types::Hash::Listpack(_) = h {
        // Compact hashes are returned whole in one call, as Redis does.
        picked.extend(h.iter().filter(|(f, _)| keep(f)));
        0
    } else {
        scan_positions(h.len(), cursor, o.count, |i| {
            let (f, v) = h.get_index(i).expect("in range");
            if keep(f) {
                picked.push((f, v));
            }
        })
    };
    out.array(2);
    out.bulk_i64(next as i64);
    out.array(picked.len() * if o.novalues { 1 } else { 2 });
    for (f, v) in picked {
        out.bulk(f);
        if !o.novalues {
            out.bulk(&v);
        }
    }
    Ok(())
}
