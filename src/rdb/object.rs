//! Values in RDB form: one key's value as an RDB file, a DUMP payload or a full sync
//! carries it, after the type byte. Reading turns every encoding Redis 2.4 to 8 wrote into
//! a ferrokv `Value` (built through the types' own API, so it lands in the encoding
//! ferrokv would pick for it); writing produces the plainest encoding each type has, which
//! every Redis since 7.0 loads (and converts to its compact form as it sees fit):
//!
//! | type | written as | read also from |
//! |---|---|---|
//! | string | 0 STRING (integer-encoded when it can be) | |
//! | hash | 4 HASH; 24 HASH_METADATA when a field has a deadline | 9 zipmap, 13 ziplist, 16 listpack, 22/23/25 with deadlines |
//! | list | 18 QUICKLIST_2 of listpack nodes | 1 linked list, 10 ziplist, 14 quicklist of ziplists |
//! | set | 2 SET | 11 intset, 20 listpack |
//! | sorted set | 5 ZSET_2 (binary scores) | 3 ZSET (text scores), 12 ziplist, 17 listpack |
//!
//! Only a hash with field deadlines needs RDB 12 (Redis 7.4); everything else is RDB 10,
//! which Redis 7.0 reads, so `needs_rdb12` lets a writer pick the oldest version that
//! holds its data.
//!
//! Streams and module types have no ferrokv counterpart: reading one is an
//! `Unsupported` error that names the type, for the caller to report with the key.

use std::io::{self, Read, Write};

use super::read::{RdbError, Reader, Result};
use super::write::Writer;
use super::{intset, listpack, ziplist, zipmap};
use crate::types::hash::HashLimits;
use crate::types::list::{End, ListLimits};
use crate::types::set::SetLimits;
use crate::types::zset::{ZLimits, cmp_key};
use crate::types::{Hash, List, Set, Str, Value, ZSet};

pub const TYPE_STRING: u8 = 0;
pub const TYPE_LIST: u8 = 1;
pub const TYPE_SET: u8 = 2;
pub const TYPE_ZSET: u8 = 3;
pub const TYPE_HASH: u8 = 4;
pub const TYPE_ZSET_2: u8 = 5;
pub const TYPE_MODULE_PRE_GA: u8 = 6;
pub const TYPE_MODULE_2: u8 = 7;
pub const TYPE_HASH_ZIPMAP: u8 = 9;
pub const TYPE_LIST_ZIPLIST: u8 = 10;
pub const TYPE_SET_INTSET: u8 = 11;
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
pub const TYPE_HASH_ZIPLIST: u8 = 13;
pub const TYPE_LIST_QUICKLIST: u8 = 14;
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
pub const TYPE_HASH_LISTPACK: u8 = 16;
pub const TYPE_ZSET_LISTPACK: u8 = 17;
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
pub const TYPE_SET_LISTPACK: u8 = 20;
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;
pub const TYPE_HASH_METADATA_PRE_GA: u8 = 22;
pub const TYPE_HASH_LISTPACK_EX_PRE_GA: u8 = 23;
pub const TYPE_HASH_METADATA: u8 = 24;
pub const TYPE_HASH_LISTPACK_EX: u8 = 25;
pub const TYPE_STREAM_LISTPACKS_4: u8 = 26;

/// Quicklist node containers (QUICKLIST_2): a listpack of elements, or one element
/// stored as it is (Redis 7's "plain" nodes for elements too big for a listpack).
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// Elements and bytes of one listpack node written for a list: Redis's default node
/// size (`list-max-listpack-size -2`, 8 KB) and its 128-element quicklist cap on merges.
const NODE_MAX_ELEMS: usize = 128;
const NODE_MAX_BYTES: usize = 8192;

/// A field deadline that no field can have: Redis's "no expiry" for `minExpire`
/// (EB_EXPIRE_TIME_INVALID, 2^48).
const NO_MIN_EXPIRE: u64 = 1 << 48;
/// Latest field deadline Redis accepts (EB_EXPIRE_TIME_MAX, 2^48 - 1).
const MAX_FIELD_DEADLINE: u64 = (1 << 48) - 1;

/// The encoding limits of the server the value is loaded into.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub hash: HashLimits,
    pub list: ListLimits,
    pub set: SetLimits,
    pub zset: ZLimits,
}

