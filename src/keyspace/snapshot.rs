//! Point-in-time snapshots of the databases, without fork and without a copy.
//!
//! A snapshot is a value its consumer owns (the AOF rewrite, an RDB save, a replica's
//! full sync), and several can run at once. Starting one is O(1) per database:
//! every key at a position below the database's current length belongs to it and is
//! "pending". The consumer walks positions downwards (`Keyspace::snapshot_next`) while
//! clients keep changing the data, and three rules keep what it sees exactly the dataset of
//! the start:
//!
//! - Insertion appends above every cursor, so keys created later are never part of it.
//! - Copy-before-write: a command about to change a pending key first hands it to the
//!   consumer (`snapshot_take`), which writes it in its pre-change form and marks it done.
//! - Removal moves the last key into the hole. The removed entry, if pending, is set aside
//!   ("spilled", with the clock of that moment); the moved key, if it was not pending
//!   (written already, or created later), joins the snapshot's skip set so the walk does
//!   not write it again.
//!
//! A consumer that writes one big value in pieces across several steps holds it
//! (`snapshot_hold`): the walk has passed it, but until the consumer releases it, it counts
//! as pending for the three rules above, so a change or removal hands the consumer its
//! current form first and the pieces still to write come from that copy.
//!
//! Nothing is reordered beyond what removal already does, so SCAN keeps its guarantees
//! while snapshots run. FLUSHDB, FLUSHALL and SWAPDB break the snapshots of the databases
//! they touch: their consumers start again.
//!
//! The per-database state lives in the `Db` (removals must update it wherever they
//! happen, lazy expiry included); the `Snapshot` handle names it by id and remembers which
//! database the walk is in.

use std::collections::HashSet;

use super::{Db, Entry, Key, Keyspace};

/// One snapshot's bookkeeping in one database.
#[derive(Debug, Clone)]
pub(super) struct DbSnap {
    id: u32,
    /// Keys at positions below this one belong to the snapshot and are not yet handed to
    /// its consumer, except those in `skip`. The walk moves it down.
    cursor: usize,
    /// Keys below `cursor` that are not pending: taken early (copy-before-write) or moved
    /// down by a removal after the snapshot began.
    skip: HashSet<Key>,
    /// Pending entries removed before the walk reached them, each with the clock when it
    /// was taken: the consumer leaves out what had expired by then, never by a later
    /// clock (the live key may have changed since, with only the change in the new log).
    /// 0: keep everything.
    spill: Vec<(Key, Entry, i64)>,
    /// The key the consumer is writing in pieces (`snapshot_hold`): pending too, wherever
    /// it sits. At most one per snapshot.
    held: Option<Key>,
    /// The database was emptied or swapped: the snapshot no longer describes it.
    broken: bool,
}

/// A snapshot being walked, owned by its consumer. Dropping it without
/// `Keyspace::snapshot_end` leaves its bookkeeping in the databases, so consumers end it.
#[derive(Debug)]
pub struct Snapshot {
    id: u32,
    /// Database the walk is in.
    db: usize,
}

/// Bit set of the positions in `Db::snaps` for which a removed entry was pending. Far more
/// than the handful of snapshots that can run at once.
type PendingMask = u64;

impl DbSnap {
    fn pending(&self, idx: usize, key: &[u8]) -> bool {
        (idx < self.cursor && !self.skip.contains(key)) || self.holds(key)
    }

    fn holds(&self, key: &[u8]) -> bool {
        self.held.as_deref() == Some(key)
    }

    /// The consumer gets `key`'s current form: it is no longer pending here.
    fn hand_over(&mut self, key: &Key) {
        if self.holds(key) {
            // The walk passed it already (or it sits in the skip set, moved down).
            self.held = None;
        } else {
            self.skip.insert(key.clone());
        }
    }
}

impl Db {
    fn snap_index(&self, id: u32) -> Option<usize> {
        self.snaps.iter().position(|s| s.id == id)
    }

    /// Before the entry at `idx` is swap-removed: which snapshots still had it pending
    /// (forgetting it in their skip sets), and the last entry, about to move into `idx`,
    /// joins the skip set of each snapshot it was not pending in.
    pub(super) fn snaps_before_swap_remove(&mut self, idx: usize) -> PendingMask {
        if self.snaps.is_empty() {
            return 0;
        }
        let last = self.map.len() - 1;
        let key = self.map.get_index(idx).expect("index in range").0;
        let moved = self.map.get_index(last).expect("index in range").0;
        let mut mask = 0;
        for (i, s) in self.snaps.iter_mut().enumerate() {
            if s.holds(key) {
                s.held = None;
                mask |= 1 << i;
            }
            if idx >= s.cursor {
                continue;
            }
            if !s.skip.remove(&**key) {
                mask |= 1 << i;
            }
            if last != idx && last >= s.cursor {
                s.skip.insert(moved.clone());
            }
        }
        mask
    }

