//! The databases: keys, values and expiry times, owned by the event loop alone.
//!
//! Expiry works the way Redis's does: a key past its deadline is removed when anyone looks
//! it up (lazy), and a timer-driven cycle samples keys that have a deadline and removes the
//! expired ones, doing bounded work per call so a huge expired set never stalls the loop.
//!
//! Keys live in an insertion-ordered table, so SCAN can use a position cursor: it walks
//! from the end towards the start, and because removal moves the last entry into the hole,
//! every key present for the whole scan is still returned at least once.

use indexmap::{IndexMap, IndexSet};

use crate::types::Value;

type Key = crate::types::bytes::Bytes;

/// Keys sampled per round of the active expiry cycle (Redis: 20).
const EXPIRE_SAMPLE: usize = 20;
/// Rounds per database per active cycle before giving the loop back.
const EXPIRE_MAX_ROUNDS: usize = 16;

/// A value and its absolute expiry in Unix milliseconds (0: none).
#[derive(Debug, Clone)]
pub struct Entry {
    pub val: Value,
    pub exp: i64,
}

#[derive(Debug, Default, Clone)]
pub struct Db {
    map: IndexMap<Key, Entry>,
    /// Keys with an expiry, for sampling by the active cycle.
    expires: IndexSet<Key>,
    /// Record keys removed by expiry in `expired_log` (the AOF logs them as DEL).
    pub log_expired: bool,
    /// Keys removed by expiry since the AOF last drained this list.
    pub expired_log: Vec<Key>,
    /// AOF rewrite snapshot: keys at positions below this one belong to the snapshot and
    /// are not yet written to the new base. Walking down from here, moving a key about to
    /// change to `snap_cursor - 1` before decrementing, keeps that split exact while keys
    /// come and go (removal swaps the last key into the hole; insertion appends).
    pub snap_cursor: usize,
    /// Snapshot entries removed (expired) before the rewrite wrote them.
    pub snap_spill: Vec<(Key, Entry)>,
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

    /// Looks `key` up, removing it first if its deadline has passed.
    pub fn get(&mut self, key: &[u8], now: i64, st: &mut KsStats) -> Option<&mut Entry> {
        let idx = self.map.get_index_of(key)?;
        let exp = self.map[idx].exp;
        if exp != 0 && exp <= now {
            self.expire_index(idx);
            st.expired += 1;
            return None;
        }
        Some(&mut self.map[idx])
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
                    st.expired += 1;
                    if self.log_expired {
                        self.expired_log.push(key.into());
                    }
                    self.map[idx] = Entry {
                        val: make(),
                        exp: 0,
                    };
                }
                idx
            }
            None => {
                self.map
                    .insert_full(
                        key.into(),
                        Entry {
                            val: make(),
                            exp: 0,
                        },
                    )
                    .0
            }
        };
        &mut self.map[idx]
    }

    /// Stores `val` under `key` with expiry `exp` (0: none), replacing any old value and
    /// deadline.
    pub fn set(&mut self, key: &[u8], val: Value, exp: i64) {
        match self.map.get_index_of(key) {
            Some(idx) => {
                let old = self.map[idx].exp;
                self.map[idx] = Entry { val, exp };
                if old != 0 && exp == 0 {
                    self.expires.swap_remove(key);
                } else if old == 0 && exp != 0 {
                    self.expires.insert(key.into());
                }
            }
            None => {
                self.map.insert(key.into(), Entry { val, exp });
                if exp != 0 {
                    self.expires.insert(key.into());
                }
            }
        }
    }

    /// Replaces the value of `key` and keeps its deadline (SET KEEPTTL, INCR on a key).
    pub fn set_keep_ttl(&mut self, key: &[u8], val: Value) {
        match self.map.get_mut(key) {
            Some(e) => e.val = val,
            None => {
                self.map.insert(key.into(), Entry { val, exp: 0 });
            }
        }
    }

    /// Removes `key`; returns its entry if it existed (expired or not).
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let idx = self.map.get_index_of(key)?;
        Some(self.remove_index(idx))
    }

    fn remove_index(&mut self, idx: usize) -> Entry {
        let (idx, pending) = self.snap_detach(idx);
        let (k, e) = self.map.swap_remove_index(idx).expect("index in range");
        if e.exp != 0 {
            self.expires.swap_remove(&k);
        }
        if pending {
            // Rare: the command hook writes a command's keys first, so only a removal
            // outside a command's key list gets here.
            self.snap_spill.push((k, e.clone()));
        }
        e
    }

    /// Removes the expired entry at `idx`, noting its key for the AOF.
    fn expire_index(&mut self, idx: usize) {
        let (idx, pending) = self.snap_detach(idx);
        let (k, e) = self.map.swap_remove_index(idx).expect("index in range");
        self.expires.swap_remove(&k);
        if self.log_expired {
            self.expired_log.push(k.clone());
        }
        if pending {
            self.snap_spill.push((k, e));
        }
    }

    /// Before removing the entry at `idx`: if it is a snapshot entry not yet written,
    /// move it to the top of the pending range and shrink the range past it, so the
    /// removal's swap cannot pull an unrelated key into or out of the pending range.
    /// Returns the entry's new index and whether it was pending.
    fn snap_detach(&mut self, idx: usize) -> (usize, bool) {
        if idx < self.snap_cursor {
            let top = self.snap_cursor - 1;
            self.map.swap_indices(idx, top);
            self.snap_cursor = top;
            return (top, true);
        }
        (idx, false)
    }

    /// Starts a rewrite snapshot of this database (O(1)).
    pub fn snap_begin(&mut self) {
        self.snap_cursor = self.map.len();
        self.snap_active = true;
        self.snap_broken = false;
        self.snap_spill.clear();
    }

    /// Ends (or abandons) the snapshot.
    pub fn snap_end(&mut self) {
        self.snap_cursor = 0;
        self.snap_active = false;
        self.snap_broken = false;
        self.snap_spill = Vec::new();
    }

    /// If `key` is a snapshot entry not yet written, marks it written and returns it so
    /// the caller can write its current (pre-change) form.
    pub fn snap_take(&mut self, key: &[u8]) -> Option<(&[u8], &Entry)> {
        let idx = self.map.get_index_of(key)?;
        if idx >= self.snap_cursor {
            return None;
        }
        let top = self.snap_cursor - 1;
        self.map.swap_indices(idx, top);
        self.snap_cursor = top;
        self.map.get_index(top).map(|(k, e)| (&**k, e))
    }

    /// The next snapshot entry to write (walking down), marked written.
    pub fn snap_next(&mut self) -> Option<(&[u8], &Entry)> {
        if self.snap_cursor == 0 {
            return None;
        }
        self.snap_cursor -= 1;
        self.map.get_index(self.snap_cursor).map(|(k, e)| (&**k, e))
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
        self.map = IndexMap::new();
        self.expires = IndexSet::new();
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
                let idx = self
                    .map
                    .get_index_of(&**key)
                    .expect("expires and map agree");
                let exp = self.map[idx].exp;
                if exp != 0 && exp <= now {
                    self.expire_index(idx);
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
        assert!(n <= 48, "{n}");
    }
}