impl Limits {
    /// The limits `cfg` sets (`hash-max-listpack-entries` and the rest).
    pub fn of(cfg: &crate::config::Config) -> Limits {
        Limits {
            hash: cfg.hash_limits,
            list: cfg.list_limits,
            set: cfg.set_limits,
            zset: cfg.zset_limits,
        }
    }
}

/// The name Redis gives an RDB type in its errors and tools.
pub fn type_name(ty: u8) -> &'static str {
    match ty {
        TYPE_STRING => "string",
        TYPE_LIST | TYPE_LIST_ZIPLIST | TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => "list",
        TYPE_SET | TYPE_SET_INTSET | TYPE_SET_LISTPACK => "set",
        TYPE_ZSET | TYPE_ZSET_2 | TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => "zset",
        TYPE_HASH
        | TYPE_HASH_ZIPMAP
        | TYPE_HASH_ZIPLIST
        | TYPE_HASH_LISTPACK
        | TYPE_HASH_METADATA_PRE_GA
        | TYPE_HASH_LISTPACK_EX_PRE_GA
        | TYPE_HASH_METADATA
        | TYPE_HASH_LISTPACK_EX => "hash",
        TYPE_STREAM_LISTPACKS
        | TYPE_STREAM_LISTPACKS_2
        | TYPE_STREAM_LISTPACKS_3
        | TYPE_STREAM_LISTPACKS_4 => "stream",
        TYPE_MODULE_PRE_GA | TYPE_MODULE_2 => "module",
        _ => "unknown",
    }
}

/// True if `ty` is a value type (not an opcode) that some Redis writes.
pub fn is_value_type(ty: u8) -> bool {
    ty <= TYPE_MODULE_2 || (TYPE_HASH_ZIPMAP..=TYPE_STREAM_LISTPACKS_4).contains(&ty)
}

fn corrupt(what: impl Into<String>) -> RdbError {
    RdbError::Corrupt(what.into())
}

