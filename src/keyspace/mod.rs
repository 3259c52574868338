//! The databases: keys, values and expiry times, owned by the engine alone.
//!
//! Expiry works the way Redis's does: a key past its deadline is removed when anyone looks
//! it up (lazy), and a timer-driven cycle samples keys that have a deadline and removes the
//! expired ones, doing bounded work per call so a huge expired set never stalls the loop.
//!
//! Keys live in an insertion-ordered table, so SCAN can use a position cursor: it walks
//! from the end towards the start, and because removal moves the last entry into the hole,
//! every key present for the whole scan is still returned at least once. Point-in-time
//! snapshots (the fork-less AOF rewrite, later RDB saves and replicas' full syncs) walk the
//! same positions; their bookkeeping is in `snapshot.rs`.

pub mod entry;
pub mod snapshot;

pub use entry::Entry;

use indexmap::IndexSet;

use crate::keymap::KeyMap;
use crate::types::Value;
use snapshot::DbSnap;

type Key = crate::types::bytes::Bytes;

/// Keys sampled per round of the active expiry cycle (Redis: 20).
const EXPIRE_SAMPLE: usize = 20;
/// Rounds per database per active cycle before giving the loop back.
const EXPIRE_MAX_ROUNDS: usize = 16;
/// Hash fields the active cycle may reclaim per database per call, so a million fields
/// expiring at once are reclaimed over several ticks instead of stalling one.
const FIELD_EXPIRE_BUDGET: usize = 10_000;

/// What expiry removed, for the write stream and keyspace notifications: a whole key
/// (recorded as DEL), every field of a hash at once (DEL too), or some fields of a hash
/// (HDEL). Field names are kept already encoded as RESP bulk strings, so a million
/// expired fields cost one buffer, not a million names.
#[derive(Debug, Clone)]
pub enum Expired {
    Key(Key),
    /// Every field of the hash expired: the key is gone (events `hexpired`, `del`).
    Hash(Key),
    Fields {
        key: Key,
        count: usize,
        bulks: Vec<u8>,
        /// The hash was left empty, so its key goes too.
        emptied: bool,
    },
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
    /// Record keys removed by expiry in `expired_log` (the write stream records them).
    pub log_expired: bool,
    /// Keys and fields removed by expiry since the write stream last drained this list.
    pub expired_log: Vec<Expired>,
    /// Record keys this database creates in `new_log` (keyspace notifications' `new`).
    pub log_new: bool,
    pub new_log: Vec<Key>,
    /// The snapshots being walked over this database, usually none (see `snapshot.rs`).
    snaps: Vec<DbSnap>,
    /// Which removals free big values on the lazy-free thread (`lazyfree-lazy-*`).
    pub lazy: crate::lazyfree::Policy,
    /// How lookups update an entry's access clock (see `entry.rs`).
    pub access: Access,
}

/// What a lookup writes into the entry's access clock: the LRU seconds (the default,
/// so OBJECT IDLETIME is right whatever the policy) or, under an LFU policy, the
/// decayed-and-incremented counter.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    Lru {
        clock: u32,
    },
    Lfu {
        now_ms: i64,
        decay_minutes: u64,
        log_factor: u64,
        seed: u64,
    },
}

impl Default for Access {
    fn default() -> Self {
        Access::Lru { clock: 0 }
    }
}

impl Access {
    /// The clock a new or replaced entry starts with.
    #[inline]
    pub fn fresh(&self) -> u32 {
        match *self {
            Access::Lru { clock } => clock,
            Access::Lfu { now_ms, .. } => {
                entry::lfu::pack(entry::lfu::minutes(now_ms), entry::lfu::INIT)
            }
        }
    }

