//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LINDEX LSET LRANGE LREM LTRIM
//! LINSERT LPOS LMOVE RPOPLPUSH LMPOP. Argument checks run in the order Redis 7.0 runs
//! them, so the same bad input gets the same error (LRANGE parses its indexes before the
//! key is looked up, LINDEX after).
//!
//! Every command here is deterministic, so the AOF gets the command as sent, except LMPOP,
//! which is logged as the pop it did (`LPOP key n` / `RPOP key n`), as Redis propagates it.
//! The blocking variants (BLPOP, BLMOVE, BLMPOP...) are built on `mpop_from` and
//! `move_element` below.

use super::blocking::parse_timeout;
use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx};
use crate::client::TimeoutReply;
use crate::error::{CmdError, CmdResult};
use crate::notify::class as ev;
use crate::num::{arg_i64, fmt_i64, parse_i64};
use crate::types::List;
use crate::types::bytes::Bytes;
use crate::types::list::End;

const ROW_LIST: Command = Command {
    acl: acl::LIST,
    group: "list",
    ..ROW
};

const PUSH_KEYS: &[KeySpec] = &[KeySpec::one(RW | INSERT)];
const POP_KEYS: &[KeySpec] = &[KeySpec::one(RW | ACCESS | DELETE)];
const READ_KEYS: &[KeySpec] = &[KeySpec::one(RO | ACCESS)];
const MOVE_KEYS: &[KeySpec] = &[
    KeySpec::one(RW | ACCESS | DELETE),
    KeySpec::at(2, RW | INSERT),
];

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "lpush", arity: -3, flags: WRITE | DENYOOM | FAST, keys: PUSH_KEYS, handler: lpush, usage: "key element [element ...]", summary: "Prepends elements to a list, creating it if needed.", ..ROW_LIST },
    Command { name: "rpush", arity: -3, flags: WRITE | DENYOOM | FAST, keys: PUSH_KEYS, handler: rpush, usage: "key element [element ...]", summary: "Appends elements to a list, creating it if needed.", ..ROW_LIST },
    Command { name: "lpushx", arity: -3, flags: WRITE | DENYOOM | FAST, keys: PUSH_KEYS, handler: lpushx, usage: "key element [element ...]", summary: "Prepends elements to a list only if it exists.", ..ROW_LIST },
    Command { name: "rpushx", arity: -3, flags: WRITE | DENYOOM | FAST, keys: PUSH_KEYS, handler: rpushx, usage: "key element [element ...]", summary: "Appends elements to a list only if it exists.", ..ROW_LIST },
    Command { name: "lpop", arity: -2, flags: WRITE | FAST, keys: POP_KEYS, handler: lpop, usage: "key [count]", summary: "Removes and returns the first elements of a list.", ..ROW_LIST },
    Command { name: "rpop", arity: -2, flags: WRITE | FAST, keys: POP_KEYS, handler: rpop, usage: "key [count]", summary: "Removes and returns the last elements of a list.", ..ROW_LIST },
    Command { name: "llen", arity: 2, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: llen, usage: "key", summary: "Returns the length of a list.", ..ROW_LIST },
    Command { name: "lindex", arity: 3, flags: READONLY, keys: READ_KEYS, handler: lindex, usage: "key index", summary: "Returns the element at an index of a list.", ..ROW_LIST },
    Command { name: "lset", arity: 4, flags: WRITE | DENYOOM, keys: &[KeySpec::one(RW | UPDATE)], handler: lset, usage: "key index element", summary: "Sets the element at an index of a list.", ..ROW_LIST },
    Command { name: "lrange", arity: 4, flags: READONLY, keys: READ_KEYS, handler: lrange, usage: "key start stop", summary: "Returns a range of elements of a list.", ..ROW_LIST },
    Command { name: "lrem", arity: 4, flags: WRITE, keys: &[KeySpec::one(RW | DELETE)], handler: lrem, usage: "key count element", summary: "Removes elements equal to a value from a list.", ..ROW_LIST },
    Command { name: "ltrim", arity: 4, flags: WRITE, keys: &[KeySpec::one(RW | DELETE)], handler: ltrim, usage: "key start stop", summary: "Keeps only a range of elements of a list.", ..ROW_LIST },
    Command { name: "linsert", arity: 5, flags: WRITE | DENYOOM, keys: PUSH_KEYS, handler: linsert, usage: "key BEFORE | AFTER pivot element", summary: "Inserts an element before or after another in a list.", ..ROW_LIST },
    Command { name: "lpos", arity: -3, flags: READONLY, keys: READ_KEYS, handler: lpos, usage: "key element [RANK rank] [COUNT num-matches] [MAXLEN len]", summary: "Returns the indexes of elements equal to a value in a list.", ..ROW_LIST },
    Command { name: "lmove", arity: 5, flags: WRITE | DENYOOM, keys: MOVE_KEYS, handler: lmove, usage: "source destination LEFT | RIGHT LEFT | RIGHT", summary: "Moves an element from one end of a list to an end of another.", ..ROW_LIST },
    Command { name: "rpoplpush", arity: 3, flags: WRITE | DENYOOM, keys: MOVE_KEYS, handler: rpoplpush, usage: "source destination", summary: "Moves the last element of a list to the head of another.", ..ROW_LIST },
    Command { name: "blpop", arity: -3, flags: WRITE | NOSCRIPT | BLOCKING, keys: &[KeySpec::range(1, -2, 1, RW | ACCESS | DELETE)], handler: blpop, usage: "key [key ...] timeout", summary: "Pops the first element of the first non-empty list, waiting for one if none.", ..ROW_LIST },
    Command { name: "brpop", arity: -3, flags: WRITE | NOSCRIPT | BLOCKING, keys: &[KeySpec::range(1, -2, 1, RW | ACCESS | DELETE)], handler: brpop, usage: "key [key ...] timeout", summary: "Pops the last element of the first non-empty list, waiting for one if none.", ..ROW_LIST },
    Command { name: "blmove", arity: 6, flags: WRITE | DENYOOM | NOSCRIPT | BLOCKING, keys: MOVE_KEYS, handler: blmove, usage: "source destination LEFT | RIGHT LEFT | RIGHT timeout", summary: "Moves an element between lists, waiting for one if the source is empty.", ..ROW_LIST },
    Command { name: "brpoplpush", arity: 4, flags: WRITE | DENYOOM | NOSCRIPT | BLOCKING, keys: MOVE_KEYS, handler: brpoplpush, usage: "source destination timeout", summary: "Moves the last element of a list to the head of another, waiting for one.", ..ROW_LIST },
    Command { name: "blmpop", arity: -5, flags: WRITE | BLOCKING, keys: &[KeySpec::keynum(2, 0, 1, 1, RW | ACCESS | DELETE)], handler: blmpop, usage: "timeout numkeys key [key ...] LEFT | RIGHT [COUNT count]", summary: "Pops elements from the first non-empty list of several, waiting if all are empty.", ..ROW_LIST },
    Command { name: "lmpop", arity: -4, flags: WRITE, keys: &[KeySpec::keynum(1, 0, 1, 1, RW | ACCESS | DELETE)], handler: lmpop, usage: "numkeys key [key ...] LEFT | RIGHT [COUNT count]", summary: "Pops elements from the first non-empty list of several.", ..ROW_LIST },
];

