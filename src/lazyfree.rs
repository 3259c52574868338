//! Freeing big values off the loop, as Redis's lazyfree does on its bio thread.
//!
//! Dropping a hash of a million fields frees a million allocations: hundreds of
//! milliseconds during which no client is served. UNLINK, `FLUSHALL ASYNC`, the
//! `lazyfree-lazy-*` directives and the bulk reclaim of expired hash fields hand such a
//! value to the `lazy-free` thread instead; the loop only moves a pointer. Small values
//! are dropped on the spot, where that is cheaper than the hand-over (Redis draws the line
//! at 64 allocations too).
//!
//! The thread is process-wide, like the allocator whose frees it makes, and is started on
//! first use. The loop shares nothing with it but the channel and two counters for INFO
//! (`lazyfree_pending_objects`, `lazyfreed_objects`); freed memory leaves `used_memory`
//! as the thread frees it, since the allocator's counter is atomic.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};

use log::warn;

use crate::types::{Hash, Value};

/// Values whose freeing takes more allocations than this go to the thread.
pub const THRESHOLD: usize = 64;

/// Something to drop on the thread.
type Job = Box<dyn Send>;

/// Jobs sent and not yet dropped.
static PENDING: AtomicUsize = AtomicUsize::new(0);
/// Objects freed by the thread since start.
static FREED: AtomicU64 = AtomicU64::new(0);

fn sender() -> Option<&'static Sender<(Job, u64)>> {
    static TX: OnceLock<Option<Sender<(Job, u64)>>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = channel::<(Job, u64)>();
        let spawned = std::thread::Builder::new()
            .name("lazy-free".into())
            .spawn(move || {
                for (job, objects) in rx {
                    drop(job);
                    FREED.fetch_add(objects, Ordering::Relaxed);
                    PENDING.fetch_sub(1, Ordering::Relaxed);
                }
            });
        match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                warn!("Can't start the lazy-free thread, freeing on the loop: {e}");
                None
            }
        }
    })
    .as_ref()
}

/// Drops `v` on the lazy-free thread (or here if the thread could not start). `objects`
/// is what INFO's `lazyfreed_objects` counts for it: 1 per value, or the keys of a
/// flushed database.
pub fn drop_later<T: Send + 'static>(v: T, objects: u64) {
    match sender() {
        Some(tx) => {
            PENDING.fetch_add(1, Ordering::Relaxed);
            if let Err(back) = tx.send((Box::new(v), objects)) {
                PENDING.fetch_sub(1, Ordering::Relaxed);
                drop(back);
            }
        }
        None => drop(v),
    }
}

/// Roughly the number of allocations freeing `v` takes (Redis's "free effort").
pub fn effort(v: &Value) -> usize {
    match v {
        Value::Hash(h @ Hash::Table(_)) => h.len(),
        Value::List(l) => l.allocations(),
        Value::Set(s) => s.allocations(),
        Value::ZSet(z) => z.allocations(),
        _ => 1,
    }
}

/// Frees `v`: on the thread if `lazy` and it is big, else now.
pub fn free_value(v: Value, lazy: bool) {
    if lazy && effort(&v) > THRESHOLD {
        drop_later(v, 1);
    }
}

/// INFO `lazyfree_pending_objects`.
pub fn pending() -> usize {
    PENDING.load(Ordering::Relaxed)
}

/// INFO `lazyfreed_objects`.
pub fn freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}

/// Which deletions free lazily: the `lazyfree-lazy-*` directives (all off by default, as
/// in Redis 7). UNLINK and `FLUSHALL ASYNC` are lazy whatever these say.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Policy {
    /// `lazyfree-lazy-expire`: keys removed by expiry.
    pub expire: bool,
    /// `lazyfree-lazy-server-del`: values replaced or removed as a side effect (SET over
    /// a key, RENAME onto one).
    pub server_del: bool,
    /// `lazyfree-lazy-user-del`: DEL behaves as UNLINK.
    pub user_del: bool,
    /// `lazyfree-lazy-user-flush`: FLUSHALL/FLUSHDB without ASYNC or SYNC are ASYNC.
    pub user_flush: bool,
    /// `lazyfree-lazy-eviction`: keys evicted under maxmemory.
    pub eviction: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frees_on_the_thread_and_counts() {
        let before = freed();
        let mut h = Hash::new();
        let lim = crate::types::hash::HashLimits {
            max_entries: 0,
            max_value: 0,
        };
        for i in 0..1000 {
            h.insert(format!("f{i}").as_bytes(), b"v", lim);
        }
        free_value(Value::Hash(h), true);
        let start = std::time::Instant::now();
        while freed() == before && start.elapsed().as_secs() < 10 {
            std::thread::yield_now();
        }
        assert!(freed() > before);
    }
}