/// Reads the value of RDB type `ty` (the type byte already read). Returns None for an
/// empty collection, which Redis skips as it loads ("empty keys"); a duplicate field or
/// member is corruption, as it is for Redis.
pub fn read_value<R: Read>(r: &mut Reader<R>, ty: u8, lim: &Limits) -> Result<Option<Value>> {
    let v = match ty {
        TYPE_STRING => Value::Str(Str::new(&r.string()?)),
        TYPE_LIST => {
            let n = r.plain_len()?;
            let mut items = Vec::with_capacity(cap(n));
            for _ in 0..n {
                items.push(r.string()?);
            }
            list_of(items, lim)
        }
        TYPE_LIST_ZIPLIST => list_of(ziplist::decode(&r.string()?)?, lim),
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => read_quicklist(r, ty, lim)?,
        TYPE_SET => {
            let n = r.plain_len()?;
            let mut items = Vec::with_capacity(cap(n));
            for _ in 0..n {
                items.push(r.string()?);
            }
            set_of(items, lim)?
        }
        TYPE_SET_INTSET => {
            let ints = intset::decode(&r.string()?)?;
            set_of(ints.into_iter().map(super::decimal).collect(), lim)?
        }
        TYPE_SET_LISTPACK => set_of(listpack::decode(&r.string()?)?, lim)?,
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = r.plain_len()?;
            let mut items = Vec::with_capacity(cap(n));
            for _ in 0..n {
                let m = r.string()?;
                let s = if ty == TYPE_ZSET_2 {
                    r.f64_le()?
                } else {
                    text_score(r)?
                };
                items.push((m, s));
            }
            zset_of(items, lim)?
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let raw = r.string()?;
            let flat = if ty == TYPE_ZSET_ZIPLIST {
                ziplist::decode(&raw)?
            } else {
                listpack::decode(&raw)?
            };
            let mut items = Vec::new();
            for (m, s) in pairs(flat, "sorted set")? {
                items.push((m, parse_score(&s)?));
            }
            zset_of(items, lim)?
        }
        TYPE_HASH => {
            // Straight into the hash, through two reused buffers: no vector per field
            // (what ferrokv writes, so most of a ferrokv file's load).
            let n = r.plain_len()?;
            let mut h = Hash::new();
            let (mut f, mut v) = (Vec::new(), Vec::new());
            for _ in 0..n {
                r.string_into(&mut f)?;
                r.string_into(&mut v)?;
                if !h.insert(&f, &v, lim.hash) {
                    return Err(corrupt("hash: duplicate field"));
                }
            }
            Value::Hash(h)
        }
        TYPE_HASH_ZIPMAP => {
            let items = zipmap::decode(&r.string()?)?;
            hash_of(
                items.into_iter().map(|(f, v)| (f, v, 0)).collect(),
                FieldOrder::Stored,
                lim,
            )?
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let raw = r.string()?;
            let flat = if ty == TYPE_HASH_ZIPLIST {
                ziplist::decode(&raw)?
            } else {
                listpack::decode(&raw)?
            };
            let items = pairs(flat, "hash")?;
            hash_of(
                items.into_iter().map(|(f, v)| (f, v, 0)).collect(),
                FieldOrder::Stored,
                lim,
            )?
        }
        TYPE_HASH_LISTPACK_EX | TYPE_HASH_LISTPACK_EX_PRE_GA => {
            if ty == TYPE_HASH_LISTPACK_EX {
                // The smallest deadline, kept by Redis for a future use: nothing to check.
                r.u64_le()?;
            }
            let flat = listpack::decode(&r.string()?)?;
            if !flat.len().is_multiple_of(3) {
                return Err(corrupt(
                    "hash listpack with deadlines: not field/value/ttl triples",
                ));
            }
            let mut items = Vec::with_capacity(flat.len() / 3);
            let mut it = flat.into_iter();
            while let (Some(f), Some(v), Some(t)) = (it.next(), it.next(), it.next()) {
                let at = crate::num::parse_i64(&t)
                    .and_then(|t| u64::try_from(t).ok())
                    .filter(|&t| t <= MAX_FIELD_DEADLINE)
                    .ok_or_else(|| corrupt("hash listpack: invalid field deadline"))?;
                items.push((f, v, at));
            }
            hash_of(items, FieldOrder::Stored, lim)?
        }
        TYPE_HASH_METADATA | TYPE_HASH_METADATA_PRE_GA => {
            let min = if ty == TYPE_HASH_METADATA {
                let m = r.u64_le()?;
                if m > NO_MIN_EXPIRE {
                    return Err(corrupt("hash: invalid smallest field deadline"));
                }
                m
            } else {
                0
            };
            let n = r.plain_len()?;
            let mut items = Vec::with_capacity(cap(n));
            for _ in 0..n {
                let t = r.plain_len()?;
                // HASH_METADATA stores deadlines as 1 + the distance from the smallest
                // (0: none); the pre-GA form stored them as they were.
                let at = match (ty, t) {
                    (_, 0) => 0,
                    (TYPE_HASH_METADATA, t) => t
                        .checked_add(min - 1)
                        .ok_or_else(|| corrupt("hash: field deadline overflows"))?,
                    (_, t) => t,
                };
                if at > MAX_FIELD_DEADLINE {
                    return Err(corrupt(format!("hash: invalid field deadline {at}")));
                }
                let f = r.string()?;
                let v = r.string()?;
                items.push((f, v, at));
            }
            hash_of(items, FieldOrder::Added, lim)?
        }
        other => return Err(RdbError::Unsupported(type_name(other), other)),
    };
    Ok((!is_empty(&v)).then_some(v))
}

/// A capacity for `n` declared elements that a hostile count cannot inflate: the
/// elements themselves must arrive before more is reserved.
fn cap(n: u64) -> usize {
    n.min(4096) as usize
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Str(_) => false,
        Value::Hash(h) => h.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
    }
}

/// A score stored as text (RDB type 3): a length byte, or 253/254/255 for NaN, +inf
/// and -inf.
fn text_score<R: Read>(r: &mut Reader<R>) -> Result<f64> {
    let n = r.u8()?;
    let s = match n {
        253 => f64::NAN,
        254 => f64::INFINITY,
        255 => f64::NEG_INFINITY,
        n => {
            let mut b = vec![0u8; n as usize];
            r.bytes(&mut b)?;
            parse_score(&b)?
        }
    };
    Ok(s)
}

fn parse_score(b: &[u8]) -> Result<f64> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| corrupt("sorted set: score is not a number"))
}