/// LEFT or RIGHT (any case) at argument `i`; a syntax error otherwise.
fn end_arg(a: &Args, i: usize) -> Result<End, CmdError> {
    if a.is(i, "left") {
        Ok(End::Head)
    } else if a.is(i, "right") {
        Ok(End::Tail)
    } else {
        Err(CmdError::Syntax)
    }
}

/// A non-negative integer, or `msg` (Redis's getPositiveLongFromObjectOrReply).
fn positive_arg(v: &[u8], msg: &str) -> Result<i64, CmdError> {
    parse_i64(v)
        .filter(|n| *n >= 0)
        .ok_or_else(|| CmdError::err(msg))
}

/// A list index made absolute: negative counts from the tail. May still be out of range.
fn absolute(index: i64, len: usize) -> i64 {
    if index < 0 {
        index.saturating_add(len as i64)
    } else {
        index
    }
}

/// LPUSH key element [element ...] -> length after the push.
pub fn lpush(c: &mut Ctx, a: &Args) -> CmdResult {
    push(c, a, End::Head, false)
}

/// RPUSH key element [element ...] -> length after the push.
pub fn rpush(c: &mut Ctx, a: &Args) -> CmdResult {
    push(c, a, End::Tail, false)
}

/// LPUSHX key element [element ...] -> length after the push, 0 if the key is missing.
pub fn lpushx(c: &mut Ctx, a: &Args) -> CmdResult {
    push(c, a, End::Head, true)
}

