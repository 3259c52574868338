//! `maxmemory`: getting back under the limit before a command runs, the way Redis does.
//!
//! Before every command (when a limit is set) the engine compares the allocator's count
//! with `maxmemory`. Over it, it removes keys chosen by `maxmemory-policy` until it is
//! under, for at most the time `maxmemory-eviction-tenacity` allows (the cron goes on
//! where a command stopped). A command that may grow memory (`denyoom`) is refused with
//! Redis's `-OOM` error only if nothing more can be evicted.
//!
//! Choosing is sampled, as in Redis: `maxmemory-samples` random keys of each database
//! (only keys with a deadline for the volatile policies) are scored (idle seconds for LRU,
//! 255 minus the decayed counter for LFU, nearness of the deadline for volatile-ttl) and
//! kept in a pool of the 16 best candidates seen, which outlives the call so successive
//! rounds refine it; the best live candidate goes. The random policies take a random key,
//! visiting the databases in turn. Every eviction is logged as DEL, so replay and
//! replicas see the outcome, not the choice.

use std::time::Instant;

use crate::config::Policy;
use crate::keyspace::entry::{idle_secs, lfu, lru_clock};
use crate::keyspace::{Access, Db};
use crate::types::bytes::Bytes;

use super::Engine;

/// Candidates kept between rounds (Redis: EVPOOL_SIZE).
const POOL_SIZE: usize = 16;

/// A key that may be evicted, with its score (higher goes first).
#[derive(Debug, Clone)]
struct Candidate {
    score: u64,
    db: usize,
    key: Bytes,
}

/// Eviction state kept by the engine.
#[derive(Debug, Default)]
pub struct Evictor {
    /// Best candidates seen, lowest score first.
    pool: Vec<Candidate>,
    /// The random policies' next database.
    next_db: usize,
    /// Keys evicted since start (INFO `evicted_keys`).
    pub evicted: u64,
    /// Times a command found memory over the limit with nothing left to evict.
    pub oom_refusals: u64,
}

/// Microseconds one call may spend evicting (Redis's `evictionTimeLimitUs`): 50 us per
/// step of tenacity up to 10, then growing 15% a step, and no limit at 100.
fn time_limit_us(tenacity: u64) -> u64 {
    if tenacity <= 10 {
        return 50 * tenacity;
    }
    if tenacity >= 100 {
        return u64::MAX;
    }
    (500.0 * 1.15f64.powi((tenacity - 10) as i32)) as u64
}

impl Engine {
    /// Moves the clock that lookups write into entries (LRU seconds, or the LFU
    /// parameters), following `now_ms` and the policy. Call when `now_ms` changes.
    pub fn refresh_access(&mut self) {
        let mm = self.config.maxmemory;
        let access = if mm.policy.lfu() {
            Access::Lfu {
                now_ms: self.now_ms,
                decay_minutes: mm.lfu_decay_time,
                log_factor: mm.lfu_log_factor,
                seed: 0,
            }
        } else {
            Access::Lru {
                clock: lru_clock(self.now_ms),
            }
        };
        for db in &mut self.ks.dbs {
            db.access = match (access, db.access) {
                // Keep the coin's state.
                (
                    Access::Lfu {
                        now_ms,
                        decay_minutes,
                        log_factor,
                        ..
                    },
                    Access::Lfu { seed, .. },
                ) => Access::Lfu {
                    now_ms,
                    decay_minutes,
                    log_factor,
                    seed: seed | 1,
                },
                (
                    Access::Lfu {
                        now_ms,
                        decay_minutes,
                        log_factor,
                        ..
                    },
                    _,
                ) => Access::Lfu {
                    now_ms,
                    decay_minutes,
                    log_factor,
                    seed: self.rng.next_u64() | 1,
                },
                (a, _) => a,
            };
        }
    }

    /// Memory counted against `maxmemory`: everything allocated but the write stream's
    /// and the AOF's buffers, the rewrite's batch (and the debug tap's), which Redis
    /// leaves out too (they drain by themselves, and evicting keys to make room for their
    /// own DEL records, or for their copies on the way to the new base, would never end).
    pub fn used_for_maxmemory(&self) -> u64 {
        let tap = self.tap.as_ref().map_or(0, |t| t.capacity());
        let rewrite = self.rewrite.as_ref().map_or(0, |r| r.buffered())
            + self.save.as_ref().map_or(0, |s| s.buffered());
        let buffers = self.stream.buffered() + self.aof.buffered() + tap + rewrite;
        (crate::alloc::allocated() as u64).saturating_sub(buffers as u64)
    }

    /// Redis's `performEvictions`: true unless memory is over `maxmemory` and nothing
    /// more can be evicted (the caller then refuses `denyoom` commands).
    pub fn evict(&mut self) -> bool {
        let mm = self.config.maxmemory;
        // A replica leaves eviction to its master, whose DELs it applies (Redis's
        // default `replica-ignore-maxmemory yes`): deleting on its own would diverge.
        if mm.bytes == 0 || self.loading || self.replica.is_some() {
            return true;
        }
        let mut used = self.used_for_maxmemory();
        if used <= mm.bytes {
            return true;
        }
        if mm.policy == Policy::NoEviction {
            self.evictor.oom_refusals += 1;
            return false;
        }
        let start = Instant::now();
        let limit = time_limit_us(mm.tenacity);
        let mut rounds = 0u64;
        while used > mm.bytes {
            let Some((db, key)) = self.pick_victim() else {
                self.evictor.oom_refusals += 1;
                return false;
            };
            let freed = self.evict_key(db, &key);
            used = self.used_for_maxmemory();
            if self.config.lazyfree.eviction {
                // Freed on the thread: count it as gone now, as Redis estimates too.
                used = used.saturating_sub(freed as u64);
            }
            rounds += 1;
            if rounds.is_multiple_of(16) && start.elapsed().as_micros() as u64 > limit {
                // Out of time but not out of keys: the command runs, the cron goes on.
                return true;
            }
        }
        true
    }

