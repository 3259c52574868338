//! The set type and its three encodings, Redis 7.2's:
//!
//! - **intset**: a set whose members are all integers (canonical decimal text, as
//!   `string2ll` reads it) is a sorted array of fixed-width integers, 16, 32 or 64 bits, the
//!   narrowest that holds every member. Membership is a binary search, iteration is in
//!   numeric order (which clients see in SMEMBERS, as with Redis). A member that does not
//!   fit the width widens the whole array, never narrowed again, as in Redis.
//! - **listpack**: a small set of short strings is the members packed back to back in one
//!   exactly sized buffer, in insertion order, searched linearly. Each member has the
//!   hash listpack's value encoding (`listpack.rs`): a LEB128 header with a tag bit, then
//!   the bytes, or a canonical integer stored in the header itself.
//! - **hashtable**: a big set is a `KeyMap` without values (`keymap.rs`): members in a vector
//!   (inline when up to 22 bytes, one allocation otherwise), a hash index of 4-byte
//!   positions beside it. About 30 bytes a short member, where Redis's dict pays a
//!   dictEntry, an sds and a bucket pointer (about 50). Positions give SSCAN its cursor and
//!   SPOP / SRANDMEMBER a uniform pick in O(1).
//!
//! Conversions follow Redis 7.2 (`set-max-intset-entries` 512, `set-max-listpack-entries`
//! 128, `set-max-listpack-value` 64): an intset that grows past its limit becomes a table;
//! an intset given a string becomes a listpack if the result stays within the listpack
//! limits (the integers' decimal lengths included), else a table; a listpack that grows
//! past its limits becomes a table. Conversions go one way, as in Redis: a table stays a
//! table however small it gets (a restart or a rewrite builds it afresh, compact again).
//!
//! Compact buffers: the first byte tells the encoding. 2, 4 or 8: an intset of that width,
//! the integers little-endian after it; `PACK`: a listpack, the member count (LEB128) and
//! the members after it. An empty buffer is an empty intset (what a set is before its
//! first member decides).

use super::bytes::Bytes;
use super::listpack::{Val, as_int, int_header, len_size, push_len, read_len, read_value};
use crate::keymap::KeyMap;

/// Conversion thresholds, from the `set-max-*` directives.
#[derive(Debug, Clone, Copy)]
pub struct SetLimits {
    /// `set-max-intset-entries` (Redis caps it at 2^30).
    pub max_intset_entries: usize,
    /// `set-max-listpack-entries`.
    pub max_listpack_entries: usize,
    /// `set-max-listpack-value`: longest member a listpack takes.
    pub max_listpack_value: usize,
}

impl Default for SetLimits {
    fn default() -> Self {
        SetLimits {
            max_intset_entries: 512,
            max_listpack_entries: 128,
            max_listpack_value: 64,
        }
    }
}

impl SetLimits {
    fn intset_max(&self) -> usize {
        self.max_intset_entries.min(1 << 30)
    }
}

/// First byte of a listpack buffer (an intset's is its width: 2, 4 or 8).
const PACK: u8 = 1;

#[derive(Clone)]
pub enum Set {
    /// An intset or a listpack, told by the first byte (see the module notes).
    Compact(Box<[u8]>),
    /// Boxed: a table is rare and large, and inline it would make every keyspace entry as
    /// big as a `KeyMap`.
    Table(Box<KeyMap<()>>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Compact(Box::default())
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ", self.encoding_name())?;
        f.debug_set().entries(self.iter()).finish()
    }
}

// ---------------------------------------------------------------------------------------
// intset
// ---------------------------------------------------------------------------------------

/// The narrowest width (bytes) that holds `v`.
fn width_of(v: i64) -> u8 {
    if v as i16 as i64 == v {
        2
    } else if v as i32 as i64 == v {
        4
    } else {
        8
    }
}

/// Read-only view of an intset buffer.
#[derive(Clone, Copy)]
struct Ints<'a>(&'a [u8]);

impl<'a> Ints<'a> {
    #[inline]
    fn width(self) -> usize {
        self.0.first().map_or(2, |&w| w as usize)
    }

    #[inline]
    fn len(self) -> usize {
        if self.0.is_empty() {
            0
        } else {
            (self.0.len() - 1) / self.width()
        }
    }

