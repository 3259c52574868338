//! Key-space commands: deletion, existence, renaming and copying, expiry, iteration,
//! introspection (OBJECT, MEMORY USAGE) and database management (SELECT, FLUSH*, SWAPDB).

use super::hash::{parse_cursor, parse_scan_opts, scan_positions};
use super::{Args, Ctx, help};
use crate::aof::record::int_arg;
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Entry;
use crate::num::arg_i64;

/// DEL / UNLINK key [key ...] -> number of keys removed.
pub fn del(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut db = c.db();
    let mut n = 0;
    for k in a.iter().skip(1) {
        if db.get(k).is_some() {
            db.db.remove(k);
            n += 1;
        }
    }
    c.dirty(n);
    c.out.int(n as i64);
    Ok(())
}

/// EXISTS / TOUCH key [key ...] -> how many exist (repeats count again).
pub fn exists(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = a.iter().skip(1).filter(|k| db.get(k).is_some()).count();
    out.int(n as i64);
    Ok(())
}

/// TYPE key -> string, hash or none.
pub fn type_(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let t = db.get(a.get(1)).map_or("none", |e| e.val.type_name());
    out.simple(t);
    Ok(())
}

/// KEYS pattern.
pub fn keys(c: &mut Ctx, a: &Args) -> CmdResult {
    let now = c.srv.now_ms;
    let pat = a.get(1);
    let all = pat == b"*";
    let db = &c.srv.ks.dbs[c.cl.db];
    let found: Vec<&[u8]> = db
        .iter()
        .filter(|(k, e)| {
            (e.exp == 0 || e.exp > now) && (all || crate::glob::glob_match(pat, k, false))
        })
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
    let o = parse_scan_opts(a, 2, true)?;
    let now = c.srv.now_ms;
    let db = &c.srv.ks.dbs[c.cl.db];
    let mut picked: Vec<&[u8]> = Vec::new();
    let next = scan_positions(db.len(), cursor, o.count, |i| {
        let (k, e) = db.key_at(i).expect("in range");
        if e.exp != 0 && e.exp <= now {
            return;
        }
        if let Some(p) = o.pattern
            && !crate::glob::glob_match(p, k, false)
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
    c.out.bulk(next.to_string().as_bytes());
    c.out.array(picked.len());
    for k in picked {
        c.out.bulk(k);
    }
    Ok(())
}

/// RANDOMKEY -> a random live key or null.
pub fn randomkey(c: &mut Ctx, _a: &Args) -> CmdResult {
    let now = c.srv.now_ms;
    let ks = &mut c.srv.ks;
    let db = &mut ks.dbs[c.cl.db];
    // Expired keys met on the way are removed; give up after a bounded number of tries.
    for _ in 0..100 {
        if db.is_empty() {
            break;
        }
        let i = c.srv.rng.below(db.len() as u64) as usize;
        let (k, e) = db.key_at(i).expect("in range");
        if e.exp != 0 && e.exp <= now {
            // Through the expiry path, so the AOF logs a DEL and a rewrite's snapshot
            // keeps the entry.
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
    let Entry { val, exp } = db.db.remove(src).expect("checked");
    db.db.remove(dst);
    db.db.set(dst, val, exp);
    c.dirty(1);
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
    if n < 0 || n as usize >= c.srv.ks.dbs.len() {
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
    let now = c.srv.expiry_clock();
    if dst_db != c.cl.db {
        // The key list of COPY names the destination in the current database only.
        c.srv.rewrite_touch(dst_db, dst);
    }
    let ks = &mut c.srv.ks;
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
    target.set(dst, e.val, e.exp);
    c.dirty(1);
    c.out.int(1);
    Ok(())
}

/// MOVE key db -> 1 if moved.
pub fn move_(c: &mut Ctx, a: &Args) -> CmdResult {
    let n = arg_i64(a.get(2))?;
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        return Err(CmdError::NotInteger);
    }
    if n < 0 || n as usize >= c.srv.ks.dbs.len() {
        return Err(CmdError::DbIndex);
    }
    let to = n as usize;
    if to == c.cl.db {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    let now = c.srv.expiry_clock();
    let key = a.get(1);
    let ks = &mut c.srv.ks;
    if ks.dbs[c.cl.db].get(key, now, &mut ks.stats).is_none()
        || ks.dbs[to].get(key, now, &mut ks.stats).is_some()
    {
        c.out.int(0);
        return Ok(());
    }
    let e = ks.dbs[c.cl.db].remove(key).expect("checked");
    ks.dbs[to].set(key, e.val, e.exp);
    c.srv.touch_key(to, key);
    c.dirty(1);
    c.out.int(1);
    Ok(())
}

/// Shared body of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT.
fn expire_generic(c: &mut Ctx, a: &Args, ms: bool, abs: bool) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for i in 3..a.len() {
        if a.is(i, "nx") {
            nx = true;
        } else if a.is(i, "xx") {
            xx = true;
        } else if a.is(i, "gt") {
            gt = true;
        } else if a.is(i, "lt") {
            lt = true;
        } else {
            return Err(CmdError::err(format!("Unsupported option {}", a.text(i))));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    let name = a.text(0).to_ascii_lowercase();
    let bad = || CmdError::InvalidExpire(name.clone());
    let mut when = arg_i64(a.get(2))?;
    if !ms {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(bad());
        }
        when *= 1000;
    }
    let now = c.srv.now_ms;
    if !abs {
        if when > i64::MAX - now {
            return Err(bad());
        }
        when += now;
    }
    let mut db = c.db();
    let key = a.get(1);
    let Some(e) = db.get(key) else {
        c.out.int(0);
        return Ok(());
    };
    let cur = if e.exp == 0 { -1 } else { e.exp };
    let refuse = (nx && cur != -1)
        || (xx && cur == -1)
        || (gt && (cur == -1 || when <= cur))
        || (lt && cur != -1 && when >= cur);
    if refuse {
        c.out.int(0);
        return Ok(());
    }
    let _ = now;
    if c.already_expired(when) {
        c.db().db.remove(key);
        c.propagate(&[b"DEL", key]);
    } else {
        c.db().db.set_expire(key, when);
        let mut t = [0u8; 20];
        c.propagate(&[b"PEXPIREAT", key, int_arg(when, &mut t)]);
    }
    c.dirty(1);
    c.out.int(1);
    Ok(())
}

/// EXPIRE key seconds [NX|XX|GT|LT].
pub fn expire(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, false, false)
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT].
pub fn pexpire(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, true, false)
}

/// EXPIREAT key unix-seconds [NX|XX|GT|LT].
pub fn expireat(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, false, true)
}

/// PEXPIREAT key unix-ms [NX|XX|GT|LT].
pub fn pexpireat(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, true, true)
}

/// The expiry of `key` for TTL-like replies: -2 missing, -1 none, else absolute ms.
fn expiry_of(c: &mut Ctx, key: &[u8]) -> i64 {
    let mut db = c.db();
    match db.get_read(key) {
        None => -2,
        Some(e) if e.exp == 0 => -1,
        Some(e) => e.exp,
    }
}

/// TTL key -> seconds left (rounded), -1 or -2.
pub fn ttl(c: &mut Ctx, a: &Args) -> CmdResult {
    let e = expiry_of(c, a.get(1));
    let v = if e < 0 {
        e
    } else {
        ((e - c.srv.now_ms).max(0) + 500) / 1000
    };
    c.out.int(v);
    Ok(())
}

/// PTTL key -> milliseconds left, -1 or -2.
pub fn pttl(c: &mut Ctx, a: &Args) -> CmdResult {
    let e = expiry_of(c, a.get(1));
    let v = if e < 0 { e } else { (e - c.srv.now_ms).max(0) };
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
    let had = db.get(a.get(1)).is_some_and(|e| e.exp != 0);
    if had {
        db.db.set_expire(a.get(1), 0);
        c.dirty(1);
    }
    c.out.int(had as i64);
    Ok(())
}

/// OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP.
pub fn object(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.is(1, "help") && a.len() == 2 {
        return help(
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
        );
    }
    let sub = ["encoding", "refcount", "idletime", "freq"]
        .into_iter()
        .find(|s| a.is(1, s));
    let Some(sub) = sub else {
        return Err(super::unknown_subcommand(a, "OBJECT"));
    };
    super::sub_arity(a, 3)?;
    let (mut db, out) = c.db_out();
    let Some(e) = db.get(a.get(2)) else {
        out.null();
        return Ok(());
    };
    match sub {
        "encoding" => out.bulk_str(e.val.encoding_name()),
        "refcount" => out.int(1),
        "idletime" => out.int(0),
        _ => {
            return Err(CmdError::err(
                "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ));
        }
    }
    Ok(())
}

/// Bytes a key costs: its table entry (key stored inline when short), the index slot, the
/// key's heap bytes if long, the value's heap, and an expiry index slot if it has a TTL.
pub fn key_memory(key: &[u8], e: &Entry) -> usize {
    use crate::types::bytes::INLINE_MAX;
    // The keyspace slot: key and entry, and the index's share (a 4-byte position and a
    // control byte per slot, slots at most 7/8 full and on average 3/4).
    let slot = std::mem::size_of::<crate::types::bytes::Bytes>() + std::mem::size_of::<Entry>() + 7;
    let key_heap = if key.len() > INLINE_MAX {
        crate::types::alloc_size(key.len())
    } else {
        0
    };
    // A key with a deadline is also in the expiry set: hash, key, index share.
    let ttl = if e.exp != 0 {
        8 + 24 + 12 + key_heap
    } else {
        0
    };
    slot + key_heap + e.val.heap_bytes() + ttl
}

/// MEMORY USAGE key [SAMPLES n] | MEMORY HELP.
pub fn memory(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.is(1, "help") && a.len() == 2 {
        return help(
            c,
            &[
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Print this help.",
            ],
        );
    }
    if !a.is(1, "usage") {
        return Err(super::unknown_subcommand(a, "MEMORY"));
    }
    super::sub_arity(a, -3)?;
    let mut i = 3;
    while i < a.len() {
        if a.is(i, "samples") && i + 1 < a.len() {
            let n = arg_i64(a.get(i + 1))?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (mut db, out) = c.db_out();
    let key = a.get(2);
    match db.get(key) {
        Some(e) => out.int(key_memory(key, e) as i64),
        None => out.null(),
    }
    Ok(())
}

/// DBSIZE.
pub fn dbsize(c: &mut Ctx, _a: &Args) -> CmdResult {
    let n = c.srv.ks.dbs[c.cl.db].len();
    c.out.int(n as i64);
    Ok(())
}

fn flush_mode(a: &Args) -> CmdResult {
    match a.len() {
        1 => Ok(()),
        2 if a.is(1, "async") || a.is(1, "sync") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

/// FLUSHDB [ASYNC|SYNC].
pub fn flushdb(c: &mut Ctx, a: &Args) -> CmdResult {
    flush_mode(a)?;
    let db = c.cl.db;
    c.srv.touch_db(db);
    let n = c.srv.ks.dbs[db].len() as u64;
    c.srv.ks.dbs[db].clear();
    c.dirty(n.max(1));
    c.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC|SYNC].
pub fn flushall(c: &mut Ctx, a: &Args) -> CmdResult {
    flush_mode(a)?;
    let mut n = 0;
    for i in 0..c.srv.ks.dbs.len() {
        c.srv.touch_db(i);
        n += c.srv.ks.dbs[i].len() as u64;
        c.srv.ks.dbs[i].clear();
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
    let n = c.srv.ks.dbs.len() as i64;
    if x < 0 || x >= n || y < 0 || y >= n {
        return Err(CmdError::DbIndex);
    }
    let (x, y) = (x as usize, y as usize);
    if x != y {
        c.srv.touch_db(x);
        c.srv.touch_db(y);
        c.srv.ks.dbs.swap(x, y);
        for d in [x, y] {
            // A rewrite walking these databases would now write keys under the wrong index.
            let db = &mut c.srv.ks.dbs[d];
            if db.snap_active {
                db.snap_broken = true;
            }
        }
        c.srv.touch_db(x);
        c.srv.touch_db(y);
        c.dirty(1);
    }
    c.out.ok();
    Ok(())
}
