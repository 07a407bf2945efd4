//! Recycled memory for task cells: per-thread free lists, balanced through a global
//! pool in batches (Go's `gfget`/`gfput`, with size classes instead of one G type).
//!
//! Gs are created on one thread and freed on another all the time: a spawner fans
//! work out, the other Ps steal it, run it and free it. With the system allocator,
//! every such free lands in the spawner's arena, whose lock the spawner takes for
//! every allocation: measured on spawn_many, a third of the run went to that lock's
//! futex waits. Here a freed cell goes to the freeing thread's list; past
//! `LOCAL_MAX` a batch of `BATCH` moves to the global pool (one short lock per batch),
//! where a thread whose list ran dry takes a whole batch. A producer and a consumer
//! thus trade memory 32 blocks per lock, and neither touches the allocator in a
//! steady state.
//!
//! Blocks are sized in `GRAIN` steps up to `CLASSES * GRAIN` bytes and aligned to
//! `ALIGN`; larger or more aligned cells go straight to the system allocator. Every
//! block is allocated with its class's layout, so it can be returned to the system
//! allocator from anywhere (a list past its bound, a thread exiting, the global pool
//! full). Bounds: `LOCAL_MAX` blocks per class per thread, and about
//! `GLOBAL_MAX_BYTES` per class in the global pool; the rest is freed.

use std::alloc::Layout;
use std::ptr::NonNull;

const GRAIN: usize = 16;
const CLASSES: usize = 64; // cells up to 1 KiB
const ALIGN: usize = 16;
#[cfg_attr(loom, allow(dead_code))]
const LOCAL_MAX: usize = 64;
#[cfg_attr(loom, allow(dead_code))]
const BATCH: usize = 32;
#[cfg_attr(loom, allow(dead_code))]
const GLOBAL_MAX_BYTES: usize = 256 * 1024;

fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > ALIGN || layout.size() > GRAIN * CLASSES || layout.size() == 0 {
        return None;
    }
    Some((layout.size() - 1) / GRAIN)
}

fn class_layout(class: usize) -> Layout {
    Layout::from_size_align(GRAIN * (class + 1), ALIGN).expect("size classes are valid layouts")
}

fn sys_alloc(layout: Layout) -> NonNull<u8> {
    // SAFETY: every layout here has a non-zero size (`class_of` refuses zero, and
    // task cells hold at least a header).
    let ptr = unsafe { std::alloc::alloc(layout) };
    NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
}

/// # Safety
/// `ptr` came from `sys_alloc(layout)` and is not used again.
unsafe fn sys_dealloc(ptr: NonNull<u8>, layout: Layout) {
    // SAFETY: the caller's contract.
    unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
}

/// Memory for a cell of `layout`.
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    match class_of(layout) {
        Some(class) => imp::take(class).unwrap_or_else(|| sys_alloc(class_layout(class))),
        None => sys_alloc(layout),
    }
}

/// Gives back memory from [`alloc`].
///
/// # Safety
/// `ptr` came from `alloc(layout)` with this same `layout`, and is not used again.
pub(crate) unsafe fn dealloc(ptr: NonNull<u8>, layout: Layout) {
    match class_of(layout) {
        // SAFETY: blocks of a class are allocated with its layout (module docs).
        Some(class) => imp::give(class, ptr),
        // SAFETY: the caller's contract.
        None => unsafe { sys_dealloc(ptr, layout) },
    }
}

#[cfg(not(loom))]
mod imp {
    use super::*;
    use parking_lot::Mutex;
    use std::cell::RefCell;

    /// A free block. Raw memory with no owner but the list holding it.
    struct Block(NonNull<u8>);

    // SAFETY: a free block is plain memory from the global allocator, usable and freeable
    // from any thread; only the list that holds it touches it.
    unsafe impl Send for Block {}

    /// Per class: full batches of `BATCH` blocks.
    static GLOBAL: [Mutex<Vec<Vec<Block>>>; CLASSES] = [const { Mutex::new(Vec::new()) }; CLASSES];

    struct Local {
        free: [Vec<Block>; CLASSES],
    }

    impl Drop for Local {
        /// A thread that ends gives its blocks to the pool (or frees them).
        fn drop(&mut self) {
            for (class, list) in self.free.iter_mut().enumerate() {
                while !list.is_empty() {
                    let at = list.len().saturating_sub(BATCH);
                    put_global(class, list.split_off(at));
                }
            }
        }
    }

