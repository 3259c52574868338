//! Key-space commands: deletion, existence, renaming and copying, expiry, iteration,
//! introspection (OBJECT, MEMORY USAGE) and database management (SELECT, FLUSH*, SWAPDB).

use super::expiry::{Cond, Rules, Unit, deadline};
use super::hash::{ScanOf, parse_cursor, parse_scan_opts, scan_positions};
use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx, help};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Entry;
use crate::notify::class as ev;
use crate::num::{arg_i64, fmt_i64};

const GENERIC: Command = Command {
    acl: acl::KEYSPACE,
    group: "generic",
    ..ROW
};
const SERVER: Command = Command {
    acl: acl::KEYSPACE,
    group: "server",
    ..ROW
};
const ALL_KEYS_SUM: &[&str] = &["request_policy:multi_shard", "response_policy:agg_sum"];
const ALL_SHARDS_OK: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];
const RANDOM: &[&str] = &["nondeterministic_output"];
const EXPIRE_KEY: &[KeySpec] = &[KeySpec::one(RW | UPDATE)];
const TTL_KEY: &[KeySpec] = &[KeySpec::one(RO | ACCESS)];
/// OBJECT's key, after the subcommand.
const OBJECT_KEY: &[KeySpec] = &[KeySpec::at(2, RO)];

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "del", arity: -2, flags: WRITE, keys: &[KeySpec::range(1, -1, 1, RM | DELETE)], tips: ALL_KEYS_SUM, handler: del, usage: "key [key ...]", summary: "Deletes keys.", ..GENERIC },
    Command { name: "unlink", arity: -2, flags: WRITE | FAST, keys: &[KeySpec::range(1, -1, 1, RM | DELETE)], tips: ALL_KEYS_SUM, handler: unlink, usage: "key [key ...]", summary: "Deletes keys, freeing big values in the background.", ..GENERIC },
    Command { name: "exists", arity: -2, flags: READONLY | FAST, keys: &[KeySpec::range(1, -1, 1, RO)], tips: ALL_KEYS_SUM, handler: exists, usage: "key [key ...]", summary: "Counts how many of the keys exist.", ..GENERIC },
    Command { name: "touch", arity: -2, flags: READONLY | FAST, keys: &[KeySpec::range(1, -1, 1, RO)], tips: ALL_KEYS_SUM, handler: exists, usage: "key [key ...]", summary: "Counts existing keys (and marks them used).", ..GENERIC },
    Command { name: "type", arity: 2, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: type_, usage: "key", summary: "Returns the type of a key's value.", ..GENERIC },
    Command { name: "keys", arity: 2, flags: READONLY, acl: acl::KEYSPACE | acl::DANGEROUS, tips: &["request_policy:all_shards", "nondeterministic_output_order"], handler: keys, usage: "pattern", summary: "Returns keys matching a pattern.", ..GENERIC },
    Command { name: "scan", arity: -2, flags: READONLY, tips: &["nondeterministic_output", "request_policy:special"], handler: scan, usage: "cursor [MATCH pattern] [COUNT count] [TYPE type]", summary: "Iterates over keys.", ..GENERIC },
    Command { name: "randomkey", arity: 1, flags: READONLY, tips: &["request_policy:all_shards", "nondeterministic_output"], handler: randomkey, summary: "Returns a random key.", ..GENERIC },
    Command { name: "rename", arity: 3, flags: WRITE, keys: &[KeySpec::one(RW | ACCESS | DELETE), KeySpec::at(2, OW | UPDATE)], handler: rename, usage: "key newkey", summary: "Renames a key.", ..GENERIC },
    Command { name: "renamenx", arity: 3, flags: WRITE | FAST, keys: &[KeySpec::one(RW | ACCESS | DELETE), KeySpec::at(2, OW | INSERT)], handler: renamenx, usage: "key newkey", summary: "Renames a key if the new name is free.", ..GENERIC },
    Command { name: "copy", arity: -3, flags: WRITE | DENYOOM, keys: &[KeySpec::one(RO | ACCESS), KeySpec::at(2, OW | UPDATE)], handler: copy, usage: "source destination [DB destination-db] [REPLACE]", summary: "Copies a key's value to another key.", ..GENERIC },
    Command { name: "move", arity: 3, flags: WRITE | FAST, keys: &[KeySpec::one(RW | ACCESS | UPDATE)], handler: move_, usage: "key db", summary: "Moves a key to another database.", ..GENERIC },
    Command { name: "expire", arity: -3, flags: WRITE | FAST, keys: EXPIRE_KEY, handler: expire, usage: "key seconds [NX | XX | GT | LT]", summary: "Sets a key's time to live in seconds.", ..GENERIC },
    Command { name: "pexpire", arity: -3, flags: WRITE | FAST, keys: EXPIRE_KEY, handler: pexpire, usage: "key milliseconds [NX | XX | GT | LT]", summary: "Sets a key's time to live in milliseconds.", ..GENERIC },
    Command { name: "expireat", arity: -3, flags: WRITE | FAST, keys: EXPIRE_KEY, handler: expireat, usage: "key unix-time-seconds [NX | XX | GT | LT]", summary: "Sets a key's expiry as a Unix time in seconds.", ..GENERIC },
    Command { name: "pexpireat", arity: -3, flags: WRITE | FAST, keys: EXPIRE_KEY, handler: pexpireat, usage: "key unix-time-milliseconds [NX | XX | GT | LT]", summary: "Sets a key's expiry as a Unix time in milliseconds.", ..GENERIC },
    Command { name: "ttl", arity: 2, flags: READONLY | FAST, keys: TTL_KEY, tips: RANDOM, handler: ttl, usage: "key", summary: "Returns a key's time to live in seconds.", ..GENERIC },
    Command { name: "pttl", arity: 2, flags: READONLY | FAST, keys: TTL_KEY, tips: RANDOM, handler: pttl, usage: "key", summary: "Returns a key's time to live in milliseconds.", ..GENERIC },
    Command { name: "expiretime", arity: 2, flags: READONLY | FAST, keys: TTL_KEY, handler: expiretime, usage: "key", summary: "Returns a key's expiry as a Unix time in seconds.", ..GENERIC },
    Command { name: "pexpiretime", arity: 2, flags: READONLY | FAST, keys: TTL_KEY, handler: pexpiretime, usage: "key", summary: "Returns a key's expiry as a Unix time in milliseconds.", ..GENERIC },
    Command { name: "persist", arity: 2, flags: WRITE | FAST, keys: EXPIRE_KEY, handler: persist, usage: "key", summary: "Removes a key's expiry.", ..GENERIC },
    Command { name: "object", arity: -2, acl: 0, summary: "Inspects a key's internals (OBJECT ENCODING).", subcommands: OBJECT, ..GENERIC },
    Command { name: "memory", arity: -2, acl: 0, group: "server", summary: "Reports memory use (MEMORY USAGE).", subcommands: MEMORY, ..GENERIC },
    Command { name: "dbsize", arity: 1, flags: READONLY | FAST, tips: &["request_policy:all_shards", "response_policy:agg_sum"], handler: dbsize, summary: "Returns the number of keys in the database.", ..SERVER },
    Command { name: "flushdb", arity: -1, flags: WRITE, acl: acl::KEYSPACE | acl::DANGEROUS, tips: ALL_SHARDS_OK, handler: flushdb, usage: "[ASYNC | SYNC]", summary: "Deletes every key of the database.", ..SERVER },
    Command { name: "flushall", arity: -1, flags: WRITE, acl: acl::KEYSPACE | acl::DANGEROUS, tips: ALL_SHARDS_OK, handler: flushall, usage: "[ASYNC | SYNC]", summary: "Deletes every key of every database.", ..SERVER },
    Command { name: "select", arity: 2, flags: LOADING | STALE | FAST, acl: acl::CONNECTION, group: "connection", handler: select, usage: "index", summary: "Selects the database.", ..ROW },
    Command { name: "swapdb", arity: 3, flags: WRITE | FAST, acl: acl::KEYSPACE | acl::DANGEROUS, handler: swapdb, usage: "index1 index2", summary: "Swaps two databases.", ..SERVER },
];