    /// After a swap-remove: no cursor may point past the end.
    pub(super) fn snaps_after_swap_remove(&mut self) {
        let len = self.map.len();
        for s in &mut self.snaps {
            s.cursor = s.cursor.min(len);
        }
    }

    /// Sets a removed entry aside for every snapshot in `mask`, with `clock`. The last of
    /// them takes `e` itself: with one snapshot running (the usual case) the entry moves
    /// instead of being copied, so removing it during a rewrite does not need its size
    /// again in memory.
    pub(super) fn snaps_spill(&mut self, mask: PendingMask, key: Key, e: Entry, clock: i64) {
        let last = (PendingMask::BITS - 1 - mask.leading_zeros()) as usize;
        for (i, s) in self.snaps.iter_mut().enumerate().take(last) {
            if mask & (1 << i) != 0 {
                s.spill.push((key.clone(), e.clone(), clock));
            }
        }
        self.snaps[last].spill.push((key, e, clock));
    }

    /// Before the entry at `idx` changes outside a command's key list (its hash fields
    /// expire): every snapshot that still has it pending gets its current form set aside.
    pub(super) fn snaps_spill_before_change(&mut self, idx: usize, clock: i64) {
        if self.snaps.is_empty() {
            return;
        }
        let (k, e) = self.map.get_index(idx).expect("index in range");
        for s in &mut self.snaps {
            if s.pending(idx, k) {
                s.hand_over(k);
                s.spill.push((k.clone(), e.clone(), clock));
            }
        }
    }

    /// The database was emptied or swapped: every snapshot of it must start again.
    pub(super) fn snaps_break(&mut self) {
        for s in &mut self.snaps {
            s.broken = true;
            s.cursor = 0;
            s.held = None;
        }
    }

    /// Copy-before-write: if `key` is pending in snapshot `id`, marks it done and returns
    /// it so the consumer can write its current (pre-change) form.
    fn snap_take(&mut self, id: u32, key: &[u8]) -> Option<(&[u8], &Entry)> {
        let i = self.snap_index(id)?;
        let idx = self.map.get_index_of(key)?;
        let s = &mut self.snaps[i];
        if !s.pending(idx, key) {
            return None;
        }
        let (k, e) = self.map.get_index(idx).expect("index in range");
        s.hand_over(k);
        Some((&**k, e))
    }

    /// Position of the next pending entry of snapshot `id` (walking down), marked done.
    fn snap_next(&mut self, id: u32) -> Option<usize> {
        let i = self.snap_index(id)?;
        let s = &mut self.snaps[i];
        while s.cursor > 0 {
            s.cursor -= 1;
            let k = self.map.get_index(s.cursor).expect("index in range").0;
            if s.skip.is_empty() || !s.skip.remove(&**k) {
                return Some(s.cursor);
            }
        }
        None
    }
}

impl Keyspace {
    /// Starts a snapshot of every database (O(1) per database).
    pub fn snapshot_begin(&mut self) -> Snapshot {
        let id = self.next_snap_id;
        self.next_snap_id = self.next_snap_id.wrapping_add(1);
        for db in &mut self.dbs {
            assert!(db.snaps.len() < PendingMask::BITS as usize);
            db.snaps.push(DbSnap {
                id,
                cursor: db.map.len(),
                skip: HashSet::new(),
                spill: Vec::new(),
                held: None,
                broken: false,
            });
        }
        Snapshot { id, db: 0 }
    }

    /// Ends (or abandons) a snapshot and frees its bookkeeping.
    pub fn snapshot_end(&mut self, s: Snapshot) {
        for db in &mut self.dbs {
            db.snaps.retain(|d| d.id != s.id);
        }
    }

    /// A database of the snapshot was emptied or swapped: its consumer must start again.
    pub fn snapshot_broken(&self, s: &Snapshot) -> bool {
        self.dbs
            .iter()
            .any(|db| db.snap_index(s.id).is_some_and(|i| db.snaps[i].broken))
    }

