//! A keyspace entry: the value, its deadline, and the access clock eviction samples.
//!
//! Redis keeps a 24-bit LRU clock (or an LFU counter) in every object's header. An extra
//! word per key would cost ferrokv 8 bytes a key, 4% of a small hash, so the deadline and
//! the clock share one word:
//!
//! ```text
//! bit 63 = 0   bits 62..24: deadline code (0: none, else ms since BASE_MS, plus 1)
//!              bits 23..0 : access clock (LRU seconds, or LFU minutes and counter)
//! bit 63 = 1   bits 62..0 : the deadline itself, for deadlines past the code's range
//! ```
//!
//! 39 bits of milliseconds cover 17 years from `BASE_MS` (2025 to 2042): every deadline a
//! client sets today fits, and is kept exactly. A deadline beyond that (`EXPIREAT` a
//! century ahead) takes the whole word and its key's access clock is not kept: such a
//! key reads as just used. A deadline before `BASE_MS` is already past, so it is stored
//! as `BASE_MS` (both expire at once; only AOF replay, where nothing expires yet, sees
//! such deadlines). The layout lives only in memory: moving `BASE_MS` forward in a later
//! release costs nothing.

use crate::types::Value;

/// Start of the deadline code's range: 2025-01-01T00:00:00Z in Unix milliseconds.
const BASE_MS: i64 = 1_735_689_600_000;
const WIDE: u64 = 1 << 63;
const CLOCK_BITS: u32 = 24;
const CLOCK_MASK: u64 = (1 << CLOCK_BITS) - 1;
/// Largest deadline code (39 bits).
const CODE_MAX: u64 = (1 << 39) - 1;

/// A value and its absolute expiry in Unix milliseconds (0: none).
#[derive(Debug, Clone)]
pub struct Entry {
    pub val: Value,
    meta: u64,
}

impl Entry {
    /// An entry for `val` with deadline `exp` (0: none), last used at `clock`.
    pub fn new(val: Value, exp: i64, clock: u32) -> Entry {
        let mut e = Entry {
            val,
            meta: clock as u64 & CLOCK_MASK,
        };
        e.set_exp(exp);
        e
    }

    /// The deadline in Unix milliseconds, 0 if none.
    #[inline]
    pub fn exp(&self) -> i64 {
        if self.meta & WIDE != 0 {
            return (self.meta & !WIDE) as i64;
        }
        match self.meta >> CLOCK_BITS {
            0 => 0,
            code => BASE_MS + code as i64 - 1,
        }
    }

    /// Sets the deadline (0: none), keeping the access clock when the deadline fits the
    /// packed form.
    pub fn set_exp(&mut self, exp: i64) {
        let clock = if self.meta & WIDE != 0 {
            0
        } else {
            self.meta & CLOCK_MASK
        };
        let code = if exp == 0 {
            0
        } else if exp < BASE_MS {
            1
        } else {
            (exp - BASE_MS) as u64 + 1
        };
        self.meta = if code <= CODE_MAX {
            code << CLOCK_BITS | clock
        } else {
            WIDE | exp as u64
        };
    }

    /// True if the key has a deadline at or before `now`. The one place that says what
    /// "expired" means for a key: lookups, iteration (KEYS, SCAN, RANDOMKEY), the rewrite
    /// and DEBUG DIGEST all ask here.
    #[inline]
    pub fn expired(&self, now: i64) -> bool {
        let exp = self.exp();
        exp != 0 && exp <= now
    }

    /// The deadline for TTL-like replies: -1 when the key has none, else absolute ms.
    pub fn ttl_or_none(&self) -> i64 {
        match self.exp() {
            0 => -1,
            exp => exp,
        }
    }

    /// True if the entry is not part of the dataset at `now`: expired, or a hash whose
    /// every field has expired (not yet reclaimed). Snapshot writers skip such entries.
    pub fn gone(&self, now: i64) -> bool {
        if self.expired(now) {
            return true;
        }
        // The scan stops at the first live field; `all_due` answers a wholly due table in
        // O(1).
        matches!(&self.val, Value::Hash(h)
            if h.min_ttl() != 0
                && h.min_ttl() as i64 <= now
                && (h.all_due(now as u64)
                    || h.iter_ttl().all(|(_, _, at)| at != 0 && at as i64 <= now)))
    }

    /// The 24-bit access clock: LRU seconds, or LFU minutes and counter (see `lfu`). None
    /// for a key whose deadline took the whole word.
    #[inline]
    pub fn clock(&self) -> Option<u32> {
        (self.meta & WIDE == 0).then_some((self.meta & CLOCK_MASK) as u32)
    }

    /// Sets the access clock (a key with a wide deadline keeps none).
    #[inline]
    pub fn set_clock(&mut self, clock: u32) {
        if self.meta & WIDE == 0 {
            self.meta = self.meta & !CLOCK_MASK | (clock as u64 & CLOCK_MASK);
        }
    }
}