#[rustfmt::skip]
static OBJECT: &[Command] = &[
    Command { name: "object|encoding", arity: 3, flags: READONLY, keys: OBJECT_KEY, tips: RANDOM, handler: object_encoding, usage: "key", summary: "Returns the internal encoding of a key's value.", ..GENERIC },
    Command { name: "object|freq", arity: 3, flags: READONLY, keys: OBJECT_KEY, tips: RANDOM, handler: object_freq, usage: "key", summary: "Returns the access frequency of a key (LFU policies only).", ..GENERIC },
    Command { name: "object|idletime", arity: 3, flags: READONLY, keys: OBJECT_KEY, tips: RANDOM, handler: object_idletime, usage: "key", summary: "Returns the seconds since a key was last used.", ..GENERIC },
    Command { name: "object|refcount", arity: 3, flags: READONLY, keys: OBJECT_KEY, tips: RANDOM, handler: object_refcount, usage: "key", summary: "Returns the reference count of a key's value.", ..GENERIC },
    Command { name: "object|help", arity: 2, flags: LOADING | STALE, handler: object_help, summary: "Lists the OBJECT subcommands.", ..GENERIC },
];

#[rustfmt::skip]
static MEMORY: &[Command] = &[
    Command { name: "memory|usage", arity: -3, flags: READONLY, acl: 0, keys: OBJECT_KEY, handler: memory_usage, usage: "key [SAMPLES count]", summary: "Returns the bytes a key and its value use.", ..SERVER },
    Command { name: "memory|help", arity: 2, flags: LOADING | STALE, acl: 0, handler: memory_help, summary: "Lists the MEMORY subcommands.", ..SERVER },
];