    /// Copy-before-write for `key` of database `db` (see `Db::snap_take`).
    pub fn snapshot_take(
        &mut self,
        s: &Snapshot,
        db: usize,
        key: &[u8],
    ) -> Option<(&[u8], &Entry)> {
        self.dbs.get_mut(db)?.snap_take(s.id, key)
    }

    /// Takes the entries set aside since the last call: (database, key, entry, clock).
    pub fn snapshot_spilled(&mut self, s: &Snapshot) -> Vec<(usize, Key, Entry, i64)> {
        let mut out = Vec::new();
        for (i, db) in self.dbs.iter_mut().enumerate() {
            if let Some(j) = db.snap_index(s.id) {
                out.extend(db.snaps[j].spill.drain(..).map(|(k, e, t)| (i, k, e, t)));
            }
        }
        out
    }

    /// The next pending entry of the walk: (database, key, entry), marked done.
    pub fn snapshot_next(&mut self, s: &mut Snapshot) -> Option<(usize, &[u8], &Entry)> {
        while s.db < self.dbs.len() {
            if let Some(idx) = self.dbs[s.db].snap_next(s.id) {
                let (k, e) = self.dbs[s.db].map.get_index(idx).expect("index in range");
                return Some((s.db, &**k, e));
            }
            s.db += 1;
        }
        None
    }

    /// The consumer writes `key` of `db`, just handed to it by `snapshot_next`, in pieces:
    /// until `snapshot_release`, a change or removal of it hands over (or spills) its
    /// current form first, as for a pending key.
    pub fn snapshot_hold(&mut self, s: &Snapshot, db: usize, key: &[u8]) {
        if let Some(d) = self.dbs.get_mut(db)
            && let Some(i) = d.snap_index(s.id)
        {
            d.snaps[i].held = Some(key.into());
        }
    }

    /// The held key's live entry, if it is still held (not handed over or spilled since).
    pub fn snapshot_held(&self, s: &Snapshot, db: usize, key: &[u8]) -> Option<&Entry> {
        let d = self.dbs.get(db)?;
        let i = d.snap_index(s.id)?;
        if !d.snaps[i].holds(key) {
            return None;
        }
        d.map.get(key)
    }

    /// The consumer has written the held key whole.
    pub fn snapshot_release(&mut self, s: &Snapshot, db: usize) {
        if let Some(d) = self.dbs.get_mut(db)
            && let Some(i) = d.snap_index(s.id)
        {
            d.snaps[i].held = None;
        }
    }

