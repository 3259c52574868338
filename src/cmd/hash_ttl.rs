//! Hash field expiration (Redis 7.4 / 8.0): HEXPIRE HPEXPIRE HEXPIREAT HPEXPIREAT HTTL
//! HPTTL HEXPIRETIME HPEXPIRETIME HPERSIST HGETDEL HGETEX HSETEX.
//!
//! Argument checks run in the order redis-server 8 runs them (some before the key is
//! looked at, some after), and each command family has its own error texts, so the same
//! bad input gets the same reply. Deadlines are absolute Unix milliseconds; a deadline
//! that is already past deletes the field at once (reply 2), as Redis does.
//!
//! The write stream (and so the AOF) gets canonical records only: absolute `HPEXPIREAT ... FIELDS` for the fields
//! whose deadline changed, `HPERSIST ... FIELDS` for the fields that lost one, `HDEL` for
//! fields deleted, and HSETEX with `PXAT` (or as a plain HSET). Conditions (NX, FNX...)
//! are evaluated here and not logged, so replay never depends on the clock.

use super::expiry::{Cond, Rules, Unit, deadline};
use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::notify::class as ev;
use crate::num::{fmt_i64, parse_i64};
use crate::types::Hash;

const NO_FIELDS: &str = "Mandatory argument FIELDS is missing or not at the right position";
const NUMFIELDS_MISMATCH: &str = "The `numfields` parameter must match the number of arguments";
const NUMFIELDS_POSITIVE: &str = "Number of fields must be a positive integer";

/// Reply codes of the per-field commands.
const NO_FIELD: i64 = -2;
const NO_TTL: i64 = -1;
const NOT_SET: i64 = 0;
const SET: i64 = 1;
const DELETED: i64 = 2;

const HASH: Command = Command {
    acl: acl::HASH,
    group: "hash",
    ..ROW
};
const RANDOM: &[&str] = &["nondeterministic_output"];

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "hexpire", arity: -6, flags: WRITE | FAST, keys: &[KeySpec::one(RW | UPDATE)], handler: hexpire, usage: "key seconds [NX | XX | GT | LT] FIELDS numfields field [field ...]", summary: "Sets a relative deadline in seconds on hash fields.", ..HASH },
    Command { name: "hpexpire", arity: -6, flags: WRITE | FAST, keys: &[KeySpec::one(RW | UPDATE)], handler: hpexpire, usage: "key milliseconds [NX | XX | GT | LT] FIELDS numfields field [field ...]", summary: "Sets a relative deadline in milliseconds on hash fields.", ..HASH },
    Command { name: "hexpireat", arity: -6, flags: WRITE | FAST, keys: &[KeySpec::one(RW | UPDATE)], handler: hexpireat, usage: "key unix-time-seconds [NX | XX | GT | LT] FIELDS numfields field [field ...]", summary: "Sets an absolute deadline in Unix seconds on hash fields.", ..HASH },
    Command { name: "hpexpireat", arity: -6, flags: WRITE | FAST, keys: &[KeySpec::one(RW | UPDATE)], handler: hpexpireat, usage: "key unix-time-milliseconds [NX | XX | GT | LT] FIELDS numfields field [field ...]", summary: "Sets an absolute deadline in Unix milliseconds on hash fields.", ..HASH },
    Command { name: "httl", arity: -5, flags: READONLY | FAST, keys: &[KeySpec::one(RO | ACCESS)], tips: RANDOM, handler: httl, usage: "key FIELDS numfields field [field ...]", summary: "Returns the seconds left before hash fields expire.", ..HASH },
    Command { name: "hpttl", arity: -5, flags: READONLY | FAST, keys: &[KeySpec::one(RO | ACCESS)], tips: RANDOM, handler: hpttl, usage: "key FIELDS numfields field [field ...]", summary: "Returns the milliseconds left before hash fields expire.", ..HASH },
    Command { name: "hexpiretime", arity: -5, flags: READONLY | FAST, keys: &[KeySpec::one(RO | ACCESS)], handler: hexpiretime, usage: "key FIELDS numfields field [field ...]", summary: "Returns the deadlines of hash fields in Unix seconds.", ..HASH },
    Command { name: "hpexpiretime", arity: -5, flags: READONLY | FAST, keys: &[KeySpec::one(RO | ACCESS)], handler: hpexpiretime, usage: "key FIELDS numfields field [field ...]", summary: "Returns the deadlines of hash fields in Unix milliseconds.", ..HASH },
    Command { name: "hpersist", arity: -5, flags: WRITE | FAST, keys: &[KeySpec::one(RW | UPDATE)], handler: hpersist, usage: "key FIELDS numfields field [field ...]", summary: "Removes the deadlines of hash fields.", ..HASH },
    Command { name: "hgetdel", arity: -5, flags: WRITE | FAST, keys: &[KeySpec::one(RW | ACCESS | DELETE)], handler: hgetdel, usage: "key FIELDS numfields field [field ...]", summary: "Returns the values of hash fields and deletes them.", ..HASH },
    Command { name: "hgetex", arity: -5, flags: WRITE | FAST, keys: &[KeySpec::one(RW | ACCESS | UPDATE)], handler: hgetex, usage: "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST] FIELDS numfields field [field ...]", summary: "Returns the values of hash fields and sets or removes their deadlines.", ..HASH },
    Command { name: "hsetex", arity: -6, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(RW | UPDATE)], handler: hsetex, usage: "key [FNX | FXX] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL] FIELDS numfields field value [field value ...]", summary: "Sets hash fields with an optional deadline, if conditions hold.", ..HASH },
];

