//! The databases: keys, values and expiry times, owned by the event loop alone.
//!
//! Expiry works the way Redis's does: a key past its deadline is removed when anyone looks
//! it up (lazy), and a timer-driven cycle samples keys that have a deadline and removes the
//! expired ones, doing bounded work per call so a huge expired set never stalls the loop.
//!
//! Keys live in an insertion-ordered table, so SCAN can use a position cursor: it walks
//! from the end towards the start, and because removal moves the last entry into the hole,
//! every key present for the whole scan is still returned at least once.

use std::collections::HashSet;

use indexmap::{IndexMap, IndexSet};

use crate::keymap::KeyMap;

use crate::types::Value;

type Key = crate::types::bytes::Bytes;

/// Keys sampled per round of the active expiry cycle (Redis: 20).
const EXPIRE_SAMPLE: usize = 20;
/// Rounds per database per active cycle before giving the loop back.
const EXPIRE_MAX_ROUNDS: usize = 16;
/// Hash fields the active cycle may reclaim per database per call, so a million fields
/// expiring at once are reclaimed over several ticks instead of stalling one.
const FIELD_EXPIRE_BUDGET: usize = 10_000;

/// What expiry removed, for the AOF: a whole key (logged as DEL) or fields of a hash
/// (logged as HDEL).
#[derive(Debug, Clone)]
pub enum Expired {
    Key(Key),
    Fields(Key, Vec<Key>),
}

/// Makes room for one more entry, growing the entry vector by an eighth rather than to
/// the hash index's capacity. IndexMap on its own grows its entries to match the index,
/// which just past a power of two reserves almost twice what is used: 1M string keys
/// counted 161 MB allocated for 107 MB in use. The untouched part costs no RSS, but it
/// made INFO used_memory overstate memory by half. Growth by a fixed fraction stays
/// amortized O(1), and large vectors are moved by remapping pages, not copying.
pub fn reserve_one<K: std::hash::Hash + Eq, V>(map: &mut IndexMap<K, V>) {
    if map.len() == map.capacity() {
        map.reserve_exact(map.len() / 8 + 16);
    }
}

/// A value and its absolute expiry in Unix milliseconds (0: none).
#[derive(Debug, Clone)]
pub struct Entry {
    pub val: Value,
    pub exp: i64,
}

#[derive(Debug, Default, Clone)]
pub struct Db {
    map: KeyMap<Entry>,
    /// Keys with an expiry, for sampling by the active cycle.
    expires: IndexSet<Key>,
    /// Hashes with field deadlines, for sampling by the active cycle, as `expires` is for
    /// keys. One entry per hash (about 40 bytes), with no time to keep in step: an index
    /// ordered by deadline cost three times that per hash (a 500k-session test used 1.36x
    /// Redis 8's memory), while expired fields are invisible at once either way.
    hexpires: IndexSet<Key>,
    /// Record keys removed by expiry in `expired_log` (the AOF logs them as DEL).
    pub log_expired: bool,
    /// Keys and fields removed by expiry since the AOF last drained this list.
    pub expired_log: Vec<Expired>,
    /// AOF rewrite snapshot: keys at positions below this one belong to the snapshot and
    /// are not yet written to the new base, except those in `snap_skip`. The rewrite walks
    /// down from here. Insertion appends above it, so new keys are never in the snapshot;
    /// removal swaps the last key into the hole, and if that key is not pending it joins
    /// `snap_skip`. Nothing is reordered beyond what removal already does, so SCAN keeps
    /// its guarantees while a rewrite runs.
    pub snap_cursor: usize,
    /// Keys below `snap_cursor` that are not pending: written early (copy-before-write)
    /// or moved down by a removal after the rewrite began.
    pub snap_skip: HashSet<Key>,
    /// Snapshot entries removed (expired) before the rewrite wrote them.
    /// Each with the clock when it was taken: the rewrite leaves out what had expired by
    /// then, never by a later clock (the live key may have changed since, with only the
    /// change in the new log). 0: write everything.
    pub snap_spill: Vec<(Key, Entry, i64)>,
    /// A rewrite snapshot covers this database.
    pub snap_active: bool,
    /// The database was emptied or swapped during the snapshot: the rewrite must restart.
    pub snap_broken: bool,
}

