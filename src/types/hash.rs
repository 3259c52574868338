//! The hash type and its two encodings.
//!
//! Small hashes are a `Listpack`: field/value strings packed in one buffer and searched
//! linearly, like Redis's listpack: fields come back in insertion order and an update
//! keeps the field's position, which users and the tutorial's printed outputs rely on.
//! Once a hash grows past `hash-max-listpack-entries` fields, or a field or value is
//! longer than `hash-max-listpack-value` bytes, it becomes an indexed table (one-way, as
//! in Redis). The table keeps entries in a vector with a hash index, so HSCAN can walk it
//! by position and HRANDFIELD can pick by index.
//!
//! Fields may carry a deadline (HEXPIRE and friends). The listpack stores it inline (see
//! `listpack.rs`); a table keeps a deadline word per field beside the entries and a
//! min-heap of (deadline, position) (see `TableTtls`), so the soonest is found at once and
//! a table without deadlines pays one empty pointer. Expired fields are removed by the
//! keyspace before any command sees the hash (`Hash::remove_expired`), so the methods here
//! never filter them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use indexmap::IndexMap;

use super::bytes::Bytes;
pub use super::listpack::Val;
use super::listpack::{Listpack, ListpackIter};

/// Conversion thresholds, from the `hash-max-listpack-*` directives.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

#[derive(Debug, Clone)]
pub enum Hash {
    Listpack(Listpack),
    // Boxed: a table is rare and large, and inline it would make every keyspace entry
    // (strings and small hashes too) as big as an IndexMap.
    Table(Box<Table>),
}

/// The large encoding.
#[derive(Debug, Clone, Default)]
pub struct Table {
    map: IndexMap<Bytes, Bytes>,
    /// Deadlines, present once any field has had one.
    ttl: Option<Box<TableTtls>>,
}

/// Deadlines of a table's fields: one word per field beside the entries (a table without
/// deadlines pays nothing), and a min-heap of (deadline, position) to find the soonest
/// without a second copy of any name: 16 bytes per timed field, about half what an
/// ordered set costs (redis-server 8 spends about 105 bytes per timed field in all; a
/// tree here made it 114).
///
/// Heap entries are not removed when a deadline changes or a field moves; an entry is
/// current while `at[position]` still equals its deadline (if a different field now sits
/// there with the same deadline, expiring it is just as right). Stale entries are popped
/// whenever they reach the top, so the top is always current and `min` exact, and the
/// heap is rebuilt from `at` when stale entries outnumber current ones and a sixteenth of
/// the fields.
#[derive(Debug, Clone, Default)]
struct TableTtls {
    /// `at[i]` is the deadline of the field at position `i` (0: none).
    at: Vec<u64>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    /// Fields with a deadline.
    timed: usize,
    /// No field's deadline is later than this: the latest deadline ever set, which may
    /// have gone since. Tells in O(1) that every field of a table is due.
    latest: u64,
}

impl TableTtls {
    fn current(&self, (at, pos): (u64, u32)) -> bool {
        self.at.get(pos as usize) == Some(&at)
    }

    fn clean_top(&mut self) {
        while let Some(&Reverse(e)) = self.heap.peek() {
            if self.current(e) {
                break;
            }
            self.heap.pop();
        }
    }

    fn push(&mut self, at: u64, pos: usize) {
        self.heap.push(Reverse((at, pos as u32)));
        // A rebuild reads every field's word, so it waits until that many pushes paid
        // for it (a sixteenth of the fields, a byte of stale entry per field at most):
        // with a few timed fields in a big table, rebuilding at `2 * timed` made every
        // few deadline changes cost a pass over the table.
        if self.heap.len() > 2 * self.timed + 32 + self.at.len() / 16 {
            self.push_all();
        }
    }

    /// Rebuilds the heap from `at`, with no stale entries.
    fn push_all(&mut self) {
        self.heap = self
            .at
            .iter()
            .enumerate()
            .filter(|&(_, &a)| a != 0)
            .map(|(i, &a)| Reverse((a, i as u32)))
            .collect();
    }