    /// True once the walk is over and nothing set aside is left.
    pub fn snapshot_done(&self, s: &Snapshot) -> bool {
        s.db >= self.dbs.len()
            && self.dbs.iter().all(|db| {
                db.snap_index(s.id)
                    .is_none_or(|i| db.snaps[i].spill.is_empty())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::KsStats;
    use crate::types::Value;

    fn str_val(v: u64) -> Value {
        Value::Str(crate::types::Str::from_i64(v as i64))
    }

    fn show(e: &Entry) -> String {
        format!("{:?}/{}", e.val, e.exp())
    }

    /// What one consumer has been handed so far.
    #[derive(Default)]
    struct Seen(Vec<(usize, Vec<u8>, String)>);

    impl Seen {
        fn drain_spill(&mut self, ks: &mut Keyspace, s: &Snapshot) {
            for (db, k, e, _) in ks.snapshot_spilled(s) {
                self.0.push((db, k.to_vec(), show(&e)));
            }
        }

        fn check(self, start: &std::collections::HashMap<(usize, Vec<u8>), String>) {
            let mut seen = std::collections::HashMap::new();
            for (db, k, v) in self.0 {
                assert!(
                    seen.insert((db, k.clone()), v).is_none(),
                    "{k:?} written twice"
                );
            }
            assert_eq!(&seen, start);
        }
    }

    fn dataset(ks: &Keyspace) -> std::collections::HashMap<(usize, Vec<u8>), String> {
        let mut m = std::collections::HashMap::new();
        for (i, db) in ks.dbs.iter().enumerate() {
            for (k, e) in db.iter() {
                m.insert((i, k.to_vec()), show(e));
            }
        }
        m
    }

    /// Two snapshots started at different moments, walked at different speeds, the first
    /// holding some keys for a while, under random inserts, updates (through
    /// copy-before-write for both, as the command hook does), removals and expiries:
    /// each consumer is handed every key of its own start
    /// exactly once, with its value as of that start, and nothing created later.
    #[test]
    fn overlapping_snapshots_are_each_exact() {
        let mut rng = crate::rand::Rng::from_entropy();
        for _ in 0..100 {
            let mut ks = Keyspace::new(2);
            let mut st = KsStats::default();
            for i in 0..rng.below(300) {
                let exp = if rng.below(4) == 0 { 1000 } else { 0 };
                ks.dbs[(i % 2) as usize].set(format!("k{i}").as_bytes(), str_val(i), exp);
            }
            let mut snaps: Vec<(Snapshot, Seen, std::collections::HashMap<_, _>)> = Vec::new();
            let first = ks.snapshot_begin();
            snaps.push((first, Seen::default(), dataset(&ks)));
            let mut next_new = 100_000u64;
            let mut steps = 0;
            let mut held: Option<(usize, Vec<u8>, u64)> = None;
            loop {
                steps += 1;
                if steps == 40 {
                    let second = ks.snapshot_begin();
                    let start = dataset(&ks);
                    snaps.push((second, Seen::default(), start));
                }
                for _ in 0..rng.below(4) {
                    let db = rng.below(2) as usize;
                    let k = format!("k{}", rng.below(400)).into_bytes();
                    match rng.below(5) {
                        0 | 1 => {
                            // A command about to change or remove the key: every
                            // consumer copies it first.
                            for (s, seen, _) in snaps.iter_mut() {
                                if let Some((k2, e)) = ks.snapshot_take(s, db, &k) {
                                    seen.0.push((db, k2.to_vec(), show(e)));
                                }
                            }
                            if rng.below(2) == 0 {
                                ks.dbs[db].set(&k, str_val(rng.next_u64() % 1000), 0);
                            } else {
                                ks.dbs[db].remove(&k);
                            }
                        }
                        2 => {
                            // Expiry: removes without a command hook; the entry spills.
                            let _ = ks.dbs[db].get(&k, 2000, &mut st);
                        }
                        3 => {
                            next_new += 1;
                            let key = format!("n{next_new}");
                            ks.dbs[db].set(key.as_bytes(), str_val(next_new), 0);
                        }
                        _ => {}
                    }
                }
                let mut all_done = true;
                for (i, (s, seen, _)) in snaps.iter_mut().enumerate() {
                    seen.drain_spill(&mut ks, s);
                    if i == 0 {
                        // The first consumer holds some keys for a few steps, as the
                        // rewrite does with a big value: a change meanwhile hands it over
                        // (recorded above), else it is read when released.
                        if let Some((db, k, left)) = held.take() {
                            match ks.snapshot_held(s, db, &k) {
                                None => {}
                                Some(e) if left == 0 => {
                                    seen.0.push((db, k.clone(), show(e)));
                                    ks.snapshot_release(s, db);
                                }
                                Some(_) => held = Some((db, k, left - 1)),
                            }
                        }
                        if held.is_some() {
                            all_done = false;
                            continue;
                        }
                    }
                    // The second consumer walks two keys per step, the first one.
                    for _ in 0..=i {
                        if let Some((db, k, e)) = ks.snapshot_next(s) {
                            if i == 0 && rng.below(3) == 0 {
                                let k = k.to_vec();
                                ks.snapshot_hold(s, db, &k);
                                held = Some((db, k, rng.below(6)));
                                break;
                            }
                            seen.0.push((db, k.to_vec(), show(e)));
                        }
                    }
                    seen.drain_spill(&mut ks, s);
                    all_done &= ks.snapshot_done(s) && (i != 0 || held.is_none());
                }
                if all_done && snaps.len() == 2 {
                    break;
                }
            }
            for (s, seen, start) in snaps {
                assert!(!ks.snapshot_broken(&s));
                ks.snapshot_end(s);
                seen.check(&start);
            }
            assert!(ks.dbs.iter().all(|db| db.snaps.is_empty()));
        }
    }

    /// FLUSHDB-like clearing breaks the snapshots of that database only.
    #[test]
    fn clearing_breaks_the_snapshot() {
        let mut ks = Keyspace::new(2);
        ks.dbs[0].set(b"a", str_val(1), 0);
        let s = ks.snapshot_begin();
        assert!(!ks.snapshot_broken(&s));
        ks.dbs[1].clear(false);
        assert!(ks.snapshot_broken(&s));
        ks.snapshot_end(s);
        let s = ks.snapshot_begin();
        assert!(!ks.snapshot_broken(&s));
        ks.swap_dbs(0, 1);
        assert!(ks.snapshot_broken(&s));
        ks.snapshot_end(s);
    }
}
