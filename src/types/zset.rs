//! The sorted set type and its two encodings.
//!
//! Every sorted set is ordered by score, then by member bytes (`memcmp`, shorter first on a
//! common prefix), as in Redis; `-0` and `0` compare equal. Two encodings, named as Redis 7
//! names them in OBJECT ENCODING:
//!
//! - `listpack` (`ZPack`): small sets are one exactly sized buffer of (member, score)
//!   entries in order, searched linearly, like Redis's listpack. A member is a LEB128
//!   length and its bytes; a score is a LEB128 header whose low bit tags a zigzag integer
//!   stored in the header itself (every integral score of magnitude below 2^52: ranks,
//!   counters, timestamps take 1 to 7 bytes) or, for any other double, a zero header and
//!   the 8 bytes of the double. Like Redis's listpack (which stores `d2string` text), an
//!   integral score loses the sign of zero: `-0` is stored as `0`.
//! - `skiplist` (`ZTree`): past `zset-max-listpack-entries` members or with a member longer
//!   than `zset-max-listpack-value` bytes the set converts (one way, as in Redis; only the
//!   results of ZRANGESTORE / ZUNIONSTORE and friends are built small again). The big form
//!   is not Redis's skip list but three parts that store each member's bytes once:
//!   - a slab of slots, one per member: its bytes (inline up to 22) and its score, 32
//!     bytes, addressed by a 4-byte id that stays the member's while it is in the set;
//!   - a hash index of ids keyed by member bytes (hashbrown: 4 bytes and a control byte
//!     per bucket), for ZSCORE, ZADD and ZREM;
//!   - a B+ tree of ids in (score, member) order, 64 ids a leaf, whose inner nodes keep
//!     the size of every subtree, so rank queries (ZRANK, ZRANGE by index, ZCOUNT) are
//!     O(log n), and copies of separator keys to route searches without touching slots.
//!
//!   At one million members that is about 50 bytes a member plus member bytes beyond 22,
//!   against about 100 plus the member for Redis's dict + skip list (a 24-byte dict entry,
//!   a bucket pointer, a skip-list node of 32 bytes plus 16 per level, and the member in
//!   its own allocation). ZSCAN walks slab ids, which do not move while a member stays, so
//!   a member present for a whole scan is returned (a compaction after most members went
//!   renumbers ids and bumps a generation carried in the cursor: scans of the old
//!   generation start over).

use std::cmp::Ordering;
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use super::bytes::Bytes;
use super::listpack::Val;

/// Conversion thresholds, from the `zset-max-listpack-*` directives.
#[derive(Debug, Clone, Copy)]
pub struct ZLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl ZLimits {
    /// True if a set of `len` members, the longest `max_len` bytes, stays a listpack.
    pub fn fits(&self, len: usize, max_len: usize) -> bool {
        len <= self.max_entries && max_len <= self.max_value
    }
}

#[derive(Debug, Clone)]
pub enum ZSet {
    Pack(ZPack),
    // Boxed: big sets are rare, and the keyspace entry of every value stays small.
    Tree(Box<ZTree>),
}

/// (score, member) order: score first (-0 equals 0), then bytes.
#[inline]
pub fn cmp_key(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

/// A ZRANGEBYSCORE interval.
#[derive(Debug, Clone, Copy)]
pub struct ScoreRange {
    pub min: f64,
    pub minex: bool,
    pub max: f64,
    pub maxex: bool,
}

impl ScoreRange {
    #[inline]
    fn below_min(&self, s: f64) -> bool {
        if self.minex {
            s <= self.min
        } else {
            s < self.min
        }
    }
    #[inline]
    fn lte_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
}

/// One end of a ZRANGEBYLEX interval: `-`, `+`, `[member` or `(member`.
#[derive(Debug, Clone, PartialEq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

impl LexBound {
    /// Redis's `sdscmplex` of two bounds (the sentinels below and above everything).
    fn cmp_bound(&self, o: &LexBound) -> Ordering {
        use LexBound::*;
        match (self, o) {
            (NegInf, NegInf) | (PosInf, PosInf) => Ordering::Equal,
            (NegInf, _) | (_, PosInf) => Ordering::Less,
            (PosInf, _) | (_, NegInf) => Ordering::Greater,
            (Incl(a) | Excl(a), Incl(b) | Excl(b)) => a.cmp(b),
        }
    }
    /// Exclusive in Redis's sense (the sentinels count as exclusive).
    fn ex(&self) -> bool {
        !matches!(self, LexBound::Incl(_))
    }
}

/// A ZRANGEBYLEX interval.
#[derive(Debug, Clone)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    pub fn gte_min(&self, v: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(x) => v >= x.as_slice(),
            LexBound::Excl(x) => v > x.as_slice(),
        }
    }
    pub fn lte_max(&self, v: &[u8]) -> bool {
        match &self.max {
            LexBound::PosInf => true,
            LexBound::NegInf => false,
            LexBound::Incl(x) => v <= x.as_slice(),
            LexBound::Excl(x) => v < x.as_slice(),
        }
    }
    /// Ranges that are always empty (Redis's first test in `zslIsInLexRange`).
    fn is_empty(&self) -> bool {
        let c = self.min.cmp_bound(&self.max);
        c == Ordering::Greater || (c == Ordering::Equal && (self.min.ex() || self.max.ex()))
    }
}

// ---------------------------------------------------------------------------------------
// The listpack encoding
// ---------------------------------------------------------------------------------------

#[inline]
fn read_len(buf: &[u8], p: usize) -> (usize, usize) {
    let b = buf[p];
    if b < 0x80 {
        return (b as usize, 1);
    }
    let mut n = (b & 0x7f) as usize;
    let mut shift = 7;
    let mut i = 1;
    loop {
        let b = buf[p + i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b < 0x80 {
            return (n, i);
        }
        shift += 7;
    }
}

fn push_len(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// 2^52: integral scores below this magnitude are stored as integers (Redis's `d2string`
/// prints them with `ll2string` too).
const INT_SCORE_LIMIT: f64 = 4_503_599_627_370_496.0;

#[inline]
fn score_as_int(x: f64) -> Option<i64> {
    (x > -INT_SCORE_LIMIT && x < INT_SCORE_LIMIT && x == x.trunc()).then_some(x as i64)
}

/// Score kind of an entry holding the 8 bytes of a double.
const RAW: u8 = 8;
/// A member length in the entry header byte; longer ones continue in LEB128.
const SHORT_LEN: usize = 15;

#[inline]
fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

#[inline]
fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Appends one entry. `prev` is the previous entry's score if it was stored as an
/// integer: then an integral score is stored as its (non-negative) distance from it.
fn push_entry(buf: &mut Vec<u8>, member: &[u8], score: f64, prev: Option<i64>) -> Option<i64> {
    let int = score_as_int(score);
    let (kind, payload) = match int {
        Some(n) => {
            let v = match prev {
                Some(p) => (n - p) as u64,
                None => zigzag(n),
            };
            ((8 - v.leading_zeros() as u8 / 8).min(7), v)
        }
        None => (RAW, score.to_bits()),
    };
    let short = member.len().min(SHORT_LEN);
    buf.push(((short as u8) << 4) | kind);
    if short == SHORT_LEN {
        push_len(buf, member.len() - SHORT_LEN);
    }
    buf.extend_from_slice(member);
    buf.extend_from_slice(&payload.to_le_bytes()[..kind as usize]);
    int
}

/// Reads the entry at `p`: (member, score, score as stored integer, end).
#[inline]
fn read_entry(buf: &[u8], p: usize, prev: Option<i64>) -> (&[u8], f64, Option<i64>, usize) {
    let h = buf[p];
    let kind = (h & 0x0f) as usize;
    let mut q = p + 1;
    let mut len = (h >> 4) as usize;
    if len == SHORT_LEN {
        let (extra, n) = read_len(buf, q);
        len += extra;
        q += n;
    }
    let member = &buf[q..q + len];
    q += len;
    let mut b = [0u8; 8];
    b[..kind].copy_from_slice(&buf[q..q + kind]);
    let v = u64::from_le_bytes(b);
    if kind == RAW as usize {
        return (member, f64::from_bits(v), None, q + kind);
    }
    let n = match prev {
        Some(p) => p + v as i64,
        None => unzigzag(v),
    };
    (member, n as f64, Some(n), q + kind)
}

/// A small sorted set: entries in (score, member) order in one exactly sized buffer, as
/// compact as the order allows. An entry is a header byte (the member's length if below
/// 15 in the high nibble, else 15 and the rest in LEB128; the score's kind in the low
/// nibble), the member, then the score: kind 8 is the 8 bytes of a double; kinds 0 to 7
/// are an integral score in that many little-endian bytes, as its distance from the
/// previous entry's score when that one is an integer too (the order makes it
/// non-negative, and tied or close scores take 0 or 1 byte), else zigzag-encoded. Ten
/// members of 6 bytes with scores below 10000 take about 88 bytes. An integral score
/// loses the sign of zero, as in Redis's listpack (which stores `-0` as "0"). An empty
/// pack owns no memory.
#[derive(Clone, Default, PartialEq)]
pub struct ZPack {
    buf: Box<[u8]>,
}

impl std::fmt::Debug for ZPack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s)))
            .finish()
    }
}

