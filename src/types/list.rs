//! The list type, in Redis 7's two encodings: a small list is one packed buffer (Redis's
//! listpack), a big one a chain of packed nodes (Redis's quicklist).
//!
//! Packed layout (a small list and every quicklist node alike): the element count as
//! LEB128, then the entries back to back. An entry is the value, encoded as a hash
//! listpack value is (`listpack.rs`: a LEB128 header whose low bit tells a canonical
//! decimal integer, stored zigzag in the header itself, from a string, whose length and
//! bytes follow), then its "back length": the byte size of that value in 7-bit groups,
//! written so it reads from its last byte backwards (the last byte holds the low bits and
//! the high bit of every byte but the first says another precedes). The back length is
//! what lets RPOP, LRANGE from the tail and LINDEX -1 walk a node backwards without a
//! scan. A 3-byte string takes 5 bytes, as in Redis's listpack; `7` takes 2, `1700000000`
//! 6. Values read back as `Val`, integers printed on demand.
//!
//! A small list (`List::Pack`) is exactly sized and reallocated on every change, like a
//! listpack: no capacity word, one allocation per list. When a push would take it past
//! the node limit of `list-max-listpack-size` (negative: 4, 8, 16, 32 or 64 KB per node;
//! positive: that many entries, and at most 8 KB) it becomes a quicklist
//! (`List::Quick`): a deque of nodes, each a growable buffer, pushes at either end filling
//! the end node until it is full and then starting a new one, so pushes and pops at both
//! ends are amortized O(1) and reading index i walks node counts, then one node. When
//! removals leave a single node at most half the limit, the list is packed again, as
//! Redis 7.2 converts back to a listpack. Both forms report `quicklist` to OBJECT
//! ENCODING, as Redis 7.0 does for every list.

use std::collections::VecDeque;

use super::listpack::{Val, as_int, int_header, len_size, push_len, read_len, read_value};

/// An end of a list: LEFT (head) or RIGHT (tail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

/// Node size when `list-max-listpack-size` is positive (a count): no node passes it
/// unless it holds one element (Redis's SIZE_SAFETY_LIMIT).
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Node sizes of `list-max-listpack-size` -1 to -5.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// A shrinking node gives memory back once this much capacity would be spare.
const SHRINK_SLACK: usize = 256;

/// Node limits, from `list-max-listpack-size`.
#[derive(Debug, Clone, Copy)]
pub struct ListLimits {
    /// The directive's value (DEBUG OBJECT's `ql_listpack_max`).
    pub fill: i64,
    max_bytes: usize,
    max_count: usize,
}

impl ListLimits {
    pub fn new(fill: i64) -> ListLimits {
        let (max_bytes, max_count) = if fill >= 0 {
            (SIZE_SAFETY_LIMIT, fill.max(1) as usize)
        } else {
            let level = (fill.unsigned_abs() - 1).min(SIZE_LEVELS.len() as u64 - 1);
            (SIZE_LEVELS[level as usize], usize::MAX)
        };
        ListLimits {
            fill,
            max_bytes,
            max_count,
        }
    }

    /// A node of `bytes` bytes and `count` elements is over the limit.
    #[inline]
    fn exceeds(&self, bytes: usize, count: usize) -> bool {
        bytes > self.max_bytes || count > self.max_count
    }

    /// A lone node this small makes the list a packed one again (half the limit, so a
    /// list at the boundary does not convert back and forth).
    fn fits_half(&self, bytes: usize, count: usize) -> bool {
        bytes <= self.max_bytes / 2 && count <= self.max_count / 2
    }
}

impl Default for ListLimits {
    fn default() -> ListLimits {
        ListLimits::new(-2)
    }
}

// ------------------------------------------------------------------ entries

/// A value ready to be written: its header number and the bytes after the header.
#[derive(Clone, Copy)]
struct Enc<'a> {
    code: usize,
    body: &'a [u8],
}

impl<'a> Enc<'a> {
    #[inline]
    fn of(v: &'a [u8]) -> Enc<'a> {
        match as_int(v) {
            Some(n) => Enc {
                code: int_header(n),
                body: &[],
            },
            None => Enc {
                code: v.len() << 1,
                body: v,
            },
        }
    }

    /// Bytes of the value (header and body): what the back length counts.
    #[inline]
    fn value_len(&self) -> usize {
        len_size(self.code) + self.body.len()
    }

    /// Bytes of the whole entry.
    #[inline]
    fn size(&self) -> usize {
        let s = self.value_len();
        s + len_size(s)
    }

    /// Writes the entry into `dst`, exactly `size()` bytes.
    fn write(&self, dst: &mut [u8]) {
        let mut i = put_len(dst, 0, self.code);
        dst[i..i + self.body.len()].copy_from_slice(self.body);
        i += self.body.len();
        put_back_len(dst, i, self.value_len());
    }

    /// The encoded value (header and body), for comparing with stored entries.
    fn value_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.value_len());
        push_len(&mut v, self.code);
        v.extend_from_slice(self.body);
        v
    }
}

/// Writes `n` as LEB128 at `dst[i..]`; returns where it ends.
#[inline]
fn put_len(dst: &mut [u8], mut i: usize, mut n: usize) -> usize {
    while n >= 0x80 {
        dst[i] = (n as u8 & 0x7f) | 0x80;
        n >>= 7;
        i += 1;
    }
    dst[i] = n as u8;
    i + 1
}