/// RPUSHX key element [element ...] -> length after the push, 0 if the key is missing.
pub fn rpushx(c: &mut Ctx, a: &Args) -> CmdResult {
    push(c, a, End::Tail, true)
}

/// The event names of pushes and pops at each end.
fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

/// The events of a pop: `lpop` / `rpop`, then `del` if it emptied the list.
fn notify_pop(c: &mut Ctx, end: End, key: &[u8], emptied: bool) {
    c.notify(ev::LIST, pop_event(end), key);
    if emptied {
        c.notify(ev::GENERIC, "del", key);
    }
}

fn push(c: &mut Ctx, a: &Args, end: End, existing: bool) -> CmdResult {
    let lim = c.eng.config.list_limits;
    let mut db = c.db();
    let l = if existing {
        match db.write::<List>(a.get(1))? {
            Some(l) => l,
            None => {
                c.out.int(0);
                return Ok(());
            }
        }
    } else {
        db.or_new::<List>(a.get(1))?
    };
    l.push_many(end, (2..a.len()).map(|i| a.get(i)), &lim);
    let len = l.len();
    c.dirty(a.len() as u64 - 2);
    c.notify(ev::LIST, push_event(end), a.get(1));
    c.out.int(len as i64);
    Ok(())
}

/// LPOP key [count] -> the first element (null if none), or with a count an array of up
/// to count elements (a null array if the key is missing).
pub fn lpop(c: &mut Ctx, a: &Args) -> CmdResult {
    pop(c, a, End::Head)
}

/// RPOP key [count] -> as LPOP, from the tail.
pub fn rpop(c: &mut Ctx, a: &Args) -> CmdResult {
    pop(c, a, End::Tail)
}

fn pop(c: &mut Ctx, a: &Args, end: End) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Arity(a.text(0).to_ascii_lowercase()));
    }
    let count = match a.len() {
        3 => Some(positive_arg(a.get(2), "value is out of range, must be positive")? as usize),
        _ => None,
    };
    let lim = c.eng.config.list_limits;
    let (mut db, out) = c.db_out();
    let key = a.get(1);
    let Some(l) = db.write::<List>(key)? else {
        match count {
            Some(_) => out.null_array(),
            None => out.null(),
        }
        return Ok(());
    };
    let popped = match count {
        None => l.pop_with(end, 1, &lim, |v| out.bulk(&v)),
        Some(n) => {
            out.array(n.min(l.len()));
            l.pop_with(end, n, &lim, |v| out.bulk(&v))
        }
    };
    // Only an emptied list costs the second lookup that removes its key.
    let emptied = l.is_empty();
    if emptied {
        db.drop_if_empty(key);
    }
    c.dirty(popped as u64);
    if popped > 0 {
        notify_pop(c, end, key, emptied);
    }
    Ok(())
}

/// LLEN key -> number of elements (0 for a missing key).
pub fn llen(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = db.read::<List>(a.get(1))?.map_or(0, |x| x.len());
    out.int(n as i64);
    Ok(())
}

/// LINDEX key index -> the element, or null if out of range.
pub fn lindex(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let Some(l) = db.read::<List>(a.get(1))? else {
        out.null();
        return Ok(());
    };
    let i = absolute(arg_i64(a.get(2))?, l.len());
    match usize::try_from(i).ok().and_then(|i| l.get(i)) {
        Some(v) => out.bulk(&v),
        None => out.null(),
    }
    Ok(())
}

/// LSET key index element -> OK.
pub fn lset(c: &mut Ctx, a: &Args) -> CmdResult {
    let lim = c.eng.config.list_limits;
    let mut db = c.db();
    let l = db.write::<List>(a.get(1))?.ok_or(CmdError::NoSuchKey)?;
    let i = absolute(arg_i64(a.get(2))?, l.len());
    match usize::try_from(i) {
        Ok(i) if i < l.len() => l.set(i, a.get(3), &lim),
        _ => return Err(CmdError::err("index out of range")),
    }
    c.dirty(1);
    c.notify(ev::LIST, "lset", a.get(1));
    c.out.ok();
    Ok(())
}

/// The range `start..=stop` of a list of `len` elements as Redis clamps it, or None if
/// it is empty.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let start = absolute(start, len).max(0);
    let stop = absolute(stop, len);
    if start > stop || start >= len as i64 {
        return None;
    }
    Some((start as usize, stop.min(len as i64 - 1) as usize))
}