/// Checks `FIELDS numfields field...` with FIELDS at `at - 1` and the count at `at`;
/// returns the position of the first field. `positive` is the text for a count that is not
/// a positive integer (it differs between commands).
fn parse_fields(a: &Args, at: usize, positive: &str) -> Result<usize, CmdError> {
    if at >= a.len() {
        return Err(CmdError::Arity(a.text(0).to_ascii_lowercase()));
    }
    if !a.is(at - 1, "fields") {
        return Err(CmdError::err(NO_FIELDS));
    }
    let n = parse_i64(a.get(at))
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::err(positive))?;
    if n as u64 != (a.len() - at - 1) as u64 {
        return Err(CmdError::err(NUMFIELDS_MISMATCH));
    }
    Ok(at + 1)
}

/// Replies an array of `code` for each field (the key is missing).
fn reply_all(c: &mut Ctx, n: usize, code: i64) {
    c.out.array(n);
    for _ in 0..n {
        c.out.int(code);
    }
}

/// Applies deadline `at` to `field` under `cond`: -2 missing, 0 condition not met, 1 set,
/// 2 deleted (the deadline is already past).
fn set_field_ttl(h: &mut Hash, field: &[u8], at: i64, cond: Cond, past: bool) -> i64 {
    let Some(prev) = h.ttl(field) else {
        return NO_FIELD;
    };
    // No deadline counts as infinite: only LT (and no condition) can set one.
    let current = (prev != 0).then_some(prev as i64);
    if cond.refuses(current, at) {
        return NOT_SET;
    }
    if past {
        h.remove(field);
        return DELETED;
    }
    h.set_ttl(field, at as u64);
    SET
}

/// Logs `HPEXPIREAT key at FIELDS n fields...`.
fn propagate_pexpireat(c: &mut Ctx, key: &[u8], at: i64, fields: &[&[u8]]) {
    let mut t = [0u8; 20];
    let mut n = [0u8; 20];
    let at = fmt_i64(at, &mut t);
    let count = fmt_i64(fields.len() as i64, &mut n);
    let mut rec: Vec<&[u8]> = vec![b"HPEXPIREAT", key, at, b"FIELDS", count];
    rec.extend_from_slice(fields);
    c.propagate(&rec);
}

/// Logs `verb key [FIELDS n] fields...`.
fn propagate_fields(c: &mut Ctx, verb: &[u8], key: &[u8], with_count: bool, fields: &[&[u8]]) {
    let mut n = [0u8; 20];
    let count = fmt_i64(fields.len() as i64, &mut n);
    let mut rec: Vec<&[u8]> = vec![verb, key];
    if with_count {
        rec.extend_from_slice(&[b"FIELDS", count]);
    }
    rec.extend_from_slice(fields);
    c.propagate(&rec);
}

/// HEXPIRE key seconds [NX|XX|GT|LT] FIELDS numfields field...
pub fn hexpire(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Unit::EX)
}

/// HPEXPIRE key milliseconds [NX|XX|GT|LT] FIELDS numfields field...
pub fn hpexpire(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Unit::PX)
}

/// HEXPIREAT key unix-seconds [NX|XX|GT|LT] FIELDS numfields field...
pub fn hexpireat(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Unit::EXAT)
}

/// HPEXPIREAT key unix-ms [NX|XX|GT|LT] FIELDS numfields field...
pub fn hpexpireat(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Unit::PXAT)
}