/// Writes the back length `s` at `dst[i..]`: low 7 bits in the last byte, every byte but
/// the first flagged.
#[inline]
fn put_back_len(dst: &mut [u8], i: usize, s: usize) {
    let k = len_size(s);
    for j in 0..k {
        let flag = if j + 1 < k { 0x80 } else { 0 };
        dst[i + k - 1 - j] = ((s >> (7 * j)) as u8 & 0x7f) | flag;
    }
}

/// Where the entry ending at `end` starts (read from its back length).
#[inline]
fn start_before(buf: &[u8], end: usize) -> usize {
    let mut i = end - 1;
    let mut b = buf[i];
    let mut s = (b & 0x7f) as usize;
    let mut shift = 7;
    while b & 0x80 != 0 {
        i -= 1;
        b = buf[i];
        s |= ((b & 0x7f) as usize) << shift;
        shift += 7;
    }
    i - s
}

/// Where the value (header and body) of the entry at `p` ends.
#[inline]
fn value_end(buf: &[u8], p: usize) -> usize {
    let (code, hs) = read_len(buf, p);
    p + hs + if code & 1 == 0 { code >> 1 } else { 0 }
}

/// Where the entry at `p` ends.
#[inline]
fn entry_end(buf: &[u8], p: usize) -> usize {
    let ve = value_end(buf, p);
    ve + len_size(ve - p)
}

// ------------------------------------------------------------------ packed buffers

/// (element count, header size) of a packed buffer; an empty buffer holds nothing.
#[inline]
fn count_of(buf: &[u8]) -> (usize, usize) {
    if buf.is_empty() {
        (0, 0)
    } else {
        read_len(buf, 0)
    }
}

/// Sets the count of a packed buffer (writing the header of an empty one); an empty
/// count leaves no bytes at all.
fn set_count(v: &mut Vec<u8>, n: usize) {
    let (_, hl) = count_of(v);
    if n == 0 {
        v.clear();
        return;
    }
    let mut h = [0u8; 10];
    let k = put_len(&mut h, 0, n);
    if k == hl {
        v[..k].copy_from_slice(&h[..k]);
    } else {
        v.splice(0..hl, h[..k].iter().copied());
    }
}

/// The byte offset of element `i` of a packed buffer, walking from the nearer end.
fn offset_of(buf: &[u8], i: usize) -> usize {
    let (n, hl) = count_of(buf);
    if i <= n / 2 {
        let mut p = hl;
        for _ in 0..i {
            p = entry_end(buf, p);
        }
        p
    } else {
        let mut p = buf.len();
        for _ in i..n {
            p = start_before(buf, p);
        }
        p
    }
}

/// Makes room for `extra` bytes: exactly (a packed list) or growing geometrically up
/// to `cap` (a quicklist node, so pushes do not reallocate each time).
fn reserve(v: &mut Vec<u8>, extra: usize, cap: Option<usize>) {
    let need = v.len() + extra;
    if need <= v.capacity() {
        return;
    }
    let want = match cap {
        None => need,
        Some(cap) => need.max((v.capacity() * 2).clamp(64, cap.max(64))),
    };
    v.reserve_exact(want - v.len());
}

/// Gives back spare capacity of a node that shrank.
fn shrink(v: &mut Vec<u8>) {
    if v.capacity() >= 2 * v.len() + SHRINK_SLACK {
        v.shrink_to(v.len() + v.len() / 4);
    }
}

/// Writes the first `k` items of `items` at the `end` of a packed buffer, in push order
/// (at the head the last pushed comes first), `add` being their encoded size.
fn fill<'a>(
    v: &mut Vec<u8>,
    end: End,
    items: &mut impl Iterator<Item = &'a [u8]>,
    k: usize,
    add: usize,
    cap: Option<usize>,
) {
    let (n, _) = count_of(v);
    reserve(v, add + 3, cap);
    if v.is_empty() {
        v.push(0); // Header of an empty buffer; set_count writes the real one.
    }
    let hl = count_of(v).1;
    let at = if end == End::Head { hl } else { v.len() };
    let old = v.len();
    v.resize(old + add, 0);
    v.copy_within(at..old, at + add);
    let mut pos = if end == End::Head { at + add } else { at };
    for x in items.take(k) {
        let e = Enc::of(x);
        let s = e.size();
        if end == End::Head {
            pos -= s;
            e.write(&mut v[pos..pos + s]);
        } else {
            e.write(&mut v[pos..pos + s]);
            pos += s;
        }
    }
    set_count(v, n + k);
}

/// Replaces bytes `from..to` of `v` with the entry `e`.
fn replace_entry(v: &mut Vec<u8>, from: usize, to: usize, e: Enc, cap: Option<usize>) {
    let s = e.size();
    if s > to - from {
        reserve(v, s - (to - from), cap);
    }
    v.splice(from..to, std::iter::repeat_n(0u8, s));
    e.write(&mut v[from..from + s]);
}