/// Counters reported by INFO.
#[derive(Debug, Default)]
pub struct KsStats {
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    /// Hash fields removed by expiry (INFO `expired_subkeys`).
    pub expired_fields: u64,
}

/// True if `v` is a hash with a field deadline (so it is in the field-expiry set).
#[inline]
fn has_field_ttls(v: &Value) -> bool {
    matches!(v, Value::Hash(h) if h.min_ttl() != 0)
}

impl KsStats {
    /// Keys plus fields removed by expiry: when it moves, there is something to log.
    pub fn expired_total(&self) -> u64 {
        self.expired + self.expired_fields
    }
}

impl Db {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Looks `key` up, removing it first if its deadline has passed, and removing the
    /// expired fields of a hash (the key too if none is left).
    pub fn get(&mut self, key: &[u8], now: i64, st: &mut KsStats) -> Option<&mut Entry> {
        let idx = self.map.get_index_of(key)?;
        let exp = self.map[idx].exp;
        if exp != 0 && exp <= now {
            self.expire_index(idx, now);
            st.expired += 1;
            return None;
        }
        if self.fields_due(idx, now) && self.expire_fields(idx, now, usize::MAX, st) {
            self.remove_index(idx);
            return None;
        }
        Some(&mut self.map[idx])
    }

    /// True if the value at `idx` is a hash with a field deadline at or before `now`.
    /// `now` is 0 while the AOF loads, so nothing expires then.
    #[inline]
    fn fields_due(&self, idx: usize, now: i64) -> bool {
        match &self.map[idx].val {
            Value::Hash(h) => {
                let t = h.min_ttl();
                t != 0 && t as i64 <= now
            }
            _ => false,
        }
    }

    /// Removes up to `limit` expired fields of the hash at `idx`, logging them for the
    /// AOF; returns true if the hash is now empty (the caller removes or reuses the key).
    fn expire_fields(&mut self, idx: usize, now: i64, limit: usize, st: &mut KsStats) -> bool {
        // A snapshot entry not yet written is written in its pre-change form first.
        if let Some((k, e)) = self.snap_take_index(idx) {
            let spilled = (Key::from(k), e.clone(), now);
            self.snap_spill.push(spilled);
        }
        let log = self.log_expired;
        let (k, e) = self.map.get_index_mut(idx).expect("index in range");
        let Value::Hash(h) = &mut e.val else {
            return false;
        };
        let mut fields = Vec::new();
        let n = h.remove_expired(now as u64, limit, |f| {
            if log {
                fields.push(Key::from(f));
            }
        });
        st.expired_fields += n as u64;
        let (empty, timed) = (h.is_empty(), h.min_ttl() != 0);
        let k = k.clone();
        if log && n > 0 {
            self.expired_log.push(Expired::Fields(k.clone(), fields));
        }
        if !empty && !timed {
            self.untrack_fields(&k);
        }
        empty
    }

    /// Files the hash at `key` for the active cycle if it has a field deadline, unfiles it
    /// otherwise (or if it is gone). Call after anything that may have changed the
    /// deadlines of a hash's fields.
    pub fn track_fields(&mut self, key: &[u8]) {
        let timed = matches!(
            self.map.get(key),
            Some(Entry { val: Value::Hash(h), .. }) if h.min_ttl() != 0
        );
        if timed {
            if !self.hexpires.contains(key) {
                self.hexpires.insert(key.into());
            }
        } else {
            self.untrack_fields(key);
        }
    }

    /// `track_fields` for changes that can only remove deadlines (HSET, HDEL, HPERSIST...):
    /// free when no hash in the database has any.
    #[inline]
    pub fn retrack_fields(&mut self, key: &[u8]) {
        if !self.hexpires.is_empty() {
            self.track_fields(key);
        }
    }

    /// Forgets `key` in the field-expiry set (the key was removed or replaced).
    #[inline]
    fn untrack_fields(&mut self, key: &[u8]) {
        if !self.hexpires.is_empty() {
            self.hexpires.swap_remove(key);
        }
    }

