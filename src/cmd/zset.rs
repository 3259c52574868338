//! Sorted set commands: ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK
//! ZREVRANK ZRANGE ZRANGESTORE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX
//! ZREVRANGEBYLEX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP
//! ZRANDMEMBER ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD ZSCAN.
//!
//! Arguments are checked in the order Redis 7.0 checks them, so the same bad input gets
//! the same error; scores are printed as Redis 7.0 prints them (`%.17g`, a double in
//! RESP3). What the write stream records is what Redis propagates: the command itself,
//! except ZMPOP, recorded as `ZPOPMIN|ZPOPMAX key count`.

use crate::notify::class as ev;
use std::borrow::Cow;
use std::collections::HashMap;

use super::blocking::parse_timeout;
use super::table::{Command, KeySpec, ROW, acl, flags::*, ks::*};
use super::{Args, Ctx};
use crate::client::TimeoutReply;
use crate::error::{CmdError, CmdResult};
use crate::num::{arg_i64, parse_i64, parse_range_score, parse_score};
use crate::resp::reply::Reply;
use crate::types::bytes::Bytes;
use crate::types::listpack::Val;
use crate::types::zset::{LexBound, LexRange, ScoreRange, ZLimits, cmp_key};
use crate::types::{Set, Value, ZSet};