    /// The soonest deadline, and the position of a field that has it.
    fn first(&self) -> Option<(u64, usize)> {
        self.heap
            .peek()
            .map(|&Reverse((at, pos))| (at, pos as usize))
    }
}

impl Table {
    fn ttl_at(&self, i: usize) -> u64 {
        self.ttl.as_ref().map_or(0, |t| t.at[i])
    }

    /// Drops the deadline of the field at `i`; true if it had one.
    fn clear_ttl_at(&mut self, i: usize) -> bool {
        let Some(t) = self.ttl.as_mut() else {
            return false;
        };
        let at = std::mem::take(&mut t.at[i]);
        if at == 0 {
            return false;
        }
        t.timed -= 1;
        if t.timed == 0 {
            self.ttl = None;
        } else {
            t.clean_top();
        }
        true
    }

    fn clear_ttl(&mut self, field: &[u8]) -> bool {
        if self.ttl.is_none() {
            return false; // No lookup on the HSET path of a table without deadlines.
        }
        match self.map.get_index_of(field) {
            Some(i) => self.clear_ttl_at(i),
            None => false,
        }
    }

    fn set_ttl_at(&mut self, i: usize, at: u64) {
        let n = self.map.len();
        let t = self.ttl.get_or_insert_with(|| {
            Box::new(TableTtls {
                at: vec![0; n],
                ..Default::default()
            })
        });
        if std::mem::replace(&mut t.at[i], at) == 0 {
            t.timed += 1;
        }
        t.latest = t.latest.max(at);
        t.push(at, i);
        t.clean_top();
    }

    /// Sets a value; true if the field is new (with no deadline).
    fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(slot) = self.map.get_mut(field) {
            *slot = value.into();
            false
        } else {
            reserve_one(&mut self.map);
            self.map.insert(field.into(), value.into());
            if let Some(t) = self.ttl.as_mut() {
                t.at.push(0);
            }
            true
        }
    }

    /// Removes the field at `i`; the last field moves into its place, deadline included.
    fn remove_at(&mut self, i: usize) {
        self.clear_ttl_at(i);
        self.map.swap_remove_index(i);
        if let Some(t) = self.ttl.as_mut() {
            t.at.swap_remove(i);
            if let Some(&moved) = t.at.get(i)
                && moved != 0
            {
                t.push(moved, i);
            }
            t.clean_top();
            if t.timed == 0 {
                self.ttl = None;
            }
        }
    }
}

/// Expired fields a table removes one by one before it considers one pass over all of
/// them cheaper (plus 1/256 of its length: a heap pop costs about what a pass over 256
/// deadline words does).
const BULK_EXPIRE_MIN: usize = 64;

impl Table {
    /// Removes up to `limit` fields due at `now` in one pass, keeping the order of the
    /// rest; the removed pairs are freed on the lazy-free thread. See
    /// `Hash::remove_expired`.
    fn remove_expired_bulk(
        &mut self,
        now: u64,
        limit: usize,
        mut gone: impl FnMut(&[u8]),
    ) -> usize {
        let Some(mut ttl) = self.ttl.take() else {
            return 0;
        };
        let due = |at: u64| at != 0 && at <= now;
        let mut taken = 0;
        let mut pos = 0;
        // `retain` keeps the order and rebuilds the index from the cached hashes; taking
        // elements out one by one (`extract_if`) costs a cache miss each in the index.
        // Values go to the lazy-free thread; names are dropped here (most are inline).
        let mut removed: Vec<Bytes> = Vec::new();
        self.map.retain(|f, v| {
            let take = taken < limit && due(ttl.at[pos]);
            pos += 1;
            if take {
                taken += 1;
                gone(f);
                if v.len() > crate::types::bytes::INLINE_MAX {
                    removed.push(std::mem::replace(v, Bytes::from(&b""[..])));
                }
            }
            !take
        });
        let mut left = limit;
        ttl.at.retain(|&at| {
            let take = left > 0 && due(at);
            left -= take as usize;
            !take
        });
        ttl.timed -= taken;
        if ttl.timed > 0 {
            ttl.push_all();
            self.ttl = Some(ttl);
        }
        if removed.len() > crate::lazyfree::THRESHOLD {
            crate::lazyfree::drop_later(removed, 1);
        }
        taken
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Listpack::default())
    }
}