impl ZPack {
    /// The packed bytes (for prefetching).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            p: 0,
            prev: None,
        }
    }

    /// The rank and score of `member`.
    fn find(&self, member: &[u8]) -> Option<(usize, f64)> {
        self.iter()
            .enumerate()
            .find(|(_, (m, _))| *m == member)
            .map(|(i, (_, s))| (i, s))
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|(_, s)| s)
    }

    /// Rebuilds the buffer from `items` (in order), exactly sized. The entries are
    /// written to a scratch vector first and copied into an exact allocation: shrinking
    /// an oversized one in place would keep malloc's larger chunk (glibc does not split
    /// off less than 32 bytes), which for millions of small sets is most of the saving.
    fn encode<'a>(items: impl Iterator<Item = (&'a [u8], f64)>, size_hint: usize) -> Box<[u8]> {
        let mut b = Vec::with_capacity(size_hint);
        let mut prev = None;
        for (m, s) in items {
            prev = push_entry(&mut b, m, s, prev);
        }
        if b.len() == b.capacity() {
            return b.into_boxed_slice();
        }
        Box::from(b.as_slice())
    }

    /// Replaces bytes `a..b` with `mid`, in a new exactly sized buffer.
    fn splice(&mut self, a: usize, b: usize, mid: &[u8]) {
        let mut v = Vec::with_capacity(self.buf.len() - (b - a) + mid.len());
        v.extend_from_slice(&self.buf[..a]);
        v.extend_from_slice(mid);
        v.extend_from_slice(&self.buf[b..]);
        self.buf = v.into_boxed_slice();
    }

    /// Inserts a member known to be absent at its place in order. Only the new entry and
    /// the one after it (whose score may be stored relative to the new one) are written.
    fn insert_new(&mut self, member: &[u8], score: f64) {
        let buf = &self.buf;
        let (mut p, mut prev) = (0, None);
        while p < buf.len() {
            let (m, s, int, end) = read_entry(buf, p, prev);
            if cmp_key(s, m, score, member) == Ordering::Greater {
                break;
            }
            prev = int;
            p = end;
        }
        let mut mid = Vec::with_capacity(member.len() + 40);
        let int = push_entry(&mut mid, member, score, prev);
        let mut end = p;
        if p < buf.len() {
            let (m, s, _, e) = read_entry(buf, p, prev);
            push_entry(&mut mid, m, s, int);
            end = e;
        }
        self.splice(p, end, &mid);
    }

    /// Removes the entries of ranks `a..=b`, re-writing the entry after them relative to
    /// the one before.
    fn remove_ranks(&mut self, a: usize, b: usize) {
        let buf = &self.buf;
        let (mut p, mut prev, mut i) = (0, None, 0);
        let (mut start, mut before) = (0, None);
        while p < buf.len() && i <= b {
            if i == a {
                start = p;
                before = prev;
            }
            let (_, _, int, end) = read_entry(buf, p, prev);
            prev = int;
            p = end;
            i += 1;
        }
        let mut mid = Vec::new();
        let mut end = p;
        if p < buf.len() {
            let (m, s, _, e) = read_entry(buf, p, prev);
            push_entry(&mut mid, m, s, before);
            end = e;
        }
        if mid.is_empty() && start == 0 && end == buf.len() {
            self.buf = Box::default();
            return;
        }
        self.splice(start, end, &mid);
    }

    /// Builds a pack from entries already in order.
    fn from_sorted<'a>(items: impl Iterator<Item = (&'a [u8], f64)>) -> ZPack {
        ZPack {
            buf: ZPack::encode(items, 0),
        }
    }

    fn heap_bytes(&self) -> usize {
        super::alloc_size(self.buf.len())
    }
}

/// Entries of a pack in order.
pub struct PackIter<'a> {
    buf: &'a [u8],
    p: usize,
    prev: Option<i64>,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = (&'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.p >= self.buf.len() {
            return None;
        }
        let (m, s, int, end) = read_entry(self.buf, self.p, self.prev);
        self.prev = int;
        self.p = end;
        Some((m, s))
    }
}

// ---------------------------------------------------------------------------------------
// The big encoding: slab + hash index + counted B+ tree
// ---------------------------------------------------------------------------------------

/// Most ids in a leaf, most children of an inner node.
const LEAF_MAX: usize = 64;
const INNER_MAX: usize = 64;
/// A node below this many entries merges with or borrows from a sibling.
const LEAF_MIN: usize = LEAF_MAX / 4;
const INNER_MIN: usize = INNER_MAX / 4;
/// How full bulk-built nodes are.
const LEAF_FILL: usize = LEAF_MAX * 7 / 8;
const INNER_FILL: usize = INNER_MAX * 7 / 8;

#[derive(Clone)]
struct Slot {
    member: Bytes,
    /// NaN marks a free slot (no member ever has a NaN score).
    score: f64,
}

#[derive(Clone)]
enum Node {
    Leaf(Vec<u32>),
    Inner(Box<Inner>),
}

#[derive(Clone)]
struct Inner {
    /// `seps[i]` is a key no greater than any key of `kids[i + 1]` and greater than every
    /// key of `kids[i]` (a copy: the member it came from may be gone).
    seps: Vec<(f64, Bytes)>,
    kids: Vec<Node>,
    /// Members under each child.
    counts: Vec<u32>,
}

impl Node {
    fn len(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(i) => i.counts.iter().map(|&c| c as usize).sum(),
        }
    }
    /// Entries of this node itself (ids of a leaf, children of an inner node).
    fn width(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(i) => i.kids.len(),
        }
    }
}

/// The big encoding (see the module doc).
#[derive(Clone)]
pub struct ZTree {
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: RandomState,
    root: Node,
    len: usize,
    /// Bumped when ids are renumbered; part of ZSCAN cursors.
    generation: u16,
}

