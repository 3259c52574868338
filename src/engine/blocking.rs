//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...): which clients wait on which keys,
//! which of those keys just received data, and when each wait times out.
//!
//! A blocking handler that finds nothing to take parks its client (`Ctx::block`): the
//! client gets no reply and runs no further commands. The loop registers the wait here.
//! Any command that changes a key someone waits on marks it ready (`touch_key`, the
//! same hook WATCH uses); after that command, the loop serves the key's waiters in the
//! order they blocked by running each one's command again, now that there is data. The
//! handler then does what its non-blocking form would and logs that (an LPOP, never the
//! BLPOP), so the AOF and replay never see a wait. Clients are named by id: the engine
//! knows no connections.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::time::Instant;

use super::Engine;
use crate::client::Blocked;
use crate::types::bytes::Bytes;

/// A waited-on key: (database, key).
type DbKey = (usize, Bytes);

#[derive(Debug, Default)]
pub struct Blocking {
    /// Waiters of each key, oldest first.
    by_key: HashMap<DbKey, VecDeque<u64>>,
    /// Keys changed since the loop last served waiters, in the order they changed.
    ready: Vec<DbKey>,
    ready_set: HashSet<DbKey>,
    /// (deadline, client id) of every wait with a timeout; entries of clients no longer
    /// waiting (served, unblocked, gone) stay until they reach the top and are skipped.
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Clients waiting now, and how many of them with a timeout.
    clients: usize,
    timed: usize,
}

impl Blocking {
    /// Nobody waits: writes skip the bookkeeping.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.clients == 0
    }

    /// Clients waiting now (INFO `blocked_clients`).
    pub fn clients(&self) -> usize {
        self.clients
    }

    /// Waiting clients with a timeout (INFO `clients_in_timeout_table`).
    pub fn timed(&self) -> usize {
        self.timed
    }

    /// Client `id` waits as `b` says.
    pub fn add(&mut self, id: u64, b: &Blocked) {
        for k in &b.keys {
            let q = self.by_key.entry((b.db, k.clone())).or_default();
            if !q.contains(&id) {
                q.push_back(id);
            }
        }
        if let Some(d) = b.deadline {
            self.deadlines.push(Reverse((d, id)));
            self.timed += 1;
        }
        self.clients += 1;
    }

    /// Client `id` no longer waits as `b` said (served, timed out, unblocked, gone).
    pub fn remove(&mut self, id: u64, b: &Blocked) {
        for k in &b.keys {
            let dk = (b.db, k.clone());
            if let Some(q) = self.by_key.get_mut(&dk) {
                q.retain(|&c| c != id);
                if q.is_empty() {
                    self.by_key.remove(&dk);
                }
            }
        }
        self.clients = self.clients.saturating_sub(1);
        if b.deadline.is_some() {
            self.timed = self.timed.saturating_sub(1);
        }
    }

    /// `key` of `db` changed: if anyone waits on it, its waiters get a chance to run.
    #[inline]
    pub fn touch(&mut self, db: usize, key: &[u8]) {
        if self.by_key.is_empty() {
            return;
        }
        let dk = (db, Bytes::from(key));
        if self.by_key.contains_key(&dk) && self.ready_set.insert(dk.clone()) {
            self.ready.push(dk);
        }
    }

    /// Some waited-on key changed since the last `take_ready`.
    #[inline]
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// The keys that changed, oldest first, with their waiters at this moment.
    pub fn take_ready(&mut self) -> Vec<(usize, Bytes, Vec<u64>)> {
        self.ready_set.clear();
        std::mem::take(&mut self.ready)
            .into_iter()
            .filter_map(|dk| {
                let waiters: Vec<u64> = self.by_key.get(&dk)?.iter().copied().collect();
                Some((dk.0, dk.1, waiters))
            })
            .collect()
    }

    /// The soonest deadline of any wait (stale entries included: waking early is harmless).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((d, _))| *d)
    }

    /// Ids of the waits whose deadline is at or before `now` (the caller checks each is
    /// still waiting with that deadline).
    pub fn due(&mut self, now: Instant) -> Vec<(Instant, u64)> {
        let mut out = Vec::new();
        while let Some(Reverse((d, id))) = self.deadlines.peek().copied() {
            if d > now {
                break;
            }
            self.deadlines.pop();
            out.push((d, id));
        }
        if self.clients == 0 {
            self.deadlines.clear();
        }
        out
    }
}

impl Engine {
    /// A key in `db` was modified: fail the transactions watching it, and give the
    /// clients waiting on it a chance to run.
    pub fn touch_key(&mut self, db: usize, key: &[u8]) {
        self.touch_watchers(db, key);
        self.blocking.touch(db, key);
    }
}