/// Bytes a key costs: its table entry (key stored inline when short), the index slot, the
/// key's heap bytes if long, the value's heap, and an expiry index slot if it has a TTL.
pub fn key_memory(key: &[u8], e: &Entry, samples: usize) -> usize {
    use crate::types::bytes::INLINE_MAX;
    // The keyspace slot: key and entry, and the index's share (a 4-byte position and a
    // control byte per slot, slots at most 7/8 full and on average 3/4).
    let slot = std::mem::size_of::<crate::types::bytes::Bytes>() + std::mem::size_of::<Entry>() + 7;
    let key_heap = if key.len() > INLINE_MAX {
        crate::types::alloc_size(key.len())
    } else {
        0
    };
    // A key with a deadline is also in the expiry set: hash, key, index share.
    let ttl = if e.exp() != 0 {
        8 + 24 + 12 + key_heap
    } else {
        0
    };
    slot + key_heap + e.val.heap_bytes(samples) + ttl
}

/// The LRU clock at `now_ms`: seconds, modulo 2^24 (194 days), as Redis's `LRU_CLOCK`.
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u64 & CLOCK_MASK) as u32
}

/// Seconds since `clock` was taken, given the clock now (wrapping, as Redis computes it).
pub fn idle_secs(now: u32, clock: u32) -> u64 {
    if now >= clock {
        (now - clock) as u64
    } else {
        (now as u64 + (1 << CLOCK_BITS)) - clock as u64
    }
}

/// LFU in the 24 bits, as Redis: the minute of the last decrement (16 bits) and a
/// logarithmic access counter (8 bits) that starts at 5 so new keys are not evicted first.
pub mod lfu {
    /// A new key's counter.
    pub const INIT: u8 = 5;

    /// Minutes modulo 2^16.
    pub fn minutes(now_ms: i64) -> u16 {
        ((now_ms / 60_000) as u64 & 0xffff) as u16
    }

    pub fn pack(minutes: u16, counter: u8) -> u32 {
        (minutes as u32) << 8 | counter as u32
    }

    pub fn counter(clock: u32) -> u8 {
        (clock & 0xff) as u8
    }

    /// The counter after decaying one step per `decay_minutes` minutes since the last
    /// decrement (`lfu-decay-time`; 0 never decays).
    pub fn decayed(clock: u32, now_ms: i64, decay_minutes: u64) -> u8 {
        let last = (clock >> 8) as u16;
        let now = minutes(now_ms);
        let elapsed = now.wrapping_sub(last) as u64;
        let counter = counter(clock);
        if decay_minutes == 0 {
            return counter;
        }
        counter.saturating_sub((elapsed / decay_minutes).min(255) as u8)
    }

    /// One access: decay, then a logarithmic increment with probability
    /// 1 / ((counter - INIT) * log_factor + 1), `r` being uniform in [0, 1).
    pub fn touched(clock: u32, now_ms: i64, decay_minutes: u64, log_factor: u64, r: f64) -> u32 {
        let mut counter = decayed(clock, now_ms, decay_minutes);
        if counter < 255 {
            let base = counter.saturating_sub(INIT) as f64;
            if r < 1.0 / (base * log_factor as f64 + 1.0) {
                counter += 1;
            }
        }
        pack(minutes(now_ms), counter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Str;

    fn entry(exp: i64) -> Entry {
        Entry::new(Value::Str(Str::new(b"v")), exp, 12345)
    }

    #[test]
    fn deadlines_round_trip_exactly() {
        for exp in [
            0,
            BASE_MS,
            BASE_MS + 1,
            1_765_000_000_123,
            BASE_MS + CODE_MAX as i64 - 2,
            BASE_MS + CODE_MAX as i64 - 1,
            BASE_MS + CODE_MAX as i64,
            4_102_444_800_000,
            i64::MAX,
        ] {
            let mut e = entry(exp);
            assert_eq!(e.exp(), exp, "{exp}");
            e.set_exp(exp);
            assert_eq!(e.exp(), exp, "{exp}");
        }
        // Past deadlines before the range are still past.
        let e = entry(1000);
        assert!(e.expired(BASE_MS) && e.exp() <= BASE_MS);
    }

    #[test]
    fn the_clock_survives_deadline_changes() {
        let mut e = entry(0);
        assert_eq!(e.clock(), Some(12345));
        e.set_exp(1_765_000_000_000);
        assert_eq!(e.clock(), Some(12345));
        e.set_clock(0xabcdef);
        e.set_exp(0);
        assert_eq!(e.clock(), Some(0xabcdef));
        assert_eq!(e.exp(), 0);
        // A wide deadline takes the clock's bits; back in range, the clock restarts at 0.
        e.set_exp(i64::MAX);
        assert_eq!(e.clock(), None);
        e.set_clock(7);
        assert_eq!(e.exp(), i64::MAX);
        e.set_exp(1_765_000_000_000);
        assert_eq!(e.clock(), Some(0));
    }

    #[test]
    fn lru_and_lfu_arithmetic() {
        assert_eq!(idle_secs(100, 40), 60);
        assert_eq!(idle_secs(5, (1 << 24) - 5), 10);
        let c = lfu::pack(lfu::minutes(600_000), lfu::INIT);
        assert_eq!(lfu::decayed(c, 600_000 + 3 * 60_000, 1), 2);
        assert_eq!(lfu::decayed(c, 600_000 + 3 * 60_000, 0), lfu::INIT);
        // At the initial value the increment is certain.
        assert_eq!(
            lfu::counter(lfu::touched(c, 600_000, 1, 10, 0.999)),
            lfu::INIT + 1
        );
    }
}