    #[inline]
    fn get(self, i: usize) -> i64 {
        let w = self.width();
        let p = 1 + i * w;
        let b = &self.0[p..p + w];
        match w {
            2 => i16::from_le_bytes([b[0], b[1]]) as i64,
            4 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            _ => i64::from_le_bytes(b.try_into().expect("8 bytes")),
        }
    }

    /// Position of `v`, or where it would go.
    fn search(self, v: i64) -> Result<usize, usize> {
        let n = self.len();
        if n == 0 {
            return Err(0);
        }
        // Outside the width's range: before or after everything.
        if width_of(v) as usize > self.width() {
            return Err(if v < 0 { 0 } else { n });
        }
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let x = self.get(mid);
            if x == v {
                return Ok(mid);
            }
            if x < v {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Err(lo)
    }

    fn contains(self, v: i64) -> bool {
        self.search(v).is_ok()
    }

    fn iter(self) -> impl Iterator<Item = i64> + 'a {
        (0..self.len()).map(move |i| self.get(i))
    }
}

fn put_int(dst: &mut Vec<u8>, v: i64, w: usize) {
    dst.extend_from_slice(&v.to_le_bytes()[..w]);
}

/// Adds `v` to the intset in `buf`; false if it was there.
fn ints_insert(buf: &mut Box<[u8]>, v: i64) -> bool {
    let view = Ints(buf);
    let (w, n) = (view.width(), view.len());
    let need = width_of(v) as usize;
    if n == 0 {
        let mut b = Vec::with_capacity(1 + need);
        b.push(need as u8);
        put_int(&mut b, v, need);
        *buf = b.into_boxed_slice();
        return true;
    }
    if need > w {
        // Wider than every member: it goes first (negative) or last, and all widen.
        let mut b = Vec::with_capacity(1 + (n + 1) * need);
        b.push(need as u8);
        if v < 0 {
            put_int(&mut b, v, need);
        }
        for x in view.iter() {
            put_int(&mut b, x, need);
        }
        if v >= 0 {
            put_int(&mut b, v, need);
        }
        *buf = b.into_boxed_slice();
        return true;
    }
    let Err(pos) = view.search(v) else {
        return false;
    };
    let mut b = std::mem::take(buf).into_vec();
    b.reserve_exact(w);
    let at = 1 + pos * w;
    b.splice(at..at, v.to_le_bytes()[..w].iter().copied());
    *buf = b.into_boxed_slice();
    true
}

/// Removes `v` from the intset in `buf`; false if it was not there.
fn ints_remove(buf: &mut Box<[u8]>, v: i64) -> bool {
    let view = Ints(buf);
    let Ok(pos) = view.search(v) else {
        return false;
    };
    if view.len() == 1 {
        *buf = Box::default();
        return true;
    }
    let w = view.width();
    let mut b = std::mem::take(buf).into_vec();
    b.drain(1 + pos * w..1 + (pos + 1) * w);
    *buf = b.into_boxed_slice();
    true
}

/// Decimal digits of `v`, sign included (Redis's `sdigits10`).
fn digits(v: i64) -> usize {
    let mut t = [0u8; 20];
    crate::num::fmt_i64(v, &mut t).len()
}

// ---------------------------------------------------------------------------------------
// listpack
// ---------------------------------------------------------------------------------------

/// (member count, offset of the first member) of a listpack buffer.
#[inline]
fn pack_head(buf: &[u8]) -> (usize, usize) {
    let (n, hs) = read_len(buf, 1);
    (n, 1 + hs)
}

/// Where the member starting at `p` ends.
#[inline]
fn entry_end(buf: &[u8], p: usize) -> usize {
    let (h, hs) = read_len(buf, p);
    if h & 1 == 1 {
        p + hs
    } else {
        p + hs + (h >> 1)
    }
}

/// Writes `n` as LEB128 into `dst`; returns its size.
#[inline]
fn write_len(dst: &mut [u8; 10], mut n: usize) -> usize {
    let mut i = 0;
    while n >= 0x80 {
        dst[i] = (n as u8 & 0x7f) | 0x80;
        n >>= 7;
        i += 1;
    }
    dst[i] = n as u8;
    i + 1
}

/// A member as a listpack stores it: its header, then `body` (empty for an integer).
struct Probe<'a> {
    hdr: [u8; 10],
    hlen: usize,
    body: &'a [u8],
}