    /// Number of hashes filed for field expiry (INFO keyspace `subexpiry`).
    pub fn hexpires_len(&self) -> usize {
        self.hexpires.len()
    }

    /// The live entry of `key`, created with `make()` (and no expiry) if missing or expired.
    /// One hash lookup when the key exists: this is the write path of HSET and friends.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        now: i64,
        st: &mut KsStats,
        make: impl FnOnce() -> Value,
    ) -> &mut Entry {
        let idx = match self.map.get_index_of(key) {
            Some(idx) => {
                let exp = self.map[idx].exp;
                if exp != 0 && exp <= now {
                    self.expires.swap_remove(key);
                    self.untrack_fields(key);
                    st.expired += 1;
                    if self.log_expired {
                        self.expired_log.push(Expired::Key(key.into()));
                    }
                    self.map[idx] = Entry {
                        val: make(),
                        exp: 0,
                    };
                } else if self.fields_due(idx, now) && self.expire_fields(idx, now, usize::MAX, st)
                {
                    // Every field expired: the key is gone, and a new value takes its place.
                    if exp != 0 {
                        self.expires.swap_remove(key);
                    }
                    self.untrack_fields(key);
                    self.map[idx] = Entry {
                        val: make(),
                        exp: 0,
                    };
                }
                idx
            }
            None => self.map.push_new(
                key,
                Entry {
                    val: make(),
                    exp: 0,
                },
            ),
        };
        &mut self.map[idx]
    }

    /// Stores `val` under `key` with expiry `exp` (0: none), replacing any old value and
    /// deadline.
    pub fn set(&mut self, key: &[u8], val: Value, exp: i64) {
        let fields = matches!(&val, Value::Hash(h) if h.min_ttl() != 0);
        self.set_inner(key, val, exp);
        if fields {
            self.track_fields(key);
        }
    }

    fn set_inner(&mut self, key: &[u8], val: Value, exp: i64) {
        match self.map.get_index_of(key) {
            Some(idx) => {
                if has_field_ttls(&self.map[idx].val) {
                    self.untrack_fields(key);
                }
                let old = self.map[idx].exp;
                self.map[idx] = Entry { val, exp };
                if old != 0 && exp == 0 {
                    self.expires.swap_remove(key);
                } else if old == 0 && exp != 0 {
                    self.expires.insert(key.into());
                }
            }
            None => {
                self.map.push_new(key, Entry { val, exp });
                if exp != 0 {
                    self.expires.insert(key.into());
                }
            }
        }
    }

    /// Replaces the value of `key` and keeps its deadline (SET KEEPTTL, INCR on a key).
    pub fn set_keep_ttl(&mut self, key: &[u8], val: Value) {
        match self.map.get_index_of(key) {
            Some(idx) => {
                if has_field_ttls(&self.map[idx].val) {
                    self.untrack_fields(key);
                }
                self.map[idx].val = val;
            }
            None => {
                self.map.push_new(key, Entry { val, exp: 0 });
            }
        }
    }

    /// Removes `key`; returns its entry if it existed (expired or not).
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let idx = self.map.get_index_of(key)?;
        Some(self.remove_index(idx))
    }

    fn remove_index(&mut self, idx: usize) -> Entry {
        let pending = self.snap_before_remove(idx);
        let (k, e) = self.map.swap_remove_index(idx).expect("index in range");
        self.untrack_fields(&k);
        self.snap_cursor = self.snap_cursor.min(self.map.len());
        if e.exp != 0 {
            self.expires.swap_remove(&k);
        }
        if pending {
            // Rare: the command hook writes a command's keys first, so only a removal
            // outside a command's key list gets here.
            // No clock here: everything is written; the command's own record removes it.
            self.snap_spill.push((k, e.clone(), 0));
        }
        e
    }

    /// Removes the expired entry at `idx`, noting its key for the AOF.
    fn expire_index(&mut self, idx: usize, now: i64) {
        let pending = self.snap_before_remove(idx);
        let (k, e) = self.map.swap_remove_index(idx).expect("index in range");
        self.untrack_fields(&k);
        self.snap_cursor = self.snap_cursor.min(self.map.len());
        self.expires.swap_remove(&k);
        if self.log_expired {
            self.expired_log.push(Expired::Key(k.clone()));
        }
        if pending {
            self.snap_spill.push((k, e, now));
        }
    }

    /// Snapshot bookkeeping before the entry at `idx` is swap-removed: true if it is a
    /// snapshot entry not yet written. The last entry, about to move into `idx`, is marked
    /// not pending if it was above the cursor (written already, or created later).
    fn snap_before_remove(&mut self, idx: usize) -> bool {
        if idx >= self.snap_cursor {
            return false;
        }
        let key = self.map.get_index(idx).expect("index in range").0;
        let pending = !self.snap_skip.remove(&**key);
        let last = self.map.len() - 1;
        if last != idx && last >= self.snap_cursor {
            let moved = self.map.get_index(last).expect("index in range").0.clone();
            self.snap_skip.insert(moved);
        }
        pending
    }

    /// Starts a rewrite snapshot of this database (O(1)).
    pub fn snap_begin(&mut self) {
        self.snap_cursor = self.map.len();
        self.snap_active = true;
        self.snap_broken = false;
        self.snap_spill.clear();
        self.snap_skip.clear();
    }

    /// Ends (or abandons) the snapshot.
    pub fn snap_end(&mut self) {
        self.snap_cursor = 0;
        self.snap_active = false;
        self.snap_broken = false;
        self.snap_spill = Vec::new();
        self.snap_skip = HashSet::new();
    }

    /// If `key` is a snapshot entry not yet written, marks it written and returns it so
    /// the caller can write its current (pre-change) form.
    pub fn snap_take(&mut self, key: &[u8]) -> Option<(&[u8], &Entry)> {
        let idx = self.map.get_index_of(key)?;
        if idx >= self.snap_cursor || self.snap_skip.contains(key) {
            return None;
        }
        let (k, e) = self.map.get_index(idx).expect("index in range");
        self.snap_skip.insert(k.clone());
        Some((&**k, e))
    }

    /// Like `snap_take`, by position.
    fn snap_take_index(&mut self, idx: usize) -> Option<(&[u8], &Entry)> {
        if idx >= self.snap_cursor {
            return None;
        }
        let k = self.map.get_index(idx).expect("index in range").0;
        if self.snap_skip.contains(&**k) {
            return None;
        }
        let k = k.clone();
        self.snap_skip.insert(k);
        self.map.get_index(idx).map(|(k, e)| (&**k, e))
    }

    /// The next snapshot entry to write (walking down), marked written.
    pub fn snap_next(&mut self) -> Option<(&[u8], &Entry)> {
        while self.snap_cursor > 0 {
            self.snap_cursor -= 1;
            let k = self
                .map
                .get_index(self.snap_cursor)
                .expect("index in range")
                .0;
            if self.snap_skip.is_empty() || !self.snap_skip.remove(&**k) {
                return self.map.get_index(self.snap_cursor).map(|(k, e)| (&**k, e));
            }
        }
        None
    }

    /// Sets the deadline of an existing key; false if the key is missing.
    pub fn set_expire(&mut self, key: &[u8], exp: i64) -> bool {
        let Some(e) = self.map.get_mut(key) else {
            return false;
        };
        if e.exp == 0 && exp != 0 {
            self.expires.insert(key.into());
        } else if e.exp != 0 && exp == 0 {
            self.expires.swap_remove(key);
        }
        e.exp = exp;
        true
    }

    pub fn clear(&mut self) {
        self.map = KeyMap::new();
        self.expires = IndexSet::new();
        self.hexpires = IndexSet::new();
        if self.snap_active {
            self.snap_broken = true;
            self.snap_cursor = 0;
        }
    }

    /// The key at position `i`, for RANDOMKEY and SCAN.
    pub fn key_at(&self, i: usize) -> Option<(&[u8], &Entry)> {
        self.map.get_index(i).map(|(k, e)| (&**k, e))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.map.iter().map(|(k, e)| (&**k, e))
    }

    /// Removes expired keys among a bounded random sample; returns how many went.
    pub fn active_expire(&mut self, now: i64, rng: &mut crate::rand::Rng) -> usize {
        let mut removed = 0;
        for _ in 0..EXPIRE_MAX_ROUNDS {
            let n = self.expires.len();
            if n == 0 {
                break;
            }
            let sample = n.min(EXPIRE_SAMPLE);
            let mut expired = 0;
            for _ in 0..sample {
                let n = self.expires.len();
                if n == 0 {
                    break;
                }
                let i = rng.below(n as u64) as usize;
                let key = &self.expires[i];
                let idx = self.map.get_index_of(key).expect("expires and map agree");
                let exp = self.map[idx].exp;
                if exp != 0 && exp <= now {
                    self.expire_index(idx, now);
                    expired += 1;
                }
            }
            removed += expired;
            // Keep going only while a quarter or more of the sample was stale, as Redis does.
            if expired * 4 < sample {
                break;
            }
        }
        removed
    }
}