/// Pairs of consecutive elements (field and value, member and score).
fn pairs(flat: Vec<Vec<u8>>, what: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if !flat.len().is_multiple_of(2) {
        return Err(corrupt(format!("{what}: odd number of elements")));
    }
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn list_of(items: Vec<Vec<u8>>, lim: &Limits) -> Value {
    let mut l = List::new();
    l.push_many(End::Tail, items.iter().map(|v| v.as_slice()), &lim.list);
    Value::List(l)
}

/// Quicklist nodes (type 14: ziplists; type 18: a container kind, then a listpack or
/// one plain element). Empty nodes are skipped, as Redis does.
fn read_quicklist<R: Read>(r: &mut Reader<R>, ty: u8, lim: &Limits) -> Result<Value> {
    let nodes = r.plain_len()?;
    let mut l = List::new();
    for _ in 0..nodes {
        let container = if ty == TYPE_LIST_QUICKLIST_2 {
            r.plain_len()?
        } else {
            CONTAINER_PACKED
        };
        let raw = r.string()?;
        if raw.is_empty() {
            return Err(corrupt("list: empty quicklist node"));
        }
        match container {
            CONTAINER_PLAIN => l.push(End::Tail, &raw, &lim.list),
            CONTAINER_PACKED => {
                let items = if ty == TYPE_LIST_QUICKLIST {
                    ziplist::decode(&raw)?
                } else {
                    listpack::decode(&raw)?
                };
                l.push_many(End::Tail, items.iter().map(|v| v.as_slice()), &lim.list);
            }
            c => return Err(corrupt(format!("list: unknown quicklist container {c}"))),
        }
    }
    Ok(Value::List(l))
}

fn set_of(items: Vec<Vec<u8>>, lim: &Limits) -> Result<Value> {
    let mut s = Set::new();
    if let Some(first) = items.first() {
        s.prepare(items.len(), first, lim.set);
    }
    for m in &items {
        if !s.insert(m, lim.set) {
            return Err(corrupt("set: duplicate member"));
        }
    }
    Ok(Value::Set(s))
}

fn zset_of(mut items: Vec<(Vec<u8>, f64)>, lim: &Limits) -> Result<Value> {
    if items.iter().any(|(_, s)| s.is_nan()) {
        return Err(corrupt("sorted set: NaN score"));
    }
    items.sort_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
    // Equal members sort next to each other only if their scores are equal too: look
    // for duplicates by member.
    let mut seen: std::collections::HashSet<&[u8]> =
        std::collections::HashSet::with_capacity(items.len());
    if !items.iter().all(|(m, _)| seen.insert(m)) {
        return Err(corrupt("sorted set: duplicate member"));
    }
    let max_len = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    Ok(Value::ZSet(ZSet::from_sorted(
        items.len(),
        max_len,
        items.iter().map(|(m, s)| (m.as_slice(), *s)),
        lim.zset,
    )))
}

/// How the fields of a hash with deadlines come in a value.
#[derive(Clone, Copy, PartialEq)]
enum FieldOrder {
    /// As a listpack stores them (HASH_LISTPACK_EX): the order to keep.
    Stored,
    /// One by one (HASH_METADATA), as Redis adds them while loading: each field with a
    /// deadline goes before the others whose deadline is not sooner.
    Added,
}

/// A hash of (field, value, deadline or 0). Redis keeps the fields of a compact hash
/// with deadlines sorted by deadline, and, as ferrokv does, places a field whose deadline
/// is set before the others with an equal one. So a stored order is rebuilt by setting
/// the deadlines from the last field to the first, and Redis's loading of fields added
/// one by one by setting them from the first to the last.
fn hash_of(items: Vec<(Vec<u8>, Vec<u8>, u64)>, order: FieldOrder, lim: &Limits) -> Result<Value> {
    let mut h = Hash::new();
    for (f, v, _) in &items {
        if !h.insert(f, v, lim.hash) {
            return Err(corrupt("hash: duplicate field"));
        }
    }
    if items.iter().any(|x| x.2 != 0) {
        h.prepare_ttl();
        let with_ttl = items.iter().filter(|x| x.2 != 0);
        let with_ttl: Vec<_> = match order {
            FieldOrder::Stored => with_ttl.rev().collect(),
            FieldOrder::Added => with_ttl.collect(),
        };
        for (f, _, at) in with_ttl {
            h.set_ttl(f, *at);
        }
    }
    Ok(Value::Hash(h))
}

/// True if writing `v` needs RDB 12 (a hash with a field deadline).
pub fn needs_rdb12(v: &Value) -> bool {
    matches!(v, Value::Hash(h) if h.min_ttl() != 0)
}

/// The RDB type `v` is written as (see the module notes).
pub fn type_of(v: &Value) -> u8 {
    match v {
        Value::Str(_) => TYPE_STRING,
        Value::Hash(h) if h.min_ttl() == 0 => TYPE_HASH,
        Value::Hash(_) => TYPE_HASH_METADATA,
        Value::List(_) => TYPE_LIST_QUICKLIST_2,
        Value::Set(_) => TYPE_SET,
        Value::ZSet(_) => TYPE_ZSET_2,
    }
}

/// Writes the type byte and `v` (a DUMP payload's layout).
pub fn write_value<W: Write>(w: &mut Writer<W>, v: &Value, now: u64) -> io::Result<()> {
    w.u8(type_of(v))?;
    write_body(w, v, now)
}

/// Writes `v` in the form `type_of` names (in a file the key goes between the two).
/// Hash fields whose deadline is at or before `now` (ms; 0 keeps them all) are left
/// out, as the AOF rewrite leaves them out; the caller skips a hash with no live field.
pub fn write_body<W: Write>(w: &mut Writer<W>, v: &Value, now: u64) -> io::Result<()> {
    match v {
        Value::Str(s) => w.string(s.bytes()),
        Value::Hash(h) if h.min_ttl() == 0 => {
            w.len(h.len() as u64)?;
            for (f, v) in h.iter() {
                w.string(f)?;
                w.string(&v)?;
            }
            Ok(())
        }
        Value::Hash(h) => {
            let live = |at: u64| at == 0 || now == 0 || at > now;
            let (n, min) = live_fields(h, now);
            w.u64_le(min)?;
            w.len(n)?;
            // A loader adds the fields one by one, each before the others with the same
            // deadline (see `hash_of`): a run of equal deadlines goes out reversed, so
            // it comes back in its order.
            let mut fields: Vec<_> = h.iter_ttl().filter(|x| live(x.2)).collect();
            for run in fields.chunk_by_mut(|a, b| a.2 == b.2 && a.2 != 0) {
                run.reverse();
            }
            for (f, v, at) in fields {
                w.len(if at == 0 { 0 } else { at - min + 1 })?;
                w.string(f)?;
                w.string(&v)?;
            }
            Ok(())
        }
        Value::List(l) => {
            let nodes = list_nodes(l);
            w.len(nodes.len() as u64)?;
            let mut it = l.iter();
            let mut node = Vec::with_capacity(NODE_MAX_ELEMS);
            for &k in &nodes {
                node.clear();
                node.extend(it.by_ref().take(k));
                w.len(CONTAINER_PACKED)?;
                w.string(&listpack::encode(node.iter().map(|x| &x[..])))?;
            }
            Ok(())
        }
        Value::Set(s) => {
            w.len(s.len() as u64)?;
            for m in s.iter() {
                w.string(&m)?;
            }
            Ok(())
        }
        Value::ZSet(z) => {
            w.len(z.len() as u64)?;
            for (m, s) in z.iter() {
                w.string(&m)?;
                w.f64_le(s)?;
            }
            Ok(())
        }
    }
}

/// The number of fields of `h` live at `now` (0: all) and their smallest deadline
/// (NO_MIN_EXPIRE if none has one): the head of a hash with deadlines.
fn live_fields(h: &Hash, now: u64) -> (u64, u64) {
    let (mut n, mut min) = (0u64, NO_MIN_EXPIRE);
    for (_, _, at) in h.iter_ttl() {
        if at == 0 || now == 0 || at > now {
            n += 1;
            if at != 0 {
                min = min.min(at);
            }
        }
    }
    (n, min)
}

/// A value with more elements than this is written in pieces by a save (a string: more
/// bytes than `BIG_STRING`), so one key never holds the loop for long.
pub const BIG: usize = 2048;
/// Bytes of a string that make it big.
pub const BIG_STRING: usize = 1 << 20;

/// True if a save writes `v` in pieces (`write_head`, then `write_items`).
pub fn is_big(v: &Value) -> bool {
    match v {
        Value::Str(s) => s.bytes().len() > BIG_STRING,
        Value::Hash(h) => h.len() > BIG,
        Value::List(l) => l.len() > BIG,
        Value::Set(s) => s.len() > BIG,
        Value::ZSet(z) => z.len() > BIG,
    }
}

/// How a value written in pieces is laid out: what `write_head` announced and the
/// pieces need to agree with it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Positions to write: elements (bytes of a string).
    pub total: usize,
    /// Where each of a list's nodes ends (element positions, increasing).
    nodes: Vec<usize>,
    /// A hash's smallest live deadline (field deadlines are written relative to it).
    min: u64,
}