fn expire_generic(c: &mut Ctx, a: &Args, unit: Unit) -> CmdResult {
    let key = a.get(1);
    let exists = c.db().hash_write(key)?.is_some();
    let at = deadline(a, 2, unit, c.eng.now_ms, Rules::Field)?;
    let cond = Cond::from_word(a.get(3));
    let first = parse_fields(
        a,
        if cond.is_none() { 4 } else { 5 },
        "Parameter `numFields` should be greater than 0",
    )?;
    let cond = cond.unwrap_or_default();
    let n = a.len() - first;
    if !exists {
        reply_all(c, n, NO_FIELD);
        return Ok(());
    }
    let past = c.already_expired(at);
    let mut set: Vec<&[u8]> = Vec::new();
    let mut deleted: Vec<&[u8]> = Vec::new();
    c.out.array(n);
    {
        let (mut db, out) = c.db_out();
        let h = db.hash_write(key)?.expect("checked above");
        h.prepare_ttl();
        for f in a.iter().skip(first) {
            let r = set_field_ttl(h, f, at, cond, past);
            match r {
                SET => set.push(f),
                DELETED => deleted.push(f),
                _ => {}
            }
            out.int(r);
        }
        db.drop_if_empty(key);
        db.db.track_fields(key);
    }
    c.dirty((set.len() + deleted.len()) as u64);
    if !set.is_empty() {
        c.notify(ev::HASH, "hexpire", key);
    }
    if !deleted.is_empty() {
        c.notify_removal(ev::HASH, "hdel", key);
    }
    // Deleting by a past deadline counts as expiry, as in Redis.
    c.eng.ks.stats.expired_fields += deleted.len() as u64;
    if !deleted.is_empty() {
        propagate_fields(c, b"HDEL", key, false, &deleted);
    }
    if !set.is_empty() {
        propagate_pexpireat(c, key, at, &set);
    }
    Ok(())
}

/// HTTL key FIELDS numfields field... -> remaining seconds per field.
pub fn httl(c: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(c, a, Unit::EX)
}

/// HPTTL key FIELDS numfields field... -> remaining milliseconds per field.
pub fn hpttl(c: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(c, a, Unit::PX)
}

/// HEXPIRETIME key FIELDS numfields field... -> deadline in Unix seconds per field.
pub fn hexpiretime(c: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(c, a, Unit::EXAT)
}

/// HPEXPIRETIME key FIELDS numfields field... -> deadline in Unix ms per field.
pub fn hpexpiretime(c: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(c, a, Unit::PXAT)
}

/// Replies per field: time left (relative units) or the deadline (absolute units).
fn ttl_generic(c: &mut Ctx, a: &Args, unit: Unit) -> CmdResult {
    let base = if unit.absolute { 0 } else { c.eng.now_ms };
    let (mut db, out) = c.db_out();
    let h = db.hash(a.get(1))?;
    let first = parse_fields(a, 3, NUMFIELDS_POSITIVE)?;
    out.array(a.len() - first);
    for f in a.iter().skip(first) {
        let r = match h.as_ref().and_then(|h| h.ttl(f)) {
            None => NO_FIELD,
            Some(0) => NO_TTL,
            Some(at) => {
                let left = at as i64 - base;
                if unit.millis {
                    left
                } else {
                    (left + 999) / 1000
                }
            }
        };
        out.int(r);
    }
    Ok(())
}

/// HPERSIST key FIELDS numfields field... -> per field: 1 deadline removed, -1 none, -2
/// no such field.
pub fn hpersist(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(1);
    let mut changed: Vec<&[u8]> = Vec::new();
    {
        let (mut db, out) = c.db_out();
        let mut h = db.hash_write(key)?;
        let first = parse_fields(a, 3, NUMFIELDS_POSITIVE)?;
        out.array(a.len() - first);
        for f in a.iter().skip(first) {
            let r = match h.as_mut() {
                None => NO_FIELD,
                Some(h) => match h.ttl(f) {
                    None => NO_FIELD,
                    Some(0) => NO_TTL,
                    Some(_) => {
                        h.persist(f);
                        changed.push(f);
                        SET
                    }
                },
            };
            out.int(r);
        }
        if !changed.is_empty() {
            db.db.retrack_fields(key);
        }
    }
    if !changed.is_empty() {
        c.dirty(1);
        c.notify(ev::HASH, "hpersist", key);
        propagate_fields(c, b"HPERSIST", key, true, &changed);
    }
    Ok(())
}

