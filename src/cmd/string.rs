//! String commands: SET (EX PX EXAT PXAT NX XX KEEPTTL GET) and its relatives, counters,
//! and range edits. Option parsing follows Redis's `parseExtendedStringArgumentsOrReply`, so
//! conflicting or repeated options fail the same way.

use super::expiry::{Rules, Unit, deadline};
use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx, DbView};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Entry;
use crate::ldouble::LongDouble;
use crate::notify::class as ev;
use crate::num::{arg_i64, fmt_i64, parse_i64};
use crate::types::{Str, Value};

const STRING: Command = Command {
    acl: acl::STRING,
    group: "string",
    ..ROW
};
/// One key read, changed and returned: the counters and GET-and-change commands.
const KEY_RW: &[KeySpec] = &[KeySpec::one(RW | ACCESS | UPDATE)];
const USAGE_EXPIRY: &str = "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "set", arity: -3, flags: WRITE | DENYOOM, keys: &[KeySpec::one(RW | ACCESS | UPDATE | VARIABLE_FLAGS)], keys_fn: Some(set_keys), handler: set, usage: USAGE_EXPIRY, summary: "Sets a string value, with expiry and conditions.", ..STRING },
    Command { name: "get", arity: 2, flags: READONLY | FAST, keys: &[KeySpec::one(RO | ACCESS)], handler: get, usage: "key", summary: "Returns a string value.", ..STRING },
    Command { name: "getset", arity: 3, flags: WRITE | DENYOOM | FAST, keys: KEY_RW, handler: getset, usage: "key value", summary: "Sets a string and returns the old value.", ..STRING },
    Command { name: "getdel", arity: 2, flags: WRITE | FAST, keys: &[KeySpec::one(RW | ACCESS | DELETE)], handler: getdel, usage: "key", summary: "Returns a string and deletes the key.", ..STRING },
    Command { name: "getex", arity: -2, flags: WRITE | FAST, keys: KEY_RW, handler: getex, usage: "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]", summary: "Returns a string and changes its expiry.", ..STRING },
    Command { name: "setnx", arity: 3, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(OW | INSERT)], handler: setnx, usage: "key value", summary: "Sets a string only if the key is missing.", ..STRING },
    Command { name: "setex", arity: 4, flags: WRITE | DENYOOM, keys: &[KeySpec::one(OW | UPDATE)], handler: setex, usage: "key seconds value", summary: "Sets a string with an expiry in seconds.", ..STRING },
    Command { name: "psetex", arity: 4, flags: WRITE | DENYOOM, keys: &[KeySpec::one(OW | UPDATE)], handler: psetex, usage: "key milliseconds value", summary: "Sets a string with an expiry in milliseconds.", ..STRING },
    Command { name: "mset", arity: -3, flags: WRITE | DENYOOM, keys: &[KeySpec::range(1, -1, 2, OW | UPDATE)], tips: &["request_policy:multi_shard", "response_policy:all_succeeded"], handler: mset, usage: "key value [key value ...]", summary: "Sets several strings.", ..STRING },
    Command { name: "msetnx", arity: -3, flags: WRITE | DENYOOM, keys: &[KeySpec::range(1, -1, 2, OW | INSERT)], tips: &["request_policy:multi_shard", "response_policy:agg_min"], handler: msetnx, usage: "key value [key value ...]", summary: "Sets several strings only if none exists.", ..STRING },
    Command { name: "mget", arity: -2, flags: READONLY | FAST, keys: &[KeySpec::range(1, -1, 1, RO | ACCESS)], tips: &["request_policy:multi_shard"], handler: mget, usage: "key [key ...]", summary: "Returns several string values.", ..STRING },
    Command { name: "incr", arity: 2, flags: WRITE | DENYOOM | FAST, keys: KEY_RW, handler: incr, usage: "key", summary: "Adds one to an integer string.", ..STRING },
    Command { name: "decr", arity: 2, flags: WRITE | DENYOOM | FAST, keys: KEY_RW, handler: decr, usage: "key", summary: "Subtracts one from an integer string.", ..STRING },
    Command { name: "incrby", arity: 3, flags: WRITE | DENYOOM | FAST, keys: KEY_RW, handler: incrby, usage: "key increment", summary: "Adds an integer to an integer string.", ..STRING },
    Command { name: "decrby", arity: 3, flags: WRITE | DENYOOM | FAST, keys: KEY_RW, handler: decrby, usage: "key decrement", summary: "Subtracts an integer from an integer string.", ..STRING },
    Command { name: "incrbyfloat", arity: 3, flags: WRITE | DENYOOM | FAST, keys: KEY_RW, handler: incrbyfloat, usage: "key increment", summary: "Adds a float to a numeric string.", ..STRING },
    Command { name: "append", arity: 3, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(RW | INSERT)], handler: append, usage: "key value", summary: "Appends bytes to a string.", ..STRING },
    Command { name: "strlen", arity: 2, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: strlen, usage: "key", summary: "Returns the length of a string.", ..STRING },
    Command { name: "getrange", arity: 4, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], handler: getrange, usage: "key start end", summary: "Returns a substring.", ..STRING },
    Command { name: "substr", arity: 4, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], handler: getrange, usage: "key start end", summary: "Returns a substring (old name of GETRANGE).", ..STRING },
    Command { name: "setrange", arity: 4, flags: WRITE | DENYOOM, keys: &[KeySpec::one(RW | UPDATE)], handler: setrange, usage: "key offset value", summary: "Overwrites part of a string.", ..STRING },
];