/// Writes the start of `v`'s body (its length; a list's node count; a hash's smallest
/// deadline and field count) and returns the plan the pieces follow. Fields due by `now`
/// are left out, as `write_body` leaves them; the same `now` must go to every piece. The
/// value must not change until the last piece (a save holds it, or writes a copy).
pub fn write_head<W: Write>(w: &mut Writer<W>, v: &Value, now: u64) -> io::Result<Plan> {
    let mut plan = Plan {
        total: 0,
        nodes: Vec::new(),
        min: 0,
    };
    match v {
        Value::Str(s) => {
            plan.total = s.bytes().len();
            w.len(plan.total as u64)?;
        }
        Value::Hash(h) if h.min_ttl() == 0 => {
            plan.total = h.len();
            w.len(plan.total as u64)?;
        }
        Value::Hash(h) => {
            let (n, min) = live_fields(h, now);
            w.u64_le(min)?;
            w.len(n)?;
            plan.total = h.len();
            plan.min = min;
        }
        Value::List(l) => {
            let sizes = list_nodes(l);
            w.len(sizes.len() as u64)?;
            let mut end = 0;
            plan.nodes = sizes
                .into_iter()
                .map(|k| {
                    end += k;
                    end
                })
                .collect();
            plan.total = l.len();
        }
        Value::Set(s) => {
            plan.total = s.len();
            w.len(plan.total as u64)?;
        }
        Value::ZSet(z) => {
            plan.total = z.len();
            w.len(plan.total as u64)?;
        }
    }
    Ok(plan)
}