/// Removes elements matching `needle` (encoded) from a packed buffer, scanning forward
/// from byte `from`, at most `max`; returns how many went.
fn remove_matches(v: &mut Vec<u8>, from: usize, needle: &[u8], max: usize) -> usize {
    let (n, _) = count_of(v);
    let (mut r, mut w, mut gone) = (from, from, 0);
    while r < v.len() {
        let e = entry_end(v, r);
        if gone < max && v[r..value_end(v, r)] == *needle {
            gone += 1;
        } else {
            if w != r {
                v.copy_within(r..e, w);
            }
            w += e - r;
        }
        r = e;
    }
    v.truncate(w);
    if gone > 0 {
        set_count(v, n - gone);
    }
    gone
}

/// Where removing up to `max` matches scanning backward from the end would start, and
/// how many there are: the forward removal from there removes exactly those.
fn matches_from_back(buf: &[u8], needle: &[u8], max: usize) -> (usize, usize) {
    let hl = count_of(buf).1;
    let (mut p, mut at, mut k) = (buf.len(), buf.len(), 0);
    while p > hl && k < max {
        p = start_before(buf, p);
        if buf[p..value_end(buf, p)] == *needle {
            at = p;
            k += 1;
        }
    }
    (at, k)
}

/// Splits a node at the entry boundary nearest its middle: the tail half is returned.
fn split_node(v: &mut Vec<u8>) -> Vec<u8> {
    let (n, hl) = count_of(v);
    let (mut p, mut i) = (hl, 0);
    while i + 1 < n && p < v.len() / 2 {
        p = entry_end(v, p);
        i += 1;
    }
    if i == 0 {
        p = entry_end(v, p);
        i = 1;
    }
    let mut tail = Vec::with_capacity(v.len() - p + 3);
    let mut h = [0u8; 10];
    let k = put_len(&mut h, 0, n - i);
    tail.extend_from_slice(&h[..k]);
    tail.extend_from_slice(&v[p..]);
    v.truncate(p);
    set_count(v, i);
    tail
}

// ------------------------------------------------------------------ the list

#[derive(Debug, Clone)]
pub enum List {
    /// One exactly sized packed buffer (empty: no element, no allocation).
    Pack(Box<[u8]>),
    /// Boxed: big lists are few, and inline the deque would make every keyspace value
    /// larger.
    Quick(Box<Quick>),
}

/// The chain of nodes: none empty, each a packed buffer with its own count.
#[derive(Debug, Clone, Default)]
pub struct Quick {
    nodes: VecDeque<Vec<u8>>,
    len: usize,
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

/// Runs `f` on a packed list's buffer as a vector, then stores it exactly sized again.
fn edit_pack<R>(b: &mut Box<[u8]>, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut v = std::mem::take(b).into_vec();
    let r = f(&mut v);
    *b = v.into_boxed_slice();
    r
}

/// The nodes of a list as an iterator sees them.
#[derive(Clone, Copy)]
enum Nodes<'a> {
    One(&'a [u8]),
    Many(&'a VecDeque<Vec<u8>>),
}

impl<'a> Nodes<'a> {
    #[inline]
    fn get(&self, i: usize) -> &'a [u8] {
        match self {
            Nodes::One(b) => b,
            Nodes::Many(n) => &n[i],
        }
    }
}

impl List {
    /// Asks for the cache lines an access starts with (see `Value::prefetch`).
    pub fn prefetch(&self) {
        match self {
            List::Pack(b) => super::prefetch_front(b),
            List::Quick(q) => crate::prefetch::read(&**q),
        }
    }

    pub fn new() -> List {
        List::Pack(Box::default())
    }

    pub fn len(&self) -> usize {
        match self {
            List::Pack(b) => count_of(b).0,
            List::Quick(q) => q.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING replies with: Redis 7.0 reports every list as a
    /// quicklist, whatever its size.
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    /// True while the list is one packed buffer (Redis 7.2 would say `listpack`).
    pub fn is_packed(&self) -> bool {
        matches!(self, List::Pack(_))
    }

    /// Number of packed nodes (1 for a packed list), and their total bytes.
    pub fn nodes(&self) -> (usize, usize) {
        match self {
            List::Pack(b) => (1, b.len()),
            List::Quick(q) => (q.nodes.len(), q.nodes.iter().map(|n| n.len()).sum()),
        }
    }

    /// Heap bytes (MEMORY USAGE). Nodes are few (one per several KB), so all are counted
    /// whatever `samples` asks.
    pub fn heap_bytes_sampled(&self, _samples: usize) -> usize {
        match self {
            List::Pack(b) => super::alloc_size(b.len()),
            List::Quick(q) => {
                super::alloc_size(std::mem::size_of::<Quick>())
                    + super::alloc_size(q.nodes.capacity() * std::mem::size_of::<Vec<u8>>())
                    + q.nodes
                        .iter()
                        .map(|n| super::alloc_size(n.capacity()))
                        .sum::<usize>()
            }
        }
    }

    /// Roughly how many allocations freeing it takes (lazy-free decides by this).
    pub fn allocations(&self) -> usize {
        match self {
            List::Pack(_) => 1,
            List::Quick(q) => q.nodes.len() + 2,
        }
    }

    fn as_nodes(&self) -> Nodes<'_> {
        match self {
            List::Pack(b) => Nodes::One(b),
            List::Quick(q) => Nodes::Many(&q.nodes),
        }
    }

    /// (node, byte offset) of element `i` (< len), walking node counts from the nearer
    /// end, then the node from its nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        match self {
            List::Pack(b) => (0, offset_of(b, i)),
            List::Quick(q) => {
                let (node, j) = q.node_of(i);
                (node, offset_of(&q.nodes[node], j))
            }
        }
    }

