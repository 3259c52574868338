//! Set commands: SADD SREM SPOP SRANDMEMBER SMEMBERS SISMEMBER SMISMEMBER SCARD SMOVE SINTER
//! SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN. Argument checks run in
//! the order Redis 7 runs them, so the same bad input gets the same error.
//!
//! Random choices are logged as their outcome: SPOP is recorded as `SREM key m1 m2 ...` of
//! the members it took (as `DEL key` when it took them all, as Redis does), so a replay
//! or a replica removes exactly those. SRANDMEMBER only reads.

use crate::notify::class as ev;
use std::collections::HashMap;

use super::hash::{ScanOf, parse_cursor, parse_scan_opts, random_count, scan_positions};
use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx, DbView};
use crate::error::{CmdError, CmdResult};
use crate::num::parse_i64;
use crate::types::listpack::Val;
use crate::types::set::SetLimits;
use crate::types::{Set, Value};

const SET: Command = Command {
    acl: acl::SET,
    group: "set",
    ..ROW
};
const ORDER: &[&str] = &["nondeterministic_output_order"];
const RANDOM: &[&str] = &["nondeterministic_output"];
/// The destination of the *STORE commands, then their source keys.
const STORE_RW: &[KeySpec] = &[
    KeySpec::one(RW | UPDATE),
    KeySpec::range(2, -1, 1, RO | ACCESS),
];
const STORE_OW: &[KeySpec] = &[
    KeySpec::one(OW | UPDATE),
    KeySpec::range(2, -1, 1, RO | ACCESS),
];
const ALL_KEYS: &[KeySpec] = &[KeySpec::range(1, -1, 1, RO | ACCESS)];

/// Members per SREM record when SPOP is logged (Redis 7.2 batches 1024 too).
const SREM_BATCH: usize = 1024;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "sadd", arity: -3, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(RW | INSERT)], handler: sadd, usage: "key member [member ...]", summary: "Adds members to a set, creating it if needed.", ..SET },
    Command { name: "srem", arity: -3, flags: WRITE | FAST, keys: &[KeySpec::one(RW | DELETE)], handler: srem, usage: "key member [member ...]", summary: "Removes members from a set.", ..SET },
    Command { name: "spop", arity: -2, flags: WRITE | FAST, keys: &[KeySpec::one(RW | ACCESS | DELETE)], tips: RANDOM, handler: spop, usage: "key [count]", summary: "Removes and returns random members of a set.", ..SET },
    Command { name: "srandmember", arity: -2, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], tips: RANDOM, handler: srandmember, usage: "key [count]", summary: "Returns random members of a set.", ..SET },
    Command { name: "smembers", arity: 2, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], tips: ORDER, handler: smembers, usage: "key", summary: "Returns every member of a set.", ..SET },
    Command { name: "sismember", arity: 3, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: sismember, usage: "key member", summary: "Tells whether a member is in a set.", ..SET },
    Command { name: "smismember", arity: -3, flags: READONLY | FAST, keys: &[KeySpec::one(RO | ACCESS)], handler: smismember, usage: "key member [member ...]", summary: "Tells whether each of several members is in a set.", ..SET },
    Command { name: "scard", arity: 2, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: scard, usage: "key", summary: "Returns the number of members in a set.", ..SET },
    Command { name: "smove", arity: 4, flags: WRITE | FAST, keys: &[KeySpec::one(RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)], handler: smove, usage: "source destination member", summary: "Moves a member from one set to another.", ..SET },
    Command { name: "sinter", arity: -2, flags: READONLY, keys: ALL_KEYS, tips: ORDER, handler: sinter, usage: "key [key ...]", summary: "Returns the intersection of sets.", ..SET },
    Command { name: "sintercard", arity: -3, flags: READONLY, keys: &[KeySpec::keynum(1, 0, 1, 1, RO | ACCESS)], handler: sintercard, usage: "numkeys key [key ...] [LIMIT limit]", summary: "Returns the size of the intersection of sets (up to a limit).", ..SET },
    Command { name: "sunion", arity: -2, flags: READONLY, keys: ALL_KEYS, tips: ORDER, handler: sunion, usage: "key [key ...]", summary: "Returns the union of sets.", ..SET },
    Command { name: "sdiff", arity: -2, flags: READONLY, keys: ALL_KEYS, tips: ORDER, handler: sdiff, usage: "key [key ...]", summary: "Returns the members of the first set that no other set has.", ..SET },
    Command { name: "sinterstore", arity: -3, flags: WRITE | DENYOOM, keys: STORE_RW, handler: sinterstore, usage: "destination key [key ...]", summary: "Stores the intersection of sets in a key.", ..SET },
    Command { name: "sunionstore", arity: -3, flags: WRITE | DENYOOM, keys: STORE_OW, handler: sunionstore, usage: "destination key [key ...]", summary: "Stores the union of sets in a key.", ..SET },
    Command { name: "sdiffstore", arity: -3, flags: WRITE | DENYOOM, keys: STORE_OW, handler: sdiffstore, usage: "destination key [key ...]", summary: "Stores the difference of sets in a key.", ..SET },
    Command { name: "sscan", arity: -3, flags: READONLY, keys: &[KeySpec::one(RO | ACCESS)], tips: RANDOM, handler: sscan, usage: "key cursor [MATCH pattern] [COUNT count]", summary: "Iterates over the members of a set.", ..SET },
];