impl std::fmt::Debug for ZTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.iter_range(0, self.len, false)
                    .map(|(m, s)| (String::from_utf8_lossy(m), s)),
            )
            .finish()
    }
}

#[inline]
fn key(slots: &[Slot], id: u32) -> (f64, &[u8]) {
    let s = &slots[id as usize];
    (s.score, &s.member)
}

/// Number of leading separators for which `pred` holds (it holds for small keys only).
#[inline]
fn seps_where(seps: &[(f64, Bytes)], pred: &impl Fn(f64, &[u8]) -> bool) -> usize {
    seps.partition_point(|(s, m)| pred(*s, m))
}

/// The child of `inn` whose range holds (score, member).
#[inline]
fn route(inn: &Inner, score: f64, member: &[u8]) -> usize {
    seps_where(&inn.seps, &|s, m| {
        cmp_key(s, m, score, member) != Ordering::Greater
    })
}

fn sep_of(slots: &[Slot], id: u32) -> (f64, Bytes) {
    let (s, m) = key(slots, id);
    (s, Bytes::from(m))
}

/// Inserts `id` under `node`; returns the separator and new right sibling on a split.
fn insert_rec(node: &mut Node, slots: &[Slot], id: u32) -> Option<((f64, Bytes), Node)> {
    let (score, member) = key(slots, id);
    match node {
        Node::Leaf(v) => {
            let pos = v.partition_point(|&x| {
                let (s, m) = key(slots, x);
                cmp_key(s, m, score, member) == Ordering::Less
            });
            if v.len() == v.capacity() {
                // Small steps: a leaf's spare room is at most 8 ids.
                v.reserve_exact(8);
            }
            v.insert(pos, id);
            if v.len() <= LEAF_MAX {
                return None;
            }
            // Appending in order (timestamps, counters) leaves full leaves behind.
            let at = if pos == v.len() - 1 {
                v.len() - 1
            } else if pos == 0 {
                1
            } else {
                v.len() / 2
            };
            let right: Vec<u32> = v[at..].to_vec();
            v.truncate(at);
            v.shrink_to_fit();
            let sep = sep_of(slots, right[0]);
            Some((sep, Node::Leaf(right)))
        }
        Node::Inner(inn) => {
            let c = route(inn, score, member);
            inn.counts[c] += 1;
            let (sep, right) = insert_rec(&mut inn.kids[c], slots, id)?;
            let rc = right.len() as u32;
            inn.counts[c] -= rc;
            inn.seps.insert(c, sep);
            inn.kids.insert(c + 1, right);
            inn.counts.insert(c + 1, rc);
            if inn.kids.len() <= INNER_MAX {
                return None;
            }
            let at = if c + 2 == inn.kids.len() {
                inn.kids.len() - 1
            } else if c == 0 {
                1
            } else {
                inn.kids.len() / 2
            };
            let kids = inn.kids.split_off(at);
            let counts = inn.counts.split_off(at);
            let mut seps = inn.seps.split_off(at - 1);
            let up = seps.remove(0);
            Some((up, Node::Inner(Box::new(Inner { seps, kids, counts }))))
        }
    }
}

/// Removes the entry with this key under `node`; false if absent.
fn remove_rec(node: &mut Node, slots: &[Slot], score: f64, member: &[u8]) -> bool {
    match node {
        Node::Leaf(v) => {
            let pos = v.partition_point(|&x| {
                let (s, m) = key(slots, x);
                cmp_key(s, m, score, member) == Ordering::Less
            });
            if pos < v.len() && key(slots, v[pos]).1 == member {
                v.remove(pos);
                true
            } else {
                false
            }
        }
        Node::Inner(inn) => {
            let c = route(inn, score, member);
            if !remove_rec(&mut inn.kids[c], slots, score, member) {
                return false;
            }
            inn.counts[c] -= 1;
            fix_child(inn, c, slots);
            true
        }
    }
}

/// Merges or rebalances child `c` of `inn` with a sibling if it is under-full.
fn fix_child(inn: &mut Inner, c: usize, slots: &[Slot]) {
    let min = match &inn.kids[c] {
        Node::Leaf(_) => LEAF_MIN,
        Node::Inner(_) => INNER_MIN,
    };
    if inn.kids[c].width() >= min || inn.kids.len() < 2 {
        return;
    }
    let a = if c > 0 { c - 1 } else { c };
    let b = a + 1;
    let (left, right) = inn.kids.split_at_mut(b);
    let (l, r) = (&mut left[a], &mut right[0]);
    match (l, r) {
        (Node::Leaf(l), Node::Leaf(r)) => {
            if l.len() + r.len() <= LEAF_MAX {
                l.reserve_exact(r.len());
                l.append(r);
                l.shrink_to_fit();
                inn.kids.remove(b);
                inn.seps.remove(a);
                inn.counts[a] += inn.counts[b];
                inn.counts.remove(b);
            } else {
                let total = l.len() + r.len();
                let want = total / 2;
                if l.len() < want {
                    let k = want - l.len();
                    l.extend(r.drain(..k));
                } else {
                    let k = l.len() - want;
                    let tail: Vec<u32> = l.drain(l.len() - k..).collect();
                    r.splice(0..0, tail);
                }
                inn.counts[a] = l.len() as u32;
                inn.counts[b] = r.len() as u32;
                inn.seps[a] = sep_of(slots, r[0]);
            }
        }
        (Node::Inner(l), Node::Inner(r)) => {
            if l.kids.len() + r.kids.len() <= INNER_MAX {
                let sep = inn.seps.remove(a);
                l.seps.push(sep);
                l.seps.append(&mut r.seps);
                l.kids.append(&mut r.kids);
                l.counts.append(&mut r.counts);
                inn.kids.remove(b);
                inn.counts[a] += inn.counts[b];
                inn.counts.remove(b);
            } else {
                let want = (l.kids.len() + r.kids.len()) / 2;
                while l.kids.len() < want {
                    let down = std::mem::replace(&mut inn.seps[a], r.seps.remove(0));
                    l.seps.push(down);
                    l.kids.push(r.kids.remove(0));
                    l.counts.push(r.counts.remove(0));
                }
                while l.kids.len() > want {
                    let up = l.seps.pop().expect("inner node has separators");
                    let down = std::mem::replace(&mut inn.seps[a], up);
                    r.seps.insert(0, down);
                    r.kids.insert(0, l.kids.pop().expect("non-empty"));
                    r.counts.insert(0, l.counts.pop().expect("non-empty"));
                }
                let lc: u32 = l.counts.iter().sum();
                let total = inn.counts[a] + inn.counts[b];
                inn.counts[a] = lc;
                inn.counts[b] = total - lc;
            }
        }
        _ => unreachable!("siblings are at the same depth"),
    }
}