/// LRANGE key start stop -> the elements from start to stop (inclusive), written straight
/// from the packed nodes into the reply.
pub fn lrange(c: &mut Ctx, a: &Args) -> CmdResult {
    let start = arg_i64(a.get(2))?;
    let stop = arg_i64(a.get(3))?;
    let (mut db, out) = c.db_out();
    let Some(l) = db.read::<List>(a.get(1))? else {
        out.array(0);
        return Ok(());
    };
    match clamp_range(start, stop, l.len()) {
        None => out.array(0),
        Some((from, to)) => {
            out.array(to - from + 1);
            for v in l.range(from, to) {
                out.bulk(&v);
            }
        }
    }
    Ok(())
}

/// LTRIM key start stop -> OK; keeps only the range (an empty range deletes the key).
pub fn ltrim(c: &mut Ctx, a: &Args) -> CmdResult {
    let start = arg_i64(a.get(2))?;
    let stop = arg_i64(a.get(3))?;
    let lim = c.eng.config.list_limits;
    let mut db = c.db();
    let key = a.get(1);
    let mut emptied = false;
    let Some(l) = db.write::<List>(key)? else {
        c.out.ok();
        return Ok(());
    };
    let len = l.len();
    let (ltrim, rtrim) = match clamp_range(start, stop, len) {
        None => (len, 0),
        Some((from, to)) => (from, len - 1 - to),
    };
    l.trim(ltrim, rtrim, &lim);
    let removed = ltrim + rtrim;
    if l.is_empty() {
        emptied = true;
        db.drop_if_empty(key);
    }
    c.dirty(removed as u64);
    // Redis reports the trim even when it removed nothing.
    c.notify(ev::LIST, "ltrim", key);
    if emptied {
        c.notify(ev::GENERIC, "del", key);
    }
    c.out.ok();
    Ok(())
}