    /// Elements from head to tail.
    pub fn iter(&self) -> Iter<'_> {
        match self.len() {
            0 => Iter::empty(self.as_nodes()),
            n => self.range(0, n - 1),
        }
    }

    /// Elements `start..=end` (both < len, start <= end), in either direction.
    pub fn range(&self, start: usize, end: usize) -> Iter<'_> {
        debug_assert!(start <= end && end < self.len());
        let nodes = self.as_nodes();
        let (fnode, fpos) = self.locate(start);
        let (bnode, bstart) = self.locate(end);
        let bbuf = nodes.get(bnode);
        Iter {
            nodes,
            fnode,
            fbuf: nodes.get(fnode),
            fpos,
            bnode,
            bpos: entry_end(bbuf, bstart),
            bbuf,
            left: end - start + 1,
        }
    }

    /// Element `i` (< len).
    pub fn get(&self, i: usize) -> Option<Val<'_>> {
        if i >= self.len() {
            return None;
        }
        let (node, p) = self.locate(i);
        Some(read_value(self.as_nodes().get(node), p).0)
    }

    /// Pushes one element at `end`.
    pub fn push(&mut self, end: End, v: &[u8], lim: &ListLimits) {
        self.push_many(end, std::iter::once(v), lim);
    }

    /// Pushes elements at `end` one after the other (LPUSH a b c leaves c first).
    pub fn push_many<'a>(
        &mut self,
        end: End,
        items: impl Iterator<Item = &'a [u8]> + Clone,
        lim: &ListLimits,
    ) {
        if let List::Pack(b) = self {
            let (n, _) = count_of(b);
            let (mut add, mut k) = (0, 0);
            for x in items.clone() {
                add += Enc::of(x).size();
                k += 1;
            }
            if !lim.exceeds(b.len().max(1) + add + 1, n + k) {
                let mut it = items;
                edit_pack(b, |v| fill(v, end, &mut it, k, add, None));
                return;
            }
            self.make_quick();
        }
        let List::Quick(q) = self else {
            unreachable!("converted above")
        };
        q.push_many(end, items, lim);
    }

    fn make_quick(&mut self) {
        if let List::Pack(b) = self {
            let v = std::mem::take(b).into_vec();
            let len = count_of(&v).0;
            let mut nodes = VecDeque::new();
            if len > 0 {
                nodes.push_back(v);
            }
            *self = List::Quick(Box::new(Quick { nodes, len }));
        }
    }

    /// After removals: an empty list is an empty packed one, and a lone small node is
    /// packed again.
    fn after_removal(&mut self, lim: &ListLimits) {
        if let List::Quick(q) = self
            && q.nodes.len() <= 1
        {
            let fits = q
                .nodes
                .front()
                .is_none_or(|n| lim.fits_half(n.len(), q.len));
            if fits {
                let v = q.nodes.pop_front().unwrap_or_default();
                *self = List::Pack(v.into_boxed_slice());
            }
        }
    }

    /// After a change in place (LSET, LINSERT): a node past the limit is split, and a
    /// lone node that shrank (a long element replaced by a short one) is packed again.
    fn after_change(&mut self, node: usize, lim: &ListLimits) {
        if let List::Pack(b) = self {
            if !lim.exceeds(b.len(), count_of(b).0) {
                return;
            }
            self.make_quick();
        }
        if let List::Quick(q) = self {
            q.split_if_over(node, lim);
            q.merge_neighbours(lim);
        }
        self.after_removal(lim);
    }

    /// Pops up to `count` elements from `end`, calling `f` on each in pop order before
    /// they go; returns how many were popped.
    pub fn pop_with(
        &mut self,
        end: End,
        count: usize,
        lim: &ListLimits,
        mut f: impl FnMut(Val),
    ) -> usize {
        let n = count.min(self.len());
        if n == 0 {
            return 0;
        }
        let start = match end {
            End::Head => {
                self.range(0, n - 1).for_each(&mut f);
                0
            }
            End::Tail => {
                let len = self.len();
                self.range(len - n, len - 1).rev().for_each(&mut f);
                len - n
            }
        };
        self.remove_range(start, n, lim);
        n
    }

    /// Pops one element from `end`.
    pub fn pop(&mut self, end: End, lim: &ListLimits) -> Option<Vec<u8>> {
        let mut out = None;
        self.pop_with(end, 1, lim, |v| out = Some(v.to_vec()));
        out
    }

    /// Removes `n` elements from index `start` on (the caller keeps it in range).
    pub fn remove_range(&mut self, start: usize, n: usize, lim: &ListLimits) {
        if n == 0 {
            return;
        }
        debug_assert!(start + n <= self.len());
        match self {
            List::Pack(b) => edit_pack(b, |v| {
                let (count, _) = count_of(v);
                let from = offset_of(v, start);
                let to = if start + n == count {
                    v.len()
                } else {
                    offset_of(v, start + n)
                };
                v.drain(from..to);
                set_count(v, count - n);
            }),
            List::Quick(q) => q.remove_range(start, n),
        }
        self.after_removal(lim);
    }

    /// Removes `ltrim` elements from the head and `rtrim` from the tail (LTRIM).
    pub fn trim(&mut self, ltrim: usize, rtrim: usize, lim: &ListLimits) {
        let len = self.len();
        self.remove_range(len - rtrim, rtrim, lim);
        self.remove_range(0, ltrim, lim);
    }

    /// Replaces element `i` (< len).
    pub fn set(&mut self, i: usize, v: &[u8], lim: &ListLimits) {
        let (node, p) = self.locate(i);
        let e = Enc::of(v);
        match self {
            List::Pack(b) => edit_pack(b, |buf| {
                let end = entry_end(buf, p);
                replace_entry(buf, p, end, e, None);
            }),
            List::Quick(q) => {
                let buf = &mut q.nodes[node];
                let end = entry_end(buf, p);
                replace_entry(buf, p, end, e, Some(lim.max_bytes));
            }
        }
        self.after_change(node, lim);
    }

    /// Inserts `v` before (or after) the first element equal to `pivot`; false if there
    /// is none.
    pub fn insert(&mut self, pivot: &[u8], after: bool, v: &[u8], lim: &ListLimits) -> bool {
        let needle = Enc::of(pivot).value_bytes();
        let Some((node, p)) = self.find_first(&needle) else {
            return false;
        };
        let e = Enc::of(v);
        let insert = |buf: &mut Vec<u8>, cap| {
            let at = if after { entry_end(buf, p) } else { p };
            replace_entry(buf, at, at, e, cap);
            let (n, _) = count_of(buf);
            set_count(buf, n + 1);
        };
        match self {
            List::Pack(b) => edit_pack(b, |buf| insert(buf, None)),
            List::Quick(q) => {
                insert(&mut q.nodes[node], Some(lim.max_bytes));
                q.len += 1;
            }
        }
        self.after_change(node, lim);
        true
    }

    /// (node, byte offset) of the first element whose encoded value is `needle`.
    fn find_first(&self, needle: &[u8]) -> Option<(usize, usize)> {
        let nodes = self.as_nodes();
        let count = match self {
            List::Pack(b) if b.is_empty() => 0,
            List::Pack(_) => 1,
            List::Quick(q) => q.nodes.len(),
        };
        for i in 0..count {
            let buf = nodes.get(i);
            let mut p = count_of(buf).1;
            while p < buf.len() {
                let ve = value_end(buf, p);
                if buf[p..ve] == *needle {
                    return Some((i, p));
                }
                p = ve + len_size(ve - p);
            }
        }
        None
    }

    /// Removes elements equal to `v` (LREM): `count` > 0 the first `count` from the head,
    /// < 0 from the tail, 0 all. Returns how many went.
    pub fn remove_matching(&mut self, v: &[u8], count: i64, lim: &ListLimits) -> usize {
        let needle = Enc::of(v).value_bytes();
        let max = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs().min(usize::MAX as u64) as usize
        };
        let from_tail = count < 0;
        let one = |buf: &mut Vec<u8>, left: usize| -> usize {
            if from_tail {
                let (at, k) = matches_from_back(buf, &needle, left);
                if k == 0 {
                    return 0;
                }
                remove_matches(buf, at, &needle, k)
            } else {
                let hl = count_of(buf).1;
                remove_matches(buf, hl, &needle, left)
            }
        };
        let gone = match self {
            List::Pack(b) => edit_pack(b, |buf| one(buf, max)),
            List::Quick(q) => {
                let mut gone = 0;
                let n = q.nodes.len();
                for j in 0..n {
                    if gone == max {
                        break;
                    }
                    let i = if from_tail { n - 1 - j } else { j };
                    let k = one(&mut q.nodes[i], max - gone);
                    if k > 0 {
                        shrink(&mut q.nodes[i]);
                    }
                    gone += k;
                }
                q.nodes.retain(|b| !b.is_empty());
                q.len -= gone;
                if gone > 0 {
                    q.merge_neighbours(lim);
                }
                gone
            }
        };
        if gone > 0 {
            self.after_removal(lim);
        }
        gone
    }

    /// Indexes of the elements equal to `v`, from the head (or from the tail if `rev`),
    /// scanning at most `maxlen` elements (0: all). For LPOS.
    pub fn positions<'a>(
        &'a self,
        v: &[u8],
        rev: bool,
        maxlen: usize,
    ) -> impl Iterator<Item = usize> + 'a {
        let needle = Enc::of(v).value_bytes();
        let len = self.len();
        let mut it = self.iter();
        let limit = if maxlen == 0 { len } else { maxlen.min(len) };
        (0..limit).filter_map(move |k| {
            let (buf, p) = if rev {
                it.next_back_pos()?
            } else {
                it.next_pos()?
            };
            let hit = buf[p..value_end(buf, p)] == *needle;
            hit.then_some(if rev { len - 1 - k } else { k })
        })
    }

    /// Pops an element from `src_end` of `self` and pushes it at `dst_end` of the same
    /// list (LMOVE with source and destination the same key). None if empty.
    pub fn rotate(&mut self, src_end: End, dst_end: End, lim: &ListLimits) -> Option<Vec<u8>> {
        let v = self.pop(src_end, lim)?;
        self.push(dst_end, &v, lim);
        Some(v)
    }
}