    /// The clock after one more access to an entry whose clock is `old`.
    #[inline]
    fn touched(&mut self, old: u32) -> u32 {
        match self {
            Access::Lru { clock } => *clock,
            Access::Lfu {
                now_ms,
                decay_minutes,
                log_factor,
                seed,
            } => {
                // xorshift64: the increment is a coin toss, as Redis's rand().
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                let r = (*seed >> 11) as f64 / (1u64 << 53) as f64;
                entry::lfu::touched(old, *now_ms, *decay_minutes, *log_factor, r)
            }
        }
    }
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

/// Most keys `Db::prefetch` takes at once: enough to overlap the misses of a client's
/// pipeline of 16, few enough that the first lines are still cached when the commands
/// run.
pub const PREFETCH_MAX: usize = 32;

impl Db {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Batch prefetching: brings the index buckets, entries and values of `keys` (at most
    /// `PREFETCH_MAX`) into the cache before the commands that name them run.
    ///
    /// Looked up one after another, every key pays a chain of dependent cache misses:
    /// index, then entry, then value. Here each stage asks for the lines of every key
    /// before the next stage reads any of them, so the misses of a batch overlap, as in
    /// Redis 8's `memory_prefetch.c`. Only hints: nothing changes, and a key that is not
    /// there costs a hash and a probe.
    pub fn prefetch<'a>(&self, keys: impl Iterator<Item = &'a [u8]> + Clone) {
        let Some(at) = self.map.index_layout() else {
            return;
        };
        let mut hashes = [0u64; PREFETCH_MAX];
        let mut n = 0;
        for k in keys.clone().take(PREFETCH_MAX) {
            let h = self.map.hash_of(k);
            self.map.prefetch_slot(at, h);
            hashes[n] = h;
            n += 1;
        }
        for &h in &hashes[..n] {
            self.map.prefetch_entry(h);
        }
        for (k, &h) in keys.zip(&hashes[..n]) {
            if let Some(i) = self.map.find_hashed(h, k) {
                self.map[i].val.prefetch();
            }
        }
    }

    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Looks `key` up, removing it first if its deadline has passed, and removing the
    /// expired fields of a hash (the key too if none is left). A hit counts as an access
    /// for eviction (the entry's clock moves).
    pub fn get(&mut self, key: &[u8], now: i64, st: &mut KsStats) -> Option<&mut Entry> {
        let idx = self.live_index(key, now, st)?;
        let e = &mut self.map[idx];
        if let Some(old) = e.clock() {
            e.set_clock(self.access.touched(old));
        }
        Some(e)
    }

    /// `get` without touching the access clock: Redis's LOOKUP_NOTOUCH, for commands
    /// that look at a key without using it (TYPE, EXISTS, TTL, OBJECT).
    pub fn peek(&mut self, key: &[u8], now: i64, st: &mut KsStats) -> Option<&mut Entry> {
        let idx = self.live_index(key, now, st)?;
        Some(&mut self.map[idx])
    }