/// SET's key: read and returned with GET, only overwritten without it (the flags Redis's
/// GETKEYSANDFLAGS reports).
fn set_keys(a: &Args, key: &mut dyn FnMut(usize, u32)) -> bool {
    let get = (3..a.len()).any(|i| a.is(i, "get"));
    key(
        1,
        if get {
            RW | ACCESS | UPDATE
        } else {
            OW | UPDATE
        },
    );
    true
}

/// Which command the extended options belong to (SET allows NX/XX/GET/KEEPTTL, GETEX PERSIST).
#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Set,
    Getex,
}

#[derive(Default)]
struct SetOpts {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// (position of the time argument, its unit); a repeat of the same option replaces it.
    expire: Option<(usize, Unit)>,
}

impl SetOpts {
    /// The deadline asked for, as absolute ms.
    fn deadline(&self, a: &Args, now: i64) -> Result<Option<i64>, CmdError> {
        self.expire
            .map(|(i, unit)| deadline(a, i, unit, now, Rules::Set))
            .transpose()
    }
}

fn parse_opts(a: &Args, from: usize, kind: Kind) -> Result<SetOpts, CmdError> {
    let mut o = SetOpts::default();
    let mut i = from;
    while i < a.len() {
        let w = a.get(i);
        let has_next = i + 1 < a.len();
        // Redis lets an expiry option repeat (the last wins) but not mix with another kind.
        let other_exp = |unit: Unit| o.expire.is_some_and(|(_, u)| u != unit);
        let has_exp = o.expire.is_some();
        if w.eq_ignore_ascii_case(b"nx") && !o.xx && kind == Kind::Set {
            o.nx = true;
        } else if w.eq_ignore_ascii_case(b"xx") && !o.nx && kind == Kind::Set {
            o.xx = true;
        } else if w.eq_ignore_ascii_case(b"get") && kind == Kind::Set {
            o.get = true;
        } else if w.eq_ignore_ascii_case(b"keepttl") && !o.persist && !has_exp && kind == Kind::Set
        {
            o.keepttl = true;
        } else if w.eq_ignore_ascii_case(b"persist")
            && kind == Kind::Getex
            && !has_exp
            && !o.keepttl
        {
            o.persist = true;
        } else if has_next
            && !o.keepttl
            && !o.persist
            && let Some(unit) = Unit::from_word(w)
            && !other_exp(unit)
        {
            o.expire = Some((i + 1, unit));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

fn kind_is_string(db: &mut DbView, key: &[u8]) -> Result<bool, CmdError> {
    match db.get(key) {
        None => Ok(false),
        Some(Entry {
            val: Value::Str(_), ..
        }) => Ok(true),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL].
pub fn set(c: &mut Ctx, a: &Args) -> CmdResult {
    let o = parse_opts(a, 3, Kind::Set)?;
    let exp = o.deadline(a, c.eng.now_ms)?.unwrap_or(0);
    let (mut db, out) = c.db_out();
    let key = a.get(1);
    if !o.get && !o.nx && !o.xx && !o.keepttl {
        // The common plain SET: one lookup.
        db.db.set(key, Value::Str(Str::new(a.get(2))), exp);
        out.ok();
        c.dirty(1);
        c.notify(ev::STRING, "set", key);
        if exp != 0 {
            c.notify(ev::GENERIC, "expire", key);
            propagate_set_pxat(c, key, a.get(2), exp);
        }
        return Ok(());
    }
    if o.get {
        match db.string(key)? {
            Some(s) => out.bulk(s.bytes()),
            None => out.null(),
        }
    }
    let found = db.get(key).is_some();
    if (o.nx && found) || (o.xx && !found) {
        if !o.get {
            out.null();
        }
        return Ok(());
    }
    let val = Value::Str(Str::new(a.get(2)));
    if o.keepttl {
        db.db.set_keep_ttl(key, val);
    } else {
        db.db.set(key, val, exp);
    }
    if !o.get {
        out.ok();
    }
    c.dirty(1);
    c.notify(ev::STRING, "set", key);
    if exp != 0 {
        c.notify(ev::GENERIC, "expire", key);
        propagate_set_pxat(c, key, a.get(2), exp);
    }
    Ok(())
}

/// Logs `SET key value PXAT at`: the absolute form of a relative expiry.
fn propagate_set_pxat(c: &mut Ctx, key: &[u8], val: &[u8], at: i64) {
    let mut t = [0u8; 20];
    c.propagate(&[b"SET", key, val, b"PXAT", fmt_i64(at, &mut t)]);
}

/// GET key.
pub fn get(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    match db.string(a.get(1))? {
        Some(s) => out.bulk(s.bytes()),
        None => out.null(),
    }
    Ok(())
}

/// GETSET key value: sets and returns the old value; the expiry is cleared.
pub fn getset(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    match db.string(a.get(1))? {
        Some(s) => out.bulk(s.bytes()),
        None => out.null(),
    }
    db.db.set(a.get(1), Value::Str(Str::new(a.get(2))), 0);
    c.dirty(1);
    c.notify(ev::STRING, "set", a.get(1));
    Ok(())
}

/// GETDEL key.
pub fn getdel(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    match db.string(a.get(1))? {
        Some(s) => {
            out.bulk(s.bytes());
            db.db.remove(a.get(1));
            c.dirty(1);
            c.notify(ev::GENERIC, "del", a.get(1));
            c.propagate(&[b"DEL", a.get(1)]);
        }
        None => out.null(),
    }
    Ok(())
}

/// GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST].
pub fn getex(c: &mut Ctx, a: &Args) -> CmdResult {
    let o = parse_opts(a, 2, Kind::Getex)?;
    let now = c.eng.now_ms;
    let (mut db, out) = c.db_out();
    let key = a.get(1);
    if !kind_is_string(&mut db, key)? {
        db.st.misses += 1;
        out.null();
        return Ok(());
    }
    let exp = o.deadline(a, now)?;
    if let Some(s) = db.string(key)? {
        out.bulk(s.bytes());
    }
    if let Some(at) = exp {
        if c.already_expired(at) {
            c.db().db.remove(key);
            c.notify(ev::GENERIC, "del", key);
            c.propagate(&[b"DEL", key]);
        } else {
            c.db().db.set_expire(key, at);
            c.notify(ev::GENERIC, "expire", key);
            let mut t = [0u8; 20];
            c.propagate(&[b"PEXPIREAT", key, fmt_i64(at, &mut t)]);
        }
        c.dirty(1);
    } else if o.persist && db.get(key).is_some_and(|e| e.exp() != 0) {
        db.db.set_expire(key, 0);
        c.dirty(1);
        c.notify(ev::GENERIC, "persist", key);
        c.propagate(&[b"PERSIST", key]);
    }
    Ok(())
}

/// SETNX key value -> 1 if set.
pub fn setnx(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    if db.get(a.get(1)).is_some() {
        out.int(0);
        return Ok(());
    }
    db.db.set(a.get(1), Value::Str(Str::new(a.get(2))), 0);
    out.int(1);
    c.dirty(1);
    c.notify(ev::STRING, "set", a.get(1));
    Ok(())
}

fn set_with_ttl(c: &mut Ctx, a: &Args, unit: Unit) -> CmdResult {
    let at = deadline(a, 2, unit, c.eng.now_ms, Rules::Set)?;
    let (db, out) = c.db_out();
    db.db.set(a.get(1), Value::Str(Str::new(a.get(3))), at);
    out.ok();
    c.dirty(1);
    c.notify(ev::STRING, "set", a.get(1));
    c.notify(ev::GENERIC, "expire", a.get(1));
    propagate_set_pxat(c, a.get(1), a.get(3), at);
    Ok(())
}

/// SETEX key seconds value.
pub fn setex(c: &mut Ctx, a: &Args) -> CmdResult {
    set_with_ttl(c, a, Unit::EX)
}

/// PSETEX key milliseconds value.
pub fn psetex(c: &mut Ctx, a: &Args) -> CmdResult {
    set_with_ttl(c, a, Unit::PX)
}

/// MSET key value [key value ...].
pub fn mset(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::Arity(a.text(0).to_ascii_lowercase()));
    }
    set_each(c, a);
    c.dirty(a.len() as u64 / 2);
    c.out.ok();
    Ok(())
}

/// MSETNX key value [key value ...] -> 1 if all were set, 0 if any key existed.
pub fn msetnx(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::Arity(a.text(0).to_ascii_lowercase()));
    }
    let (mut db, out) = c.db_out();
    if (1..a.len()).step_by(2).any(|i| db.get(a.get(i)).is_some()) {
        out.int(0);
        return Ok(());
    }
    out.int(1);
    set_each(c, a);
    c.dirty(a.len() as u64 / 2);
    Ok(())
}