/// Builds a tree over `ids`, already in order.
fn bulk_load(slots: &[Slot], ids: &[u32]) -> Node {
    if ids.len() <= LEAF_MAX {
        return Node::Leaf(ids.to_vec());
    }
    // Even chunks of about LEAF_FILL, so none is under-full.
    let chunks = ids.len().div_ceil(LEAF_FILL);
    let mut level: Vec<(Node, u32, u32)> = Vec::with_capacity(chunks); // node, count, first id
    let mut start = 0;
    for i in 0..chunks {
        let end = ids.len() * (i + 1) / chunks;
        let part = &ids[start..end];
        level.push((Node::Leaf(part.to_vec()), part.len() as u32, part[0]));
        start = end;
    }
    while level.len() > 1 {
        let groups = level.len().div_ceil(INNER_FILL);
        let mut next = Vec::with_capacity(groups);
        let mut it = level.into_iter();
        let total = it.len();
        let mut taken = 0;
        for g in 0..groups {
            let end = total * (g + 1) / groups;
            let mut inn = Inner {
                seps: Vec::with_capacity(end - taken),
                kids: Vec::with_capacity(end - taken),
                counts: Vec::with_capacity(end - taken),
            };
            let mut first = 0;
            for k in taken..end {
                let (n, c, f) = it.next().expect("counted");
                if k == taken {
                    first = f;
                } else {
                    inn.seps.push(sep_of(slots, f));
                }
                inn.kids.push(n);
                inn.counts.push(c);
            }
            let c: u32 = inn.counts.iter().sum();
            next.push((Node::Inner(Box::new(inn)), c, first));
            taken = end;
        }
        level = next;
    }
    level.pop().expect("one root").0
}

/// Counts the leading keys for which `pred` holds (monotone: true, then false).
fn count_where(node: &Node, slots: &[Slot], pred: &impl Fn(f64, &[u8]) -> bool) -> usize {
    let mut node = node;
    let mut n = 0;
    loop {
        match node {
            Node::Leaf(v) => {
                return n + v.partition_point(|&id| {
                    let (s, m) = key(slots, id);
                    pred(s, m)
                });
            }
            Node::Inner(inn) => {
                let j = seps_where(&inn.seps, pred);
                n += inn.counts[..j].iter().map(|&c| c as usize).sum::<usize>();
                node = &inn.kids[j];
            }
        }
    }
}

/// Range iterator over a tree, forwards or backwards, for a number of entries.
pub struct TreeIter<'a> {
    slots: &'a [Slot],
    stack: Vec<std::slice::Iter<'a, Node>>,
    leaf: std::slice::Iter<'a, u32>,
    rev: bool,
    left: usize,
}

impl<'a> Iterator for TreeIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        loop {
            let id = if self.rev {
                self.leaf.next_back()
            } else {
                self.leaf.next()
            };
            if let Some(&id) = id {
                self.left -= 1;
                let s = &self.slots[id as usize];
                return Some((&s.member, s.score));
            }
            loop {
                let top = self.stack.last_mut()?;
                let n = if self.rev {
                    top.next_back()
                } else {
                    top.next()
                };
                match n {
                    Some(Node::Leaf(v)) => {
                        self.leaf = v.iter();
                        break;
                    }
                    Some(Node::Inner(i)) => self.stack.push(i.kids.iter()),
                    None => {
                        self.stack.pop();
                    }
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ZTree {
    fn empty() -> ZTree {
        ZTree {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            hasher: RandomState::new(),
            root: Node::Leaf(Vec::new()),
            len: 0,
            generation: 0,
        }
    }

    /// A tree of entries already in (score, member) order, with distinct members.
    fn from_sorted<'a>(n: usize, items: impl Iterator<Item = (&'a [u8], f64)>) -> ZTree {
        let mut t = ZTree::empty();
        t.slots.reserve_exact(n);
        t.index.reserve(n, |_| 0);
        for (m, s) in items {
            t.slots.push(Slot {
                member: Bytes::from(m),
                score: s,
            });
        }
        let (slots, hasher) = (&t.slots, &t.hasher);
        for (i, s) in slots.iter().enumerate() {
            let h = hasher.hash_one(&*s.member);
            t.index.insert_unique(h, i as u32, |&j| {
                hasher.hash_one(&*slots[j as usize].member)
            });
        }
        t.len = t.slots.len();
        let ids: Vec<u32> = (0..t.len as u32).collect();
        t.root = bulk_load(&t.slots, &ids);
        t
    }

    #[inline]
    fn hash(&self, member: &[u8]) -> u64 {
        self.hasher.hash_one(member)
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(self.hash(member), |&id| {
                &*slots[id as usize].member == member
            })
            .copied()
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|id| self.slots[id as usize].score)
    }

    fn alloc(&mut self, member: &[u8], score: f64) -> u32 {
        let slot = Slot {
            member: Bytes::from(member),
            score,
        };
        if let Some(id) = self.free.pop() {
            self.slots[id as usize] = slot;
            return id;
        }
        let id = self.slots.len();
        assert!(
            id < u32::MAX as usize,
            "more than 2^32-1 members in a sorted set"
        );
        if self.slots.len() == self.slots.capacity() {
            // An eighth at a time (as the keyspace does): doubling would leave up to half
            // of a million-member slab unused.
            self.slots.reserve_exact(id / 8 + 16);
        }
        self.slots.push(slot);
        id as u32
    }

    fn tree_insert(&mut self, id: u32) {
        if let Some((sep, right)) = insert_rec(&mut self.root, &self.slots, id) {
            let rc = right.len() as u32;
            let left = std::mem::replace(&mut self.root, Node::Leaf(Vec::new()));
            let lc = (self.len + 1) as u32 - rc;
            self.root = Node::Inner(Box::new(Inner {
                seps: vec![sep],
                kids: vec![left, right],
                counts: vec![lc, rc],
            }));
        }
    }

    fn tree_remove(&mut self, id: u32) {
        let (s, m) = key(&self.slots, id);
        let found = remove_rec(&mut self.root, &self.slots, s, m);
        debug_assert!(found, "member in the index but not in the tree");
        if let Node::Inner(inn) = &mut self.root
            && inn.kids.len() == 1
        {
            self.root = inn.kids.pop().expect("one child");
        }
    }

    /// Adds a member known to be absent.
    fn insert_new(&mut self, member: &[u8], score: f64) {
        let id = self.alloc(member, score);
        let h = self.hash(member);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .insert_unique(h, id, |&j| hasher.hash_one(&*slots[j as usize].member));
        self.tree_insert(id);
        self.len += 1;
    }

    /// Changes the score of member `id`.
    fn rescore(&mut self, id: u32, score: f64) {
        self.tree_remove(id);
        self.len -= 1;
        self.slots[id as usize].score = score;
        self.tree_insert(id);
        self.len += 1;
    }

    /// Removes member `id` from the tree, the index and the slab.
    fn delete_id(&mut self, id: u32) {
        self.tree_remove(id);
        let h = self.hash(&self.slots[id as usize].member);
        if let Ok(e) = self.index.find_entry(h, |&x| x == id) {
            e.remove();
        }
        self.slots[id as usize] = Slot {
            member: Bytes::from(&b""[..]),
            score: f64::NAN,
        };
        self.free.push(id);
        self.len -= 1;
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        match self.find(member) {
            Some(id) => {
                self.delete_id(id);
                self.maybe_compact();
                true
            }
            None => false,
        }
    }

    /// Renumbers ids densely (and rebuilds the index and the tree) once fewer than a
    /// quarter of the slots are in use: amortized O(1) per removal.
    fn maybe_compact(&mut self) {
        if self.slots.len() >= 256 && self.len * 4 < self.slots.len() {
            self.rebuild_without(0, 0);
        }
    }

    /// Rebuilds the tree without the entries of ranks `a..b` (none if equal).
    fn rebuild_without(&mut self, a: usize, b: usize) {
        let n = self.len - (b - a);
        let generation = self.generation.wrapping_add(1);
        let keep = self
            .iter_range(0, a, false)
            .chain(self.iter_range(b, self.len - b, false));
        let mut t = ZTree::from_sorted(n, keep);
        t.generation = generation;
        *self = t;
    }

    /// Removes the entries of ranks `a..b`.
    fn remove_range(&mut self, a: usize, b: usize) {
        let k = b - a;
        if k == 0 {
            return;
        }
        if k > 64 && k > self.len / 16 {
            self.rebuild_without(a, b);
            return;
        }
        let ids: Vec<u32> = self.rank_ids(a, k);
        for id in ids {
            self.delete_id(id);
        }
        self.maybe_compact();
    }

    /// The ids of `k` entries from rank `a`.
    fn rank_ids(&self, a: usize, k: usize) -> Vec<u32> {
        let mut it = self.iter_ids(a, k, false);
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            match it.next_id() {
                Some(id) => out.push(id),
                None => break,
            }
        }
        out
    }

    fn iter_ids(&self, rank: usize, k: usize, rev: bool) -> TreeIter<'_> {
        let mut it = TreeIter {
            slots: &self.slots,
            stack: Vec::new(),
            leaf: [].iter(),
            rev,
            left: if rank < self.len { k } else { 0 },
        };
        if it.left == 0 {
            return it;
        }
        let mut node = &self.root;
        let mut r = rank;
        loop {
            match node {
                Node::Leaf(v) => {
                    it.leaf = if rev { v[..=r].iter() } else { v[r..].iter() };
                    return it;
                }
                Node::Inner(inn) => {
                    let mut c = 0;
                    while r >= inn.counts[c] as usize {
                        r -= inn.counts[c] as usize;
                        c += 1;
                    }
                    it.stack.push(if rev {
                        inn.kids[..c].iter()
                    } else {
                        inn.kids[c + 1..].iter()
                    });
                    node = &inn.kids[c];
                }
            }
        }
    }

    /// `k` entries from rank `rank`, forwards; or backwards from `rank` down if `rev`.
    fn iter_range(&self, rank: usize, k: usize, rev: bool) -> TreeIter<'_> {
        self.iter_ids(rank, k, rev)
    }

    fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let id = self.find(member)?;
        let (s, m) = key(&self.slots, id);
        let r = count_where(&self.root, &self.slots, &|s2, m2| {
            cmp_key(s2, m2, s, m) == Ordering::Less
        });
        Some((r, s))
    }

    fn count_where(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        count_where(&self.root, &self.slots, &pred)
    }

    fn heap_bytes_sampled(&self, samples: usize) -> usize {
        let slot = std::mem::size_of::<Slot>();
        let mut n = super::alloc_size(self.slots.capacity() * slot)
            + super::alloc_size(self.free.capacity() * 4);
        // hashbrown: a power of two of buckets, at most 7/8 full; 4 bytes and a control
        // byte each.
        let cap = self.index.capacity();
        if cap > 0 {
            let buckets = (cap * 8 / 7).next_power_of_two();
            n += super::alloc_size(buckets * 5 + 16);
        }
        n += node_bytes(&self.root);
        // Members longer than the inline size live in their own allocation.
        let live = self.slots.iter().filter(|s| !s.score.is_nan());
        let (seen, heap) = if samples == 0 {
            live.fold((0usize, 0usize), |(c, h), s| {
                (c + 1, h + s.member.heap_bytes())
            })
        } else {
            live.take(samples).fold((0usize, 0usize), |(c, h), s| {
                (c + 1, h + s.member.heap_bytes())
            })
        };
        n += (heap * self.len).checked_div(seen).unwrap_or(0);
        n
    }

    /// One ZSCAN step over slab positions (see `ZSet::scan`).
    fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a [u8], f64)) -> u64 {
        let generation = (cursor >> 40) as u16;
        let mut p = if generation == self.generation {
            (cursor & ((1 << 40) - 1)) as usize
        } else {
            0 // Ids were renumbered since: start over (repeats are allowed, misses not).
        };
        let mut visited = 0;
        while p < self.slots.len() && visited < count {
            let s = &self.slots[p];
            if !s.score.is_nan() {
                f(&s.member, s.score);
                visited += 1;
            }
            p += 1;
        }
        if p >= self.slots.len() {
            0
        } else {
            ((self.generation as u64) << 40) | p as u64
        }
    }
}