/// DEL key [key ...] -> number of keys removed. Frees like UNLINK under
/// `lazyfree-lazy-user-del`.
pub fn del(c: &mut Ctx, a: &Args) -> CmdResult {
    let lazy = c.eng.config.lazyfree.user_del;
    remove_keys(c, a, lazy)
}

/// UNLINK key [key ...]: DEL whose big values are freed on the lazy-free thread.
pub fn unlink(c: &mut Ctx, a: &Args) -> CmdResult {
    remove_keys(c, a, true)
}

fn remove_keys(c: &mut Ctx, a: &Args, lazy: bool) -> CmdResult {
    let mut n = 0;
    for k in a.iter().skip(1) {
        let mut db = c.db();
        if db.get(k).is_some() {
            db.db.delete(k, lazy);
            n += 1;
            c.notify(ev::GENERIC, "del", k);
        }
    }
    c.dirty(n);
    c.out.int(n as i64);
    Ok(())
}

/// EXISTS / TOUCH key [key ...] -> how many exist (repeats count again).
pub fn exists(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = a.iter().skip(1).filter(|k| db.peek(k).is_some()).count();
    out.int(n as i64);
    Ok(())
}

/// TYPE key -> string, hash or none.
pub fn type_(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let t = db.peek(a.get(1)).map_or("none", |e| e.val.type_name());
    out.simple(t);
    Ok(())
}