const ROW_SORTEDSET: Command = Command {
    acl: acl::SORTEDSET,
    group: "sorted_set",
    ..ROW
};
const RANDOM: &[&str] = &["nondeterministic_output"];
const RO_ACCESS: &[KeySpec] = &[KeySpec::one(RO | ACCESS)];
const RW_DELETE: &[KeySpec] = &[KeySpec::one(RW | DELETE)];
const POP_KEYS: &[KeySpec] = &[KeySpec::one(RW | ACCESS | DELETE)];
const NUMKEYS_RO: &[KeySpec] = &[KeySpec::keynum(1, 0, 1, 1, RO | ACCESS)];
const STORE_NUMKEYS: &[KeySpec] = &[
    KeySpec::at(1, OW | UPDATE),
    KeySpec::keynum(2, 0, 1, 1, RO | ACCESS),
];

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { name: "zadd", arity: -4, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(RW | UPDATE)], handler: zadd, usage: "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]", summary: "Adds members to a sorted set, or updates their scores.", ..ROW_SORTEDSET },
    Command { name: "zincrby", arity: 4, flags: WRITE | DENYOOM | FAST, keys: &[KeySpec::one(RW | ACCESS | UPDATE)], handler: zincrby, usage: "key increment member", summary: "Adds to the score of a sorted set member.", ..ROW_SORTEDSET },
    Command { name: "zrem", arity: -3, flags: WRITE | FAST, keys: &[KeySpec::one(RW | DELETE)], handler: zrem, usage: "key member [member ...]", summary: "Removes members from a sorted set.", ..ROW_SORTEDSET },
    Command { name: "zscore", arity: 3, flags: READONLY | FAST, keys: RO_ACCESS, handler: zscore, usage: "key member", summary: "Returns the score of a sorted set member.", ..ROW_SORTEDSET },
    Command { name: "zmscore", arity: -3, flags: READONLY | FAST, keys: RO_ACCESS, handler: zmscore, usage: "key member [member ...]", summary: "Returns the scores of several sorted set members.", ..ROW_SORTEDSET },
    Command { name: "zcard", arity: 2, flags: READONLY | FAST, keys: &[KeySpec::one(RO)], handler: zcard, usage: "key", summary: "Returns the number of members in a sorted set.", ..ROW_SORTEDSET },
    Command { name: "zcount", arity: 4, flags: READONLY | FAST, keys: RO_ACCESS, handler: zcount, usage: "key min max", summary: "Counts the members whose score is in a range.", ..ROW_SORTEDSET },
    Command { name: "zlexcount", arity: 4, flags: READONLY | FAST, keys: RO_ACCESS, handler: zlexcount, usage: "key min max", summary: "Counts the members in a lexicographical range.", ..ROW_SORTEDSET },
    Command { name: "zrank", arity: 3, flags: READONLY | FAST, keys: RO_ACCESS, handler: zrank, usage: "key member", summary: "Returns the rank of a member, lowest score first.", ..ROW_SORTEDSET },
    Command { name: "zrevrank", arity: 3, flags: READONLY | FAST, keys: RO_ACCESS, handler: zrevrank, usage: "key member", summary: "Returns the rank of a member, highest score first.", ..ROW_SORTEDSET },
    Command { name: "zrange", arity: -4, flags: READONLY, keys: RO_ACCESS, handler: zrange, usage: "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]", summary: "Returns members in a range of ranks, scores or members.", ..ROW_SORTEDSET },
    Command { name: "zrangestore", arity: -5, flags: WRITE | DENYOOM, keys: &[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS)], handler: zrangestore, usage: "dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]", summary: "Stores a range of a sorted set in another key.", ..ROW_SORTEDSET },
    Command { name: "zrevrange", arity: -4, flags: READONLY, keys: RO_ACCESS, handler: zrevrange, usage: "key start stop [WITHSCORES]", summary: "Returns members in a range of ranks, highest score first.", ..ROW_SORTEDSET },
    Command { name: "zrangebyscore", arity: -4, flags: READONLY, keys: RO_ACCESS, handler: zrangebyscore, usage: "key min max [WITHSCORES] [LIMIT offset count]", summary: "Returns members in a range of scores.", ..ROW_SORTEDSET },
    Command { name: "zrevrangebyscore", arity: -4, flags: READONLY, keys: RO_ACCESS, handler: zrevrangebyscore, usage: "key max min [WITHSCORES] [LIMIT offset count]", summary: "Returns members in a range of scores, highest first.", ..ROW_SORTEDSET },
    Command { name: "zrangebylex", arity: -4, flags: READONLY, keys: RO_ACCESS, handler: zrangebylex, usage: "key min max [LIMIT offset count]", summary: "Returns members in a lexicographical range.", ..ROW_SORTEDSET },
    Command { name: "zrevrangebylex", arity: -4, flags: READONLY, keys: RO_ACCESS, handler: zrevrangebylex, usage: "key max min [LIMIT offset count]", summary: "Returns members in a lexicographical range, in reverse.", ..ROW_SORTEDSET },
    Command { name: "zremrangebyrank", arity: 4, flags: WRITE, keys: RW_DELETE, handler: zremrangebyrank, usage: "key start stop", summary: "Removes members in a range of ranks.", ..ROW_SORTEDSET },
    Command { name: "zremrangebyscore", arity: 4, flags: WRITE, keys: RW_DELETE, handler: zremrangebyscore, usage: "key min max", summary: "Removes members in a range of scores.", ..ROW_SORTEDSET },
    Command { name: "zremrangebylex", arity: 4, flags: WRITE, keys: RW_DELETE, handler: zremrangebylex, usage: "key min max", summary: "Removes members in a lexicographical range.", ..ROW_SORTEDSET },
    Command { name: "zpopmin", arity: -2, flags: WRITE | FAST, keys: POP_KEYS, handler: zpopmin, usage: "key [count]", summary: "Removes and returns the members with the lowest scores.", ..ROW_SORTEDSET },
    Command { name: "zpopmax", arity: -2, flags: WRITE | FAST, keys: POP_KEYS, handler: zpopmax, usage: "key [count]", summary: "Removes and returns the members with the highest scores.", ..ROW_SORTEDSET },
    Command { name: "bzpopmin", arity: -3, flags: WRITE | NOSCRIPT | FAST | BLOCKING, keys: &[KeySpec::range(1, -2, 1, RW | ACCESS | DELETE)], handler: bzpopmin, usage: "key [key ...] timeout", summary: "Pops the member with the lowest score from the first non-empty sorted set, waiting for one.", ..ROW_SORTEDSET },
    Command { name: "bzpopmax", arity: -3, flags: WRITE | NOSCRIPT | FAST | BLOCKING, keys: &[KeySpec::range(1, -2, 1, RW | ACCESS | DELETE)], handler: bzpopmax, usage: "key [key ...] timeout", summary: "Pops the member with the highest score from the first non-empty sorted set, waiting for one.", ..ROW_SORTEDSET },
    Command { name: "bzmpop", arity: -5, flags: WRITE | BLOCKING, keys: &[KeySpec::keynum(2, 0, 1, 1, RW | ACCESS | DELETE)], handler: bzmpop, usage: "timeout numkeys key [key ...] MIN | MAX [COUNT count]", summary: "Pops members from the first non-empty sorted set of several, waiting if all are empty.", ..ROW_SORTEDSET },
    Command { name: "zmpop", arity: -4, flags: WRITE, keys: &[KeySpec::keynum(1, 0, 1, 1, RW | ACCESS | DELETE)], handler: zmpop, usage: "numkeys key [key ...] MIN|MAX [COUNT count]", summary: "Pops members from the first non-empty sorted set of several.", ..ROW_SORTEDSET },
    Command { name: "zrandmember", arity: -2, flags: READONLY, keys: RO_ACCESS, tips: RANDOM, handler: zrandmember, usage: "key [count [WITHSCORES]]", summary: "Returns random members of a sorted set.", ..ROW_SORTEDSET },
    Command { name: "zunion", arity: -3, flags: READONLY, keys: NUMKEYS_RO, handler: zunion, usage: "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]", summary: "Returns the union of sorted sets.", ..ROW_SORTEDSET },
    Command { name: "zinter", arity: -3, flags: READONLY, keys: NUMKEYS_RO, handler: zinter, usage: "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]", summary: "Returns the intersection of sorted sets.", ..ROW_SORTEDSET },
    Command { name: "zdiff", arity: -3, flags: READONLY, keys: NUMKEYS_RO, handler: zdiff, usage: "numkeys key [key ...] [WITHSCORES]", summary: "Returns the members of the first sorted set missing from the others.", ..ROW_SORTEDSET },
    Command { name: "zunionstore", arity: -4, flags: WRITE | DENYOOM, keys: STORE_NUMKEYS, handler: zunionstore, usage: "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]", summary: "Stores the union of sorted sets.", ..ROW_SORTEDSET },
    Command { name: "zinterstore", arity: -4, flags: WRITE | DENYOOM, keys: STORE_NUMKEYS, handler: zinterstore, usage: "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]", summary: "Stores the intersection of sorted sets.", ..ROW_SORTEDSET },
    Command { name: "zdiffstore", arity: -4, flags: WRITE | DENYOOM, keys: STORE_NUMKEYS, handler: zdiffstore, usage: "destination numkeys key [key ...]", summary: "Stores the difference of sorted sets.", ..ROW_SORTEDSET },
    Command { name: "zintercard", arity: -3, flags: READONLY, keys: NUMKEYS_RO, handler: zintercard, usage: "numkeys key [key ...] [LIMIT limit]", summary: "Counts the members of the intersection of sorted sets.", ..ROW_SORTEDSET },
    Command { name: "zscan", arity: -3, flags: READONLY, keys: RO_ACCESS, tips: RANDOM, handler: zscan, usage: "key cursor [MATCH pattern] [COUNT count]", summary: "Iterates over the members and scores of a sorted set.", ..ROW_SORTEDSET },
];

fn limits(c: &Ctx) -> ZLimits {
    c.eng.config.zset_limits
}

/// Members and scores: a flat array in RESP2, [member, score] pairs in RESP3 when
/// `withscores`; members only otherwise.
fn emit_pairs<'a>(
    out: &mut Reply,
    n: usize,
    withscores: bool,
    items: impl Iterator<Item = (&'a [u8], f64)>,
) {
    out.array(if withscores && !out.resp3 { 2 * n } else { n });
    for (m, s) in items {
        if withscores && out.resp3 {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.score(s);
        }
    }
}

// ---------------------------------------------------------------------------------------
// ZADD ZINCRBY ZREM
// ---------------------------------------------------------------------------------------

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...].
pub fn zadd(c: &mut Ctx, a: &Args) -> CmdResult {
    zadd_generic(c, a, false)
}