/// SADD key member [member ...] -> number of new members.
pub fn sadd(c: &mut Ctx, a: &Args) -> CmdResult {
    let lim = c.eng.config.set_limits;
    let mut db = c.db();
    let s = db.or_new::<Set>(a.get(1))?;
    // The encoding for this many members, as Redis 7.2 picks it (a new set by its first
    // member; a compact one becomes a table at once if the count alone passes a limit).
    s.prepare(a.len() - 2, a.get(2), lim);
    let mut added = 0;
    for i in 2..a.len() {
        if s.insert(a.get(i), lim) {
            added += 1;
        }
    }
    c.dirty(added);
    if added > 0 {
        c.notify(ev::SET, "sadd", a.get(1));
    }
    c.out.int(added as i64);
    Ok(())
}

/// SREM key member [member ...] -> number removed; the key goes when the set empties.
pub fn srem(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut db = c.db();
    let mut removed = 0;
    let mut emptied = false;
    if let Some(s) = db.write::<Set>(a.get(1))? {
        for i in 2..a.len() {
            if s.remove(a.get(i)) {
                removed += 1;
                if s.is_empty() {
                    emptied = true;
                    break;
                }
            }
        }
        db.drop_if_empty(a.get(1));
    }
    c.dirty(removed);
    if removed > 0 {
        notify_removal(c, "srem", a.get(1), emptied);
    }
    c.out.int(removed as i64);
    Ok(())
}

/// SMEMBERS key -> every member (a set in RESP3): ascending for an intset, insertion order
/// for a listpack.
pub fn smembers(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    match db.read::<Set>(a.get(1))? {
        Some(s) => {
            out.set(s.len());
            for m in s.iter() {
                out.bulk(&m);
            }
        }
        None => out.set(0),
    }
    Ok(())
}

/// SISMEMBER key member -> 1 or 0.
pub fn sismember(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let has = db
        .read::<Set>(a.get(1))?
        .is_some_and(|s| s.contains(a.get(2)));
    out.int(has as i64);
    Ok(())
}

/// SMISMEMBER key member [member ...] -> 1 or 0 for each.
pub fn smismember(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let s = db.read::<Set>(a.get(1))?;
    out.array(a.len() - 2);
    for i in 2..a.len() {
        let has = s.as_ref().is_some_and(|s| s.contains(a.get(i)));
        out.int(has as i64);
    }
    Ok(())
}