impl<'a> Probe<'a> {
    fn new(m: &'a [u8]) -> Probe<'a> {
        let (h, body) = match as_int(m) {
            Some(n) => (int_header(n), &[][..]),
            None => (m.len() << 1, m),
        };
        let mut hdr = [0u8; 10];
        let hlen = write_len(&mut hdr, h);
        Probe { hdr, hlen, body }
    }

    #[inline]
    fn size(&self) -> usize {
        self.hlen + self.body.len()
    }

    #[inline]
    fn header(&self) -> &[u8] {
        &self.hdr[..self.hlen]
    }
}

/// The byte range of the member `probe` describes, if the listpack holds it. The encoding
/// is a function of the bytes, so equal members have equal encodings.
fn pack_find(buf: &[u8], probe: &Probe) -> Option<(usize, usize)> {
    let (_, mut p) = pack_head(buf);
    let first = probe.hdr[0];
    let size = probe.size();
    while p < buf.len() {
        let end = entry_end(buf, p);
        if buf[p] == first
            && end - p == size
            && &buf[p..p + probe.hlen] == probe.header()
            && &buf[p + probe.hlen..end] == probe.body
        {
            return Some((p, end));
        }
        p = end;
    }
    None
}

/// Rewrites the count header for `n` members (it may change size).
fn pack_set_count(b: &mut Vec<u8>, n: usize) {
    let (_, first) = pack_head(b);
    let mut h = [0u8; 10];
    let hl = write_len(&mut h, n);
    if hl == first - 1 {
        b[1..first].copy_from_slice(&h[..hl]);
    } else {
        b.splice(1..first, h[..hl].iter().copied());
    }
}

/// An empty listpack with room for `members` members of about `each` bytes.
fn pack_new(members: usize, each: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(1 + len_size(members) + members * each);
    b.push(PACK);
    b.push(0);
    b
}

fn pack_push(b: &mut Vec<u8>, probe: &Probe) {
    b.extend_from_slice(probe.header());
    b.extend_from_slice(probe.body);
}

/// Appends a member known to be absent: one reallocation, to the exact new size.
fn pack_append(buf: &mut Box<[u8]>, probe: &Probe) {
    let (n, _) = pack_head(buf);
    let mut b = std::mem::take(buf).into_vec();
    b.reserve_exact(probe.size() + len_size(n + 1) - len_size(n));
    pack_push(&mut b, probe);
    pack_set_count(&mut b, n + 1);
    *buf = b.into_boxed_slice();
}

/// Removes the member at bytes `start..end`.
fn pack_remove(buf: &mut Box<[u8]>, start: usize, end: usize) {
    let (n, _) = pack_head(buf);
    if n == 1 {
        *buf = Box::default();
        return;
    }
    let mut b = std::mem::take(buf).into_vec();
    b.drain(start..end);
    pack_set_count(&mut b, n - 1);
    *buf = b.into_boxed_slice();
}

/// Members of a listpack buffer.
fn pack_iter(buf: &[u8]) -> impl Iterator<Item = Val<'_>> {
    let (_, mut p) = pack_head(buf);
    std::iter::from_fn(move || {
        if p >= buf.len() {
            return None;
        }
        let (v, end) = read_value(buf, p);
        p = end;
        Some(v)
    })
}

// ---------------------------------------------------------------------------------------
// The set
// ---------------------------------------------------------------------------------------

/// Which encoding a compact buffer holds.
#[derive(Clone, Copy, PartialEq)]
enum Small {
    Ints,
    Pack,
}

#[inline]
fn small_kind(buf: &[u8]) -> Small {
    if buf.first() == Some(&PACK) {
        Small::Pack
    } else {
        Small::Ints
    }
}

impl Set {
    /// Asks for the cache lines an access starts with (see `Value::prefetch`).
    pub fn prefetch(&self) {
        match self {
            Set::Compact(b) => super::prefetch_front(b),
            Set::Table(t) => crate::prefetch::read(&**t),
        }
    }

    pub fn new() -> Set {
        Set::default()
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Compact(b) => match small_kind(b) {
                Small::Ints => Ints(b).len(),
                Small::Pack => pack_head(b).0,
            },
            Set::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING replies with (Redis 7.2's names).
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Set::Compact(b) => match small_kind(b) {
                Small::Ints => "intset",
                Small::Pack => "listpack",
            },
            Set::Table(_) => "hashtable",
        }
    }