/// HGETDEL key FIELDS numfields field... -> the values (or nulls), deleting the fields.
pub fn hgetdel(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(1);
    let mut deleted: Vec<&[u8]> = Vec::new();
    {
        let (mut db, out) = c.db_out();
        let mut h = db.hash_write(key)?;
        if !a.is(2, "fields") {
            return Err(CmdError::err(NO_FIELDS));
        }
        let first = parse_fields(a, 3, NUMFIELDS_POSITIVE)?;
        out.array(a.len() - first);
        for f in a.iter().skip(first) {
            match h.as_mut().and_then(|h| h.get(f)) {
                Some(v) => {
                    out.bulk(&v);
                    deleted.push(f);
                }
                None => {
                    out.null();
                    continue;
                }
            }
            if let Some(h) = h.as_mut() {
                h.remove(f);
            }
        }
        if !deleted.is_empty() {
            db.drop_if_empty(key);
            db.db.retrack_fields(key);
        }
    }
    if !deleted.is_empty() {
        c.dirty(deleted.len() as u64);
        c.notify_removal(ev::HASH, "hdel", key);
        propagate_fields(c, b"HDEL", key, false, &deleted);
    }
    Ok(())
}

/// What HGETEX does to the fields it returns.
enum GetEx {
    Nothing,
    Persist,
    Expire(i64),
}

/// HGETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST] FIELDS numfields field...
pub fn hgetex(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(1);
    let exists = c.db().hash_write(key)?.is_some();
    let now = c.eng.now_ms;
    let (what, count_at) = if let Some(unit) = Unit::from_word(a.get(2)) {
        (GetEx::Expire(deadline(a, 3, unit, now, Rules::Field)?), 5)
    } else if a.is(2, "persist") {
        (GetEx::Persist, 4)
    } else {
        (GetEx::Nothing, 3)
    };
    let first = parse_fields(a, count_at, NUMFIELDS_POSITIVE)?;
    let n = a.len() - first;
    if !exists {
        c.out.array(n);
        for _ in 0..n {
            c.out.null();
        }
        return Ok(());
    }
    let past = match what {
        GetEx::Expire(at) => c.already_expired(at),
        _ => false,
    };
    let mut changed: Vec<&[u8]> = Vec::new();
    {
        let (mut db, out) = c.db_out();
        let h = db.hash_write(key)?.expect("checked above");
        if !matches!(what, GetEx::Nothing) {
            h.prepare_ttl();
        }
        out.array(n);
        for f in a.iter().skip(first) {
            match h.get(f) {
                Some(v) => out.bulk(&v),
                None => {
                    out.null();
                    continue;
                }
            }
            let done = match what {
                GetEx::Nothing => false,
                GetEx::Persist => h.persist(f),
                GetEx::Expire(_) if past => h.remove(f),
                GetEx::Expire(at) => h.set_ttl(f, at as u64),
            };
            if done {
                changed.push(f);
            }
        }
        if !changed.is_empty() {
            db.drop_if_empty(key);
            db.db.track_fields(key);
        }
    }
    if changed.is_empty() {
        return Ok(());
    }
    c.dirty(changed.len() as u64);
    match what {
        GetEx::Persist => c.notify(ev::HASH, "hpersist", key),
        GetEx::Expire(_) if past => c.notify_removal(ev::HASH, "hdel", key),
        GetEx::Expire(_) => c.notify(ev::HASH, "hexpire", key),
        GetEx::Nothing => {}
    }
    if past {
        c.eng.ks.stats.expired_fields += changed.len() as u64;
    }
    match what {
        GetEx::Persist => propagate_fields(c, b"HPERSIST", key, true, &changed),
        GetEx::Expire(_) if past => propagate_fields(c, b"HDEL", key, false, &changed),
        GetEx::Expire(at) => propagate_pexpireat(c, key, at, &changed),
        GetEx::Nothing => {}
    }
    Ok(())
}

/// Options of HSETEX.
#[derive(Default)]
struct SetExOpts {
    fnx: bool,
    fxx: bool,
    keepttl: bool,
    /// Absolute deadline in ms, if EX/PX/EXAT/PXAT was given.
    at: Option<i64>,
    first: usize,
}