/// SCARD key -> number of members (0 for a missing key).
pub fn scard(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = db.read::<Set>(a.get(1))?.map_or(0, |x| x.len());
    out.int(n as i64);
    Ok(())
}

/// SMOVE source destination member -> 1 if moved, 0 if the source lacks it.
pub fn smove(c: &mut Ctx, a: &Args) -> CmdResult {
    let (src, dst, m) = (a.get(1), a.get(2), a.get(3));
    let lim = c.eng.config.set_limits;
    let mut db = c.db();
    // Redis looks both keys up first; a missing source answers 0 whatever the destination.
    let is_set = |e: &mut crate::keyspace::Entry| matches!(e.val, Value::Set(_));
    let src_set = db.get(src).map(is_set);
    let dst_set = db.get(dst).map(is_set);
    let Some(src_set) = src_set else {
        c.out.int(0);
        return Ok(());
    };
    if !src_set || dst_set == Some(false) {
        return Err(CmdError::WrongType);
    }
    let s = db.write::<Set>(src)?.expect("looked up");
    if src == dst {
        let has = s.contains(m);
        c.out.int(has as i64);
        return Ok(());
    }
    if !s.remove(m) {
        c.out.int(0);
        return Ok(());
    }
    let emptied = s.is_empty();
    db.drop_if_empty(src);
    // Redis reports the removal before it creates the destination.
    notify_removal(c, "srem", src, emptied);
    let mut db = c.db();
    let d = db.or_new::<Set>(dst)?;
    if d.is_empty() {
        d.prepare(1, m, lim);
    }
    let added = d.insert(m, lim);
    c.dirty(1 + added as u64);
    if added {
        c.notify(ev::SET, "sadd", dst);
    }
    c.out.int(1);
    Ok(())
}

/// The events of removing members: `event`, then `del` if the set is gone.
fn notify_removal(c: &mut Ctx, event: &'static str, key: &[u8], emptied: bool) {
    c.notify(ev::SET, event, key);
    if emptied {
        c.notify(ev::GENERIC, "del", key);
    }
}

/// A SPOP count: Redis's `getPositiveLong` with its message for any bad value.
fn positive_count(s: &[u8]) -> Result<usize, CmdError> {
    parse_i64(s)
        .filter(|&n| n >= 0)
        .map(|n| n as usize)
        .ok_or_else(|| CmdError::err("value is out of range, must be positive"))
}

/// SPOP key [count] -> a random member (null if none), or up to `count` of them (a set in
/// RESP3), removed. Logged as the SREM of what it took (DEL when it took everything).
pub fn spop(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = a.get(1);
    if a.len() == 3 {
        return spop_count(c, key, positive_count(a.get(2))?);
    }
    let (mut db, rng, out) = c.db_rng_out();
    let Some(s) = db.write::<Set>(key)? else {
        out.null();
        return Ok(());
    };
    let i = rng.below(s.len() as u64) as usize;
    let m = s.take_index(i);
    out.bulk(&m);
    let emptied = s.is_empty();
    db.drop_if_empty(key);
    c.dirty(1);
    notify_removal(c, "spop", key, emptied);
    c.propagate(&[b"SREM", key, &m]);
    Ok(())
}