    /// True for the compact encodings, which SSCAN returns whole in one call.
    pub fn is_compact(&self) -> bool {
        matches!(self, Set::Compact(_))
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Compact(b) => match small_kind(b) {
                Small::Ints => crate::num::parse_i64(m).is_some_and(|v| Ints(b).contains(v)),
                Small::Pack => pack_find(b, &Probe::new(m)).is_some(),
            },
            Set::Table(t) => t.get_index_of(m).is_some(),
        }
    }

    /// Picks the encoding for `hint` members about to be added, as Redis 7.2 does when
    /// SADD creates a set (`setTypeCreate`: by the first member and the count) or adds
    /// to one (`setTypeMaybeConvert`: a table at once if the count alone passes a limit).
    pub fn prepare(&mut self, hint: usize, first: &[u8], lim: SetLimits) {
        if self.is_empty() {
            if crate::num::parse_i64(first).is_some() && hint <= lim.max_intset_entries {
                *self = Set::Compact(Box::default());
            } else if hint <= lim.max_listpack_entries {
                *self = Set::Compact(pack_new(0, 0).into_boxed_slice());
            } else {
                *self = Set::Table(Box::new(KeyMap::with_capacity(hint)));
            }
            return;
        }
        if let Set::Compact(b) = self {
            let limit = match small_kind(b) {
                Small::Ints => lim.max_intset_entries,
                Small::Pack => lim.max_listpack_entries,
            };
            if hint > limit {
                self.convert_to_table(hint);
            }
        }
    }

    /// Adds `m`; true if it is new.
    pub fn insert(&mut self, m: &[u8], lim: SetLimits) -> bool {
        let b = match self {
            Set::Table(t) => return t.insert_if_absent(m, || ()).1,
            Set::Compact(b) => b,
        };
        match small_kind(b) {
            Small::Pack => {
                let probe = Probe::new(m);
                if pack_find(b, &probe).is_some() {
                    return false;
                }
                let n = pack_head(b).0;
                if n < lim.max_listpack_entries && m.len() <= lim.max_listpack_value {
                    pack_append(b, &probe);
                } else {
                    self.convert_to_table(n + 1);
                    self.insert(m, lim);
                }
                true
            }
            Small::Ints => {
                if let Some(v) = crate::num::parse_i64(m) {
                    if !ints_insert(b, v) {
                        return false;
                    }
                    if Ints(b).len() > lim.intset_max() {
                        self.convert_to_table(0);
                    }
                    return true;
                }
                // A string: a listpack if everything stays within its limits.
                let ints = Ints(b);
                let n = ints.len();
                let longest = if n == 0 {
                    0
                } else {
                    digits(ints.get(0)).max(digits(ints.get(n - 1)))
                };
                if n < lim.max_listpack_entries
                    && m.len() <= lim.max_listpack_value
                    && longest <= lim.max_listpack_value
                {
                    let mut p = pack_new(n + 1, 3);
                    let mut t = [0u8; 20];
                    for v in ints.iter() {
                        pack_push(&mut p, &Probe::new(crate::num::fmt_i64(v, &mut t)));
                    }
                    pack_push(&mut p, &Probe::new(m));
                    pack_set_count(&mut p, n + 1);
                    *b = p.into_boxed_slice();
                } else {
                    self.convert_to_table(n + 1);
                    self.insert(m, lim);
                }
                true
            }
        }
    }

    /// Removes `m`; true if it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Compact(b) => match small_kind(b) {
                Small::Ints => crate::num::parse_i64(m).is_some_and(|v| ints_remove(b, v)),
                Small::Pack => match pack_find(b, &Probe::new(m)) {
                    Some((s, e)) => {
                        pack_remove(b, s, e);
                        true
                    }
                    None => false,
                },
            },
            Set::Table(t) => {
                let gone = t.swap_remove(m).is_some();
                if gone {
                    t.shrink_index_if_sparse();
                }
                gone
            }
        }
    }

    /// The member at position `i` (0..len) in the encoding's order: O(1), but O(i) for a
    /// listpack.
    pub fn get_index(&self, i: usize) -> Option<Val<'_>> {
        match self {
            Set::Compact(b) => match small_kind(b) {
                Small::Ints => (i < Ints(b).len()).then(|| Val::int(Ints(b).get(i))),
                Small::Pack => pack_iter(b).nth(i),
            },
            Set::Table(t) => t.get_index(i).map(|(m, _)| Val::Bytes(m)),
        }
    }

    /// Removes `k` members picked at random (`k` < len), each subset equally likely, and
    /// returns them. A table takes them out one by one (O(k)); a compact set picks
    /// positions and rebuilds its buffer once.
    pub fn pop_random(&mut self, k: usize, rng: &mut crate::rand::Rng) -> Vec<Bytes> {
        let n = self.len();
        debug_assert!(k < n);
        let b = match self {
            Set::Table(t) => {
                let mut out = Vec::with_capacity(k);
                for _ in 0..k {
                    let i = rng.below(t.len() as u64) as usize;
                    out.push(t.swap_remove_index(i).expect("in range").0);
                }
                t.shrink_index_if_sparse();
                return out;
            }
            Set::Compact(b) => b,
        };
        // Which positions go: a partial Fisher-Yates over 0..n.
        let mut pos: Vec<u32> = (0..n as u32).collect();
        for i in 0..k {
            let j = i + rng.below((n - i) as u64) as usize;
            pos.swap(i, j);
        }
        let mut gone = vec![false; n];
        for &p in &pos[..k] {
            gone[p as usize] = true;
        }
        let mut out = Vec::with_capacity(k);
        let kind = small_kind(b);
        let mut keep = Vec::with_capacity(b.len());
        match kind {
            Small::Ints => {
                let ints = Ints(b);
                let w = ints.width();
                keep.push(w as u8);
                let mut t = [0u8; 20];
                for (i, v) in ints.iter().enumerate() {
                    if gone[i] {
                        out.push(Bytes::from(crate::num::fmt_i64(v, &mut t)));
                    } else {
                        put_int(&mut keep, v, w);
                    }
                }
            }
            Small::Pack => {
                keep.push(PACK);
                push_len(&mut keep, n - k);
                let (_, mut p) = pack_head(b);
                let mut i = 0;
                while p < b.len() {
                    let (v, end) = read_value(b, p);
                    if gone[i] {
                        out.push(Bytes::from(&*v));
                    } else {
                        keep.extend_from_slice(&b[p..end]);
                    }
                    p = end;
                    i += 1;
                }
            }
        }
        // Reported in the order picked, not the order stored.
        let mut order: Vec<usize> = Vec::with_capacity(k);
        let mut rank = vec![0u32; n];
        let mut r = 0;
        for (i, g) in gone.iter().enumerate() {
            if *g {
                rank[i] = r;
                r += 1;
            }
        }
        for &p in &pos[..k] {
            order.push(rank[p as usize] as usize);
        }
        *b = keep.into_boxed_slice();
        let mut slots: Vec<Option<Bytes>> = out.into_iter().map(Some).collect();
        order
            .into_iter()
            .map(|i| slots[i].take().expect("each once"))
            .collect()
    }

    /// Removes the member at position `i` and returns it (SPOP).
    pub fn take_index(&mut self, i: usize) -> Bytes {
        match self {
            Set::Table(t) => {
                let m = t.swap_remove_index(i).expect("in range").0;
                t.shrink_index_if_sparse();
                m
            }
            Set::Compact(_) => {
                let m = Bytes::from(&*self.get_index(i).expect("in range"));
                self.remove(&m);
                m
            }
        }
    }

    /// `iter` from position `start` on: O(1) to start in an intset or a table (the
    /// rewrite writes a big set in pieces), O(start) in a listpack.
    pub fn iter_from(&self, start: usize) -> SetIter<'_> {
        let mut it = self.iter();
        match &mut it.0 {
            Iter::Ints { i, n, .. } => *i = start.min(*n),
            Iter::Table { i, .. } => *i = start,
            Iter::Pack { .. } => for _ in it.by_ref().take(start) {},
        }
        it
    }

    /// Every member, in the encoding's order: ascending for an intset, insertion order for
    /// a listpack, the table's order (insertion, with removals filled from the end).
    pub fn iter(&self) -> SetIter<'_> {
        SetIter(match self {
            Set::Compact(b) => match small_kind(b) {
                Small::Ints => Iter::Ints {
                    ints: Ints(b),
                    i: 0,
                    n: Ints(b).len(),
                },
                Small::Pack => Iter::Pack {
                    buf: b,
                    p: pack_head(b).1,
                },
            },
            Set::Table(t) => Iter::Table { map: t, i: 0 },
        })
    }

    /// Converts to a table with room for `cap` members (at least the current ones).
    fn convert_to_table(&mut self, cap: usize) {
        if let Set::Compact(_) = self {
            let n = self.len();
            let mut t = KeyMap::with_capacity(cap.max(n));
            for m in self.iter() {
                t.insert_if_absent(&m, || ());
            }
            *self = Set::Table(Box::new(t));
        }
    }

    /// Heap bytes (MEMORY USAGE), a table's long members estimated from `samples` of them
    /// (0: all), as Redis's SAMPLES option.
    pub fn heap_bytes_sampled(&self, samples: usize) -> usize {
        match self {
            Set::Compact(b) => super::alloc_size(b.len()),
            Set::Table(t) => {
                let (entries, slots) = t.capacities();
                let n = t.len();
                let strings = if samples == 0 || samples >= n {
                    (0..n)
                        .map(|i| t.get_index(i).expect("in range").0.heap_bytes())
                        .sum()
                } else {
                    let seen: usize = (0..samples)
                        .map(|i| t.get_index(i).expect("in range").0.heap_bytes())
                        .sum();
                    seen * n / samples
                };
                super::alloc_size(std::mem::size_of::<KeyMap<()>>())
                    + entries * std::mem::size_of::<Bytes>()
                    + super::alloc_size(slots * 5)
                    + strings
            }
        }
    }

    /// Roughly how many allocations freeing it takes (lazy-free decides by this).
    pub fn allocations(&self) -> usize {
        match self {
            Set::Compact(_) => 1,
            Set::Table(t) => t.len(),
        }
    }
}

