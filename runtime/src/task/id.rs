//! Task ids: unique for the life of the process, handed out in per-thread blocks so
//! that spawning does not contend on one global counter.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A task's id, unique among all tasks of the process (as Go's goroutine id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

const BLOCK: u64 = 1024;

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        RANGE.with(|r| {
            let (mut next, mut end) = r.get();
            if next == end {
                // Relaxed: only uniqueness matters.
                next = NEXT_BLOCK.fetch_add(BLOCK, Relaxed);
                end = next + BLOCK;
            }
            r.set((next + 1, end));
            Id(NonZeroU64::new(next).expect("task ids start at 1"))
        })
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "id {}", self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}
