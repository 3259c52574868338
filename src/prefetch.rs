//! Cache prefetch hints for batch lookups.
//!
//! A keyspace lookup is a chain of dependent cache misses (index, entry, value). When the
//! keys of several commands are known in advance, the loop asks for all their cache lines
//! first, so the misses overlap instead of adding up (`Db::prefetch`). A hint only:
//! on other architectures it does nothing.

/// Asks the CPU to bring the cache line holding `p` into all cache levels.
#[inline(always)]
pub fn read<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint. It never faults and reads nothing into the program's
    // state, whatever the address: a wrong or dangling pointer costs at most a wasted
    // memory access. `unsafe` is only because the intrinsic takes a raw pointer.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