/// LREM key count element -> number removed (count > 0: first ones, < 0: last ones, 0:
/// all).
pub fn lrem(c: &mut Ctx, a: &Args) -> CmdResult {
    let count = arg_i64(a.get(2))?;
    let lim = c.eng.config.list_limits;
    let mut db = c.db();
    let key = a.get(1);
    let mut removed = 0;
    let mut emptied = false;
    if let Some(l) = db.write::<List>(key)? {
        removed = l.remove_matching(a.get(3), count, &lim);
        if l.is_empty() {
            emptied = true;
            db.drop_if_empty(key);
        }
    }
    c.dirty(removed as u64);
    if removed > 0 {
        c.notify(ev::LIST, "lrem", key);
    }
    if emptied {
        c.notify(ev::GENERIC, "del", key);
    }
    c.out.int(removed as i64);
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element -> length after the insert, -1 if the pivot is
/// not there, 0 if the key is missing.
pub fn linsert(c: &mut Ctx, a: &Args) -> CmdResult {
    let after = if a.is(2, "after") {
        true
    } else if a.is(2, "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let lim = c.eng.config.list_limits;
    let mut db = c.db();
    let Some(l) = db.write::<List>(a.get(1))? else {
        c.out.int(0);
        return Ok(());
    };
    if !l.insert(a.get(3), after, a.get(4), &lim) {
        c.out.int(-1);
        return Ok(());
    }
    let len = l.len();
    c.dirty(1);
    c.notify(ev::LIST, "linsert", a.get(1));
    c.out.int(len as i64);
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] -> the index of a match
/// (null if none), or with COUNT an array of up to that many (0: all).
pub fn lpos(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0i64);
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "rank") && more {
            j += 1;
            rank = arg_i64(a.get(j))?;
            if rank == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if a.is(j, "count") && more {
            j += 1;
            count = Some(positive_arg(a.get(j), "COUNT can't be negative")?);
        } else if a.is(j, "maxlen") && more {
            j += 1;
            maxlen = positive_arg(a.get(j), "MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    // As Redis: a negative rank searches from the tail, and negating i64::MIN leaves it
    // negative, so every match qualifies and the COUNT test (wrapping) never stops it.
    let rev = rank < 0;
    if rev {
        rank = rank.wrapping_neg();
    }
    let (mut db, out) = c.db_out();
    let Some(l) = db.read::<List>(a.get(1))? else {
        match count {
            Some(_) => out.array(0),
            None => out.null(),
        }
        return Ok(());
    };
    let mut matches = 0i64;
    let mut found: Vec<usize> = Vec::new();
    for i in l.positions(a.get(2), rev, maxlen as usize) {
        matches += 1;
        if matches < rank {
            continue;
        }
        found.push(i);
        match count {
            None => break,
            Some(n) if n != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= n => break,
            _ => {}
        }
    }
    match count {
        Some(_) => {
            out.array(found.len());
            for i in found {
                out.int(i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => out.int(i as i64),
            None => out.null(),
        },
    }
    Ok(())
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT -> the element moved, or null if the
/// source is missing.
pub fn lmove(c: &mut Ctx, a: &Args) -> CmdResult {
    let from = end_arg(a, 3)?;
    let to = end_arg(a, 4)?;
    move_reply(c, a, from, to)
}

/// RPOPLPUSH source destination -> LMOVE source destination RIGHT LEFT.
pub fn rpoplpush(c: &mut Ctx, a: &Args) -> CmdResult {
    move_reply(c, a, End::Tail, End::Head)
}

fn move_reply(c: &mut Ctx, a: &Args, from: End, to: End) -> CmdResult {
    match move_element(c, a.get(1), a.get(2), from, to)? {
        Some(v) => c.out.bulk(&v),
        None => c.out.null(),
    }
    Ok(())
}

/// The core of LMOVE (and later BLMOVE): pops an element from the `from` end of list
/// `src` and pushes it at the `to` end of list `dst` (created if missing; the same key
/// rotates). None, changing nothing, if `src` is missing; WRONGTYPE if either key holds
/// something else (then nothing changes either). Counts one change; replies nothing and
/// propagates nothing (the caller's command is the record).
pub fn move_element(
    c: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Vec<u8>>, CmdError> {
    let lim = c.eng.config.list_limits;
    let mut db = c.db();
    let Some(l) = db.write::<List>(src)? else {
        return Ok(None);
    };
    if l.is_empty() {
        return Ok(None);
    }
    if src == dst {
        let v = l.rotate(from, to, &lim);
        c.dirty(1);
        c.notify(ev::LIST, push_event(to), dst);
        c.notify(ev::LIST, pop_event(from), src);
        return Ok(v);
    }
    db.write::<List>(dst)?;
    let l = db.write::<List>(src)?.expect("looked up above");
    let v = l.pop(from, &lim).expect("not empty");
    let emptied = l.is_empty();
    if emptied {
        db.drop_if_empty(src);
    }
    db.or_new::<List>(dst)?.push(to, &v, &lim);
    c.dirty(1);
    // Redis's order: the push, then the pop (and the source's removal).
    c.notify(ev::LIST, push_event(to), dst);
    notify_pop(c, from, src, emptied);
    Ok(Some(v))
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] -> [key, [elements]] from the first
/// non-empty list, or a null array.
pub fn lmpop(c: &mut Ctx, a: &Args) -> CmdResult {
    let (keys, end, count) = mpop_args(a, 1)?;
    for k in keys {
        if mpop_from(c, a.get(k), end, count)? {
            return Ok(());
        }
    }
    c.out.null_array();
    Ok(())
}

/// The arguments of LMPOP from `numkeys` at `first` on (BLMPOP has its timeout before):
/// the positions of the keys, the end, and the count (1 if not given).
fn mpop_args(a: &Args, first: usize) -> Result<(std::ops::Range<usize>, End, usize), CmdError> {
    let numkeys = parse_i64(a.get(first))
        .filter(|n| *n >= 1)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    let where_idx = (numkeys as usize)
        .checked_add(first + 1)
        .filter(|&w| w < a.len());
    let Some(where_idx) = where_idx else {
        return Err(CmdError::Syntax);
    };
    let end = end_arg(a, where_idx)?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count.is_none() && a.is(j, "count") && j + 1 < a.len() {
            j += 1;
            count = Some(
                parse_i64(a.get(j))
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| CmdError::err("count should be greater than 0"))?,
            );
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok((first + 1..where_idx, end, count.unwrap_or(1) as usize))
}

/// The core of LMPOP (and later BLMPOP): if `key` holds a non-empty list, pops up to
/// `count` elements from `end`, replies `[key, [elements]]`, logs the pop as Redis
/// propagates it (`LPOP key n` / `RPOP key n`) and returns true. False, replying nothing,
/// if the key is missing or empty; WRONGTYPE if it holds something else.
pub fn mpop_from(c: &mut Ctx, key: &[u8], end: End, count: usize) -> Result<bool, CmdError> {
    let lim = c.eng.config.list_limits;
    let (mut db, out) = c.db_out();
    let Some(l) = db.write::<List>(key)? else {
        return Ok(false);
    };
    if l.is_empty() {
        return Ok(false);
    }
    out.array(2);
    out.bulk(key);
    out.array(count.min(l.len()));
    let popped = l.pop_with(end, count, &lim, |v| out.bulk(&v));
    let emptied = l.is_empty();
    if emptied {
        db.drop_if_empty(key);
    }
    c.dirty(popped as u64);
    notify_pop(c, end, key, emptied);
    c.touched(key);
    let mut tmp = [0u8; 20];
    let name: &[u8] = match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    };
    c.propagate(&[name, key, fmt_i64(popped as i64, &mut tmp)]);
    Ok(true)
}

/// BLPOP key [key ...] timeout -> [key, element] from the first non-empty list, waiting
/// up to timeout seconds (0: forever) for one; a null array on timeout.
pub fn blpop(c: &mut Ctx, a: &Args) -> CmdResult {
    blocking_pop(c, a, End::Head)
}

/// BRPOP key [key ...] timeout -> as BLPOP, from the tail.
pub fn brpop(c: &mut Ctx, a: &Args) -> CmdResult {
    blocking_pop(c, a, End::Tail)
}

/// BLPOP / BRPOP. The timeout is checked first and a WRONGTYPE key fails the command
/// even when a later key has data, as in Redis. Logged as the LPOP / RPOP it did.
fn blocking_pop(c: &mut Ctx, a: &Args, end: End) -> CmdResult {
    let last = a.len() - 1;
    let timeout = parse_timeout(a.get(last), c.eng.now_ms)?;
    let lim = c.eng.config.list_limits;
    for k in c.wait_keys(a, 1..last) {
        let key = a.get(k);
        let (mut db, out) = c.db_out();
        let Some(l) = db.write::<List>(key)? else {
            continue;
        };
        let Some(v) = l.pop(end, &lim) else {
            continue;
        };
        let emptied = l.is_empty();
        db.drop_if_empty(key);
        out.array(2);
        out.bulk(key);
        out.bulk(&v);
        c.dirty(1);
        notify_pop(c, end, key, emptied);
        c.touched(key);
        let name: &[u8] = match end {
            End::Head => b"LPOP",
            End::Tail => b"RPOP",
        };
        c.propagate(&[name, key]);
        return Ok(());
    }
    let keys = (1..last).map(|k| Bytes::from(a.get(k))).collect();
    c.block(a, keys, timeout, "list", TimeoutReply::NullArray)
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout -> the element moved,
/// waiting for the source to have one; null on timeout. Logged as LMOVE.
pub fn blmove(c: &mut Ctx, a: &Args) -> CmdResult {
    let from = end_arg(a, 3)?;
    let to = end_arg(a, 4)?;
    blocking_move(c, a, from, to, 5)
}

/// BRPOPLPUSH source destination timeout -> BLMOVE source destination RIGHT LEFT.
pub fn brpoplpush(c: &mut Ctx, a: &Args) -> CmdResult {
    blocking_move(c, a, End::Tail, End::Head, 3)
}

fn blocking_move(c: &mut Ctx, a: &Args, from: End, to: End, timeout_at: usize) -> CmdResult {
    let timeout = parse_timeout(a.get(timeout_at), c.eng.now_ms)?;
    let (src, dst) = (a.get(1), a.get(2));
    match move_element(c, src, dst, from, to)? {
        Some(v) => {
            c.out.bulk(&v);
            let side = |e: End| -> &[u8] {
                match e {
                    End::Head => b"LEFT",
                    End::Tail => b"RIGHT",
                }
            };
            c.propagate(&[b"LMOVE", src, dst, side(from), side(to)]);
            Ok(())
        }
        None => c.block(
            a,
            vec![Bytes::from(src)],
            timeout,
            "list",
            TimeoutReply::NullBulk,
        ),
    }
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] -> as LMPOP, waiting
/// if every list is empty; a null array on timeout.
pub fn blmpop(c: &mut Ctx, a: &Args) -> CmdResult {
    // Redis reads the numkeys, end and count before the timeout.
    let (keys, end, count) = mpop_args(a, 2)?;
    let timeout = parse_timeout(a.get(1), c.eng.now_ms)?;
    for k in c.wait_keys(a, keys.clone()) {
        if mpop_from(c, a.get(k), end, count)? {
            return Ok(());
        }
    }
    let keys = keys.map(|k| Bytes::from(a.get(k))).collect();
    c.block(a, keys, timeout, "list", TimeoutReply::NullArray)
}