/// KEYS pattern.
pub fn keys(c: &mut Ctx, a: &Args) -> CmdResult {
    let now = c.eng.now_ms;
    let pat = a.get(1);
    let all = pat == b"*";
    let db = &c.eng.ks.dbs[c.cl.db];
    let glob = crate::glob::Glob::new(pat, false);
    let found: Vec<&[u8]> = db
        .iter()
        .filter(|(k, e)| !e.expired(now) && (all || glob.matches(k)))
        .map(|(k, _)| k)
        .collect();
    c.out.array(found.len());
    for k in found {
        c.out.bulk(k);
    }
    Ok(())
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].
pub fn scan(c: &mut Ctx, a: &Args) -> CmdResult {
    let cursor = parse_cursor(a.get(1))?;
    let o = parse_scan_opts(a, 2, ScanOf::Keys)?;
    let now = c.eng.now_ms;
    let db = &c.eng.ks.dbs[c.cl.db];
    let glob = o.pattern.map(|p| crate::glob::Glob::new(p, false));
    let mut picked: Vec<&[u8]> = Vec::new();
    let next = scan_positions(db.len(), cursor, o.count, |i| {
        let (k, e) = db.key_at(i).expect("in range");
        if e.expired(now) {
            return;
        }
        if let Some(g) = &glob
            && !g.matches(k)
        {
            return;
        }
        if let Some(t) = &o.type_name
            && e.val.type_name() != t
        {
            return;
        }
        picked.push(k);
    });
    c.out.array(2);
    c.out.bulk_i64(next as i64);
    c.out.array(picked.len());
    for k in picked {
        c.out.bulk(k);
    }
    Ok(())
}

/// RANDOMKEY -> a random live key or null.
pub fn randomkey(c: &mut Ctx, _a: &Args) -> CmdResult {
    let now = c.eng.now_ms;
    let ks = &mut c.eng.ks;
    let db = &mut ks.dbs[c.cl.db];
    // Expired keys met on the way are removed; give up after a bounded number of tries.
    for _ in 0..100 {
        if db.is_empty() {
            break;
        }
        let i = c.eng.rng.below(db.len() as u64) as usize;
        let (k, e) = db.key_at(i).expect("in range");
        if e.expired(now) {
            // Through the expiry path, so the write stream gets a DEL and a running
            // snapshot keeps the entry.
            let k = k.to_vec();
            db.get(&k, now, &mut ks.stats);
            continue;
        }
        c.out.bulk(k);
        return Ok(());
    }
    c.out.null();
    Ok(())
}

fn rename_impl(c: &mut Ctx, a: &Args, nx: bool) -> CmdResult {
    let (src, dst) = (a.get(1), a.get(2));
    let mut db = c.db();
    if db.get(src).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        if nx {
            c.out.int(0);
        } else {
            c.out.ok();
        }
        return Ok(());
    }
    if nx && db.get(dst).is_some() {
        c.out.int(0);
        return Ok(());
    }
    let moved = db.db.remove(src).expect("checked");
    let (exp, val) = (moved.exp(), moved.val);
    db.db.delete_server(dst);
    db.db.set(dst, val, exp);
    c.dirty(1);
    c.notify(ev::GENERIC, "rename_from", src);
    c.notify(ev::GENERIC, "rename_to", dst);
    if nx {
        c.out.int(1);
    } else {
        c.out.ok();
    }
    Ok(())
}

/// RENAME key newkey.
pub fn rename(c: &mut Ctx, a: &Args) -> CmdResult {
    rename_impl(c, a, false)
}

/// RENAMENX key newkey -> 1 if renamed, 0 if newkey exists.
pub fn renamenx(c: &mut Ctx, a: &Args) -> CmdResult {
    rename_impl(c, a, true)
}

/// Parses a database index argument, with Redis's two errors.
fn db_index(c: &Ctx, s: &[u8]) -> Result<usize, CmdError> {
    let n = arg_i64(s)?;
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        return Err(CmdError::NotInteger);
    }
    if n < 0 || n as usize >= c.eng.ks.dbs.len() {
        return Err(CmdError::DbIndex);
    }
    Ok(n as usize)
}