/// Writes the positions from `from` on, about `budget` of them (a list's whole nodes),
/// and returns the next position (`plan.total` when the value is complete). A big hash
/// is written in storage order (Redis loads one this big into a table, where order does
/// not show).
pub fn write_items<W: Write>(
    w: &mut Writer<W>,
    v: &Value,
    plan: &Plan,
    from: usize,
    budget: usize,
    now: u64,
) -> io::Result<usize> {
    let end = from.saturating_add(budget.max(1)).min(plan.total);
    match v {
        Value::Str(s) => {
            let end = from
                .saturating_add(budget.max(1).saturating_mul(512))
                .min(plan.total);
            w.bytes(&s.bytes()[from..end])?;
            return Ok(end);
        }
        Value::Hash(h) if h.min_ttl() == 0 => {
            for (f, v, _) in h.iter_ttl_from(from).take(end - from) {
                w.string(f)?;
                w.string(&v)?;
            }
        }
        Value::Hash(h) => {
            let live = |at: u64| at == 0 || now == 0 || at > now;
            for (f, v, at) in h.iter_ttl_from(from).take(end - from) {
                if live(at) {
                    w.len(if at == 0 { 0 } else { at - plan.min + 1 })?;
                    w.string(f)?;
                    w.string(&v)?;
                }
            }
        }
        Value::List(l) => {
            // Whole nodes, from the one starting at `from` (`nodes` holds where each
            // ends), out of one walk of the list.
            let first = plan.nodes.partition_point(|&e| e <= from);
            let last = plan.nodes[first..]
                .iter()
                .position(|&e| e >= end)
                .map_or(plan.nodes.len() - 1, |i| first + i);
            let stop = plan.nodes[last];
            let mut it = l.range(from, stop - 1);
            let mut start = from;
            let mut node = Vec::with_capacity(NODE_MAX_ELEMS);
            for &e in &plan.nodes[first..=last] {
                node.clear();
                node.extend(it.by_ref().take(e - start));
                w.len(CONTAINER_PACKED)?;
                w.string(&listpack::encode(node.iter().map(|x| &x[..])))?;
                start = e;
            }
            return Ok(stop);
        }
        Value::Set(s) => {
            for m in s.iter_from(from).take(end - from) {
                w.string(&m)?;
            }
        }
        Value::ZSet(z) => {
            for (m, s) in z.range(from, end - from, false) {
                w.string(m)?;
                w.f64_le(s)?;
            }
        }
    }
    Ok(end)
}