/// Members in storage order (see `Set::iter`).
pub struct SetIter<'a>(Iter<'a>);

enum Iter<'a> {
    Ints { ints: Ints<'a>, i: usize, n: usize },
    Pack { buf: &'a [u8], p: usize },
    Table { map: &'a KeyMap<()>, i: usize },
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Val<'a>;

    #[inline]
    fn next(&mut self) -> Option<Val<'a>> {
        match &mut self.0 {
            Iter::Ints { ints, i, n } => {
                if *i >= *n {
                    return None;
                }
                *i += 1;
                Some(Val::int(ints.get(*i - 1)))
            }
            Iter::Pack { buf, p } => {
                if *p >= buf.len() {
                    return None;
                }
                let (v, end) = read_value(buf, *p);
                *p = end;
                Some(v)
            }
            Iter::Table { map, i } => {
                let (m, _) = map.get_index(*i)?;
                *i += 1;
                Some(Val::Bytes(m))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = match &self.0 {
            Iter::Ints { i, n, .. } => n - i,
            Iter::Pack { .. } => return (0, None),
            Iter::Table { map, i } => map.len() - i,
        };
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const LIM: SetLimits = SetLimits {
        max_intset_entries: 512,
        max_listpack_entries: 128,
        max_listpack_value: 64,
    };

    fn members(s: &Set) -> Vec<Vec<u8>> {
        s.iter().map(|v| v.to_vec()).collect()
    }

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<Set>(), 16);
    }

    #[test]
    fn intset_widths_order_and_upgrades() {
        let mut s = Set::new();
        for v in ["5", "-3", "100", "5"] {
            s.insert(v.as_bytes(), LIM);
        }
        assert_eq!(s.encoding_name(), "intset");
        assert_eq!(
            members(&s),
            [b"-3".to_vec(), b"5".to_vec(), b"100".to_vec()]
        );
        let Set::Compact(b) = &s else { panic!() };
        assert_eq!(b.len(), 1 + 3 * 2);
        // A 32-bit member widens everything and goes last; a 64-bit negative goes first.
        assert!(s.insert(b"70000", LIM));
        assert!(s.insert(b"-9223372036854775808", LIM));
        assert!(!s.insert(b"-9223372036854775808", LIM));
        let Set::Compact(b) = &s else { panic!() };
        assert_eq!(b[0], 8);
        assert_eq!(
            members(&s),
            ["-9223372036854775808", "-3", "5", "100", "70000"].map(|x| x.as_bytes().to_vec())
        );
        assert!(s.contains(b"70000"));
        assert!(!s.contains(b"070000"));
        assert!(!s.contains(b"99999999999999999999"));
        assert!(s.remove(b"-3"));
        assert!(!s.remove(b"-3"));
        assert!(!s.remove(b"x"));
        assert_eq!(s.len(), 4);
        // Removal never narrows.
        let Set::Compact(b) = &s else { panic!() };
        assert_eq!(b[0], 8);
        for m in members(&s) {
            assert!(s.remove(&m));
        }
        assert!(s.is_empty());
    }

    #[test]
    fn conversions_follow_redis_7_2() {
        // intset -> listpack with a short string, order: the integers ascending, then it.
        let mut s = Set::new();
        for v in ["3", "1", "2"] {
            s.insert(v.as_bytes(), LIM);
        }
        assert!(s.insert(b"abc", LIM));
        assert_eq!(s.encoding_name(), "listpack");
        assert_eq!(
            members(&s),
            ["1", "2", "3", "abc"].map(|x| x.as_bytes().to_vec())
        );
        assert!(s.contains(b"2") && s.contains(b"abc") && !s.contains(b"02"));
        // listpack -> hashtable past 128 members.
        for i in 0..124 {
            assert!(s.insert(format!("m{i}").as_bytes(), LIM));
        }
        assert_eq!(s.len(), 128);
        assert_eq!(s.encoding_name(), "listpack");
        assert!(s.insert(b"one-more", LIM));
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(s.len(), 129);
        assert!(s.contains(b"1") && s.contains(b"m5") && s.contains(b"one-more"));
        // A long member: straight to a table.
        let mut s = Set::new();
        s.insert(b"7", LIM);
        s.insert(&[b'x'; 65], LIM);
        assert_eq!(s.encoding_name(), "hashtable");
        let mut s = Set::new();
        s.insert(b"a", LIM);
        s.insert(&[b'x'; 64], LIM);
        assert_eq!(s.encoding_name(), "listpack");
        s.insert(&[b'x'; 65], LIM);
        assert_eq!(s.encoding_name(), "hashtable");
        // intset -> hashtable past 512 integers.
        let mut s = Set::new();
        for i in 0..512 {
            s.insert(i.to_string().as_bytes(), LIM);
        }
        assert_eq!(s.encoding_name(), "intset");
        s.insert(b"-1", LIM);
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(s.len(), 513);
        // 200 integers and a string: too many for a listpack.
        let mut s = Set::new();
        for i in 0..200 {
            s.insert(i.to_string().as_bytes(), LIM);
        }
        s.insert(b"x", LIM);
        assert_eq!(s.encoding_name(), "hashtable");
        // SADD's size hint.
        let mut s = Set::new();
        s.prepare(129, b"a", LIM);
        assert_eq!(s.encoding_name(), "hashtable");
        let mut s = Set::new();
        s.prepare(300, b"1", LIM);
        assert_eq!(s.encoding_name(), "intset");
        let mut s = Set::new();
        s.prepare(3, b"a", LIM);
        assert_eq!(s.encoding_name(), "listpack");
        s.insert(b"a", LIM);
        s.prepare(200, b"b", LIM);
        assert_eq!(s.encoding_name(), "hashtable");
        assert!(s.contains(b"a"));
    }

    #[test]
    fn count_header_grows() {
        let lim = SetLimits {
            max_listpack_entries: 100_000,
            ..LIM
        };
        let mut s = Set::new();
        s.insert(b"x", lim);
        for i in 0..300 {
            assert!(s.insert(format!("m{i}").as_bytes(), lim));
            assert_eq!(s.len(), i + 2);
        }
        for i in (0..300).rev() {
            assert!(s.remove(format!("m{i}").as_bytes()));
            assert_eq!(s.len(), i + 1);
            assert_eq!(s.iter().count(), i + 1);
        }
        assert_eq!(members(&s), [b"x".to_vec()]);
    }

    /// Random operations on sets of random kinds (integers of every width, short and long
    /// strings, canonical and not) agree with a model, through every conversion, with
    /// limits small and large.
    #[test]
    fn matches_a_model() {
        let mut rng = crate::rand::Rng::from_entropy();
        let pool: Vec<Vec<u8>> = {
            let mut p: Vec<Vec<u8>> = Vec::new();
            for x in [
                "0",
                "1",
                "-1",
                "7",
                "32767",
                "32768",
                "-32768",
                "-32769",
                "2147483647",
                "2147483648",
                "-2147483649",
                "9223372036854775807",
                "-9223372036854775808",
                "9223372036854775808",
                "01",
                "-0",
                "+5",
                " 5",
                "",
                "a",
                "b",
                "hello",
                "2305843009213693952",
            ] {
                p.push(x.as_bytes().to_vec());
            }
            for i in 0..40 {
                p.push(format!("{}", i * 37 - 500).into_bytes());
                p.push(format!("m{i}").into_bytes());
            }
            p.push(vec![b'z'; 63]);
            p.push(vec![b'z'; 64]);
            p.push(vec![b'z'; 65]);
            p.push(vec![b'q'; 300]);
            p
        };
        for round in 0..300 {
            let lim = if round % 2 == 0 {
                LIM
            } else {
                SetLimits {
                    max_intset_entries: rng.below(12) as usize,
                    max_listpack_entries: rng.below(12) as usize,
                    max_listpack_value: rng.below(70) as usize,
                }
            };
            let ints_only = round % 3 == 0;
            let mut s = Set::new();
            let mut model: BTreeSet<Vec<u8>> = BTreeSet::new();
            let mut was_table = false;
            for _ in 0..400 {
                let m = loop {
                    let m = &pool[rng.below(pool.len() as u64) as usize];
                    if !ints_only || crate::num::parse_i64(m).is_some() {
                        break m.clone();
                    }
                };
                match rng.below(10) {
                    0..=4 => {
                        if s.is_empty() && rng.below(3) == 0 {
                            s.prepare(1 + rng.below(200) as usize, &m, lim);
                        }
                        assert_eq!(s.insert(&m, lim), model.insert(m.clone()));
                    }
                    5..=7 => assert_eq!(s.remove(&m), model.remove(&m)),
                    8 => {
                        if model.len() > 1 {
                            let k = 1 + rng.below(model.len() as u64 - 1) as usize;
                            let popped = s.pop_random(k, &mut rng);
                            assert_eq!(popped.len(), k);
                            for p in popped {
                                assert!(model.remove(&p[..]), "popped a non-member");
                            }
                        }
                    }
                    _ => {
                        if !model.is_empty() {
                            let i = rng.below(model.len() as u64) as usize;
                            let want = s.get_index(i).unwrap().to_vec();
                            assert_eq!(s.take_index(i).to_vec(), want);
                            assert!(model.remove(&want));
                        }
                    }
                }
                assert_eq!(s.len(), model.len());
                assert_eq!(s.contains(&m), model.contains(&m));
                let got: BTreeSet<Vec<u8>> = members(&s).into_iter().collect();
                assert_eq!(got.len(), model.len(), "duplicates in {s:?}");
                assert_eq!(got, model);
                // Encoding invariants.
                match s.encoding_name() {
                    "intset" => {
                        assert!(!was_table);
                        let v: Vec<i64> = s
                            .iter()
                            .map(|m| crate::num::parse_i64(&m).unwrap())
                            .collect();
                        assert!(v.windows(2).all(|w| w[0] < w[1]));
                    }
                    "listpack" => assert!(!was_table),
                    _ => was_table = true,
                }
                if model.is_empty() {
                    s = Set::new();
                    was_table = false;
                }
            }
        }
    }

    #[test]
    fn popping_everything_but_one_and_picks_are_fair() {
        let mut rng = crate::rand::Rng::from_entropy();
        let mut hits = [0usize; 10];
        for _ in 0..2000 {
            let mut s = Set::new();
            for i in 0..10 {
                s.insert(format!("m{i}").as_bytes(), LIM);
            }
            let p = s.pop_random(3, &mut rng);
            for m in p {
                hits[(m[1] - b'0') as usize] += 1;
            }
            assert_eq!(s.len(), 7);
        }
        // 600 expected each; far outside [450, 750] would mean a biased pick.
        assert!(hits.iter().all(|&h| (450..750).contains(&h)), "{hits:?}");
    }
}