/// ZINCRBY key increment member -> the new score.
pub fn zincrby(c: &mut Ctx, a: &Args) -> CmdResult {
    zadd_generic(c, a, true)
}

fn zadd_generic(c: &mut Ctx, a: &Args, mut incr: bool) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch) = (false, false, false, false, false);
    let mut i = 2;
    while i < a.len() {
        let o = a.get(i);
        if o.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if o.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if o.eq_ignore_ascii_case(b"ch") {
            ch = true;
        } else if o.eq_ignore_ascii_case(b"incr") {
            incr = true;
        } else if o.eq_ignore_ascii_case(b"gt") {
            gt = true;
        } else if o.eq_ignore_ascii_case(b"lt") {
            lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let elements = a.len() - i;
    if elements == 0 || !elements.is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let n = elements / 2;
    if nx && xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && n > 1 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    // Every score is checked before anything changes.
    let mut scores = [0f64; 8];
    let mut many = Vec::new();
    if n > scores.len() {
        many.reserve_exact(n);
    }
    for j in 0..n {
        let s = parse_score(a.get(i + 2 * j)).ok_or(CmdError::NotFloat)?;
        if n > scores.len() {
            many.push(s);
        } else {
            scores[j] = s;
        }
    }
    let scores: &[f64] = if n > scores.len() {
        &many
    } else {
        &scores[..n]
    };
    let lim = limits(c);
    let key = a.get(1);
    let (mut db, out) = c.db_out();
    let z = if xx {
        match db.write::<ZSet>(key)? {
            Some(z) => z,
            None => {
                if incr {
                    out.null();
                } else {
                    out.int(0);
                }
                return Ok(());
            }
        }
    } else {
        db.or_new::<ZSet>(key)?
    };
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last = 0.0;
    let mut nan = false;
    for (j, &score) in scores.iter().enumerate() {
        let member = a.get(i + 2 * j + 1);
        let (old, new) = z.upsert(member, lim, |cur| match cur {
            Some(cur) => {
                if nx {
                    return None;
                }
                let mut s = score;
                if incr {
                    s += cur;
                    if s.is_nan() {
                        nan = true;
                        return None;
                    }
                }
                if (lt && s >= cur) || (gt && s <= cur) {
                    return None;
                }
                Some(s)
            }
            None => (!xx).then_some(score),
        });
        if nan {
            break;
        }
        if let Some(s) = new {
            processed += 1;
            last = s;
            match old {
                None => added += 1,
                Some(o) if o != s => updated += 1,
                Some(_) => {}
            }
        }
    }
    if z.is_empty() {
        db.drop_if_empty(key);
    }
    if nan {
        c.dirty(added + updated);
        return Err(CmdError::err("resulting score is not a number (NaN)"));
    }
    if incr {
        if processed > 0 {
            out.score(last);
        } else {
            out.null();
        }
    } else {
        out.int((if ch { added + updated } else { added }) as i64);
    }
    c.dirty(added + updated);
    if added + updated > 0 {
        c.notify(ev::ZSET, if incr { "zincr" } else { "zadd" }, key);
    }
    Ok(())
}

/// ZREM key member [member ...] -> number removed; the key goes when the set empties.
pub fn zrem(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut db = c.db();
    let mut removed = 0;
    if let Some(z) = db.write::<ZSet>(a.get(1))? {
        for i in 2..a.len() {
            if z.remove(a.get(i)) {
                removed += 1;
            }
            if z.is_empty() {
                db.drop_if_empty(a.get(1));
                break;
            }
        }
    }
    c.dirty(removed);
    if removed > 0 {
        c.notify_removal(ev::ZSET, "zrem", a.get(1));
    }
    c.out.int(removed as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reads of members
// ---------------------------------------------------------------------------------------

/// ZSCORE key member -> the score, or null.
pub fn zscore(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    match db.read::<ZSet>(a.get(1))?.and_then(|z| z.score(a.get(2))) {
        Some(s) => out.score(s),
        None => out.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...] -> scores or nulls.
pub fn zmscore(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let z = db.read::<ZSet>(a.get(1))?;
    out.array(a.len() - 2);
    for i in 2..a.len() {
        match z.as_ref().and_then(|z| z.score(a.get(i))) {
            Some(s) => out.score(s),
            None => out.null(),
        }
    }
    Ok(())
}

/// ZCARD key -> number of members (0 for a missing key).
pub fn zcard(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut db, out) = c.db_out();
    let n = db.read::<ZSet>(a.get(1))?.map_or(0, |x| x.len());
    out.int(n as i64);
    Ok(())
}

/// ZRANK key member -> rank from the lowest score, or null.
pub fn zrank(c: &mut Ctx, a: &Args) -> CmdResult {
    rank_generic(c, a, false)
}

/// ZREVRANK key member -> rank from the highest score, or null.
pub fn zrevrank(c: &mut Ctx, a: &Args) -> CmdResult {
    rank_generic(c, a, true)
}

fn rank_generic(c: &mut Ctx, a: &Args, rev: bool) -> CmdResult {
    let (mut db, out) = c.db_out();
    let Some(z) = db.read::<ZSet>(a.get(1))? else {
        out.null();
        return Ok(());
    };
    match z.rank(a.get(2)) {
        Some((r, _)) => out.int(if rev { z.len() - 1 - r } else { r } as i64),
        None => out.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------

/// Parses a ZRANGEBYSCORE interval; `(` makes an end exclusive.
fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    let bad = || CmdError::err("min or max is not a float");
    let one = |s: &[u8]| -> Result<(f64, bool), CmdError> {
        match s.first() {
            Some(b'(') => Ok((parse_range_score(&s[1..]).ok_or_else(bad)?, true)),
            _ => Ok((parse_range_score(s).ok_or_else(bad)?, false)),
        }
    };
    let (min, minex) = one(min)?;
    let (max, maxex) = one(max)?;
    Ok(ScoreRange {
        min,
        minex,
        max,
        maxex,
    })
}

/// Parses a ZRANGEBYLEX interval: each end `-`, `+`, `[member` or `(member`.
fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
    let one = |s: &[u8]| -> Option<LexBound> {
        // As in C, "+" may be followed only by the string's end (or a NUL byte).
        let alone = s.len() == 1 || s.get(1) == Some(&0);
        match s.first()? {
            b'+' if alone => Some(LexBound::PosInf),
            b'-' if alone => Some(LexBound::NegInf),
            b'(' => Some(LexBound::Excl(s[1..].to_vec())),
            b'[' => Some(LexBound::Incl(s[1..].to_vec())),
            _ => None,
        }
    };
    match (one(min), one(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(CmdError::err("min or max not valid string range item")),
    }
}

/// ZCOUNT key min max.
pub fn zcount(c: &mut Ctx, a: &Args) -> CmdResult {
    let r = parse_score_range(a.get(2), a.get(3))?;
    let (mut db, out) = c.db_out();
    let n = match db.read::<ZSet>(a.get(1))? {
        Some(z) => {
            let (x, y) = z.score_ranks(&r);
            y - x
        }
        None => 0,
    };
    out.int(n as i64);
    Ok(())
}

/// ZLEXCOUNT key min max.
pub fn zlexcount(c: &mut Ctx, a: &Args) -> CmdResult {
    let r = parse_lex_range(a.get(2), a.get(3))?;
    let (mut db, out) = c.db_out();
    let n = match db.read::<ZSet>(a.get(1))? {
        Some(z) => z.lex_ranks(&r, false).map_or(0, |(x, y)| y - x + 1),
        None => 0,
    };
    out.int(n as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Normalizes ZRANGE-style indexes to ranks `(start, count)`; None if empty.
fn rank_window(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, (end - start + 1) as usize))
}

/// What a range command selected: `count` entries from rank `first`, upwards, or
/// downwards if `rev`.
struct Window {
    first: usize,
    count: usize,
    rev: bool,
}

/// Applies LIMIT to entries `a..=b` walked forwards (or backwards from `b` if `rev`), as
/// Redis's loops do: a negative offset skips everything, a negative count takes all.
fn limited(a: usize, b: usize, rev: bool, offset: i64, limit: i64) -> Option<Window> {
    if offset < 0 {
        return None;
    }
    let span = b - a + 1;
    let off = offset as u64;
    if off >= span as u64 {
        return None;
    }
    let left = span - off as usize;
    let count = if limit < 0 {
        left
    } else {
        left.min(limit as u64 as usize)
    };
    if count == 0 {
        return None;
    }
    let first = if rev {
        b - off as usize
    } else {
        a + off as usize
    };
    Some(Window { first, count, rev })
}

/// ZRANGE and its older forms, and ZRANGESTORE (`store`): the arguments start at
/// `first` (the source key).
fn zrange_generic(
    c: &mut Ctx,
    a: &Args,
    first: usize,
    store: bool,
    mut rangetype: RangeType,
    mut rev: Option<bool>,
) -> CmdResult {
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = first + 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        if !store && a.is(j, "withscores") {
            withscores = true;
        } else if a.is(j, "limit") && left >= 2 {
            offset = arg_i64(a.get(j + 1))?;
            limit = arg_i64(a.get(j + 2))?;
            j += 2;
        } else if rev.is_none() && a.is(j, "rev") {
            rev = Some(true);
        } else if rangetype == RangeType::Auto && a.is(j, "bylex") {
            rangetype = RangeType::Lex;
        } else if rangetype == RangeType::Auto && a.is(j, "byscore") {
            rangetype = RangeType::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if rangetype == RangeType::Auto {
        rangetype = RangeType::Rank;
    }
    if limit != -1 && rangetype == RangeType::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rangetype == RangeType::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut lo, mut hi) = (a.get(first + 1), a.get(first + 2));
    if rev && rangetype != RangeType::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    enum Spec {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let spec = match rangetype {
        RangeType::Score => Spec::Score(parse_score_range(lo, hi)?),
        RangeType::Lex => Spec::Lex(parse_lex_range(lo, hi)?),
        _ => Spec::Rank(arg_i64(lo)?, arg_i64(hi)?),
    };
    let lim = limits(c);
    let key = a.get(first);
    let (mut db, out) = c.db_out();
    let Some(z) = db.read::<ZSet>(key)? else {
        if store {
            return store_result(c, a.get(1), None);
        }
        out.array(0);
        return Ok(());
    };
    let by_rank = matches!(spec, Spec::Rank(..));
    let window = match spec {
        Spec::Rank(s, e) => rank_window(s, e, z.len()).map(|(start, count)| Window {
            first: if rev { z.len() - 1 - start } else { start },
            count,
            rev,
        }),
        Spec::Score(r) => {
            let (x, y) = z.score_ranks(&r);
            if offset > 0 && offset as u64 >= z.len() as u64 || x == y {
                None
            } else {
                limited(x, y - 1, rev, offset, limit)
            }
        }
        Spec::Lex(r) => z
            .lex_walk(&r, rev, offset, limit)
            .map(|(first, count)| Window { first, count, rev }),
    };
    if store {
        // Redis creates the destination big when a rank range is known to be long, else
        // as a listpack converted by the member that breaks a limit.
        let built = window.map(|w| {
            let start = if w.rev {
                w.first + 1 - w.count
            } else {
                w.first
            };
            let items: Vec<(&[u8], f64)> = z.range(start, w.count, false).collect();
            let start_big = by_rank && w.count > lim.max_entries;
            ZSet::from_emitted(&items, w.rev, start_big, lim)
        });
        return store_result(c, a.get(1), built);
    }
    match window {
        Some(w) => emit_pairs(out, w.count, withscores, z.range(w.first, w.count, w.rev)),
        None => out.array(0),
    }
    Ok(())
}

/// Stores a computed set at `dst` (replacing any value and deadline) and replies with its
/// size; an empty or missing result deletes `dst` and replies 0.
fn store_result(c: &mut Ctx, dst: &[u8], z: Option<ZSet>) -> CmdResult {
    match z.filter(|z| !z.is_empty()) {
        Some(z) => {
            let n = z.len();
            let ks = &mut c.eng.ks;
            ks.dbs[c.cl.db].set(dst, Value::ZSet(z), 0);
            c.dirty(1);
            // The store commands' events are their names (zunionstore, zrangestore...).
            c.notify(ev::ZSET, c.cl.last_cmd, dst);
            c.out.int(n as i64);
        }
        None => {
            if c.db().db.delete_server(dst) {
                c.dirty(1);
                c.notify(ev::GENERIC, "del", dst);
            }
            c.out.int(0);
        }
    }
    Ok(())
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES].
pub fn zrange(c: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(c, a, 1, false, RangeType::Auto, None)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count].
pub fn zrangestore(c: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(c, a, 2, true, RangeType::Auto, None)
}

/// ZREVRANGE key start stop [WITHSCORES].
pub fn zrevrange(c: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(c, a, 1, false, RangeType::Rank, Some(true))
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count].
pub fn zrangebyscore(c: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(c, a, 1, false, RangeType::Score, Some(false))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count].
pub fn zrevrangebyscore(c: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(c, a, 1, false, RangeType::Score, Some(true))
}

/// ZRANGEBYLEX key min max [LIMIT offset count].
pub fn zrangebylex(c: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(c, a, 1, false, RangeType::Lex, Some(false))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count].
pub fn zrevrangebylex(c: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(c, a, 1, false, RangeType::Lex, Some(true))
}

/// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max -> number removed.
fn zremrange_generic(c: &mut Ctx, a: &Args, rangetype: RangeType) -> CmdResult {
    enum Spec {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let spec = match rangetype {
        RangeType::Score => Spec::Score(parse_score_range(a.get(2), a.get(3))?),
        RangeType::Lex => Spec::Lex(parse_lex_range(a.get(2), a.get(3))?),
        _ => Spec::Rank(arg_i64(a.get(2))?, arg_i64(a.get(3))?),
    };
    let key = a.get(1);
    let mut db = c.db();
    let Some(z) = db.write::<ZSet>(key)? else {
        c.out.int(0);
        return Ok(());
    };
    let (x, y) = match spec {
        Spec::Rank(s, e) => rank_window(s, e, z.len()).map_or((0, 0), |(s, n)| (s, s + n)),
        Spec::Score(r) => z.score_ranks(&r),
        Spec::Lex(r) => z.lex_ranks(&r, false).map_or((0, 0), |(x, y)| (x, y + 1)),
    };
    z.remove_ranks(x, y);
    if z.is_empty() {
        db.drop_if_empty(key);
    }
    let removed = (y - x) as u64;
    c.dirty(removed);
    if removed > 0 {
        // Named after the command: zremrangebyrank, zremrangebyscore, zremrangebylex.
        c.notify_removal(ev::ZSET, c.cl.last_cmd, key);
    }
    c.out.int(removed as i64);
    Ok(())
}

/// ZREMRANGEBYRANK key start stop.
pub fn zremrangebyrank(c: &mut Ctx, a: &Args) -> CmdResult {
    zremrange_generic(c, a, RangeType::Rank)
}

/// ZREMRANGEBYSCORE key min max.
pub fn zremrangebyscore(c: &mut Ctx, a: &Args) -> CmdResult {
    zremrange_generic(c, a, RangeType::Score)
}

/// ZREMRANGEBYLEX key min max.
pub fn zremrangebylex(c: &mut Ctx, a: &Args) -> CmdResult {
    zremrange_generic(c, a, RangeType::Lex)
}

// ---------------------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------------------

/// Members popped from a sorted set, with their scores, in pop order.
pub type Popped = Vec<(Vec<u8>, f64)>;

/// Pops up to `count` members from the low end (or the high end if `max`) of the sorted
/// set at `key` in the selected database, deleting the key once empty and counting the
/// changes. Ok(None) if the key is missing; WRONGTYPE if it holds another type. The
/// blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) serve a woken client with this.
pub fn pop_members(
    c: &mut Ctx,
    key: &[u8],
    count: usize,
    max: bool,
) -> Result<Option<Popped>, CmdError> {
    let mut db = c.db();
    let Some(z) = db.write::<ZSet>(key)? else {
        return Ok(None);
    };
    let popped = z.pop(count, max);
    if z.is_empty() {
        db.drop_if_empty(key);
    }
    c.dirty(popped.len() as u64);
    if !popped.is_empty() {
        c.notify_removal(ev::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    }
    Ok(Some(popped))
}

/// Replies with popped members: `[member, score, ...]` flat, or `[[member, score], ...]`
/// if `nested` (pair arrays in both protocols).
pub fn emit_popped(out: &mut Reply, popped: &[(Vec<u8>, f64)], nested: bool) {
    out.array(if nested {
        popped.len()
    } else {
        popped.len() * 2
    });
    for (m, s) in popped {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        out.score(*s);
    }
}

/// ZPOPMIN key [count].
pub fn zpopmin(c: &mut Ctx, a: &Args) -> CmdResult {
    zpop(c, a, false)
}

/// ZPOPMAX key [count].
pub fn zpopmax(c: &mut Ctx, a: &Args) -> CmdResult {
    zpop(c, a, true)
}

/// Parses a count that must be >= 0 (`getPositiveLongFromObjectOrReply`: one message,
/// Redis's default or `msg`, for a non-integer and for a negative number alike).
fn positive(s: &[u8], msg: Option<&str>) -> Result<i64, CmdError> {
    match parse_i64(s) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::err(
            msg.unwrap_or("value is out of range, must be positive"),
        )),
    }
}

fn zpop(c: &mut Ctx, a: &Args, max: bool) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = if a.len() == 3 {
        Some(positive(a.get(2), None)?)
    } else {
        None
    };
    let key = a.get(1);
    // A missing key, or a count of 0, answers an empty array and changes nothing.
    if count == Some(0) {
        c.db().write::<ZSet>(key)?;
        c.out.array(0);
        return Ok(());
    }
    let n = count.unwrap_or(1) as usize;
    match pop_members(c, key, n, max)? {
        None => c.out.array(0),
        Some(p) => {
            let nested = c.out.resp3 && count.is_some();
            emit_popped(&mut c.out, &p, nested);
        }
    }
    Ok(())
}

/// Parses `count` with a range check and Redis's message for both failures.
fn range_long(s: &[u8], min: i64, msg: &str) -> Result<i64, CmdError> {
    match parse_i64(s) {
        Some(n) if n >= min => Ok(n),
        _ => Err(CmdError::err(msg)),
    }
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] -> [key, [[member, score], ...]] or
/// null. Recorded as `ZPOPMIN|ZPOPMAX key count`, as Redis propagates it.
pub fn zmpop(c: &mut Ctx, a: &Args) -> CmdResult {
    let (keys, max, count) = zmpop_args(a, 1)?;
    for i in keys {
        if mpop_from(c, a.get(i), count, max)? {
            return Ok(());
        }
    }
    c.out.null_array();
    Ok(())
}

/// The arguments of ZMPOP from `numkeys` at `first` on (BZMPOP has its timeout before):
/// the positions of the keys, MAX or not, and the count (1 if not given).
fn zmpop_args(a: &Args, first: usize) -> Result<(std::ops::Range<usize>, bool, usize), CmdError> {
    let numkeys = range_long(a.get(first), 1, "numkeys should be greater than 0")? as u64;
    let where_idx = match (first as u64 + 1).checked_add(numkeys) {
        Some(w) if w < a.len() as u64 => w as usize,
        _ => return Err(CmdError::Syntax),
    };
    let max = if a.is(where_idx, "min") {
        false
    } else if a.is(where_idx, "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count: Option<i64> = None;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count.is_none() && a.is(j, "count") && j + 1 < a.len() {
            count = Some(range_long(
                a.get(j + 1),
                1,
                "count should be greater than 0",
            )?);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((first + 1..where_idx, max, count.unwrap_or(1) as usize))
}

/// The core of ZMPOP and BZMPOP: if `key` holds a sorted set, pops up to `count` members,
/// replies `[key, [[member, score], ...]]`, records `ZPOPMIN|ZPOPMAX key n` and returns
/// true; false, replying nothing, if the key is missing.
fn mpop_from(c: &mut Ctx, key: &[u8], count: usize, max: bool) -> Result<bool, CmdError> {
    let Some(p) = pop_members(c, key, count, max)? else {
        return Ok(false);
    };
    c.out.array(2);
    c.out.bulk(key);
    emit_popped(&mut c.out, &p, true);
    propagate_pop(c, key, p.len(), max);
    Ok(true)
}

/// Records a pop as Redis propagates it: `ZPOPMIN|ZPOPMAX key n`.
fn propagate_pop(c: &mut Ctx, key: &[u8], n: usize, max: bool) {
    c.touched(key);
    let mut tmp = [0u8; 20];
    let n = crate::num::fmt_i64(n as i64, &mut tmp);
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    c.propagate(&[name, key, n]);
}

/// BZPOPMIN key [key ...] timeout -> [key, member, score] from the first non-empty sorted
/// set, waiting up to timeout seconds (0: forever); a null array on timeout.
pub fn bzpopmin(c: &mut Ctx, a: &Args) -> CmdResult {
    blocking_pop(c, a, false)
}

/// BZPOPMAX key [key ...] timeout -> as BZPOPMIN, from the high end.
pub fn bzpopmax(c: &mut Ctx, a: &Args) -> CmdResult {
    blocking_pop(c, a, true)
}

/// BZPOPMIN / BZPOPMAX: the timeout is read first; a key of another type fails the
/// command even when a later key has members. Recorded as `ZPOPMIN|ZPOPMAX key 1`.
fn blocking_pop(c: &mut Ctx, a: &Args, max: bool) -> CmdResult {
    let last = a.len() - 1;
    let timeout = parse_timeout(a.get(last), c.eng.now_ms)?;
    for k in c.wait_keys(a, 1..last) {
        let key = a.get(k);
        let Some(p) = pop_members(c, key, 1, max)? else {
            continue;
        };
        let Some((m, s)) = p.first() else {
            continue;
        };
        c.out.array(3);
        c.out.bulk(key);
        c.out.bulk(m);
        c.out.score(*s);
        propagate_pop(c, key, 1, max);
        return Ok(());
    }
    let keys = (1..last).map(|k| Bytes::from(a.get(k))).collect();
    c.block(a, keys, timeout, "zset", TimeoutReply::NullArray)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] -> as ZMPOP, waiting if
/// every sorted set is empty; a null array on timeout.
pub fn bzmpop(c: &mut Ctx, a: &Args) -> CmdResult {
    // Redis reads the numkeys, end and count before the timeout.
    let (keys, max, count) = zmpop_args(a, 2)?;
    let timeout = parse_timeout(a.get(1), c.eng.now_ms)?;
    for i in c.wait_keys(a, keys.clone()) {
        if mpop_from(c, a.get(i), count, max)? {
            return Ok(());
        }
    }
    let keys = keys.map(|k| Bytes::from(a.get(k))).collect();
    c.block(a, keys, timeout, "zset", TimeoutReply::NullArray)
}

// ---------------------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------------------

/// ZRANDMEMBER key [count [WITHSCORES]].
pub fn zrandmember(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() == 2 {
        let r = c.eng.rng.next_u64();
        let (mut db, out) = c.db_out();
        match db.read::<ZSet>(a.get(1))? {
            Some(z) if !z.is_empty() => {
                let i = ((r as u128 * z.len() as u128) >> 64) as usize;
                out.bulk(z.nth(i).expect("index in range").0);
            }
            _ => out.null(),
        }
        return Ok(());
    }
    let (count, withscores) = super::hash::random_count(a, Some("withscores"))?;
    let now = c.eng.expiry_clock();
    let eng = &mut *c.eng;
    let rng = &mut eng.rng;
    let mut db = super::ctx::DbView {
        db: &mut eng.ks.dbs[c.cl.db],
        now,
        st: &mut eng.ks.stats,
    };
    let out = &mut c.out;
    let Some(z) = db.read::<ZSet>(a.get(1))? else {
        out.array(0);
        return Ok(());
    };
    let z: &ZSet = z;
    let len = z.len();
    if count == 0 || len == 0 {
        out.array(0);
        return Ok(());
    }
    // A listpack is a list scanned from the start: index it once for random picks.
    let listed: Vec<(&[u8], f64)> = match z {
        ZSet::Pack(_) => z.range(0, len, false).collect(),
        ZSet::Tree(_) => Vec::new(),
    };
    let at = |i: usize| match listed.get(i) {
        Some(&p) => p,
        None => z.nth(i).expect("in range"),
    };
    let header = |out: &mut Reply, n: usize| {
        out.array(if withscores && !out.resp3 { 2 * n } else { n });
    };
    let emit = |out: &mut Reply, (m, s): (&[u8], f64)| {
        if withscores && out.resp3 {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.score(s);
        }
    };
    if count < 0 || count == 1 {
        let n = count.unsigned_abs() as usize;
        header(out, n);
        for _ in 0..n {
            emit(out, at(rng.below(len as u64) as usize));
        }
    } else if count as u64 >= len as u64 {
        // The whole set, from the highest score down: the way Redis 7.0 iterates a sorted
        // set for this reply.
        header(out, len);
        for p in z.range(len - 1, len, true) {
            emit(out, p);
        }
    } else {
        // Distinct picks: a partial Fisher-Yates over ranks, remembering only the swapped
        // positions.
        let n = count as usize;
        let mut moved: HashMap<usize, usize> = HashMap::new();
        header(out, n);
        for i in 0..n {
            let j = i + rng.below((len - i) as u64) as usize;
            let pick = moved.get(&j).copied().unwrap_or(j);
            let here = moved.get(&i).copied().unwrap_or(i);
            moved.insert(j, here);
            emit(out, at(pick));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// ZUNION ZINTER ZDIFF ZINTERCARD and the STORE forms
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// An input of a set operation: a sorted set, a set (every score 1), or a missing key.
#[derive(Clone, Copy)]
enum Src<'a> {
    None,
    Z(&'a ZSet),
    S(&'a Set),
}

impl<'a> Src<'a> {
    fn len(&self) -> usize {
        match self {
            Src::None => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }

    fn same(&self, o: &Src) -> bool {
        match (self, o) {
            (Src::Z(a), Src::Z(b)) => std::ptr::eq(*a, *b),
            (Src::S(a), Src::S(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }

    fn for_each(&self, mut f: impl FnMut(Cow<'a, [u8]>, f64) -> bool) {
        match self {
            Src::None => {}
            Src::Z(z) => {
                for (m, s) in z.range(0, z.len(), false) {
                    if !f(Cow::Borrowed(m), s) {
                        return;
                    }
                }
            }
            Src::S(s) => {
                for v in s.iter() {
                    let m = match v {
                        Val::Bytes(b) => Cow::Borrowed(b),
                        v => Cow::Owned(v.to_vec()),
                    };
                    if !f(m, 1.0) {
                        return;
                    }
                }
            }
        }
    }
}

/// Member lookups in the inputs: a sorted set answers directly; a set is indexed once.
struct Finder<'a> {
    src: Src<'a>,
    set: Option<std::collections::HashSet<Cow<'a, [u8]>>>,
}

impl<'a> Finder<'a> {
    fn new(src: Src<'a>) -> Finder<'a> {
        Finder { src, set: None }
    }

    fn find(&mut self, m: &[u8]) -> Option<f64> {
        match self.src {
            Src::None => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => {
                let set = self.set.get_or_insert_with(|| {
                    let mut h = std::collections::HashSet::with_capacity(s.len());
                    Src::S(s).for_each(|m, _| {
                        h.insert(m);
                        true
                    });
                    h
                });
                set.contains(m).then_some(1.0)
            }
        }
    }
}

fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            // inf + -inf: Redis keeps 0.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// The shared body of the set operations. `dst`: the destination key (STORE forms);
/// `numkeys_idx`: where numkeys is; `card`: ZINTERCARD.
fn setop(
    c: &mut Ctx,
    a: &Args,
    dst: Option<&[u8]>,
    numkeys_idx: usize,
    op: SetOp,
    card: bool,
) -> CmdResult {
    let setnum = arg_i64(a.get(numkeys_idx))?;
    if setnum < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{}' command",
            a.text(0).to_ascii_lowercase()
        )));
    }
    if setnum as u64 > (a.len() - numkeys_idx - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let first_key = numkeys_idx + 1;
    let lim = limits(c);
    // Lookups (and type checks) come before the options, as in Redis. A first pass expires
    // and counts; the second borrows every input at once.
    {
        let mut db = c.db();
        for i in 0..setnum {
            if let Some(e) = db.get_read(a.get(first_key + i))
                && !matches!(e.val, Value::ZSet(_) | Value::Set(_))
            {
                return Err(CmdError::WrongType);
            }
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: i64 = 0;
    let mut j = first_key + setnum;
    while j < a.len() {
        let remaining = a.len() - j;
        if op != SetOp::Diff && !card && remaining > setnum && a.is(j, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = parse_score(a.get(j))
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card && remaining >= 2 && a.is(j, "aggregate") {
            agg = if a.is(j + 1, "sum") {
                Aggregate::Sum
            } else if a.is(j + 1, "min") {
                Aggregate::Min
            } else if a.is(j + 1, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && !card && a.is(j, "withscores") {
            withscores = true;
            j += 1;
        } else if card && remaining >= 2 && a.is(j, "limit") {
            limit = positive(a.get(j + 1), Some("LIMIT can't be negative"))?;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let built: Option<ZSet>;
    {
        let db = &c.eng.ks.dbs[c.cl.db];
        let mut srcs: Vec<(Src, f64)> = (0..setnum)
            .map(|i| {
                let s = match db.peek_entry(a.get(first_key + i)).map(|e| &e.val) {
                    Some(Value::ZSet(z)) => Src::Z(z),
                    Some(Value::Set(s)) => Src::S(s),
                    _ => Src::None,
                };
                (s, weights[i])
            })
            .collect();
        if op != SetOp::Diff {
            // Smallest first (a stable sort, as glibc's qsort is for these sizes).
            srcs.sort_by_key(|(s, _)| s.len());
        }
        let mut result: Vec<(Cow<[u8]>, f64)> = Vec::new();
        let mut cardinality: u64 = 0;
        match op {
            SetOp::Inter => {
                if srcs[0].0.len() > 0 {
                    let (first, w0) = srcs[0];
                    let mut finders: Vec<(Finder, f64, bool)> = srcs[1..]
                        .iter()
                        .map(|&(s, w)| (Finder::new(s), w, s.same(&first)))
                        .collect();
                    first.for_each(|m, s0| {
                        let mut score = w0 * s0;
                        if score.is_nan() {
                            score = 0.0;
                        }
                        for (f, w, same) in finders.iter_mut() {
                            let v = if *same {
                                s0 * *w
                            } else {
                                match f.find(&m) {
                                    Some(v) => v * *w,
                                    None => return true,
                                }
                            };
                            aggregate(&mut score, v, agg);
                        }
                        if card {
                            cardinality += 1;
                            return !(limit > 0 && cardinality >= limit as u64);
                        }
                        result.push((m, score));
                        true
                    });
                }
            }
            SetOp::Union => {
                let mut acc: HashMap<Cow<[u8]>, f64> =
                    HashMap::with_capacity(srcs.last().map_or(0, |s| s.0.len()));
                for &(s, w) in &srcs {
                    s.for_each(|m, x| {
                        let mut score = w * x;
                        if score.is_nan() {
                            score = 0.0;
                        }
                        match acc.get_mut(&*m) {
                            Some(cur) => aggregate(cur, score, agg),
                            None => {
                                acc.insert(m, score);
                            }
                        }
                        true
                    });
                }
                result = acc.into_iter().collect();
            }
            SetOp::Diff => {
                let first = srcs[0].0;
                if first.len() > 0 && !srcs[1..].iter().any(|(s, _)| s.same(&first)) {
                    let mut finders: Vec<Finder> =
                        srcs[1..].iter().map(|&(s, _)| Finder::new(s)).collect();
                    first.for_each(|m, s0| {
                        if !finders.iter_mut().any(|f| f.find(&m).is_some()) {
                            result.push((m, s0));
                        }
                        true
                    });
                }
            }
        }
        if card {
            c.out.int(cardinality as i64);
            return Ok(());
        }
        result.sort_unstable_by(|x, y| cmp_key(x.1, &x.0, y.1, &y.0));
        match dst {
            Some(_) => {
                let max_len = result.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
                built = (!result.is_empty()).then(|| {
                    ZSet::from_sorted(
                        result.len(),
                        max_len,
                        result.iter().map(|(m, s)| (&**m, *s)),
                        lim,
                    )
                });
            }
            None => {
                emit_pairs(
                    &mut c.out,
                    result.len(),
                    withscores,
                    result.iter().map(|(m, s)| (&**m, *s)),
                );
                return Ok(());
            }
        }
    }
    store_result(c, dst.expect("store form"), built)
}

/// ZUNION numkeys key [key ...] [WEIGHTS ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES].
pub fn zunion(c: &mut Ctx, a: &Args) -> CmdResult {
    setop(c, a, None, 1, SetOp::Union, false)
}

/// ZINTER numkeys key [key ...] [WEIGHTS ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES].
pub fn zinter(c: &mut Ctx, a: &Args) -> CmdResult {
    setop(c, a, None, 1, SetOp::Inter, false)
}

/// ZDIFF numkeys key [key ...] [WITHSCORES].
pub fn zdiff(c: &mut Ctx, a: &Args) -> CmdResult {
    setop(c, a, None, 1, SetOp::Diff, false)
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...].
pub fn zunionstore(c: &mut Ctx, a: &Args) -> CmdResult {
    setop(c, a, Some(a.get(1)), 2, SetOp::Union, false)
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...].
pub fn zinterstore(c: &mut Ctx, a: &Args) -> CmdResult {
    setop(c, a, Some(a.get(1)), 2, SetOp::Inter, false)
}

/// ZDIFFSTORE destination numkeys key [key ...].
pub fn zdiffstore(c: &mut Ctx, a: &Args) -> CmdResult {
    setop(c, a, Some(a.get(1)), 2, SetOp::Diff, false)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit].
pub fn zintercard(c: &mut Ctx, a: &Args) -> CmdResult {
    setop(c, a, None, 1, SetOp::Inter, true)
}

// ---------------------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------------------

/// ZSCAN key cursor [MATCH pattern] [COUNT count].
pub fn zscan(c: &mut Ctx, a: &Args) -> CmdResult {
    let cursor = super::hash::parse_cursor(a.get(2))?;
    let (mut db, out) = c.db_out();
    let Some(z) = db.read::<ZSet>(a.get(1))? else {
        out.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
        return Ok(());
    };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < a.len() {
        let more = i + 1 < a.len();
        if a.is(i, "count") && more {
            let n = arg_i64(a.get(i + 1))?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            count = n as usize;
            i += 2;
        } else if a.is(i, "match") && more {
            let p = a.get(i + 1);
            pattern = (p != b"*").then_some(p);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let glob = pattern.map(|p| crate::glob::Glob::new(p, false));
    let mut picked: Vec<(&[u8], f64)> = Vec::new();
    let next = z.scan(cursor, count, |m, s| {
        if glob.as_ref().is_none_or(|g| g.matches(m)) {
            picked.push((m, s));
        }
    });
    out.array(2);
    out.bulk_i64(next as i64);
    out.array(picked.len() * 2);
    // A listpack returns its entries as stored (`d2string` text); the big encoding
    // prints with `%.17Lg`, which for a double is `%.17g`.
    let pack = matches!(z, ZSet::Pack(_));
    let mut tmp = [0u8; 32];
    for (m, s) in picked {
        out.bulk(m);
        out.bulk(if pack {
            crate::num::fmt_d2string(s, &mut tmp)
        } else {
            crate::num::fmt_score(s, &mut tmp)
        });
    }
    Ok(())
}