/// How many elements go in each listpack node of `l` as written: at most
/// NODE_MAX_ELEMS and, unless one element alone is bigger, about NODE_MAX_BYTES.
fn list_nodes(l: &List) -> Vec<usize> {
    let mut nodes = Vec::new();
    let (mut k, mut bytes) = (0usize, 0usize);
    for x in l.iter() {
        // An element's listpack size, near enough for splitting: its bytes plus a
        // header and back-length.
        let add = x.len() + 11;
        if k > 0 && (k == NODE_MAX_ELEMS || bytes + add > NODE_MAX_BYTES) {
            nodes.push(k);
            k = 0;
            bytes = 0;
        }
        k += 1;
        bytes += add;
    }
    if k > 0 {
        nodes.push(k);
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::dump;
    use crate::rdb::unhex;

    fn lim() -> Limits {
        Limits::of(&crate::config::Config::default())
    }

    fn hash_items(v: &Value) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
        let Value::Hash(h) = v else {
            panic!("not a hash")
        };
        h.iter_ttl()
            .map(|(f, v, at)| (f.to_vec(), v.to_vec(), at))
            .collect()
    }

    /// Everything a value holds, in its order, as text (scores as bits).
    fn contents(v: &Value) -> Vec<Vec<u8>> {
        match v {
            Value::Str(s) => vec![s.bytes().to_vec()],
            Value::Hash(_) => hash_items(v)
                .into_iter()
                .flat_map(|(f, v, at)| [f, v, at.to_string().into_bytes()])
                .collect(),
            Value::List(l) => l.iter().map(|x| x.to_vec()).collect(),
            Value::Set(s) => {
                let mut m: Vec<Vec<u8>> = s.iter().map(|x| x.to_vec()).collect();
                m.sort();
                m
            }
            Value::ZSet(z) => z
                .iter()
                .flat_map(|(m, s)| [m.to_vec(), s.to_bits().to_string().into_bytes()])
                .collect(),
        }
    }

    /// DUMP payloads of redis-server 8.0.2 (RDB 12): a small hash with one field deadline
    /// (type 25, listpack with deadlines: HGETALL there gives b 2 a 1 c 3), the same
    /// fields in a hash table with two deadlines (type 24, deadlines relative to the
    /// smallest), and a small set of strings (type 20, listpack).
    #[test]
    fn reads_redis8_payloads() {
        let l = lim();
        let h = dump::value_of(
            &unhex(
                "190038d360ba010000242400000009008162020201f40038d360ba010000098161020101000181630203010001ff0c002dc723d260cd24d2",
            ),
            &l,
        )
        .unwrap();
        let t = 1_900_000_000_000u64;
        assert_eq!(
            hash_items(&h),
            vec![
                (b"b".to_vec(), b"2".to_vec(), t),
                (b"a".to_vec(), b"1".to_vec(), 0),
                (b"c".to_vec(), b"3".to_vec(), 0),
            ]
        );
        let g = dump::value_of(
            &unhex("180038d360ba0100000341f50163c003010162c002000161c0010c0042f8afef7c4c4c4b"),
            &l,
        )
        .unwrap();
        let mut items = hash_items(&g);
        items.sort();
        assert_eq!(
            items,
            vec![
                (b"a".to_vec(), b"1".to_vec(), 0),
                (b"b".to_vec(), b"2".to_vec(), t),
                (b"c".to_vec(), b"3".to_vec(), t + 500),
            ]
        );
        let s = dump::value_of(
            &unhex("1410100000000300816102816202816302ff0c00cf9cddd4ccbdeef7"),
            &l,
        )
        .unwrap();
        assert_eq!(
            contents(&s),
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
    }

    fn samples() -> Vec<Value> {
        let l = lim();
        let mut out = vec![
            Value::Str(Str::new(b"hello")),
            Value::Str(Str::new(b"-12345")),
            Value::Str(Str::new(&[7u8; 5000])),
        ];
        for n in [3usize, 600] {
            let mut h = Hash::new();
            for i in 0..n {
                h.insert(
                    format!("f{i}").as_bytes(),
                    format!("{i}").as_bytes(),
                    l.hash,
                );
            }
            out.push(Value::Hash(h.clone()));
            h.prepare_ttl();
            h.set_ttl(b"f1", 1_900_000_000_123);
            h.set_ttl(b"f2", 1_900_000_000_001);
            out.push(Value::Hash(h));
            let mut list = List::new();
            let items: Vec<Vec<u8>> = (0..n * 10)
                .map(|i| {
                    if i % 3 == 0 {
                        i.to_string().into_bytes()
                    } else {
                        vec![b'x'; i % 300]
                    }
                })
                .collect();
            list.push_many(End::Tail, items.iter().map(|v| v.as_slice()), &l.list);
            out.push(Value::List(list));
            for ints in [true, false] {
                let mut s = Set::new();
                let first = if ints { b"0".to_vec() } else { b"m0".to_vec() };
                s.prepare(n, &first, l.set);
                for i in 0..n {
                    let m = if ints { i.to_string() } else { format!("m{i}") };
                    s.insert(m.as_bytes(), l.set);
                }
                out.push(Value::Set(s));
            }
            let mut z = ZSet::new();
            for i in 0..n {
                let score = [f64::NEG_INFINITY, -0.5, 1e300, 3.0][i % 4] + i as f64;
                z.insert(format!("m{i}").as_bytes(), score, l.zset);
            }
            out.push(Value::ZSet(z));
        }
        out
    }

    /// Every type, small and big, with and without field deadlines, goes through a DUMP
    /// payload and back unchanged (hash field order and deadlines included).
    #[test]
    fn values_round_trip() {
        let l = lim();
        for v in samples() {
            let p = dump::payload(&v, 0);
            let back = dump::value_of(&p, &l).unwrap();
            assert_eq!(contents(&back), contents(&v), "type {}", type_of(&v));
            assert_eq!(
                p[p.len() - 10],
                if needs_rdb12(&v) { 12 } else { 10 },
                "version byte"
            );
        }
    }

    /// A value written in pieces (head, then items with small budgets) reads back as the
    /// same value as one written whole.
    #[test]
    fn pieces_read_back_whole() {
        let l = lim();
        let mut vals = samples();
        let mut list = List::new();
        let items: Vec<Vec<u8>> = (0..5000)
            .map(|i| vec![b'a' + (i % 26) as u8; i % 700])
            .collect();
        list.push_many(End::Tail, items.iter().map(|v| v.as_slice()), &l.list);
        vals.push(Value::List(list));
        vals.push(Value::Str(Str::new(&vec![9u8; 3 << 20])));
        for v in vals {
            for budget in [1usize, 7, 512] {
                let mut w = Writer::new(Vec::new());
                w.u8(type_of(&v)).unwrap();
                let plan = write_head(&mut w, &v, 0).unwrap();
                let mut pos = 0;
                while pos < plan.total {
                    let next = write_items(&mut w, &v, &plan, pos, budget, 0).unwrap();
                    assert!(next > pos, "no progress at {pos}");
                    pos = next;
                }
                let body = w.into_inner();
                let back = read_value(&mut Reader::new(&body[1..]), body[0], &l)
                    .unwrap()
                    .unwrap();
                let (mut a, mut b) = (contents(&back), contents(&v));
                if matches!(v, Value::Hash(_)) {
                    // Equal deadlines may come back in another order (see write_body).
                    a.sort();
                    b.sort();
                }
                assert_eq!(a, b, "type {} budget {budget}", type_of(&v));
            }
        }
    }

    /// A payload cut anywhere is an error, never a panic; so is any flipped byte under a
    /// fixed-up checksum.
    #[test]
    fn damaged_payloads_are_errors() {
        let l = lim();
        for v in samples()
            .into_iter()
            .filter(|v| !matches!(v, Value::List(l) if l.len() > 100))
        {
            let p = dump::payload(&v, 0);
            let body = &p[..p.len() - 10];
            for cut in 0..body.len() {
                let mut r = Reader::new(&body[1..cut.max(1)]);
                assert!(read_value(&mut r, body[0], &l).is_err() || cut == body.len());
            }
            for i in (0..body.len()).step_by(7) {
                let mut b = body.to_vec();
                b[i] ^= 0x5a;
                let mut r = Reader::new(&b[1..]);
                if is_value_type(b[0]) {
                    let _ = read_value(&mut r, b[0], &l);
                }
            }
        }
        // A stream is a clear "unsupported", not corruption.
        let mut r = Reader::new(&b""[..]);
        assert!(matches!(
            read_value(&mut r, TYPE_STREAM_LISTPACKS_3, &l),
            Err(RdbError::Unsupported("stream", 21))
        ));
    }
}
