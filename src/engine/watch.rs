//! WATCH: which clients watch which keys, and whose transaction must fail.
//!
//! A client's own list of watched keys is in its `ClientState`; the engine keeps the
//! reverse index, by key, so a write touches only the clients watching what it changed.
//! Clients are named by id, not by connection slot: the engine knows no connections.

use std::collections::{HashMap, HashSet};

use super::Engine;
use crate::client::ClientState;

#[derive(Debug, Default)]
pub struct Watches {
    /// Watched key -> (db, client id) of each watcher.
    by_key: HashMap<Box<[u8]>, Vec<(usize, u64)>>,
    /// Clients a change to a watched key has doomed: their EXEC fails.
    dirty: HashSet<u64>,
}

impl Watches {
    /// Nobody watches anything: writes skip WATCH bookkeeping entirely.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

impl Engine {
    /// WATCH `key` in the client's database.
    pub fn watch(&mut self, cl: &mut ClientState, key: &[u8]) {
        let db = cl.db;
        if cl.watched.iter().any(|(d, k, _)| *d == db && &**k == key) {
            return;
        }
        let existed = self.ks.dbs[db]
            .get(key, self.now_ms, &mut self.ks.stats)
            .is_some();
        cl.watched.push((db, key.into(), existed));
        self.watches
            .by_key
            .entry(key.into())
            .or_default()
            .push((db, cl.id));
    }

    /// Forgets every key the client watches (UNWATCH, EXEC, DISCARD, disconnect).
    pub fn unwatch_all(&mut self, cl: &mut ClientState) {
        for (db, key, _) in cl.watched.drain(..) {
            if let Some(v) = self.watches.by_key.get_mut(&key) {
                v.retain(|&(d, c)| !(d == db && c == cl.id));
                if v.is_empty() {
                    self.watches.by_key.remove(&key);
                }
            }
        }
        self.watches.dirty.remove(&cl.id);
    }

    /// True if EXEC must fail: a watched key was modified, or a key that existed when
    /// watched has expired since. Every explicit change touches watchers directly; expiry
    /// does not, so it is checked here, as Redis does.
    pub fn is_cas_dirty(&mut self, cl: &ClientState) -> bool {
        if self.watches.dirty.contains(&cl.id) {
            return true;
        }
        let now = self.now_ms;
        cl.watched.iter().any(|(db, key, existed)| {
            *existed && self.ks.dbs[*db].get(key, now, &mut self.ks.stats).is_none()
        })
    }

    /// A key in `db` was modified: fail the transactions watching it.
    pub(super) fn touch_watchers(&mut self, db: usize, key: &[u8]) {
        if self.watches.is_empty() {
            return;
        }
        if let Some(v) = self.watches.by_key.get(key) {
            for &(d, c) in v {
                if d == db {
                    self.watches.dirty.insert(c);
                }
            }
        }
    }

    /// Every existing watched key of `db` counts as modified (FLUSHDB, SWAPDB).
    pub fn touch_db(&mut self, db: usize) {
        if self.watches.is_empty() {
            return;
        }
        let now = self.now_ms;
        let dbref = &mut self.ks.dbs[db];
        for (key, v) in &self.watches.by_key {
            for &(d, c) in v {
                if d == db && dbref.get(key, now, &mut self.ks.stats).is_some() {
                    self.watches.dirty.insert(c);
                }
            }
        }
    }
}
