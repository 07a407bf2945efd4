//! The rejected alternative, kept as a test-only yardstick: Go 1.14's timer structure,
//! a 4-ary min-heap, here with an index per entry so that a cancel removes the entry
//! at once (Go itself marks it deleted and removes it lazily). `choice.rs` measures it
//! against the wheel.

use slab::Slab;
use std::task::Waker;

struct Entry {
    when: u64,
    waker: Waker,
    pos: usize,
}

pub(crate) struct Heap {
    heap: Vec<usize>,
    entries: Slab<Entry>,
}

impl Heap {
    pub(crate) fn new() -> Heap {
        Heap {
            heap: Vec::new(),
            entries: Slab::new(),
        }
    }

    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> usize {
        let key = self.entries.insert(Entry {
            when,
            waker,
            pos: self.heap.len(),
        });
        self.heap.push(key);
        self.sift_up(self.heap.len() - 1);
        key
    }

    pub(crate) fn remove(&mut self, key: usize) -> Waker {
        let pos = self.entries[key].pos;
        let last = self.heap.len() - 1;
        self.swap(pos, last);
        self.heap.pop();
        if pos < self.heap.len() {
            self.sift_down(pos);
            self.sift_up(pos);
        }
        self.entries.remove(key).waker
    }

    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Waker> {
        let &top = self.heap.first()?;
        (self.entries[top].when <= now).then(|| self.remove(top))
    }

    fn when(&self, pos: usize) -> u64 {
        self.entries[self.heap[pos]].when
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        let (ka, kb) = (self.heap[a], self.heap[b]);
        self.entries[ka].pos = a;
        self.entries[kb].pos = b;
    }

    fn sift_up(&mut self, mut pos: usize) {
        while pos > 0 {
            let parent = (pos - 1) / 4;
            if self.when(parent) <= self.when(pos) {
                break;
            }
            self.swap(parent, pos);
            pos = parent;
        }
    }

    fn sift_down(&mut self, mut pos: usize) {
        loop {
            let first = pos * 4 + 1;
            if first >= self.heap.len() {
                return;
            }
            let last = (first + 4).min(self.heap.len());
            let min = (first..last).min_by_key(|&c| self.when(c)).unwrap_or(first);
            if self.when(pos) <= self.when(min) {
                return;
            }
            self.swap(pos, min);
            pos = min;
        }
    }
}