impl Quick {
    /// (node, index in it) of element `i`, walking node counts from the nearer end.
    fn node_of(&self, i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            let mut i = i;
            for (k, n) in self.nodes.iter().enumerate() {
                let c = count_of(n).0;
                if i < c {
                    return (k, i);
                }
                i -= c;
            }
        } else {
            let mut from_end = self.len - i; // >= 1
            for (k, n) in self.nodes.iter().enumerate().rev() {
                let c = count_of(n).0;
                if from_end <= c {
                    return (k, c - from_end);
                }
                from_end -= c;
            }
        }
        unreachable!("index {i} within the list of {}", self.len)
    }

    fn push_many<'a>(
        &mut self,
        end: End,
        items: impl Iterator<Item = &'a [u8]> + Clone,
        lim: &ListLimits,
    ) {
        let mut it = items;
        loop {
            let node = match end {
                End::Head => self.nodes.front(),
                End::Tail => self.nodes.back(),
            };
            let (count, bytes) = node.map_or((0, 0), |n| (count_of(n).0, n.len()));
            // How many of the next items fit into the end node (a new node takes its
            // first item whatever its size).
            let (mut add, mut k) = (0, 0);
            for x in it.clone() {
                let s = Enc::of(x).size();
                if (count > 0 || k > 0) && lim.exceeds(bytes.max(1) + add + s + 1, count + k + 1) {
                    break;
                }
                add += s;
                k += 1;
            }
            if k == 0 {
                if it.clone().next().is_none() {
                    return;
                }
                match end {
                    End::Head => self.nodes.push_front(Vec::new()),
                    End::Tail => self.nodes.push_back(Vec::new()),
                }
                continue;
            }
            let node = match end {
                End::Head => self.nodes.front_mut(),
                End::Tail => self.nodes.back_mut(),
            };
            let node = match node {
                Some(n) => n,
                None => {
                    self.nodes.push_back(Vec::new());
                    self.nodes.back_mut().expect("just pushed")
                }
            };
            fill(node, end, &mut it, k, add, Some(lim.max_bytes));
            self.len += k;
        }
    }

    fn remove_range(&mut self, start: usize, n: usize) {
        let (mut node, mut j) = self.node_of(start);
        let mut left = n;
        while left > 0 {
            let c = count_of(&self.nodes[node]).0;
            if j == 0 && left >= c {
                // Whole nodes: drop them in one go.
                let mut k = 0;
                let mut covered = 0;
                while node + k < self.nodes.len() {
                    let ck = count_of(&self.nodes[node + k]).0;
                    if covered + ck > left {
                        break;
                    }
                    covered += ck;
                    k += 1;
                }
                self.nodes.drain(node..node + k);
                left -= covered;
                continue;
            }
            let take = left.min(c - j);
            let buf = &mut self.nodes[node];
            let from = offset_of(buf, j);
            let to = if j + take == c {
                buf.len()
            } else {
                offset_of(buf, j + take)
            };
            buf.drain(from..to);
            set_count(buf, c - take);
            shrink(buf);
            left -= take;
            node += 1;
            j = 0;
        }
        self.len -= n;
    }

    /// Merges neighbouring nodes whose elements fit in one node (after LSET, LINSERT or
    /// LREM left small ones), so a list that shrank in the middle packs densely again.
    fn merge_neighbours(&mut self, lim: &ListLimits) {
        let mut i = 0;
        while i + 1 < self.nodes.len() {
            let (ca, _) = count_of(&self.nodes[i]);
            let (cb, hb) = count_of(&self.nodes[i + 1]);
            if lim.exceeds(self.nodes[i].len() + self.nodes[i + 1].len() - hb, ca + cb) {
                i += 1;
                continue;
            }
            let b = self.nodes.remove(i + 1).expect("in range");
            let a = &mut self.nodes[i];
            a.extend_from_slice(&b[hb..]);
            set_count(a, ca + cb);
        }
    }

    /// Splits node `i` until every piece is within the limit or holds one element.
    fn split_if_over(&mut self, i: usize, lim: &ListLimits) {
        let (c, bytes) = (count_of(&self.nodes[i]).0, self.nodes[i].len());
        if c <= 1 || !lim.exceeds(bytes, c) {
            return;
        }
        let tail = split_node(&mut self.nodes[i]);
        self.nodes[i].shrink_to_fit();
        self.nodes.insert(i + 1, tail);
        self.split_if_over(i + 1, lim);
        self.split_if_over(i, lim);
    }
}