impl TreeIter<'_> {
    fn next_id(&mut self) -> Option<u32> {
        if self.left == 0 {
            return None;
        }
        loop {
            let id = if self.rev {
                self.leaf.next_back()
            } else {
                self.leaf.next()
            };
            if let Some(&id) = id {
                self.left -= 1;
                return Some(id);
            }
            loop {
                let top = self.stack.last_mut()?;
                let n = if self.rev {
                    top.next_back()
                } else {
                    top.next()
                };
                match n {
                    Some(Node::Leaf(v)) => {
                        self.leaf = v.iter();
                        break;
                    }
                    Some(Node::Inner(i)) => self.stack.push(i.kids.iter()),
                    None => {
                        self.stack.pop();
                    }
                }
            }
        }
    }
}

fn node_bytes(n: &Node) -> usize {
    match n {
        Node::Leaf(v) => super::alloc_size(v.capacity() * 4),
        Node::Inner(i) => {
            super::alloc_size(std::mem::size_of::<Inner>())
                + super::alloc_size(i.seps.capacity() * std::mem::size_of::<(f64, Bytes)>())
                + super::alloc_size(i.kids.capacity() * std::mem::size_of::<Node>())
                + super::alloc_size(i.counts.capacity() * 4)
                + i.seps.iter().map(|(_, m)| m.heap_bytes()).sum::<usize>()
                + i.kids.iter().map(node_bytes).sum::<usize>()
        }
    }
}

// ---------------------------------------------------------------------------------------
// The sorted set
// ---------------------------------------------------------------------------------------

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Pack(ZPack::default())
    }
}