impl Hash {
    /// Asks for the cache lines a lookup reads first (see `Value::prefetch`).
    pub fn prefetch(&self) {
        match self {
            Hash::Listpack(lp) => super::prefetch_front(lp.bytes()),
            Hash::Table(t) => crate::prefetch::read(&**t),
        }
    }

    pub fn new() -> Hash {
        Hash::default()
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(v) => v.len(),
            Hash::Table(t) => t.map.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Hash::Listpack(lp) => lp.is_empty(),
            Hash::Table(t) => t.map.is_empty(),
        }
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Hash::Listpack(lp) if lp.is_ex() => "listpackex",
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<Val<'_>> {
        match self {
            Hash::Listpack(lp) => lp.get(field),
            Hash::Table(t) => t.map.get(field).map(|v| Val::Bytes(v)),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// The deadline of `field` in Unix ms: None if the field is missing, Some(0) if it
    /// has none.
    pub fn ttl(&self, field: &[u8]) -> Option<u64> {
        match self {
            Hash::Listpack(lp) => lp.ttl(field),
            Hash::Table(t) => t.map.get_index_of(field).map(|i| t.ttl_at(i)),
        }
    }

    /// The soonest field deadline (0: no field has one). O(1).
    #[inline]
    pub fn min_ttl(&self) -> u64 {
        match self {
            Hash::Listpack(lp) => lp.min_ttl(),
            Hash::Table(t) => t.ttl.as_ref().and_then(|t| t.first()).map_or(0, |e| e.0),
        }
    }

    /// True if every field of a table is known to be due at `now`, so the whole hash
    /// expires (the keyspace then drops it at once instead of field by field). False for
    /// a compact hash: it is small enough to go field by field.
    pub fn all_due(&self, now: u64) -> bool {
        match self {
            Hash::Listpack(_) => false,
            Hash::Table(t) => t
                .ttl
                .as_ref()
                .is_some_and(|x| x.timed == t.map.len() && x.latest <= now),
        }
    }

    /// Converts to the table encoding if a field or value of these lengths would not fit the
    /// compact one. Call before inserting, like Redis's `hashTypeTryConversion`.
    pub fn prepare_insert(&mut self, field_len: usize, value_len: usize, lim: HashLimits) {
        if let Hash::Listpack(_) = self
            && (field_len > lim.max_value || value_len > lim.max_value)
        {
            self.convert();
        }
    }

    /// Prepares a compact hash for deadlines (Redis's listpack to listpackex conversion,
    /// which the field-expiry commands do before looking at any field).
    pub fn prepare_ttl(&mut self) {
        if let Hash::Listpack(lp) = self {
            lp.make_ex();
        }
    }

    /// Sets `field` to `value` and drops its deadline (HSET); returns true if the field
    /// is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8], lim: HashLimits) -> bool {
        self.prepare_insert(field.len(), value.len(), lim);
        let new = match self {
            Hash::Listpack(lp) => lp.insert(field, value),
            Hash::Table(t) => {
                t.clear_ttl(field);
                t.insert(field, value)
            }
        };
        self.after_insert(new, lim);
        new
    }

    /// Sets `field` to `value` keeping any deadline (HINCRBY, HSETEX KEEPTTL); returns
    /// true if the field is new.
    pub fn insert_keep_ttl(&mut self, field: &[u8], value: &[u8], lim: HashLimits) -> bool {
        self.prepare_insert(field.len(), value.len(), lim);
        let new = match self {
            Hash::Listpack(lp) => lp.insert_keep_ttl(field, value),
            Hash::Table(t) => t.insert(field, value),
        };
        self.after_insert(new, lim);
        new
    }

    fn after_insert(&mut self, new: bool, lim: HashLimits) {
        if new
            && let Hash::Listpack(lp) = self
            && lp.len() > lim.max_entries
        {
            self.convert();
        }
    }