impl Db {
    /// Reclaims expired hash fields from a bounded random sample of the hashes that have
    /// deadlines, continuing while a quarter or more of a sample had some (as for keys),
    /// and at most `FIELD_EXPIRE_BUDGET` fields; a hash left empty is removed. Returns
    /// how many fields went.
    pub fn active_expire_fields(
        &mut self,
        now: i64,
        rng: &mut crate::rand::Rng,
        st: &mut KsStats,
    ) -> usize {
        let before = st.expired_fields;
        let mut budget = FIELD_EXPIRE_BUDGET;
        for _ in 0..EXPIRE_MAX_ROUNDS {
            let sample = self.hexpires.len().min(EXPIRE_SAMPLE);
            if sample == 0 || budget == 0 {
                break;
            }
            let mut hit = 0;
            for _ in 0..sample {
                let n = self.hexpires.len();
                if n == 0 || budget == 0 {
                    break;
                }
                let i = rng.below(n as u64) as usize;
                let Some(idx) = self.map.get_index_of(&self.hexpires[i]) else {
                    self.hexpires.swap_remove_index(i); // Unreachable in practice.
                    continue;
                };
                let exp = self.map[idx].exp;
                if exp != 0 && exp <= now {
                    self.expire_index(idx, now);
                    st.expired += 1;
                    hit += 1;
                    continue;
                }
                if !matches!(&self.map[idx].val, Value::Hash(h) if h.min_ttl() != 0) {
                    self.hexpires.swap_remove_index(i); // Lost its deadlines unnoticed.
                    continue;
                }
                if !self.fields_due(idx, now) {
                    continue;
                }
                hit += 1;
                let n0 = st.expired_fields;
                let emptied = self.expire_fields(idx, now, budget, st);
                budget = budget.saturating_sub((st.expired_fields - n0) as usize);
                if emptied {
                    self.remove_index(idx);
                }
            }
            if hit * 4 < sample {
                break;
            }
        }
        (st.expired_fields - before) as usize
    }
}