    /// Removes `key` of `db` as an eviction: copied first for running snapshots, logged
    /// as DEL, WATCH told, freed per `lazyfree-lazy-eviction`. Returns the bytes the
    /// key accounted for.
    fn evict_key(&mut self, db: usize, key: &[u8]) -> usize {
        if self.snapshots_active() {
            self.before_write(db, key);
        }
        let Some(e) = self.ks.dbs[db].remove(key) else {
            return 0;
        };
        let bytes = crate::keyspace::entry::key_memory(key, &e, 5);
        crate::lazyfree::free_value(e.val, self.config.lazyfree.eviction);
        if self.stream.active() {
            self.drain_expired();
            self.stream.del(db, key);
        }
        self.touch_key(db, key);
        self.notify(crate::notify::class::EVICTED, "evicted", db, key);
        self.evictor.evicted += 1;
        self.dirty += 1;
        bytes
    }

    /// The next key to evict under the current policy, if any key qualifies.
    fn pick_victim(&mut self) -> Option<(usize, Bytes)> {
        let policy = self.config.maxmemory.policy;
        match policy {
            Policy::AllkeysRandom | Policy::VolatileRandom => self.pick_random(policy.volatile()),
            _ => self.pick_from_pool(policy),
        }
    }

    fn pick_random(&mut self, volatile: bool) -> Option<(usize, Bytes)> {
        let n = self.ks.dbs.len();
        for i in 0..n {
            let db = (self.evictor.next_db + i) % n;
            let d = &self.ks.dbs[db];
            let len = if volatile { d.expires_len() } else { d.len() };
            if len == 0 {
                continue;
            }
            self.evictor.next_db = db + 1;
            let at = self.rng.below(len as u64) as usize;
            return d.sample(at, volatile).map(|(k, _)| (db, Bytes::from(k)));
        }
        None
    }

    /// Fills the pool with fresh samples from every database, then takes its best live
    /// candidate.
    fn pick_from_pool(&mut self, policy: Policy) -> Option<(usize, Bytes)> {
        let mm = self.config.maxmemory;
        let volatile = policy.volatile();
        let clock = lru_clock(self.now_ms);
        loop {
            let mut any = false;
            for db in 0..self.ks.dbs.len() {
                let d = &self.ks.dbs[db];
                let len = if volatile { d.expires_len() } else { d.len() };
                if len == 0 {
                    continue;
                }
                any = true;
                for _ in 0..mm.samples.min(len) {
                    let at = self.rng.below(len as u64) as usize;
                    let Some((key, e)) = self.ks.dbs[db].sample(at, volatile) else {
                        continue;
                    };
                    let score = match policy {
                        Policy::VolatileTtl => u64::MAX - e.exp().max(0) as u64,
                        Policy::AllkeysLfu | Policy::VolatileLfu => {
                            let c = e.clock().unwrap_or(u32::MAX);
                            255 - lfu::decayed(c, self.now_ms, mm.lfu_decay_time) as u64
                        }
                        _ => e.clock().map_or(0, |c| idle_secs(clock, c)),
                    };
                    offer(
                        &mut self.evictor.pool,
                        Candidate {
                            score,
                            db,
                            key: Bytes::from(key),
                        },
                    );
                }
            }
            if !any {
                return None;
            }
            while let Some(c) = self.evictor.pool.pop() {
                if still_candidate(&self.ks.dbs[c.db], &c.key, volatile) {
                    return Some((c.db, c.key));
                }
            }
            // Every pooled key was gone: sample again.
        }
    }
}

/// Puts `c` into the pool (kept sorted, lowest score first, at most POOL_SIZE), unless
/// the pool is full of better ones or already holds the key.
fn offer(pool: &mut Vec<Candidate>, c: Candidate) {
    if pool.iter().any(|p| p.db == c.db && p.key == c.key) {
        return;
    }
    if pool.len() == POOL_SIZE {
        if pool[0].score >= c.score {
            return;
        }
        pool.remove(0);
    }
    let at = pool.partition_point(|p| p.score < c.score);
    pool.insert(at, c);
}

fn still_candidate(db: &Db, key: &[u8], volatile: bool) -> bool {
    db.peek_entry(key)
        .is_some_and(|e| !volatile || e.exp() != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_the_best() {
        let mut pool = Vec::new();
        for (i, score) in [5u64, 1, 9, 3, 9, 7].into_iter().enumerate() {
            offer(
                &mut pool,
                Candidate {
                    score,
                    db: 0,
                    key: Bytes::from(format!("k{i}").as_bytes()),
                },
            );
        }
        let scores: Vec<u64> = pool.iter().map(|c| c.score).collect();
        assert_eq!(scores, [1, 3, 5, 7, 9, 9]);
        for i in 0..20 {
            offer(
                &mut pool,
                Candidate {
                    score: 100 + i,
                    db: 1,
                    key: Bytes::from(format!("x{i}").as_bytes()),
                },
            );
        }
        assert_eq!(pool.len(), POOL_SIZE);
        assert_eq!(pool[0].score, 104);
        assert_eq!(pool.last().unwrap().score, 119);
    }

    #[test]
    fn tenacity_limits() {
        assert_eq!(time_limit_us(10), 500);
        assert_eq!(time_limit_us(0), 0);
        assert!(time_limit_us(11) > 500);
        assert_eq!(time_limit_us(100), u64::MAX);
    }
}