    /// Gives an existing field the deadline `at` (Unix ms, non-zero); false if missing.
    pub fn set_ttl(&mut self, field: &[u8], at: u64) -> bool {
        match self {
            Hash::Listpack(lp) => lp.set_ttl(field, at),
            Hash::Table(t) => match t.map.get_index_of(field) {
                Some(i) => {
                    t.set_ttl_at(i, at);
                    true
                }
                None => false,
            },
        }
    }

    /// Drops the deadline of `field`; false if it had none or is missing.
    pub fn persist(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => lp.persist(field),
            Hash::Table(t) => t.clear_ttl(field),
        }
    }

    /// Removes `field`; returns true if it existed. Listpack order of the rest is kept.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => lp.remove(field),
            Hash::Table(t) => match t.map.get_index_of(field) {
                Some(i) => {
                    t.remove_at(i);
                    true
                }
                None => false,
            },
        }
    }

    /// Removes up to `limit` fields whose deadline is at or before `now`, passing each
    /// name to `gone`; returns how many went.
    ///
    /// A table takes the soonest deadlines off its heap one by one, at O(log n) each. When
    /// the call is unbounded and more than a few percent of its fields are due (a million fields set to expire at
    /// once), it switches to one pass over the deadline words that keeps the survivors in
    /// order and hands the removed pairs to the lazy-free thread: the loop pays a
    /// sequential scan instead of a million heap pops, hash-index updates and frees.
    pub fn remove_expired(&mut self, now: u64, limit: usize, mut gone: impl FnMut(&[u8])) -> usize {
        match self {
            Hash::Listpack(lp) => lp.remove_expired(now, limit, gone),
            Hash::Table(t) => {
                // Only an unbounded call (a lookup) may take the pass: the active cycle's
                // budget is smaller than a pass over a big table costs.
                let one_by_one = if limit == usize::MAX {
                    BULK_EXPIRE_MIN + t.map.len() / 256
                } else {
                    limit
                };
                let mut n = 0;
                while n < limit {
                    let Some((at, i)) = t.ttl.as_ref().and_then(|x| x.first()) else {
                        break;
                    };
                    if at > now {
                        break;
                    }
                    if n == one_by_one {
                        return n + t.remove_expired_bulk(now, limit - n, gone);
                    }
                    gone(t.map.get_index(i).expect("in range").0);
                    t.remove_at(i);
                    n += 1;
                }
                n
            }
        }
    }

    /// The pair at position `i` (0..len), for random picks and cursor scans.
    pub fn get_index(&self, i: usize) -> Option<(&[u8], Val<'_>)> {
        match self {
            Hash::Listpack(lp) => lp.get_index(i),
            Hash::Table(t) => t.map.get_index(i).map(|(f, v)| (&**f, Val::Bytes(v))),
        }
    }

    pub fn iter(&self) -> HashIter<'_> {
        match self {
            Hash::Listpack(lp) => HashIter::Listpack(lp.iter()),
            Hash::Table(t) => HashIter::Table(t.map.iter()),
        }
    }

    /// Pairs with their deadlines (0: none), in storage order.
    pub fn iter_ttl(&self) -> Box<dyn Iterator<Item = (&[u8], Val<'_>, u64)> + '_> {
        match self {
            Hash::Listpack(lp) => Box::new(lp.iter_ttl()),
            Hash::Table(t) => Box::new(
                t.map
                    .iter()
                    .enumerate()
                    .map(|(i, (f, v))| (&**f, Val::Bytes(v), t.ttl_at(i))),
            ),
        }
    }

    /// `iter_ttl` from position `start` on: O(1) to start in a table (the rewrite writes a
    /// big hash in pieces), O(start) in a listpack.
    pub fn iter_ttl_from(
        &self,
        start: usize,
    ) -> Box<dyn Iterator<Item = (&[u8], Val<'_>, u64)> + '_> {
        match self {
            Hash::Listpack(lp) => Box::new(lp.iter_ttl().skip(start)),
            Hash::Table(t) => Box::new(
                t.map
                    .get_range(start.min(t.map.len())..)
                    .into_iter()
                    .flat_map(|s| s.iter())
                    .enumerate()
                    .map(move |(i, (f, v))| (&**f, Val::Bytes(v), t.ttl_at(start + i))),
            ),
        }
    }

    fn convert(&mut self) {
        if let Hash::Listpack(lp) = self {
            let mut t = Table {
                map: IndexMap::with_capacity(lp.len()),
                ttl: None,
            };
            for (f, val, _) in lp.iter_ttl() {
                t.map.insert(f.into(), (*val).into());
            }
            for (i, (_, _, at)) in lp.iter_ttl().enumerate() {
                if at != 0 {
                    t.set_ttl_at(i, at);
                }
            }
            *self = Hash::Table(Box::new(t));
        }
    }

    /// Bytes allocated for the hash: the pair storage plus out-of-line strings.
    pub fn heap_bytes(&self) -> usize {
        self.heap_bytes_sampled(0)
    }

    /// `heap_bytes`, with a table's out-of-line strings estimated from its first
    /// `samples` fields (0: all), as MEMORY USAGE's SAMPLES does in Redis: summing five
    /// million fields took tens of milliseconds.
    pub fn heap_bytes_sampled(&self, samples: usize) -> usize {
        let pair = std::mem::size_of::<(Bytes, Bytes)>();
        match self {
            Hash::Listpack(lp) => lp.heap_bytes(),
            // Entries (pair + cached hash), the index (a word and a control byte per
            // slot, a power of two at most 7/8 full), out-of-line strings, and with
            // deadlines a word per field plus a tree entry (two words, B-tree nodes about
            // two-thirds full) per field that has one.
            Hash::Table(t) => {
                let m = &t.map;
                let slots = (m.len() * 8 / 7 + 1).next_power_of_two();
                let ttls = t
                    .ttl
                    .as_ref()
                    .map_or(0, |x| x.at.capacity() * 8 + x.heap.capacity() * 16);
                super::alloc_size(std::mem::size_of::<Table>())
                    + m.capacity() * (pair + 8)
                    + slots * 9
                    + ttls
                    + strings_estimate(m, samples)
            }
        }
    }
}

/// Out-of-line bytes of a table's strings: exact with `samples` 0 or at least the length,
/// else the first `samples` fields' average times the length.
fn strings_estimate(m: &IndexMap<Bytes, Bytes>, samples: usize) -> usize {
    let each = |(f, x): (&Bytes, &Bytes)| f.heap_bytes() + x.heap_bytes();
    if samples == 0 || samples >= m.len() {
        return m.iter().map(each).sum();
    }
    let seen: usize = m.iter().take(samples).map(each).sum();
    seen * m.len() / samples
}

/// Iterates field/value pairs in storage order.
pub enum HashIter<'a> {
    Listpack(ListpackIter<'a>),
    Table(indexmap::map::Iter<'a, Bytes, Bytes>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], Val<'a>);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(it) => it.next(),
            HashIter::Table(it) => it.next().map(|(f, v)| (&**f, Val::Bytes(v))),
        }
    }
}