    /// The position of `key` if it is live, after lazy expiry of the key or its fields.
    #[inline]
    fn live_index(&mut self, key: &[u8], now: i64, st: &mut KsStats) -> Option<usize> {
        let idx = self.map.get_index_of(key)?;
        if self.map[idx].expired(now) {
            self.expire_index(idx, now);
            st.expired += 1;
            return None;
        }
        if self.fields_due(idx, now) && self.expire_fields(idx, now, usize::MAX, st) {
            self.remove_emptied(idx);
            return None;
        }
        Some(idx)
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

    /// Removes up to `limit` expired fields of the hash at `idx`, noting them for the
    /// write stream; returns true if the hash is now empty (the caller removes or reuses
    /// the key).
    ///
    /// A table whose every field is due is left as it is and reported empty: the caller
    /// removes the key with `remove_emptied`, which frees it on the lazy-free thread.
    fn expire_fields(&mut self, idx: usize, now: i64, limit: usize, st: &mut KsStats) -> bool {
        // A snapshot entry not yet written is set aside in its pre-change form first.
        self.snaps_spill_before_change(idx, now);
        let log = self.log_expired;
        let (k, e) = self.map.get_index_mut(idx).expect("index in range");
        let Value::Hash(h) = &mut e.val else {
            return false;
        };
        if limit == usize::MAX && h.all_due(now as u64) {
            // The whole hash goes: one DEL says so, where naming every field would cost
            // as much as removing them one by one (Redis's HDEL of the last field removes
            // the key, so both logs replay alike).
            st.expired_fields += h.len() as u64;
            if log {
                self.expired_log.push(Expired::Hash(k.clone()));
            }
            return true;
        }
        let (mut count, mut bulks) = (0, Vec::new());
        let n = h.remove_expired(now as u64, limit, |f| {
            if log {
                count += 1;
                crate::resp::encode::push_bulk(&mut bulks, f);
            }
        });
        st.expired_fields += n as u64;
        let (empty, timed) = (h.is_empty(), h.min_ttl() != 0);
        let k = k.clone();
        if log && n > 0 {
            self.expired_log.push(Expired::Fields {
                key: k.clone(),
                count,
                bulks,
                emptied: empty,
            });
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
                let exp = self.map[idx].exp();
                if self.map[idx].expired(now) {
                    self.expires.swap_remove(key);
                    self.untrack_fields(key);
                    st.expired += 1;
                    if self.log_expired {
                        self.expired_log.push(Expired::Key(key.into()));
                    }
                    let fresh = Entry::new(make(), 0, self.access.fresh());
                    let old = std::mem::replace(&mut self.map[idx], fresh);
                    crate::lazyfree::free_value(old.val, self.lazy.expire);
                } else if self.fields_due(idx, now) && self.expire_fields(idx, now, usize::MAX, st)
                {
                    // Every field expired: the key is gone, and a new value takes its place.
                    if exp != 0 {
                        self.expires.swap_remove(key);
                    }
                    self.untrack_fields(key);
                    let fresh = Entry::new(make(), 0, self.access.fresh());
                    let old = std::mem::replace(&mut self.map[idx], fresh);
                    crate::lazyfree::free_value(old.val, true);
                }
                idx
            }
            None => {
                self.note_new(key);
                self.map
                    .push_new(key, Entry::new(make(), 0, self.access.fresh()))
            }
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
                let old = self.map[idx].exp();
                let fresh = Entry::new(val, exp, self.access.fresh());
                let old_entry = std::mem::replace(&mut self.map[idx], fresh);
                crate::lazyfree::free_value(old_entry.val, self.lazy.server_del);
                if old != 0 && exp == 0 {
                    self.expires.swap_remove(key);
                } else if old == 0 && exp != 0 {
                    self.expires.insert(key.into());
                }
            }
            None => {
                self.note_new(key);
                self.map
                    .push_new(key, Entry::new(val, exp, self.access.fresh()));
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
                let old = std::mem::replace(&mut self.map[idx].val, val);
                crate::lazyfree::free_value(old, self.lazy.server_del);
            }
            None => {
                self.note_new(key);
                self.map
                    .push_new(key, Entry::new(val, 0, self.access.fresh()));
            }
        }
    }

    /// A key is being created: noted for the `new` notification while one is wanted.
    #[inline]
    fn note_new(&mut self, key: &[u8]) {
        if self.log_new {
            self.new_log.push(key.into());
        }
    }

    /// Removes `key` and frees its value, on the lazy-free thread if `lazy` and it is big;
    /// false if there was no such key.
    pub fn delete(&mut self, key: &[u8], lazy: bool) -> bool {
        match self.remove(key) {
            Some(e) => {
                crate::lazyfree::free_value(e.val, lazy);
                true
            }
            None => false,
        }
    }

    /// Removes `key` as a side effect of a command (Redis's `dbDelete`): lazily under
    /// `lazyfree-lazy-server-del`.
    pub fn delete_server(&mut self, key: &[u8]) -> bool {
        self.delete(key, self.lazy.server_del)
    }