/// COPY source destination [DB index] [REPLACE] -> 1 if copied.
pub fn copy(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut dst_db = c.cl.db;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if a.is(i, "replace") {
            replace = true;
            i += 1;
        } else if a.is(i, "db") && i + 1 < a.len() {
            dst_db = db_index(c, a.get(i + 1))?;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (src, dst) = (a.get(1), a.get(2));
    if dst_db == c.cl.db && src == dst {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    let now = c.eng.expiry_clock();
    if dst_db != c.cl.db {
        // The key spec of COPY names the destination in the current database only:
        // copy-before-write and WATCH are told about the other one here.
        c.eng.before_write(dst_db, dst);
    }
    let ks = &mut c.eng.ks;
    let Some(e) = ks.dbs[c.cl.db].get(src, now, &mut ks.stats).cloned() else {
        c.out.int(0);
        return Ok(());
    };
    let target = &mut ks.dbs[dst_db];
    if target.get(dst, now, &mut ks.stats).is_some() {
        if !replace {
            c.out.int(0);
            return Ok(());
        }
        target.remove(dst);
    }
    let exp = e.exp();
    target.set(dst, e.val, exp);
    if dst_db != c.cl.db {
        c.eng.touch_key(dst_db, dst);
    }
    c.dirty(1);
    c.eng.notify(ev::GENERIC, "copy_to", dst_db, dst);
    c.out.int(1);
    Ok(())
}

/// MOVE key db -> 1 if moved.
pub fn move_(c: &mut Ctx, a: &Args) -> CmdResult {
    let to = db_index(c, a.get(2))?;
    if to == c.cl.db {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    let now = c.eng.expiry_clock();
    let key = a.get(1);
    let ks = &mut c.eng.ks;
    if ks.dbs[c.cl.db].get(key, now, &mut ks.stats).is_none()
        || ks.dbs[to].get(key, now, &mut ks.stats).is_some()
    {
        c.out.int(0);
        return Ok(());
    }
    let e = ks.dbs[c.cl.db].remove(key).expect("checked");
    let exp = e.exp();
    ks.dbs[to].set(key, e.val, exp);
    c.eng.touch_key(to, key);
    c.dirty(1);
    c.notify(ev::GENERIC, "move_from", key);
    c.eng.notify(ev::GENERIC, "move_to", to, key);
    c.out.int(1);
    Ok(())
}

/// Shared body of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT.
fn expire_generic(c: &mut Ctx, a: &Args, unit: Unit) -> CmdResult {
    let mut cond = Cond::default();
    for i in 3..a.len() {
        if !cond.add(a.get(i)) {
            return Err(CmdError::err(format!("Unsupported option {}", a.text(i))));
        }
    }
    cond.check()?;
    let when = deadline(a, 2, unit, c.eng.now_ms, Rules::Key)?;
    let mut db = c.db();
    let key = a.get(1);
    let Some(e) = db.get(key) else {
        c.out.int(0);
        return Ok(());
    };
    let current = (e.exp() != 0).then_some(e.exp());
    if cond.refuses(current, when) {
        c.out.int(0);
        return Ok(());
    }
    if c.already_expired(when) {
        let lazy = c.eng.config.lazyfree.expire;
        c.db().db.delete(key, lazy);
        c.notify(ev::GENERIC, "del", key);
        c.propagate(&[b"DEL", key]);
    } else {
        c.db().db.set_expire(key, when);
        c.notify(ev::GENERIC, "expire", key);
        let mut t = [0u8; 20];
        c.propagate(&[b"PEXPIREAT", key, fmt_i64(when, &mut t)]);
    }
    c.dirty(1);
    c.out.int(1);
    Ok(())
}

/// EXPIRE key seconds [NX|XX|GT|LT].
pub fn expire(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Unit::EX)
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT].
pub fn pexpire(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Unit::PX)
}

/// EXPIREAT key unix-seconds [NX|XX|GT|LT].
pub fn expireat(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Unit::EXAT)
}

/// PEXPIREAT key unix-ms [NX|XX|GT|LT].
pub fn pexpireat(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Unit::PXAT)
}