fn spop_count(c: &mut Ctx, key: &[u8], count: usize) -> CmdResult {
    let lim = c.eng.config.set_limits;
    let (mut db, rng, out) = c.db_rng_out();
    let Some(s) = db.write::<Set>(key)? else {
        out.set(0);
        return Ok(());
    };
    if count == 0 {
        out.set(0);
        return Ok(());
    }
    let size = s.len();
    if count >= size {
        // Everything, and the key goes. Redis replies with a copy built as SUNION builds
        // one (an intset when the members are integers, so they come out in numeric
        // order); an intset already is that copy.
        out.set(size);
        if s.encoding_name() != "intset" {
            for m in union_diff(&[Some(&*s)], false, lim).iter() {
                out.bulk(&m);
            }
        } else {
            for m in s.iter() {
                out.bulk(&m);
            }
        }
        db.db.delete_server(key);
        c.dirty(size as u64);
        notify_removal(c, "spop", key, true);
        c.propagate(&[b"DEL", key]);
        return Ok(());
    }
    let popped = s.pop_random(count, rng);
    out.set(count);
    for m in &popped {
        out.bulk(m);
    }
    c.dirty(count as u64);
    c.notify(ev::SET, "spop", key);
    let mut args: Vec<&[u8]> = Vec::with_capacity(2 + SREM_BATCH.min(count));
    for chunk in popped.chunks(SREM_BATCH) {
        args.clear();
        args.extend([&b"SREM"[..], key]);
        args.extend(chunk.iter().map(|m| &**m));
        c.propagate(&args);
    }
    Ok(())
}

/// SRANDMEMBER key [count] -> a random member (null if none); with a count, that many
/// distinct members (all if fewer), or with a negative count that many picks with
/// repetition.
pub fn srandmember(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if a.len() == 2 {
        let (mut db, rng, out) = c.db_rng_out();
        match db.read::<Set>(a.get(1))? {
            Some(s) => {
                let i = rng.below(s.len() as u64) as usize;
                out.bulk(&s.get_index(i).expect("in range"));
            }
            None => out.null(),
        }
        return Ok(());
    }
    let (count, _) = random_count(a, None)?;
    let (mut db, rng, out) = c.db_rng_out();
    let Some(s) = db.read::<Set>(a.get(1))? else {
        out.array(0);
        return Ok(());
    };
    let len = s.len();
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    if count > 0 && count as usize >= len {
        out.array(len);
        for m in s.iter() {
            out.bulk(&m);
        }
        return Ok(());
    }
    // Picks by position: a listpack is scanned from its start, so list it once.
    let listed: Vec<Val> = if s.encoding_name() == "listpack" {
        s.iter().collect()
    } else {
        Vec::new()
    };
    let at = |i: usize| match listed.get(i) {
        Some(&v) => v,
        None => s.get_index(i).expect("in range"),
    };
    if count < 0 || count == 1 {
        let n = count.unsigned_abs() as usize;
        out.array(n);
        for _ in 0..n {
            out.bulk(&at(rng.below(len as u64) as usize));
        }
        return Ok(());
    }
    // Distinct picks: a partial Fisher-Yates over positions, remembering only the swapped
    // ones, so a few picks from a million members cost a few steps.
    let n = count as usize;
    let mut moved: HashMap<usize, usize> = HashMap::new();
    out.array(n);
    for i in 0..n {
        let j = i + rng.below((len - i) as u64) as usize;
        let pick = moved.get(&j).copied().unwrap_or(j);
        let here = moved.get(&i).copied().unwrap_or(i);
        moved.insert(j, here);
        out.bulk(&at(pick));
    }
    Ok(())
}

/// The sets at `keys`, looked up as Redis does: each key read once (lazy expiry, keyspace
/// hits and misses), WRONGTYPE if any holds another type, a missing key as None.
fn sets_at<'d>(db: &'d mut DbView, keys: &[&[u8]]) -> Result<Vec<Option<&'d Set>>, CmdError> {
    for k in keys {
        db.read::<Set>(k)?;
    }
    let d: &'d crate::keyspace::Db = db.db;
    Ok(keys
        .iter()
        .map(|k| match d.peek_entry(k).map(|e| &e.val) {
            Some(Value::Set(s)) => Some(s),
            _ => None,
        })
        .collect())
}

fn keys_from<'a>(a: &Args<'a>, from: usize, to: usize) -> Vec<&'a [u8]> {
    (from..to).map(|i| a.get(i)).collect()
}