    thread_local! {
        static LOCAL: RefCell<Local> = const {
            RefCell::new(Local { free: [const { Vec::new() }; CLASSES] })
        };
    }

    fn global_max_batches(class: usize) -> usize {
        (GLOBAL_MAX_BYTES / (GRAIN * (class + 1) * BATCH)).max(2)
    }

    fn put_global(class: usize, batch: Vec<Block>) {
        let mut pool = GLOBAL[class].lock();
        if pool.len() < global_max_batches(class) {
            pool.push(batch);
            return;
        }
        drop(pool);
        for Block(ptr) in batch {
            // SAFETY: a pooled block was allocated with its class's layout.
            unsafe { sys_dealloc(ptr, class_layout(class)) };
        }
    }

    pub(super) fn take(class: usize) -> Option<NonNull<u8>> {
        LOCAL
            .try_with(|local| {
                let mut local = local.borrow_mut();
                let list = &mut local.free[class];
                if let Some(Block(ptr)) = list.pop() {
                    return Some(ptr);
                }
                let batch = GLOBAL[class].lock().pop()?;
                *list = batch;
                list.pop().map(|Block(ptr)| ptr)
            })
            .ok()
            .flatten()
    }

    pub(super) fn give(class: usize, ptr: NonNull<u8>) {
        let kept = LOCAL.try_with(|local| {
            let mut local = local.borrow_mut();
            let list = &mut local.free[class];
            list.push(Block(ptr));
            if list.len() >= LOCAL_MAX {
                let batch = list.split_off(LOCAL_MAX - BATCH);
                drop(local);
                put_global(class, batch);
            }
        });
        if kept.is_err() {
            // This thread's list is gone (thread exit): straight back to the system.
            // SAFETY: a block of this class was allocated with its layout.
            unsafe { sys_dealloc(ptr, class_layout(class)) };
        }
    }
}

/// Under loom: the system allocator only, so that the models see plain allocations.
#[cfg(loom)]
mod imp {
    use super::*;

    pub(super) fn take(_class: usize) -> Option<NonNull<u8>> {
        None
    }

    pub(super) fn give(class: usize, ptr: NonNull<u8>) {
        // SAFETY: `alloc` allocated this block with its class's layout.
        unsafe { sys_dealloc(ptr, class_layout(class)) };
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_sizes_and_refuse_the_rest() {
        assert_eq!(class_of(Layout::from_size_align(1, 8).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(16, 8).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(17, 8).unwrap()), Some(1));
        assert_eq!(
            class_of(Layout::from_size_align(1024, 16).unwrap()),
            Some(63)
        );
        assert_eq!(class_of(Layout::from_size_align(1025, 16).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(64, 64).unwrap()), None);
        for c in 0..CLASSES {
            let l = class_layout(c);
            assert_eq!(class_of(l), Some(c), "a class's own layout maps back to it");
        }
    }

    /// Blocks freed on one thread are reused by another, through the global pool,
    /// and every block handed out is distinct while in use.
    #[test]
    fn blocks_move_between_threads_and_are_never_handed_out_twice() {
        // A size no other test's tasks have, so that no other thread of the test
        // binary trades blocks of this class meanwhile.
        let layout = Layout::from_size_align(1000, 8).unwrap();
        let n = LOCAL_MAX * 4;
        let blocks: Vec<usize> = (0..n).map(|_| alloc(layout).as_ptr() as usize).collect();
        let set: std::collections::HashSet<_> = blocks.iter().collect();
        assert_eq!(set.len(), n, "a block was handed out twice");
        let freed = std::thread::spawn(move || {
            for b in &blocks {
                // SAFETY: allocated above with `layout`, freed once.
                unsafe { dealloc(NonNull::new(*b as *mut u8).unwrap(), layout) };
            }
            blocks
        })
        .join()
        .unwrap();
        // The freeing thread has exited: its blocks are in the global pool.
        let again: Vec<usize> = (0..BATCH)
            .map(|_| alloc(layout).as_ptr() as usize)
            .collect();
        let freed: std::collections::HashSet<_> = freed.into_iter().collect();
        assert!(
            again.iter().all(|b| freed.contains(b)),
            "a batch from the pool should be reused before the system allocator"
        );
        for b in again {
            // SAFETY: allocated above with `layout`.
            unsafe { dealloc(NonNull::new(b as *mut u8).unwrap(), layout) };
        }
    }
}