/// The expiry of `key` for TTL-like replies: -2 missing, -1 none, else absolute ms.
fn expiry_of(c: &mut Ctx, key: &[u8]) -> i64 {
    let mut db = c.db();
    db.peek_read(key).map_or(-2, |e| e.ttl_or_none())
}

/// TTL key -> seconds left (rounded), -1 or -2.
pub fn ttl(c: &mut Ctx, a: &Args) -> CmdResult {
    let e = expiry_of(c, a.get(1));
    let v = if e < 0 {
        e
    } else {
        ((e - c.eng.now_ms).max(0) + 500) / 1000
    };
    c.out.int(v);
    Ok(())
}

/// PTTL key -> milliseconds left, -1 or -2.
pub fn pttl(c: &mut Ctx, a: &Args) -> CmdResult {
    let e = expiry_of(c, a.get(1));
    let v = if e < 0 { e } else { (e - c.eng.now_ms).max(0) };
    c.out.int(v);
    Ok(())
}

/// EXPIRETIME key -> absolute Unix seconds, -1 or -2.
pub fn expiretime(c: &mut Ctx, a: &Args) -> CmdResult {
    let e = expiry_of(c, a.get(1));
    // Redis rounds to the nearest second here (TTL rounds the same way).
    c.out.int(if e < 0 { e } else { (e + 500) / 1000 });
    Ok(())
}

/// PEXPIRETIME key -> absolute Unix milliseconds, -1 or -2.
pub fn pexpiretime(c: &mut Ctx, a: &Args) -> CmdResult {
    let e = expiry_of(c, a.get(1));
    c.out.int(e);
    Ok(())
}

/// PERSIST key -> 1 if an expiry was removed.
pub fn persist(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut db = c.db();
    let had = db.get(a.get(1)).is_some_and(|e| e.exp() != 0);
    if had {
        db.db.set_expire(a.get(1), 0);
        c.dirty(1);
        c.notify(ev::GENERIC, "persist", a.get(1));
    }
    c.out.int(had as i64);
    Ok(())
}

/// OBJECT HELP.
fn object_help(c: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        c,
        &[
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Print this help.",
        ],
    )
}

/// Runs `f` on the entry OBJECT asks about; a missing key replies null.
fn with_object(
    c: &mut Ctx,
    a: &Args,
    f: impl FnOnce(&Entry, &mut crate::resp::reply::Reply) -> CmdResult,
) -> CmdResult {
    let (mut db, out) = c.db_out();
    match db.peek(a.get(2)) {
        Some(e) => f(e, out),
        None => {
            out.null();
            Ok(())
        }
    }
}

/// OBJECT ENCODING key.
fn object_encoding(c: &mut Ctx, a: &Args) -> CmdResult {
    with_object(c, a, |e, out| {
        out.bulk_str(e.val.encoding_name());
        Ok(())
    })
}

/// OBJECT REFCOUNT key: values are never shared.
fn object_refcount(c: &mut Ctx, a: &Args) -> CmdResult {
    with_object(c, a, |_, out| {
        out.int(1);
        Ok(())
    })
}