/// Elements of a list range, from either end.
pub struct Iter<'a> {
    nodes: Nodes<'a>,
    fnode: usize,
    fbuf: &'a [u8],
    /// Start of the next element from the front.
    fpos: usize,
    bnode: usize,
    bbuf: &'a [u8],
    /// End of the next element from the back.
    bpos: usize,
    left: usize,
}

impl<'a> Iter<'a> {
    fn empty(nodes: Nodes<'a>) -> Iter<'a> {
        Iter {
            nodes,
            fnode: 0,
            fbuf: &[],
            fpos: 0,
            bnode: 0,
            bbuf: &[],
            bpos: 0,
            left: 0,
        }
    }

    /// The buffer and start of the next element from the front.
    #[inline]
    fn next_pos(&mut self) -> Option<(&'a [u8], usize)> {
        if self.left == 0 {
            return None;
        }
        while self.fpos >= self.fbuf.len() {
            self.fnode += 1;
            self.fbuf = self.nodes.get(self.fnode);
            self.fpos = count_of(self.fbuf).1;
        }
        let p = self.fpos;
        self.fpos = entry_end(self.fbuf, p);
        self.left -= 1;
        Some((self.fbuf, p))
    }

    /// The buffer and start of the next element from the back.
    #[inline]
    fn next_back_pos(&mut self) -> Option<(&'a [u8], usize)> {
        if self.left == 0 {
            return None;
        }
        while self.bpos <= count_of(self.bbuf).1 {
            self.bnode -= 1;
            self.bbuf = self.nodes.get(self.bnode);
            self.bpos = self.bbuf.len();
        }
        let p = start_before(self.bbuf, self.bpos);
        self.bpos = p;
        self.left -= 1;
        Some((self.bbuf, p))
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Val<'a>;

    #[inline]
    fn next(&mut self) -> Option<Val<'a>> {
        self.next_pos().map(|(b, p)| read_value(b, p).0)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        self.next_back_pos().map(|(b, p)| read_value(b, p).0)
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(|v| v.to_vec()).collect()
    }

    /// Every node is non-empty, its count header is right, it is within the limit unless
    /// it holds one element, and the total length adds up.
    fn check_shape(l: &List, lim: &ListLimits) {
        match l {
            List::Pack(b) => {
                let (n, hl) = count_of(b);
                let mut p = hl;
                let mut k = 0;
                while p < b.len() {
                    p = entry_end(b, p);
                    k += 1;
                }
                assert_eq!(k, n);
            }
            List::Quick(q) => {
                assert!(!q.nodes.is_empty());
                let mut total = 0;
                for n in &q.nodes {
                    let (c, hl) = count_of(n);
                    assert!(c > 0);
                    let mut p = hl;
                    let mut k = 0;
                    while p < n.len() {
                        p = entry_end(n, p);
                        k += 1;
                    }
                    assert_eq!(k, c);
                    assert!(c == 1 || !lim.exceeds(n.len(), c), "node {c} {}", n.len());
                    total += c;
                }
                assert_eq!(total, q.len);
            }
        }
    }

    /// A list is 16 bytes, so a keyspace value stays 24 and an entry 32.
    #[test]
    fn list_is_two_words() {
        assert_eq!(std::mem::size_of::<List>(), 16);
    }

    #[test]
    fn entries_read_both_ways() {
        let long = vec![b'x'; 300];
        let vals: Vec<&[u8]> = vec![b"a", b"", b"42", b"-7", b"007", &long, b"1700000000"];
        let mut l = List::new();
        let lim = ListLimits::default();
        l.push_many(End::Tail, vals.iter().copied(), &lim);
        assert_eq!(
            contents(&l),
            vals.iter().map(|v| v.to_vec()).collect::<Vec<_>>()
        );
        let back: Vec<Vec<u8>> = l.iter().rev().map(|v| v.to_vec()).collect();
        let mut want: Vec<Vec<u8>> = vals.iter().map(|v| v.to_vec()).collect();
        want.reverse();
        assert_eq!(back, want);
        assert_eq!(Enc::of(b"abc").size(), 5);
        assert_eq!(Enc::of(b"7").size(), 2);
        for (i, v) in vals.iter().enumerate() {
            assert_eq!(l.get(i).as_deref(), Some(*v));
        }
        assert!(l.is_packed());
    }

    #[test]
    fn converts_both_ways_with_contents_intact() {
        let lim = ListLimits::new(-1); // 4 KB nodes
        let mut l = List::new();
        let item = vec![b'v'; 100];
        for _ in 0..100 {
            l.push(End::Tail, &item, &lim);
        }
        assert!(!l.is_packed());
        assert!(l.nodes().0 >= 3);
        check_shape(&l, &lim);
        let mut n = 0;
        while l.len() > 1 {
            l.pop(End::Head, &lim);
            n += 1;
            check_shape(&l, &lim);
        }
        assert!(l.is_packed());
        assert_eq!(n, 99);
        let lim = ListLimits::new(3);
        let mut l = List::new();
        l.push_many(End::Head, [&b"a"[..], b"b", b"c", b"d"].into_iter(), &lim);
        assert_eq!(contents(&l), [b"d", b"c", b"b", b"a"]);
        assert_eq!(l.nodes().0, 2);
        check_shape(&l, &lim);
    }

    /// Random operations against a vector model, with tiny and default node limits.
    #[test]
    fn matches_a_model() {
        let mut rng = crate::rand::Rng::from_entropy();
        let words: [&[u8]; 8] = [b"a", b"bb", b"", b"12", b"-3", b"x", b"9999999999", b"ccc"];
        let long = vec![b'L'; 5000];
        for round in 0..300 {
            let lim = ListLimits::new([-1, -2, 1, 2, 3, 5, 16][round % 7]);
            let mut l = List::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for _ in 0..300 {
                let pick = |rng: &mut crate::rand::Rng| -> Vec<u8> {
                    if rng.below(40) == 0 {
                        long.clone()
                    } else {
                        words[rng.below(8) as usize].to_vec()
                    }
                };
                let len = m.len();
                match rng.below(10) {
                    0 | 1 => {
                        let k = 1 + rng.below(20) as usize;
                        let xs: Vec<Vec<u8>> = (0..k).map(|_| pick(&mut rng)).collect();
                        let end = if rng.below(2) == 0 {
                            End::Head
                        } else {
                            End::Tail
                        };
                        l.push_many(end, xs.iter().map(|x| &x[..]), &lim);
                        for x in xs {
                            match end {
                                End::Head => m.push_front(x),
                                End::Tail => m.push_back(x),
                            }
                        }
                    }
                    2 => {
                        let k = rng.below(8) as usize;
                        let end = if rng.below(2) == 0 {
                            End::Head
                        } else {
                            End::Tail
                        };
                        let mut got = Vec::new();
                        l.pop_with(end, k, &lim, |v| got.push(v.to_vec()));
                        let want: Vec<Vec<u8>> = (0..k.min(len))
                            .map(|_| match end {
                                End::Head => m.pop_front().unwrap(),
                                End::Tail => m.pop_back().unwrap(),
                            })
                            .collect();
                        assert_eq!(got, want);
                    }
                    3 if len > 0 => {
                        let i = rng.below(len as u64) as usize;
                        let x = pick(&mut rng);
                        l.set(i, &x, &lim);
                        m[i] = x;
                    }
                    4 => {
                        let pivot = pick(&mut rng);
                        let x = pick(&mut rng);
                        let after = rng.below(2) == 0;
                        let pos = m.iter().position(|e| *e == pivot);
                        assert_eq!(l.insert(&pivot, after, &x, &lim), pos.is_some());
                        if let Some(p) = pos {
                            m.insert(if after { p + 1 } else { p }, x);
                        }
                    }
                    5 => {
                        let x = pick(&mut rng);
                        let count = rng.below(7) as i64 - 3;
                        let gone = l.remove_matching(&x, count, &lim);
                        let mut want = 0;
                        let max = if count == 0 {
                            usize::MAX
                        } else {
                            count.unsigned_abs() as usize
                        };
                        if count >= 0 {
                            let mut i = 0;
                            while i < m.len() {
                                if want < max && m[i] == x {
                                    m.remove(i);
                                    want += 1;
                                } else {
                                    i += 1;
                                }
                            }
                        } else {
                            let mut i = m.len();
                            while i > 0 && want < max {
                                i -= 1;
                                if m[i] == x {
                                    m.remove(i);
                                    want += 1;
                                }
                            }
                        }
                        assert_eq!(gone, want);
                    }
                    6 if len > 0 => {
                        let a = rng.below(len as u64) as usize;
                        let b = rng.below((len - a) as u64 + 1) as usize;
                        l.trim(a, b.min(len - a), &lim);
                        let b = b.min(len - a);
                        for _ in 0..a {
                            m.pop_front();
                        }
                        for _ in 0..b {
                            m.pop_back();
                        }
                    }
                    7 if len > 0 => {
                        let a = rng.below(len as u64) as usize;
                        let b = a + rng.below((len - a) as u64) as usize;
                        let got: Vec<Vec<u8>> = l.range(a, b).map(|v| v.to_vec()).collect();
                        let want: Vec<Vec<u8>> = m.range(a..=b).cloned().collect();
                        assert_eq!(got, want);
                        let got: Vec<Vec<u8>> = l.range(a, b).rev().map(|v| v.to_vec()).collect();
                        let want: Vec<Vec<u8>> = m.range(a..=b).rev().cloned().collect();
                        assert_eq!(got, want);
                    }
                    8 => {
                        let x = pick(&mut rng);
                        let rev = rng.below(2) == 0;
                        let got: Vec<usize> = l.positions(&x, rev, 0).collect();
                        let mut want: Vec<usize> = (0..m.len()).filter(|&i| m[i] == x).collect();
                        if rev {
                            want.reverse();
                        }
                        assert_eq!(got, want);
                    }
                    _ => {
                        let src = if rng.below(2) == 0 {
                            End::Head
                        } else {
                            End::Tail
                        };
                        let dst = if rng.below(2) == 0 {
                            End::Head
                        } else {
                            End::Tail
                        };
                        let got = l.rotate(src, dst, &lim);
                        let want = match src {
                            End::Head => m.pop_front(),
                            End::Tail => m.pop_back(),
                        };
                        if let Some(x) = &want {
                            match dst {
                                End::Head => m.push_front(x.clone()),
                                End::Tail => m.push_back(x.clone()),
                            }
                        }
                        assert_eq!(got, want);
                    }
                }
                assert_eq!(l.len(), m.len());
                assert_eq!(contents(&l), m.iter().cloned().collect::<Vec<_>>());
                check_shape(&l, &lim);
                if !l.is_packed() && l.nodes().0 == 1 {
                    let (_, bytes) = l.nodes();
                    assert!(
                        !lim.fits_half(bytes, l.len()),
                        "a small lone node stays quick"
                    );
                }
            }
        }
    }
}