fn parse_hsetex(a: &Args, now: i64) -> Result<SetExOpts, CmdError> {
    let mut o = SetExOpts::default();
    let arity = || CmdError::Arity(a.text(0).to_ascii_lowercase());
    let one_time =
        || CmdError::err("Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified");
    let mut i = 2;
    while i < a.len() {
        if a.is(i, "fields") {
            if i + 3 >= a.len() {
                return Err(arity());
            }
            let n = parse_i64(a.get(i + 1))
                .filter(|n| (1..=i32::MAX as i64).contains(n))
                .ok_or_else(|| CmdError::err("invalid number of fields"))?;
            let rest = a.len() - i - 2;
            if !rest.is_multiple_of(2) || n as usize != rest / 2 {
                return Err(arity());
            }
            o.first = i + 2;
            return Ok(o);
        } else if let Some(unit) = Unit::from_word(a.get(i)) {
            if o.keepttl || o.at.is_some() {
                return Err(one_time());
            }
            if i + 1 >= a.len() {
                return Err(CmdError::err("missing expire time"));
            }
            i += 1;
            o.at = Some(deadline(a, i, unit, now, Rules::Field)?);
        } else if a.is(i, "keepttl") {
            if o.keepttl || o.at.is_some() {
                return Err(one_time());
            }
            o.keepttl = true;
        } else if a.is(i, "fnx") || a.is(i, "fxx") {
            if o.fnx || o.fxx {
                return Err(CmdError::err(
                    "Only one of FXX or FNX arguments can be specified",
                ));
            }
            o.fnx = a.is(i, "fnx");
            o.fxx = !o.fnx;
        } else {
            let mut msg = b"ERR unknown argument: ".to_vec();
            msg.extend_from_slice(a.get(i));
            return Err(CmdError::Bytes(msg));
        }
        i += 1;
    }
    Err(arity())
}

/// HSETEX key [FNX|FXX] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL] FIELDS numfields field
/// value... -> 1 if the fields were set, 0 if FNX/FXX refused.
pub fn hsetex(c: &mut Ctx, a: &Args) -> CmdResult {
    let o = parse_hsetex(a, c.eng.now_ms)?;
    let key = a.get(1);
    let lim = c.eng.config.hash_limits;
    let past = o.at.is_some_and(|at| c.already_expired(at));
    let exists = c.db().hash_write(key)?.is_some();
    if !exists && o.fxx {
        c.out.int(0);
        return Ok(());
    }
    let pairs = (o.first..a.len()).step_by(2);
    {
        let mut db = c.db();
        let h = db.hash_or_new(key)?;
        if o.fnx || o.fxx {
            let ok = pairs.clone().all(|i| h.contains(a.get(i)) == o.fxx);
            if !ok {
                db.drop_if_empty(key);
                c.out.int(0);
                return Ok(());
            }
        }
        if o.at.is_some() {
            h.prepare_ttl();
        }
        for i in pairs.clone() {
            let (f, v) = (a.get(i), a.get(i + 1));
            if o.at.is_some() || o.keepttl {
                h.insert_keep_ttl(f, v, lim);
            } else {
                h.insert(f, v, lim);
            }
            match o.at {
                Some(_) if past => {
                    h.remove(f);
                }
                Some(at) => {
                    h.set_ttl(f, at as u64);
                }
                None => {}
            }
        }
        db.drop_if_empty(key);
        db.db.track_fields(key);
    }
    c.dirty(pairs.len() as u64);
    c.notify(ev::HASH, "hset", key);
    match o.at {
        Some(_) if past => c.notify_removal(ev::HASH, "hdel", key),
        Some(_) => c.notify(ev::HASH, "hexpire", key),
        None => {}
    }
    c.out.int(1);
    // Canonical record: the conditions held, so they are left out.
    let fields: Vec<&[u8]> = pairs.clone().map(|i| a.get(i)).collect();
    if past {
        c.eng.ks.stats.expired_fields += fields.len() as u64;
        propagate_fields(c, b"HDEL", key, false, &fields);
        return Ok(());
    }
    let mut t = [0u8; 20];
    let mut n = [0u8; 20];
    let mut rec: Vec<&[u8]> = match o.at {
        Some(at) => vec![b"HSETEX", key, b"PXAT", fmt_i64(at, &mut t), b"FIELDS"],
        None if o.keepttl => vec![b"HSETEX", key, b"KEEPTTL", b"FIELDS"],
        None => vec![b"HSET", key],
    };
    if rec[0] == b"HSETEX" {
        rec.push(fmt_i64(fields.len() as i64, &mut n));
    }
    rec.extend(a.iter().skip(o.first));
    c.propagate(&rec);
    Ok(())
}
