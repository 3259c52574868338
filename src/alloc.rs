//! A counting global allocator: the system allocator plus one atomic counter of the bytes
//! currently allocated, so INFO's `used_memory` is a real allocation count (as Redis's
//! zmalloc gives) rather than the process's RSS, and the two can be compared to see
//! fragmentation.
//!
//! This is the one module allowed `unsafe`: implementing `GlobalAlloc` requires it. Every
//! call is forwarded unchanged to `System`; the only addition is the counter.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes currently allocated through the global allocator.
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

pub struct Counting;

// SAFETY: each method forwards its arguments unchanged to `System`, which implements
// `GlobalAlloc` correctly; the counter updates touch no memory handed to callers, and a
// relaxed atomic is enough for a statistic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract; passed through as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was returned by this allocator for `layout` (caller's contract).
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract; passed through as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                ALLOCATED.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                ALLOCATED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated right now (INFO `used_memory`).
pub fn allocated() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}
