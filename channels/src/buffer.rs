//! A buffered channel's buffer, used without the lock while the channel is open: the
//! ring of a bounded channel (ring.rs) or the block list of an unbounded one
//! (list.rs). Both keep the same contract, stated in ring.rs: open operations that
//! may fail over to the lock, a freeze and a thaw by the lock's holder, and the
//! holder's own operations while frozen.

use crate::list::List;
use crate::ring::Ring;

/// What an open pop found.
pub(crate) enum Popped<T> {
    Value(T),
    /// Empty: with a verdict, the positions it rests on (their sum is the version);
    /// without, a hint (0), read without the fence a verdict needs.
    Empty(usize),
    /// Frozen: ask under the lock.
    AskLock,
}

pub(crate) enum Buffer<T> {
    Ring(Ring<T>),
    List(List<T>),
}

impl<T> Buffer<T> {
    /// The buffer for capacity `cap` (at least 1; `usize::MAX`: unbounded).
    pub(crate) fn new(cap: usize) -> Buffer<T> {
        if cap == usize::MAX {
            Buffer::List(List::new())
        } else {
            Buffer::Ring(Ring::new(cap))
        }
    }

    #[inline]
    pub(crate) fn push_open(&self, value: T) -> Result<(), T> {
        match self {
            Buffer::Ring(r) => r.push_open(value),
            Buffer::List(l) => l.push_open(value),
        }
    }

    #[inline]
    pub(crate) fn pop_open(&self, verdict: bool) -> Popped<T> {
        match self {
            Buffer::Ring(r) => r.pop_open(verdict),
            Buffer::List(l) => l.pop_open(verdict),
        }
    }

    pub(crate) fn open_positions(&self) -> Option<usize> {
        match self {
            Buffer::Ring(r) => r.open_positions(),
            Buffer::List(l) => l.open_positions(),
        }
    }

    #[inline]
    pub(crate) fn freeze(&self) {
        match self {
            Buffer::Ring(r) => r.freeze(),
            Buffer::List(l) => l.freeze(),
        }
    }

    pub(crate) fn thaw(&self) {
        match self {
            Buffer::Ring(r) => r.thaw(),
            Buffer::List(l) => l.thaw(),
        }
    }

    pub(crate) fn frozen_sum(&self) -> usize {
        match self {
            Buffer::Ring(r) => r.frozen_sum(),
            Buffer::List(l) => l.frozen_sum(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Buffer::Ring(r) => r.len(),
            Buffer::List(l) => l.len(),
        }
    }

    pub(crate) fn push_frozen(&self, value: T) {
        match self {
            Buffer::Ring(r) => r.push_frozen(value),
            Buffer::List(l) => l.push_frozen(value),
        }
    }

    pub(crate) fn pop_frozen(&self) -> Option<T> {
        match self {
            Buffer::Ring(r) => r.pop_frozen(),
            Buffer::List(l) => l.pop_frozen(),
        }
    }
}