    /// Removes `key`; returns its entry if it existed (expired or not).
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let idx = self.map.get_index_of(key)?;
        Some(self.remove_index(idx))
    }

    fn remove_index(&mut self, idx: usize) -> Entry {
        let (k, e, pending) = self.swap_remove_index(idx);
        if e.exp() != 0 {
            self.expires.swap_remove(&k);
        }
        // Rare: the command hook copies a command's keys first, so only a removal outside
        // a command's key list reaches a pending snapshot entry. No clock: everything is
        // written; the command's own record removes it.
        if pending != 0 {
            self.snaps_spill(pending, k, e.clone(), 0);
        }
        e
    }

    /// Removes the hash at `idx` that field expiry emptied (or found wholly due), freeing
    /// it on the lazy-free thread if it is big.
    fn remove_emptied(&mut self, idx: usize) {
        let e = self.remove_index(idx);
        crate::lazyfree::free_value(e.val, true);
    }

    /// Removes the expired entry at `idx`, noting its key for the write stream.
    fn expire_index(&mut self, idx: usize, now: i64) {
        let (k, e, pending) = self.swap_remove_index(idx);
        self.expires.swap_remove(&k);
        if self.log_expired {
            self.expired_log.push(Expired::Key(k.clone()));
        }
        if pending != 0 {
            // The snapshot's consumer frees it once written (which leaves it out: expired).
            self.snaps_spill(pending, k, e, now);
        } else {
            crate::lazyfree::free_value(e.val, self.lazy.expire);
        }
    }

    /// Swap-removes the entry at `idx` from the table and the field-expiry set, keeping
    /// the snapshots' bookkeeping right; also returns which snapshots had it pending. The
    /// caller handles `expires` and the spill.
    fn swap_remove_index(&mut self, idx: usize) -> (Key, Entry, u64) {
        let pending = self.snaps_before_swap_remove(idx);
        let (k, e) = self.map.swap_remove_index(idx).expect("index in range");
        self.untrack_fields(&k);
        self.snaps_after_swap_remove();
        (k, e, pending)
    }

    /// Sets the deadline of an existing key; false if the key is missing.
    pub fn set_expire(&mut self, key: &[u8], exp: i64) -> bool {
        let Some(e) = self.map.get_mut(key) else {
            return false;
        };
        let old = e.exp();
        e.set_exp(exp);
        if old == 0 && exp != 0 {
            self.expires.insert(key.into());
        } else if old != 0 && exp == 0 {
            self.expires.swap_remove(key);
        }
        true
    }

    /// Removes every key. With `lazy`, the tables go to the lazy-free thread whole, so a
    /// FLUSHALL ASYNC returns at once however many keys there are or however big one
    /// of them is.
    pub fn clear(&mut self, lazy: bool) {
        let map = std::mem::take(&mut self.map);
        let sets = (
            std::mem::take(&mut self.expires),
            std::mem::take(&mut self.hexpires),
        );
        if lazy && !map.is_empty() {
            let keys = map.len() as u64;
            crate::lazyfree::drop_later((map, sets), keys);
        }
        self.snaps_break();
    }

    /// The `at`-th key of the table, or of the keys with a deadline if `volatile`, with
    /// its entry: eviction's random sample.
    pub fn sample(&self, at: usize, volatile: bool) -> Option<(&[u8], &Entry)> {
        if volatile {
            let k = self.expires.get_index(at)?;
            self.map.get(k).map(|e| (&**k, e))
        } else {
            self.key_at(at)
        }
    }

    /// The entry of `key`, expired or not, with no side effect.
    pub fn peek_entry(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    /// The entry of `key` to change in place, expired or not, without counting an access
    /// (loading sets the access clock a file kept).
    pub fn peek_entry_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.map.get_mut(key)
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
                if self.map[idx].expired(now) {
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
                if self.map[idx].expired(now) {
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
                    self.remove_emptied(idx);
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
    /// Id of the next snapshot (see `snapshot.rs`).
    next_snap_id: u32,
}

impl Keyspace {
    pub fn new(databases: usize) -> Keyspace {
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            stats: KsStats::default(),
            next_snap_id: 1,
        }
    }

    /// SWAPDB: the two databases trade places. Snapshots walking either would now see
    /// keys under the wrong index, so they break and their consumers start again.
    /// Applies the `lazyfree-lazy-*` directives to every database.
    pub fn set_lazy(&mut self, p: crate::lazyfree::Policy) {
        for db in &mut self.dbs {
            db.lazy = p;
        }
    }

    pub fn swap_dbs(&mut self, x: usize, y: usize) {
        self.dbs.swap(x, y);
        self.dbs[x].snaps_break();
        self.dbs[y].snaps_break();
    }

    /// Turns recording of expired keys (for the write stream's DEL records) on or off.
    pub fn set_log_expired(&mut self, on: bool) {
        for db in &mut self.dbs {
            db.log_expired = on;
            if !on {
                db.expired_log = Vec::new();
            }
        }
    }

    /// Turns recording of created keys (keyspace notifications' `new`) on or off.
    pub fn set_log_new(&mut self, on: bool) {
        for db in &mut self.dbs {
            db.log_new = on;
            if !on {
                db.new_log = Vec::new();
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
}