/// Makes room for one more entry, growing the entry vector by an eighth rather than to
/// the hash index's capacity. IndexMap on its own grows its entries to match the index,
/// which just past a power of two reserves almost twice what is used: 1M fields counted
/// far more allocated than in use. The untouched part costs no RSS, but it made INFO
/// used_memory overstate memory by half. Growth by a fixed fraction stays amortized O(1),
/// and large vectors are moved by remapping pages, not copying.
fn reserve_one<K: std::hash::Hash + Eq, V>(map: &mut IndexMap<K, V>) {
    if map.len() == map.capacity() {
        map.reserve_exact(map.len() / 8 + 16);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: HashLimits = HashLimits {
        max_entries: 4,
        max_value: 8,
    };

    /// Many fields due at once take the one-pass path: exactly the due fields go, the
    /// rest keep their deadlines, and a limit is honoured.
    #[test]
    fn bulk_expiry_matches_one_by_one() {
        let n = 5000u64;
        let mut x = 7u64;
        let mut rnd = move |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        for (now, limit) in [(500, usize::MAX), (900, 700), (2000, usize::MAX), (0, 10)] {
            let mut h = Hash::new();
            let mut model: Vec<(Vec<u8>, u64)> = Vec::new();
            for i in 0..n {
                let f = format!("f{i}-{}", "x".repeat((i % 30) as usize)).into_bytes();
                h.insert(&f, b"v", LIM);
                let at = if rnd(4) == 0 { 0 } else { 1 + rnd(1000) };
                if at != 0 {
                    h.set_ttl(&f, at);
                }
                model.push((f, at));
            }
            let mut gone = Vec::new();
            let removed = h.remove_expired(now, limit, |f| gone.push(f.to_vec()));
            let due: Vec<&Vec<u8>> = model
                .iter()
                .filter(|(_, at)| *at != 0 && *at <= now)
                .map(|(f, _)| f)
                .collect();
            assert_eq!(removed, due.len().min(limit));
            assert_eq!(gone.len(), removed);
            assert!(gone.iter().all(|f| due.contains(&f)));
            assert_eq!(h.len(), n as usize - removed);
            if limit == usize::MAX {
                // A table's order is its own (removal moves the last field into the hole).
                let mut left: Vec<Vec<u8>> = h.iter().map(|(f, _)| f.to_vec()).collect();
                let mut want: Vec<Vec<u8>> = model
                    .iter()
                    .filter(|(_, at)| *at == 0 || *at > now)
                    .map(|(f, _)| f.clone())
                    .collect();
                left.sort();
                want.sort();
                assert!(left == want, "survivors at {now}");
                for (f, at) in &model {
                    if *at == 0 || *at > now {
                        assert_eq!(h.ttl(f), Some(*at));
                    }
                }
                let soonest = model.iter().map(|m| m.1).filter(|&a| a > now).min();
                assert_eq!(h.min_ttl(), soonest.unwrap_or(0));
            }
            assert!(!h.all_due(now.max(1)) || h.is_empty() || limit != usize::MAX);
        }
        // Every field timed and past: the whole table is due.
        let mut h = Hash::new();
        for i in 0..100 {
            h.insert(format!("f{i}").as_bytes(), b"v", LIM);
            h.set_ttl(format!("f{i}").as_bytes(), 10 + i);
        }
        assert!(!h.all_due(50));
        assert!(h.all_due(109));
        h.persist(b"f3");
        assert!(!h.all_due(1000));
    }

    #[test]
    fn insertion_order_and_update_in_place() {
        let mut h = Hash::new();
        assert!(h.insert(b"name", b"Alice", LIM));
        assert!(h.insert(b"age", b"25", LIM));
        assert!(!h.insert(b"name", b"Bob", LIM));
        let fields: Vec<_> = h.iter().map(|(f, _)| f.to_vec()).collect();
        assert_eq!(fields, vec![b"name".to_vec(), b"age".to_vec()]);
        assert_eq!(h.get(b"name").as_deref(), Some(&b"Bob"[..]));
        assert!(h.remove(b"name"));
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn converts_on_size_and_keeps_data() {
        let mut h = Hash::new();
        for i in 0..5 {
            h.insert(format!("f{i}").as_bytes(), b"v", LIM);
        }
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 5);
        let mut h2 = Hash::new();
        h2.insert(b"f", b"0123456789", LIM);
        assert_eq!(h2.encoding_name(), "hashtable");
        assert_eq!(h2.get(b"f").as_deref(), Some(&b"0123456789"[..]));
    }

    /// Deadlines survive the conversion to a table and behave the same there.
    #[test]
    fn deadlines_in_both_encodings() {
        let mut h = Hash::new();
        for f in [b"a", b"b", b"c"] {
            h.insert(f, b"v", LIM);
        }
        h.prepare_ttl();
        assert_eq!(h.encoding_name(), "listpackex");
        assert!(h.set_ttl(b"b", 50));
        assert!(h.set_ttl(b"c", 40));
        assert!(!h.set_ttl(b"zz", 40));
        assert_eq!(h.min_ttl(), 40);
        // A long value converts; deadlines come along.
        h.insert(b"d", b"0123456789", LIM);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.ttl(b"b"), Some(50));
        assert_eq!(h.ttl(b"c"), Some(40));
        assert_eq!(h.ttl(b"a"), Some(0));
        assert_eq!(h.ttl(b"zz"), None);
        assert_eq!(h.min_ttl(), 40);
        // HSET drops a deadline, HINCRBY-style updates keep it.
        h.insert(b"c", b"w", LIM);
        assert_eq!(h.ttl(b"c"), Some(0));
        h.insert_keep_ttl(b"b", b"w", LIM);
        assert_eq!(h.ttl(b"b"), Some(50));
        assert_eq!(h.min_ttl(), 50);
        assert!(h.persist(b"b"));
        assert!(!h.persist(b"b"));
        assert_eq!(h.min_ttl(), 0);
        h.set_ttl(b"a", 10);
        h.set_ttl(b"b", 20);
        h.set_ttl(b"c", 30);
        let mut gone = Vec::new();
        assert_eq!(h.remove_expired(25, 10, |f| gone.push(f.to_vec())), 2);
        assert_eq!(gone, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(h.len(), 2);
        assert_eq!(h.min_ttl(), 30);
        assert!(h.remove(b"c"));
        assert_eq!(h.min_ttl(), 0);
    }

    /// Random sets, deadlines, persists, removals and expiry on a table agree with a
    /// map model: deadlines follow their fields when removal moves the last field.
    #[test]
    fn table_deadlines_match_a_model() {
        use std::collections::HashMap;
        let lim = HashLimits {
            max_entries: 0,
            max_value: 64,
        };
        let mut rng = crate::rand::Rng::from_entropy();
        for _ in 0..50 {
            let mut h = Hash::new();
            h.insert(b"seed", b"x", lim);
            let mut model: HashMap<Vec<u8>, (Vec<u8>, u64)> = HashMap::new();
            model.insert(b"seed".to_vec(), (b"x".to_vec(), 0));
            for step in 0..2000u64 {
                let f = format!("f{}", rng.below(60)).into_bytes();
                match rng.below(6) {
                    0 => {
                        assert_eq!(h.remove(&f), model.remove(&f).is_some());
                    }
                    1 => {
                        let at = 1 + rng.below(50);
                        let had = model.get_mut(&f).map(|e| e.1 = at).is_some();
                        assert_eq!(h.set_ttl(&f, at), had);
                    }
                    2 => {
                        let had = model
                            .get_mut(&f)
                            .is_some_and(|e| std::mem::take(&mut e.1) != 0);
                        assert_eq!(h.persist(&f), had);
                    }
                    3 => {
                        let now = rng.below(50);
                        let mut gone = Vec::new();
                        h.remove_expired(now, usize::MAX, |x| gone.push(x.to_vec()));
                        gone.sort();
                        let mut want: Vec<Vec<u8>> = model
                            .iter()
                            .filter(|(_, e)| e.1 != 0 && e.1 <= now)
                            .map(|(k, _)| k.clone())
                            .collect();
                        want.sort();
                        assert_eq!(gone, want);
                        model.retain(|_, e| e.1 == 0 || e.1 > now);
                    }
                    4 => {
                        let v = step.to_string().into_bytes();
                        let new = !model.contains_key(&f);
                        let e = model.entry(f.clone()).or_insert((Vec::new(), 0));
                        e.0 = v.clone();
                        assert_eq!(h.insert_keep_ttl(&f, &v, lim), new);
                    }
                    _ => {
                        let v = step.to_string().into_bytes();
                        let new = model.insert(f.clone(), (v.clone(), 0)).is_none();
                        assert_eq!(h.insert(&f, &v, lim), new);
                    }
                }
                if model.is_empty() {
                    break;
                }
                assert_eq!(h.encoding_name(), "hashtable");
                assert_eq!(h.len(), model.len());
                let min = model.values().map(|e| e.1).filter(|&t| t != 0).min();
                assert_eq!(h.min_ttl(), min.unwrap_or(0));
                for (k, (v, at)) in &model {
                    assert_eq!(h.get(k).as_deref(), Some(&v[..]));
                    assert_eq!(h.ttl(k), Some(*at));
                }
                let listed: HashMap<Vec<u8>, (Vec<u8>, u64)> = h
                    .iter_ttl()
                    .map(|(f, v, at)| (f.to_vec(), (v.to_vec(), at)))
                    .collect();
                assert_eq!(listed, model);
            }
        }
    }
}