/// Entries in order, from either encoding.
pub enum ZIter<'a> {
    Pack(std::iter::Take<std::iter::Skip<PackIter<'a>>>),
    Tree(TreeIter<'a>),
    List(std::iter::Rev<std::vec::IntoIter<(&'a [u8], f64)>>),
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Pack(i) => i.next(),
            ZIter::Tree(i) => i.next(),
            ZIter::List(i) => i.next(),
        }
    }
}

impl ZSet {
    /// Asks for the cache lines an access starts with (see `Value::prefetch`).
    pub fn prefetch(&self) {
        match self {
            ZSet::Pack(p) => super::prefetch_front(p.bytes()),
            ZSet::Tree(t) => crate::prefetch::read(&**t),
        }
    }

    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// A set of `items`, in (score, member) order with distinct members, in the encoding
    /// Redis gives a new result of that size (ZRANGESTORE, ZUNIONSTORE...): a listpack if
    /// it fits the limits.
    pub fn from_sorted<'a>(
        n: usize,
        max_len: usize,
        items: impl Iterator<Item = (&'a [u8], f64)>,
        lim: ZLimits,
    ) -> ZSet {
        if lim.fits(n, max_len) {
            ZSet::Pack(ZPack::from_sorted(items))
        } else {
            ZSet::Tree(Box::new(ZTree::from_sorted(n, items)))
        }
    }

    /// A ZRANGESTORE result as Redis 7.0 builds it: members added one by one in emission
    /// order (`rev`: from the highest down) to a new set that starts big if `start_big`,
    /// else as a listpack that converts at the member that breaks a limit. `items` are in
    /// (score, member) order. What this changes from `from_sorted` is visible only in the
    /// sign of zero: members added while the set was a listpack lost it.
    pub fn from_emitted(items: &[(&[u8], f64)], rev: bool, start_big: bool, lim: ZLimits) -> ZSet {
        let n = items.len();
        let at = |e: usize| if rev { n - 1 - e } else { e };
        let converted_at = if start_big {
            0
        } else {
            (0..n)
                .find(|&e| e + 1 > lim.max_entries || items[at(e)].0.len() > lim.max_value)
                .unwrap_or(n)
        };
        if converted_at == n {
            return ZSet::Pack(ZPack::from_sorted(items.iter().copied()));
        }
        let fixed = items.iter().enumerate().map(|(j, &(m, s))| {
            let e = if rev { n - 1 - j } else { j };
            (m, if e < converted_at && s == 0.0 { 0.0 } else { s })
        });
        ZSet::Tree(Box::new(ZTree::from_sorted(n, fixed)))
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Pack(p) => p.len(),
            ZSet::Tree(t) => t.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            ZSet::Pack(p) => p.buf.is_empty(),
            ZSet::Tree(t) => t.len == 0,
        }
    }

    /// The name OBJECT ENCODING replies with.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            ZSet::Pack(_) => "listpack",
            ZSet::Tree(_) => "skiplist",
        }
    }

    /// Heap bytes (MEMORY USAGE), out-of-line members estimated from `samples` (0: all).
    pub fn heap_bytes_sampled(&self, samples: usize) -> usize {
        match self {
            ZSet::Pack(p) => p.heap_bytes(),
            ZSet::Tree(t) => {
                super::alloc_size(std::mem::size_of::<ZTree>()) + t.heap_bytes_sampled(samples)
            }
        }
    }

    /// Roughly how many allocations freeing it takes (lazy-free decides by this).
    pub fn allocations(&self) -> usize {
        match self {
            ZSet::Pack(_) => 1,
            ZSet::Tree(t) => t.len,
        }
    }

    /// (member, score) from the lowest score up.
    pub fn iter(&self) -> impl Iterator<Item = (Val<'_>, f64)> {
        self.range(0, self.len(), false)
            .map(|(m, s)| (Val::Bytes(m), s))
    }

    /// `k` entries from rank `rank` upwards, or if `rev` from rank `rank` downwards.
    pub fn range(&self, rank: usize, k: usize, rev: bool) -> ZIter<'_> {
        let k = if rev {
            k.min(rank + 1)
        } else {
            k.min(self.len().saturating_sub(rank))
        };
        match self {
            ZSet::Pack(p) if !rev => ZIter::Pack(p.iter().skip(rank).take(k)),
            ZSet::Pack(p) => {
                let v: Vec<(&[u8], f64)> = p.iter().skip(rank + 1 - k).take(k).collect();
                ZIter::List(v.into_iter().rev())
            }
            ZSet::Tree(t) => ZIter::Tree(t.iter_range(rank, k, rev)),
        }
    }

    /// The entry of rank `i`.
    pub fn nth(&self, i: usize) -> Option<(&[u8], f64)> {
        self.range(i, 1, false).next()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(p) => p.score(member),
            ZSet::Tree(t) => t.score(member),
        }
    }

    /// Looks `member` up and lets `decide` pick its score from the current one (None if
    /// absent): it returns the new score, or None to leave the set alone. A new member
    /// may convert the set to the big encoding (before it is added, as Redis does).
    /// Returns (old score, new score if one was applied).
    pub fn upsert(
        &mut self,
        member: &[u8],
        lim: ZLimits,
        decide: impl FnOnce(Option<f64>) -> Option<f64>,
    ) -> (Option<f64>, Option<f64>) {
        match self {
            ZSet::Pack(p) => {
                let slot = p.find(member);
                let old = slot.map(|(_, s)| s);
                let Some(new) = decide(old) else {
                    return (old, None);
                };
                match slot {
                    Some((i, cur)) => {
                        if new != cur {
                            p.remove_ranks(i, i);
                            p.insert_new(member, new);
                        }
                    }
                    None => {
                        if p.len() + 1 > lim.max_entries || member.len() > lim.max_value {
                            self.convert();
                            if let ZSet::Tree(t) = self {
                                t.insert_new(member, new);
                            }
                        } else {
                            p.insert_new(member, new);
                        }
                    }
                }
                (old, Some(new))
            }
            ZSet::Tree(t) => {
                let id = t.find(member);
                let old = id.map(|id| t.slots[id as usize].score);
                let Some(new) = decide(old) else {
                    return (old, None);
                };
                match id {
                    Some(id) => {
                        if new != old.unwrap_or(new) {
                            t.rescore(id, new);
                        }
                    }
                    None => t.insert_new(member, new),
                }
                (old, Some(new))
            }
        }
    }

    /// Sets `member` to `score` (ZADD without options); true if the member is new.
    #[cfg(test)]
    pub fn insert(&mut self, member: &[u8], score: f64, lim: ZLimits) -> bool {
        self.upsert(member, lim, |_| Some(score)).0.is_none()
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Pack(p) => match p.find(member) {
                Some((i, _)) => {
                    p.remove_ranks(i, i);
                    true
                }
                None => false,
            },
            ZSet::Tree(t) => t.remove(member),
        }
    }

    /// The rank of `member` from the lowest score, and its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        match self {
            ZSet::Pack(p) => p.find(member),
            ZSet::Tree(t) => t.rank(member),
        }
    }

    /// How many leading entries satisfy `pred` (which must hold for a prefix of the
    /// order only).
    fn count_prefix(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSet::Pack(p) => p.iter().take_while(|(m, s)| pred(*s, m)).count(),
            ZSet::Tree(t) => t.count_where(pred),
        }
    }

    /// The ranks `a..b` of the entries in a score interval (a == b if none).
    pub fn score_ranks(&self, r: &ScoreRange) -> (usize, usize) {
        let a = self.count_prefix(|s, _| r.below_min(s));
        let b = self.count_prefix(|s, _| r.lte_max(s));
        (a, b.max(a))
    }

    /// The ranks `a..=b` of the entries in a lex interval, found as Redis finds them:
    /// forwards, the first entry at or above the minimum, then entries while at or below
    /// the maximum (`rev`: backwards from the last entry at or below the maximum, while at
    /// or above the minimum). The results are only meaningful when all scores are equal,
    /// as in Redis; a listpack gives Redis's exact answer in any case.
    pub fn lex_ranks(&self, r: &LexRange, rev: bool) -> Option<(usize, usize)> {
        let n = self.len();
        if n == 0 || r.is_empty() {
            return None;
        }
        let (first, _) = self.nth(0)?;
        let (last, _) = self.nth(n - 1)?;
        if !r.gte_min(last) || !r.lte_max(first) {
            return None;
        }
        match self {
            ZSet::Pack(p) => {
                let ms: Vec<&[u8]> = p.iter().map(|(m, _)| m).collect();
                if !rev {
                    let i = ms.iter().position(|m| r.gte_min(m))?;
                    if !r.lte_max(ms[i]) {
                        return None;
                    }
                    let mut j = i;
                    while j + 1 < n && r.lte_max(ms[j + 1]) {
                        j += 1;
                    }
                    Some((i, j))
                } else {
                    let i = ms.iter().rposition(|m| r.lte_max(m))?;
                    if !r.gte_min(ms[i]) {
                        return None;
                    }
                    let mut j = i;
                    while j > 0 && r.gte_min(ms[j - 1]) {
                        j -= 1;
                    }
                    Some((j, i))
                }
            }
            ZSet::Tree(t) => {
                let a = t.count_where(|_, m| !r.gte_min(m));
                let b = t.count_where(|_, m| r.lte_max(m));
                (a < b).then(|| (a, b - 1))
            }
        }
    }

    /// A ZRANGEBYLEX walk with LIMIT, as Redis walks: from the first entry in range (see
    /// `lex_ranks`), `offset` entries are skipped without looking at them, then up to
    /// `limit` (all if negative) are taken while in range. Returns the rank the walk starts
    /// from and how many entries it takes (downwards from there if `rev`). In a listpack
    /// with unequal scores the skipped entries may leave the range and later ones come
    /// back, as in Redis; in the big encoding the range is taken as contiguous.
    pub fn lex_walk(
        &self,
        r: &LexRange,
        rev: bool,
        offset: i64,
        limit: i64,
    ) -> Option<(usize, usize)> {
        let (a, b) = self.lex_ranks(r, rev)?;
        if offset < 0 {
            return None;
        }
        let max = if limit < 0 {
            usize::MAX
        } else {
            limit as usize
        };
        match self {
            ZSet::Pack(p) => {
                let ms: Vec<&[u8]> = p.iter().map(|(m, _)| m).collect();
                let n = ms.len() as i64;
                let step: i64 = if rev { -1 } else { 1 };
                let first = if rev { b } else { a } as i64 + step * offset.min(n);
                if first < 0 || first >= n {
                    return None;
                }
                let mut pos = first;
                let mut k = 0;
                while pos >= 0 && pos < n && k < max {
                    let m = ms[pos as usize];
                    let ok = if rev { r.gte_min(m) } else { r.lte_max(m) };
                    if !ok {
                        break;
                    }
                    k += 1;
                    pos += step;
                }
                (k > 0).then_some((first as usize, k))
            }
            ZSet::Tree(_) => {
                let span = b - a + 1;
                let off = usize::try_from(offset).unwrap_or(usize::MAX);
                if off >= span {
                    return None;
                }
                let k = (span - off).min(max);
                if k == 0 {
                    return None;
                }
                Some((if rev { b - off } else { a + off }, k))
            }
        }
    }

    /// Removes the entries of ranks `a..b`.
    pub fn remove_ranks(&mut self, a: usize, b: usize) {
        if a >= b {
            return;
        }
        match self {
            ZSet::Pack(p) => p.remove_ranks(a, b - 1),
            ZSet::Tree(t) => t.remove_range(a, b),
        }
    }

    /// Removes and returns up to `count` entries from the low end (or the high end if
    /// `max`), in pop order: ZPOPMIN / ZPOPMAX, and the blocking variants.
    pub fn pop(&mut self, count: usize, max: bool) -> Vec<(Vec<u8>, f64)> {
        let n = self.len();
        let k = count.min(n);
        if k == 0 {
            return Vec::new();
        }
        let (a, start) = if max { (n - k, n - 1) } else { (0, 0) };
        let out: Vec<(Vec<u8>, f64)> = self
            .range(start, k, max)
            .map(|(m, s)| (m.to_vec(), s))
            .collect();
        self.remove_ranks(a, a + k);
        out
    }

    /// One ZSCAN step: calls `f` for the entries visited and returns the next cursor (0
    /// when done). A listpack is returned whole, as Redis does; the big encoding walks
    /// slab positions, about `count` members a call.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a [u8], f64)) -> u64 {
        match self {
            ZSet::Pack(p) => {
                for (m, s) in p.iter() {
                    f(m, s);
                }
                0
            }
            ZSet::Tree(t) => t.scan(cursor, count, f),
        }
    }

    /// Converts a listpack to the big encoding.
    fn convert(&mut self) {
        if let ZSet::Pack(p) = self {
            let t = ZTree::from_sorted(p.len(), p.iter());
            *self = ZSet::Tree(Box::new(t));
        }
    }

    /// Checks the tree's invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        if let ZSet::Tree(t) = self {
            fn walk(
                n: &Node,
                slots: &[Slot],
                lo: Option<(f64, &[u8])>,
                hi: Option<(f64, &[u8])>,
                root: bool,
            ) -> usize {
                match n {
                    Node::Leaf(v) => {
                        assert!(root || !v.is_empty(), "empty leaf");
                        assert!(v.len() <= LEAF_MAX);
                        for w in v.windows(2) {
                            let (a, b) = (key(slots, w[0]), key(slots, w[1]));
                            assert_eq!(cmp_key(a.0, a.1, b.0, b.1), Ordering::Less);
                        }
                        for &id in v {
                            let (s, m) = key(slots, id);
                            if let Some((ls, lm)) = lo {
                                assert_ne!(cmp_key(s, m, ls, lm), Ordering::Less);
                            }
                            if let Some((hs, hm)) = hi {
                                assert_eq!(cmp_key(s, m, hs, hm), Ordering::Less);
                            }
                        }
                        v.len()
                    }
                    Node::Inner(i) => {
                        assert_eq!(i.seps.len() + 1, i.kids.len());
                        assert_eq!(i.counts.len(), i.kids.len());
                        assert!(i.kids.len() <= INNER_MAX);
                        assert!(root || i.kids.len() >= 2);
                        let mut total = 0;
                        for (c, k) in i.kids.iter().enumerate() {
                            let l = if c == 0 {
                                lo
                            } else {
                                Some((i.seps[c - 1].0, &*i.seps[c - 1].1))
                            };
                            let h = if c + 1 == i.kids.len() {
                                hi
                            } else {
                                Some((i.seps[c].0, &*i.seps[c].1))
                            };
                            let n = walk(k, slots, l, h, false);
                            assert_eq!(n, i.counts[c] as usize);
                            total += n;
                        }
                        total
                    }
                }
            }
            assert_eq!(walk(&t.root, &t.slots, None, None, true), t.len);
            assert_eq!(t.index.len(), t.len);
            let live = t.slots.iter().filter(|s| !s.score.is_nan()).count();
            assert_eq!(live, t.len);
            assert_eq!(t.slots.len() - live, t.free.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: ZLimits = ZLimits {
        max_entries: 128,
        max_value: 64,
    };
    const TINY: ZLimits = ZLimits {
        max_entries: 4,
        max_value: 64,
    };

    fn dump(z: &ZSet) -> Vec<(Vec<u8>, u64)> {
        z.iter().map(|(m, s)| (m.to_vec(), s.to_bits())).collect()
    }

    #[test]
    fn pack_orders_by_score_then_member() {
        let mut z = ZSet::new();
        assert!(z.insert(b"b", 1.0, SMALL));
        assert!(z.insert(b"a", 1.0, SMALL));
        assert!(z.insert(b"c", 0.5, SMALL));
        assert!(z.insert(b"ab", 1.0, SMALL));
        assert!(z.insert(b"z", -0.0, SMALL));
        assert!(z.insert(b"big", 1e300, SMALL));
        assert!(z.insert(b"neg", f64::NEG_INFINITY, SMALL));
        assert!(!z.insert(b"c", 2.0, SMALL));
        let names: Vec<Vec<u8>> = z.iter().map(|(m, _)| m.to_vec()).collect();
        assert_eq!(
            names,
            vec![
                b"neg".to_vec(),
                b"z".to_vec(),
                b"a".to_vec(),
                b"ab".to_vec(),
                b"b".to_vec(),
                b"c".to_vec(),
                b"big".to_vec()
            ]
        );
        // The listpack stores integral scores as integers: -0 becomes 0, as in Redis.
        assert_eq!(z.score(b"z").map(f64::to_bits), Some(0f64.to_bits()));
        assert_eq!(z.score(b"big"), Some(1e300));
        assert_eq!(z.rank(b"ab"), Some((3, 1.0)));
        assert_eq!(z.encoding_name(), "listpack");
        assert!(z.remove(b"a"));
        assert!(!z.remove(b"a"));
        assert_eq!(z.len(), 6);
    }

    #[test]
    fn converts_past_the_limits_with_contents_intact() {
        let mut z = ZSet::new();
        for (i, m) in [b"d", b"c", b"b", b"a"].iter().enumerate() {
            z.insert(*m, i as f64 * 0.5, TINY);
        }
        assert_eq!(z.encoding_name(), "listpack");
        let before = dump(&z);
        z.insert(b"e", 0.25, TINY);
        assert_eq!(z.encoding_name(), "skiplist");
        let mut want = before.clone();
        want.insert(1, (b"e".to_vec(), 0.25f64.to_bits()));
        assert_eq!(dump(&z), want);
        z.check();
        let mut long = ZSet::new();
        long.insert(b"x", 1.0, SMALL);
        long.insert(&[b'm'; 65], 2.0, SMALL);
        assert_eq!(long.encoding_name(), "skiplist");
        // The big encoding keeps -0.
        long.insert(b"nz", -0.0, SMALL);
        assert_eq!(
            long.score(b"nz").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
    }

    /// Random operations on both encodings against a sorted vector model, with tree
    /// invariants checked as it goes.
    #[test]
    fn matches_a_model() {
        let mut rng = crate::rand::Rng::from_entropy();
        for round in 0..30 {
            let lim = match round % 4 {
                0 => SMALL,
                // Listpacks of thousands of entries, to work the pack hard.
                1 => ZLimits {
                    max_entries: 100_000,
                    max_value: 100,
                },
                _ => ZLimits {
                    max_entries: 0,
                    max_value: 64,
                },
            };
            let mut z = ZSet::new();
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            let space = [10u64, 300, 3000][round % 3];
            for step in 0..4000 {
                let mut m = format!("m{}", rng.below(space)).into_bytes();
                if rng.below(20) == 0 {
                    m.resize(14 + rng.below(40) as usize, b'x');
                }
                let score = match rng.below(9) {
                    0 => 0.0,
                    1 => rng.below(5) as f64,
                    2 => f64::INFINITY,
                    3 => -(rng.below(1000) as f64) / 7.0,
                    4 => [
                        4503599627370495.0,
                        4503599627370496.0,
                        -4503599627370495.0,
                        9007199254740993.0,
                        1e300,
                        -1e300,
                        f64::NEG_INFINITY,
                        5e-324,
                    ][rng.below(8) as usize],
                    5 => -(rng.below(1 << 40) as f64),
                    6 => rng.below(300) as f64 - 150.0,
                    _ => rng.below(100_000) as f64 / 3.0,
                };
                let pos = model.iter().position(|(_, x)| *x == m);
                match rng.below(10) {
                    0..=4 => {
                        assert_eq!(z.insert(&m, score, lim), pos.is_none());
                        if let Some(i) = pos {
                            model.remove(i);
                        }
                        model.push((score, m.clone()));
                    }
                    5 | 6 => {
                        assert_eq!(z.remove(&m), pos.is_some());
                        if let Some(i) = pos {
                            model.remove(i);
                        }
                    }
                    7 => {
                        let k = rng.below(20) as usize;
                        let max = rng.below(2) == 1;
                        model.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
                        let got = z.pop(k, max);
                        let k = k.min(model.len());
                        let want: Vec<(Vec<u8>, f64)> = if max {
                            model
                                .drain(model.len() - k..)
                                .rev()
                                .map(|(s, m)| (m, s))
                                .collect()
                        } else {
                            model.drain(..k).map(|(s, m)| (m, s)).collect()
                        };
                        assert_eq!(got, want);
                    }
                    8 if !model.is_empty() => {
                        model.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
                        let a = rng.below(model.len() as u64) as usize;
                        let span = if rng.below(10) == 0 { 2000 } else { 5 };
                        let b = (a + rng.below(span) as usize).min(model.len());
                        z.remove_ranks(a, b);
                        model.drain(a..b);
                    }
                    _ => {
                        model.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
                        let r = ScoreRange {
                            min: 1.0,
                            minex: rng.below(2) == 0,
                            max: 100.0,
                            maxex: false,
                        };
                        let (a, b) = z.score_ranks(&r);
                        let want: Vec<usize> = (0..model.len())
                            .filter(|&i| {
                                let s = model[i].0;
                                (if r.minex { s > r.min } else { s >= r.min }) && s <= r.max
                            })
                            .collect();
                        assert_eq!(b - a, want.len());
                        if let Some(&f) = want.first() {
                            assert_eq!(a, f);
                        }
                    }
                }
                if step % 97 == 0 || z.len() < 5 {
                    model.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
                    let got: Vec<(f64, Vec<u8>)> = z.iter().map(|(m, s)| (s, m.to_vec())).collect();
                    assert_eq!(got.len(), model.len());
                    for (g, w) in got.iter().zip(&model) {
                        assert_eq!(g.1, w.1);
                        assert!(g.0 == w.0);
                    }
                    z.check();
                    for (i, (s, m)) in model.iter().enumerate().step_by(7) {
                        assert_eq!(z.rank(m), Some((i, *s)));
                        assert_eq!(z.nth(i).map(|(m, _)| m.to_vec()), Some(m.clone()));
                        assert_eq!(z.score(m), Some(*s));
                    }
                    // Backwards ranges agree with forwards ones.
                    let n = model.len();
                    if n > 0 {
                        let r = rng.below(n as u64) as usize;
                        let back: Vec<Vec<u8>> =
                            z.range(r, 10, true).map(|(m, _)| m.to_vec()).collect();
                        let want: Vec<Vec<u8>> = model[r.saturating_sub(9)..=r]
                            .iter()
                            .rev()
                            .map(|(_, m)| m.clone())
                            .collect();
                        assert_eq!(back, want);
                    }
                }
            }
        }
    }

    #[test]
    fn big_sequential_and_bulk() {
        let lim = ZLimits {
            max_entries: 0,
            max_value: 64,
        };
        let mut z = ZSet::new();
        for i in 0..100_000u32 {
            z.insert(format!("k{i:06}").as_bytes(), i as f64, lim);
        }
        z.check();
        assert_eq!(z.rank(b"k050000"), Some((50000, 50000.0)));
        let r = ScoreRange {
            min: 10.0,
            minex: true,
            max: 20.0,
            maxex: false,
        };
        assert_eq!(z.score_ranks(&r), (11, 21));
        let lex = LexRange {
            min: LexBound::Incl(b"k000010".to_vec()),
            max: LexBound::Excl(b"k000020".to_vec()),
        };
        assert_eq!(z.lex_ranks(&lex, false), Some((10, 19)));
        z.remove_ranks(1000, 99_000);
        z.check();
        assert_eq!(z.len(), 2000);
        assert_eq!(
            z.nth(1000).map(|(m, _)| m.to_vec()),
            Some(b"k099000".to_vec())
        );
        // Scans see every member once when nothing changes.
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = z.scan(cursor, 10, |m, _| {
                assert!(seen.insert(m.to_vec()));
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 2000);
        while z.len() > 10 {
            z.pop(7, true);
        }
        z.check();
        assert_eq!(z.encoding_name(), "skiplist");
    }
}