/// Calls `f` on each member of the intersection of `sets`, in the order of the smallest
/// set (the first of the smallest), as Redis iterates it; stops when `f` says so.
fn intersect<'s>(sets: &[&'s Set], mut f: impl FnMut(Val<'s>) -> bool) {
    let mut order: Vec<&Set> = sets.to_vec();
    order.sort_by_key(|s| s.len());
    let first = order[0];
    let rest: Vec<&Set> = order[1..]
        .iter()
        .copied()
        .filter(|s| !std::ptr::eq(*s, first))
        .collect();
    for m in first.iter() {
        if rest.iter().all(|s| s.contains(&m)) && !f(m) {
            break;
        }
    }
}

/// The union of the sets, or the members of the first that none of the others has, as a
/// new set built the way Redis builds it (an intset first, so integer results come out
/// in numeric order).
fn union_diff(sets: &[Option<&Set>], diff: bool, lim: SetLimits) -> Set {
    let mut d = Set::new();
    if !diff {
        for s in sets.iter().flatten() {
            for m in s.iter() {
                d.insert(&m, lim);
            }
        }
        return d;
    }
    let Some(first) = sets[0] else {
        return d;
    };
    let mut others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
    if others.iter().any(|s| std::ptr::eq(*s, first)) {
        return d;
    }
    // Redis's choice: look each member of the first set up in the others, or copy the
    // first set and remove the others' members, whichever does less work.
    let one = first.len() * (1 + others.len()) / 2;
    let two: usize = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
    if one <= two {
        others.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for m in first.iter() {
            if !others.iter().any(|s| s.contains(&m)) {
                d.insert(&m, lim);
            }
        }
    } else {
        for m in first.iter() {
            d.insert(&m, lim);
        }
        for s in others {
            for m in s.iter() {
                d.remove(&m);
            }
            if d.is_empty() {
                break;
            }
        }
    }
    d
}

/// All the sets if every key had one, None if one is missing (an empty intersection).
fn all_present(sets: Vec<Option<&Set>>) -> Option<Vec<&Set>> {
    sets.into_iter().collect()
}