/// The 16 (by default) databases.
#[derive(Debug)]
pub struct Keyspace {
    pub dbs: Vec<Db>,
    pub stats: KsStats,
}

impl Keyspace {
    pub fn new(databases: usize) -> Keyspace {
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            stats: KsStats::default(),
        }
    }

    /// Turns recording of expired keys (for the AOF's DEL records) on or off.
    pub fn set_log_expired(&mut self, on: bool) {
        for db in &mut self.dbs {
            db.log_expired = on;
            if !on {
                db.expired_log = Vec::new();
            }
        }
    }

    /// Runs one active expiry pass over every database.
    pub fn active_expire(&mut self, now: i64, rng: &mut crate::rand::Rng) {
        for db in &mut self.dbs {
            let n = db.active_expire(now, rng);
            self.stats.expired += n as u64;
            db.active_expire_fields(now, rng, &mut self.stats);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entry size drives memory per key and cache misses per lookup; keep it in check.
    #[test]
    fn entry_stays_small() {
        let n = std::mem::size_of::<Entry>();
        assert!(n <= 32, "{n}");
    }

    /// Expiring a field of a snapshot hash not yet written spills its pre-change form
    /// with the clock of that moment, and the rewrite filters by that clock: a field
    /// still live then is written even if the rewrite gets to it after its deadline (the
    /// live key may have changed it since, e.g. HPERSIST, logged only in the new file).
    #[test]
    fn field_expiry_spills_with_its_clock() {
        use crate::types::Hash;
        use crate::types::hash::HashLimits;
        let lim = HashLimits {
            max_entries: 128,
            max_value: 64,
        };
        let mut h = Hash::new();
        for f in [b"e", b"f", b"g"] {
            h.insert(f, b"1", lim);
        }
        h.prepare_ttl();
        h.set_ttl(b"e", 60);
        h.set_ttl(b"f", 160);
        let mut db = Db::default();
        let mut st = KsStats::default();
        db.set(b"K", Value::Hash(h), 0);
        db.snap_begin();
        assert!(db.get(b"K", 70, &mut st).is_some());
        assert_eq!(st.expired_fields, 1);
        assert_eq!(db.snap_spill.len(), 1);
        let (k, e, at) = &db.snap_spill[0];
        assert_eq!((&**k, *at), (&b"K"[..], 70));
        let mut buf = Vec::new();
        crate::aof::rewrite::write_value(&mut buf, k, e, *at as u64);
        let text = String::from_utf8_lossy(&buf);
        assert!(
            text.contains("\r\nf\r\n") && text.contains("\r\ng\r\n"),
            "{text}"
        );
        assert!(!text.contains("\r\ne\r\n"), "{text}");
        // The live key is no longer pending: the walk does not write it again.
        assert!(db.snap_next().is_none());
    }

    fn str_val(v: u64) -> Value {
        Value::Str(crate::types::Str::from_i64(v as i64))
    }

    /// Random inserts, updates (through `snap_take`, as the command hook does), removals
    /// and expiries interleaved with the rewrite's walk: every key present at the start is
    /// written exactly once, with its value as of the start, and nothing created later is.
    #[test]
    fn snapshot_is_exact_under_random_changes() {
        let mut rng = crate::rand::Rng::from_entropy();
        for _ in 0..200 {
            let mut db = Db::default();
            let mut st = KsStats::default();
            for i in 0..rng.below(300) {
                let exp = if rng.below(4) == 0 { 1000 } else { 0 };
                db.set(format!("k{i}").as_bytes(), str_val(i), exp);
            }
            let start: std::collections::HashMap<Vec<u8>, String> = db
                .iter()
                .map(|(k, e)| (k.to_vec(), format!("{:?}/{}", e.val, e.exp)))
                .collect();
            db.snap_begin();
            let mut written: Vec<(Vec<u8>, String)> = Vec::new();
            let mut next_new = 100_000u64;
            loop {
                for _ in 0..rng.below(4) {
                    let k = format!("k{}", rng.below(400)).into_bytes();
                    match rng.below(5) {
                        0 => {
                            // A command about to change the key: copy-before-write first.
                            if let Some((k2, e)) = db.snap_take(&k) {
                                written.push((k2.to_vec(), format!("{:?}/{}", e.val, e.exp)));
                            }
                            db.set(&k, str_val(rng.next_u64() % 1000), 0);
                        }
                        1 => {
                            if let Some((k2, e)) = db.snap_take(&k) {
                                written.push((k2.to_vec(), format!("{:?}/{}", e.val, e.exp)));
                            }
                            db.remove(&k);
                        }
                        2 => {
                            // Expiry: removes without a command hook; the entry is spilled.
                            let _ = db.get(&k, 2000, &mut st);
                        }
                        3 => {
                            next_new += 1;
                            db.set(format!("n{next_new}").as_bytes(), str_val(next_new), 0);
                        }
                        _ => {}
                    }
                }
                for (k, e, _) in std::mem::take(&mut db.snap_spill) {
                    written.push((k.to_vec(), format!("{:?}/{}", e.val, e.exp)));
                }
                let next = db
                    .snap_next()
                    .map(|(k, e)| (k.to_vec(), format!("{:?}/{}", e.val, e.exp)));
                match next {
                    Some(w) => written.push(w),
                    None if db.snap_spill.is_empty() => break,
                    None => {}
                }
            }
            let mut seen = std::collections::HashMap::new();
            for (k, v) in written {
                assert!(seen.insert(k.clone(), v).is_none(), "{k:?} written twice");
            }
            assert_eq!(seen, start);
        }
    }
}
