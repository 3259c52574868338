//! String commands: SET (EX PX EXAT PXAT NX XX KEEPTTL GET) and its relatives, counters,
//! and range edits. Option parsing follows Redis's `parseExtendedStringArgumentsOrReply`, so
//! conflicting or repeated options fail the same way.

use super::{Args, Ctx, DbView};
use crate::aof::record::int_arg;
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Entry;
use crate::ldouble::LongDouble;
use crate::num::{arg_i64, parse_i64};
use crate::types::{Str, Value};

/// Which command the extended options belong to (SET allows NX/XX/GET/KEEPTTL, GETEX PERSIST).
#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Set,
    Getex,
}

#[derive(Default)]
struct SetOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// (value text, milliseconds unit, absolute); a repeat of the same option replaces it.
    expire: Option<(&'a [u8], bool, bool)>,
}

fn parse_opts<'a>(a: &Args<'a>, from: usize, kind: Kind) -> Result<SetOpts<'a>, CmdError> {
    let mut o = SetOpts::default();
    let mut i = from;
    while i < a.len() {
        let w = a.get(i);
        let next = (i + 1 < a.len()).then(|| a.get(i + 1));
        // Redis lets an expiry option repeat (the last wins) but not mix with another kind.
        let other_exp = |kind: (bool, bool)| o.expire.is_some_and(|(_, m, a)| (m, a) != kind);
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
        } else if let Some(v) = next
            && !o.keepttl
            && !o.persist
            && let Some((ms, abs)) = expire_word(w)
            && !other_exp((ms, abs))
        {
            o.expire = Some((v, ms, abs));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

fn expire_word(w: &[u8]) -> Option<(bool, bool)> {
    if w.eq_ignore_ascii_case(b"ex") {
        Some((false, false))
    } else if w.eq_ignore_ascii_case(b"px") {
        Some((true, false))
    } else if w.eq_ignore_ascii_case(b"exat") {
        Some((false, true))
    } else if w.eq_ignore_ascii_case(b"pxat") {
        Some((true, true))
    } else {
        None
    }
}

/// Converts an expire argument to an absolute Unix time in ms, with Redis's checks.
pub fn expire_at_ms(v: &[u8], ms: bool, abs: bool, now: i64, cmd: &str) -> Result<i64, CmdError> {
    let n = arg_i64(v)?;
    let bad = || CmdError::InvalidExpire(cmd.to_string());
    if n <= 0 || (!ms && n > i64::MAX / 1000) {
        return Err(bad());
    }
    let n = if ms { n } else { n * 1000 };
    let at = if abs {
        n
    } else {
        n.checked_add(now).ok_or_else(bad)?
    };
    if at <= 0 {
        return Err(bad());
    }
    Ok(at)
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
    let now = c.srv.now_ms;
    let exp = match o.expire {
        Some((v, ms, abs)) => expire_at_ms(v, ms, abs, now, "set")?,
        None => 0,
    };
    let (mut db, out) = c.db_out();
    let key = a.get(1);
    if !o.get && !o.nx && !o.xx && !o.keepttl {
        // The common plain SET: one lookup.
        db.db.set(key, Value::Str(Str::new(a.get(2))), exp);
        out.ok();
        c.dirty(1);
        if exp != 0 {
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
    if exp != 0 {
        propagate_set_pxat(c, key, a.get(2), exp);
    }
    Ok(())
}

/// Logs `SET key value PXAT at`: the absolute form of a relative expiry.
fn propagate_set_pxat(c: &mut Ctx, key: &[u8], val: &[u8], at: i64) {
    let mut t = [0u8; 20];
    c.propagate(&[b"SET", key, val, b"PXAT", int_arg(at, &mut t)]);
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
            c.propagate(&[b"DEL", a.get(1)]);
        }
        None => out.null(),
    }
    Ok(())
}

/// GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST].
pub fn getex(c: &mut Ctx, a: &Args) -> CmdResult {
    let o = parse_opts(a, 2, Kind::Getex)?;
    let now = c.srv.now_ms;
    let (mut db, out) = c.db_out();
    let key = a.get(1);
    if !kind_is_string(&mut db, key)? {
        db.st.misses += 1;
        out.null();
        return Ok(());
    }
    let exp = match o.expire {
        Some((v, ms, abs)) => Some(expire_at_ms(v, ms, abs, now, "getex")?),
        None => None,
    };
    if let Some(s) = db.string(key)? {
        out.bulk(s.bytes());
    }
    if let Some(at) = exp {
        if c.already_expired(at) {
            c.db().db.remove(key);
            c.propagate(&[b"DEL", key]);
        } else {
            c.db().db.set_expire(key, at);
            let mut t = [0u8; 20];
            c.propagate(&[b"PEXPIREAT", key, int_arg(at, &mut t)]);
        }
        c.dirty(1);
    } else if o.persist && db.get(key).is_some_and(|e| e.exp != 0) {
        db.db.set_expire(key, 0);
        c.dirty(1);
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
    Ok(())
}

fn set_with_ttl(c: &mut Ctx, a: &Args, ms: bool, name: &str) -> CmdResult {
    let now = c.srv.now_ms;
    let at = expire_at_ms(a.get(2), ms, false, now, name)?;
    let (db, out) = c.db_out();
    db.db.set(a.get(1), Value::Str(Str::new(a.get(3))), at);
    out.ok();
    c.dirty(1);
    propagate_set_pxat(c, a.get(1), a.get(3), at);
    Ok(())
}

/// SETEX key seconds value.
pub fn setex(c: &mut Ctx, a: &Args) -> CmdResult {
    set_with_ttl(c, a, false, "setex")
}

/// PSETEX key milliseconds value.
pub fn psetex(c: &mut Ctx, a: &Args) -> CmdResult {
    set_with_ttl(c, a, true, "psetex")
}

/// MSET key value [key value ...].
pub fn mset(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::Arity(a.text(0).to_ascii_lowercase()));
    }
    let db = c.db();
    for i in (1..a.len()).step_by(2) {
        db.db.set(a.get(i), Value::Str(Str::new(a.get(i + 1))), 0);
    }
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
    for i in (1..a.len()).step_by(2) {
        db.db.set(a.get(i), Value::Str(Str::new(a.get(i + 1))), 0);
    }
    out.int(1);
    c.dirty(a.len() as u64 / 2);
    Ok(())
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
    Ok(())
}

fn check_len(c: &Ctx, total: usize) -> CmdResult {
    if total > c.srv.config.proto_max_bulk_len {
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
            bytes.extend_from_slice(a.get(2));
            let n = bytes.len();
            c.out.int(n as i64);
        }
    }
    c.dirty(1);
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
        bytes.resize(offset + value.len(), 0);
    }
    bytes[offset..offset + value.len()].copy_from_slice(value);
    let n = bytes.len();
    c.out.int(n as i64);
    c.dirty(1);
    Ok(())
}