/// SINTER key [key ...] -> the intersection (a set in RESP3).
pub fn sinter(c: &mut Ctx, a: &Args) -> CmdResult {
    let keys = keys_from(a, 1, a.len());
    let (mut db, out) = c.db_out();
    let Some(sets) = all_present(sets_at(&mut db, &keys)?) else {
        out.set(0);
        return Ok(());
    };
    let mut found = Vec::new();
    intersect(&sets, |m| {
        found.push(m);
        true
    });
    out.set(found.len());
    for m in &found {
        out.bulk(m);
    }
    Ok(())
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit] -> the intersection's size, counting
/// up to `limit` (0: no limit).
pub fn sintercard(c: &mut Ctx, a: &Args) -> CmdResult {
    let numkeys = parse_i64(a.get(1))
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    if numkeys > a.len() as i64 - 2 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0usize;
    let mut i = end;
    while i < a.len() {
        if a.is(i, "limit") && i + 1 < a.len() {
            limit = parse_i64(a.get(i + 1))
                .filter(|&n| n >= 0)
                .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?
                as usize;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys = keys_from(a, 2, end);
    let (mut db, out) = c.db_out();
    let mut n = 0usize;
    if let Some(sets) = all_present(sets_at(&mut db, &keys)?) {
        intersect(&sets, |_| {
            n += 1;
            limit == 0 || n < limit
        });
    }
    out.int(n as i64);
    Ok(())
}

/// SUNION key [key ...] -> the union (a set in RESP3).
pub fn sunion(c: &mut Ctx, a: &Args) -> CmdResult {
    union_diff_reply(c, a, false)
}

/// SDIFF key [key ...] -> the members of the first set no other has (a set in RESP3).
pub fn sdiff(c: &mut Ctx, a: &Args) -> CmdResult {
    union_diff_reply(c, a, true)
}

fn union_diff_reply(c: &mut Ctx, a: &Args, diff: bool) -> CmdResult {
    let lim = c.eng.config.set_limits;
    let keys = keys_from(a, 1, a.len());
    let (mut db, out) = c.db_out();
    let sets = sets_at(&mut db, &keys)?;
    let d = union_diff(&sets, diff, lim);
    out.set(d.len());
    for m in d.iter() {
        out.bulk(&m);
    }
    drop(sets);
    crate::lazyfree::free_value(Value::Set(d), db.db.lazy.server_del);
    Ok(())
}

/// SINTERSTORE destination key [key ...] -> size of the intersection stored.
pub fn sinterstore(c: &mut Ctx, a: &Args) -> CmdResult {
    let lim = c.eng.config.set_limits;
    let keys = keys_from(a, 2, a.len());
    let mut db = c.db();
    let d = match all_present(sets_at(&mut db, &keys)?) {
        None => Set::new(),
        Some(sets) => {
            let mut d = Set::new();
            intersect(&sets, |m| {
                d.insert(&m, lim);
                true
            });
            d
        }
    };
    store(c, a.get(1), d, "sinterstore");
    Ok(())
}

/// SUNIONSTORE destination key [key ...] -> size of the union stored.
pub fn sunionstore(c: &mut Ctx, a: &Args) -> CmdResult {
    union_diff_store(c, a, false)
}

/// SDIFFSTORE destination key [key ...] -> size of the difference stored.
pub fn sdiffstore(c: &mut Ctx, a: &Args) -> CmdResult {
    union_diff_store(c, a, true)
}

fn union_diff_store(c: &mut Ctx, a: &Args, diff: bool) -> CmdResult {
    let lim = c.eng.config.set_limits;
    let keys = keys_from(a, 2, a.len());
    let mut db = c.db();
    let d = union_diff(&sets_at(&mut db, &keys)?, diff, lim);
    let event = if diff { "sdiffstore" } else { "sunionstore" };
    store(c, a.get(1), d, event);
    Ok(())
}

/// Stores the result of a *STORE command at `dst` (replacing any value and deadline), or
/// deletes `dst` if the result is empty; replies with its size. Reports `event`, or
/// `del` for a destination the empty result removed.
fn store(c: &mut Ctx, dst: &[u8], d: Set, event: &'static str) {
    let n = d.len();
    let mut db = c.db();
    let changed = if n > 0 {
        db.db.set(dst, Value::Set(d), 0);
        c.notify(ev::SET, event, dst);
        true
    } else {
        let gone = db.get(dst).is_some() && db.db.delete_server(dst);
        if gone {
            c.notify(ev::GENERIC, "del", dst);
        }
        gone
    };
    c.dirty(changed as u64);
    c.out.int(n as i64);
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. A compact set comes whole in one call
/// (cursor 0), as in Redis; a table is walked by position like HSCAN.
pub fn sscan(c: &mut Ctx, a: &Args) -> CmdResult {
    let cursor = parse_cursor(a.get(2))?;
    let (mut db, out) = c.db_out();
    let Some(s) = db.read::<Set>(a.get(1))? else {
        out.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
        return Ok(());
    };
    let o = parse_scan_opts(a, 3, ScanOf::Set)?;
    let glob = o.pattern.map(|p| crate::glob::Glob::new(p, false));
    let keep = |m: &[u8]| glob.as_ref().is_none_or(|g| g.matches(m));
    let mut picked: Vec<Val> = Vec::new();
    let next = if s.is_compact() {
        picked.extend(s.iter().filter(|m| keep(m)));
        0
    } else {
        scan_positions(s.len(), cursor, o.count, |i| {
            let m = s.get_index(i).expect("in range");
            if keep(&m) {
                picked.push(m);
            }
        })
    };
    out.array(2);
    out.bulk_i64(next as i64);
    out.array(picked.len());
    for m in &picked {
        out.bulk(m);
    }
    Ok(())
}