/// The pairs of MSET and MSETNX, each key reported (`set`) as it is stored.
fn set_each(c: &mut Ctx, a: &Args) {
    for i in (1..a.len()).step_by(2) {
        c.db()
            .db
            .set(a.get(i), Value::Str(Str::new(a.get(i + 1))), 0);
        c.notify(ev::STRING, "set", a.get(i));
    }
}

/// MGET key [key ...]: values, null for missing keys and non-strings.
pub fn mget(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    out.array(a.len() - 1);
    for i in 1..a.len() {
        match db.get_read(a.get(i)) {
            Some(Entry {
                val: Value::Str(s), ..
            }) => out.bulk(s.bytes()),
            _ => out.null(),
        }
    }
    Ok(())
}

fn incr_by(c: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let (mut db, out) = c.db_out();
    let cur = match db.string(key)? {
        Some(s) => parse_i64(s.bytes()).ok_or(CmdError::NotInteger)?,
        None => 0,
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    db.db.set_keep_ttl(key, Value::Str(Str::from_i64(new)));
    out.int(new);
    c.dirty(1);
    c.notify(ev::STRING, "incrby", key);
    Ok(())
}

/// INCR key.
pub fn incr(c: &mut Ctx, a: &Args) -> CmdResult {
    incr_by(c, a.get(1), 1)
}

/// DECR key.
pub fn decr(c: &mut Ctx, a: &Args) -> CmdResult {
    incr_by(c, a.get(1), -1)
}

/// INCRBY key increment.
pub fn incrby(c: &mut Ctx, a: &Args) -> CmdResult {
    let by = arg_i64(a.get(2))?;
    incr_by(c, a.get(1), by)
}

/// DECRBY key decrement.
pub fn decrby(c: &mut Ctx, a: &Args) -> CmdResult {
    let by = arg_i64(a.get(2))?;
    if by == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_by(c, a.get(1), -by)
}

/// INCRBYFLOAT key increment: 80-bit arithmetic, printed like Redis.
pub fn incrbyfloat(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let key = a.get(1);
    let cur = match db.string(key)? {
        Some(s) => LongDouble::parse(s.bytes()).ok_or(CmdError::NotFloat)?,
        None => LongDouble::from_i64(0),
    };
    let incr = LongDouble::parse(a.get(2)).ok_or(CmdError::NotFloat)?;
    let new = cur.add(incr);
    if !new.is_finite() {
        return Err(CmdError::NanOrInf);
    }
    let mut text = Vec::with_capacity(32);
    new.format_human(&mut text);
    out.bulk(&text);
    c.propagate(&[b"SET", key, &text, b"KEEPTTL"]);
    c.db()
        .db
        .set_keep_ttl(key, Value::Str(Str::new_plain(&text)));
    c.dirty(1);
    c.notify(ev::STRING, "incrbyfloat", key);
    Ok(())
}

fn check_len(c: &Ctx, total: usize) -> CmdResult {
    if total > c.eng.config.proto_max_bulk_len {
        return Err(CmdError::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

/// APPEND key value -> new length.
pub fn append(c: &mut Ctx, a: &Args) -> CmdResult {
    let cur_len = {
        let mut db = c.db();
        db.string(a.get(1))?.map(|s| s.bytes().len())
    };
    let key = a.get(1);
    match cur_len {
        None => {
            let db = c.db();
            db.db.set(key, Value::Str(Str::new(a.get(2))), 0);
            c.out.int(a.get(2).len() as i64);
        }
        Some(len) => {
            check_len(c, len + a.get(2).len())?;
            let mut db = c.db();
            let s = db.string(key)?.expect("checked above");
            let bytes = s.edit();
            Str::reserve_for(bytes, len + a.get(2).len());
            bytes.extend_from_slice(a.get(2));
            let n = bytes.len();
            c.out.int(n as i64);
        }
    }
    c.dirty(1);
    c.notify(ev::STRING, "append", key);
    Ok(())
}

/// STRLEN key.
pub fn strlen(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = db.string(a.get(1))?.map_or(0, |s| s.bytes().len());
    out.int(n as i64);
    Ok(())
}

/// GETRANGE key start end (inclusive, negative from the end).
pub fn getrange(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut start = arg_i64(a.get(2))?;
    let mut end = arg_i64(a.get(3))?;
    let (mut db, out) = c.db_out();
    let Some(s) = db.string(a.get(1))? else {
        out.bulk(b"");
        return Ok(());
    };
    let len = s.bytes().len() as i64;
    if start < 0 && end < 0 && start > end {
        out.bulk(b"");
        return Ok(());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        out.bulk(b"");
    } else {
        out.bulk(&s.bytes()[start as usize..=end as usize]);
    }
    Ok(())
}

/// SETRANGE key offset value -> new length; pads with zero bytes.
pub fn setrange(c: &mut Ctx, a: &Args) -> CmdResult {
    let offset = arg_i64(a.get(2))?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let offset = offset as usize;
    let value = a.get(3);
    let key = a.get(1);
    let existing = c.db().string(key)?.map(|s| s.bytes().len());
    if value.is_empty() {
        c.out.int(existing.unwrap_or(0) as i64);
        return Ok(());
    }
    check_len(c, offset.saturating_add(value.len()))?;
    let mut db = c.db();
    if existing.is_none() {
        db.db.set(key, Value::Str(Str::new(b"")), 0);
    }
    let s = db.string(key)?.expect("exists now");
    let bytes = s.edit();
    if bytes.len() < offset + value.len() {
        Str::reserve_for(bytes, offset + value.len());
        bytes.resize(offset + value.len(), 0);
    }
    bytes[offset..offset + value.len()].copy_from_slice(value);
    let n = bytes.len();
    c.out.int(n as i64);
    c.dirty(1);
    c.notify(ev::STRING, "setrange", key);
    Ok(())
}