/// OBJECT IDLETIME key: seconds since the key was last used (not under an LFU policy,
/// whose counters take the clock's place). A key whose deadline is over 17 years away
/// keeps no clock (see `keyspace/entry.rs`) and reads as just used.
fn object_idletime(c: &mut Ctx, a: &Args) -> CmdResult {
    let mm = c.eng.config.maxmemory;
    let clock = crate::keyspace::entry::lru_clock(c.eng.now_ms);
    with_object(c, a, |e, out| {
        if mm.policy.lfu() {
            return Err(CmdError::err(
                "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ));
        }
        let idle = e
            .clock()
            .map_or(0, |c| crate::keyspace::entry::idle_secs(clock, c));
        out.int(idle as i64);
        Ok(())
    })
}

/// OBJECT FREQ key: the key's logarithmic access counter, decayed to now (LFU policies
/// only).
fn object_freq(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mm, now) = (c.eng.config.maxmemory, c.eng.now_ms);
    with_object(c, a, |e, out| {
        if !mm.policy.lfu() {
            return Err(CmdError::err(
                "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ));
        }
        let freq = e.clock().map_or(crate::keyspace::entry::lfu::INIT, |c| {
            crate::keyspace::entry::lfu::decayed(c, now, mm.lfu_decay_time)
        });
        out.int(freq as i64);
        Ok(())
    })
}

/// MEMORY HELP.
fn memory_help(c: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        c,
        &[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Print this help.",
        ],
    )
}

/// MEMORY USAGE key [SAMPLES n].
fn memory_usage(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut i = 3;
    // Redis's default: five nested elements stand for all of them.
    let mut samples = 5;
    while i < a.len() {
        if a.is(i, "samples") && i + 1 < a.len() {
            let n = arg_i64(a.get(i + 1))?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
            samples = n as usize;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (mut db, out) = c.db_out();
    let key = a.get(2);
    match db.peek(key) {
        Some(e) => out.int(crate::keyspace::entry::key_memory(key, e, samples) as i64),
        None => out.null(),
    }
    Ok(())
}

/// DBSIZE.
pub fn dbsize(c: &mut Ctx, _a: &Args) -> CmdResult {
    let n = c.eng.ks.dbs[c.cl.db].len();
    c.out.int(n as i64);
    Ok(())
}

/// True if a FLUSHALL/FLUSHDB frees lazily: ASYNC, or no mode and
/// `lazyfree-lazy-user-flush`.
fn flush_lazy(c: &Ctx, a: &Args) -> Result<bool, CmdError> {
    match a.len() {
        1 => Ok(c.eng.config.lazyfree.user_flush),
        2 if a.is(1, "async") => Ok(true),
        2 if a.is(1, "sync") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

/// FLUSHDB [ASYNC|SYNC].
pub fn flushdb(c: &mut Ctx, a: &Args) -> CmdResult {
    let lazy = flush_lazy(c, a)?;
    let db = c.cl.db;
    c.eng.touch_db(db);
    let n = c.eng.ks.dbs[db].len() as u64;
    c.eng.ks.dbs[db].clear(lazy);
    c.dirty(n.max(1));
    c.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC|SYNC].
pub fn flushall(c: &mut Ctx, a: &Args) -> CmdResult {
    let lazy = flush_lazy(c, a)?;
    let mut n = 0;
    for i in 0..c.eng.ks.dbs.len() {
        c.eng.touch_db(i);
        n += c.eng.ks.dbs[i].len() as u64;
        c.eng.ks.dbs[i].clear(lazy);
    }
    c.dirty(n.max(1));
    c.out.ok();
    Ok(())
}

/// SELECT index.
pub fn select(c: &mut Ctx, a: &Args) -> CmdResult {
    let i = db_index(c, a.get(1))?;
    c.cl.db = i;
    c.out.ok();
    Ok(())
}

/// SWAPDB index1 index2.
pub fn swapdb(c: &mut Ctx, a: &Args) -> CmdResult {
    let parse = |s: &[u8], which: &str| -> Result<i64, CmdError> {
        crate::num::parse_i64(s)
            .filter(|n| *n >= i32::MIN as i64 && *n <= i32::MAX as i64)
            .ok_or_else(|| CmdError::err(format!("invalid {which} DB index")))
    };
    let x = parse(a.get(1), "first")?;
    let y = parse(a.get(2), "second")?;
    let n = c.eng.ks.dbs.len() as i64;
    if x < 0 || x >= n || y < 0 || y >= n {
        return Err(CmdError::DbIndex);
    }
    let (x, y) = (x as usize, y as usize);
    if x != y {
        c.eng.touch_db(x);
        c.eng.touch_db(y);
        c.eng.ks.swap_dbs(x, y);
        c.eng.touch_db(x);
        c.eng.touch_db(y);
        c.dirty(1);
    }
    c.out.ok();
    Ok(())
}
