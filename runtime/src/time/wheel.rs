//! A hierarchical timing wheel: O(1) insert and cancel, O(levels) to find the next
//! expiration.
//!
//! Time is counted in ticks since the driver's start. Level `l` has 64 slots of 64^l
//! ticks each; a timer sits at the lowest level whose current 64^(l+1)-tick window
//! holds its deadline, so every timer at level `l` expires before any at level `l+1`.
//! When a higher slot comes due, its timers move down (cascade) or fire.
//!
//! Entries live in one `Slab`; each slot is a doubly linked list threaded through it by
//! index, so cancelling unlinks in O(1) and frees the entry at once. A `Key` carries a
//! generation so that a stale key (its timer fired, the slab entry reused) is refused.
//!
//! Rejected: a binary heap (Go 1.14's per-P timer heaps). Insert and cancel cost
//! O(log n) with an index kept per entry, and Go itself deletes lazily (a cancelled
//! timer stays in the heap until it reaches the top), which the "freed at once"
//! requirement rules out.

use slab::Slab;
use std::task::Waker;

const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
pub(crate) const NUM_LEVELS: usize = 7;
/// The farthest a deadline may be, in ticks; later ones are clamped (they then fire at
/// this bound, which with 2^18-ns ticks is about 36 years away).
pub(crate) const MAX_TICKS: u64 = (1 << (SLOT_BITS as usize * NUM_LEVELS)) - 1;
const NIL: usize = usize::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    index: usize,
    generation: u64,
}

struct Entry {
    when: u64,
    generation: u64,
    waker: Option<Waker>,
    prev: usize,
    next: usize,
    level: u8,
    slot: u8,
}

#[derive(Clone, Copy)]
struct List {
    head: usize,
    tail: usize,
}

struct Level {
    occupied: u64,
    slots: [List; SLOTS],
}

pub(crate) struct Wheel {
    /// Ticks processed: every timer with `when <= elapsed` has fired.
    elapsed: u64,
    levels: Box<[Level; NUM_LEVELS]>,
    entries: Slab<Entry>,
    next_generation: u64,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        const EMPTY: List = List {
            head: NIL,
            tail: NIL,
        };
        Wheel {
            elapsed: 0,
            levels: Box::new(std::array::from_fn(|_| Level {
                occupied: 0,
                slots: [EMPTY; SLOTS],
            })),
            entries: Slab::new(),
            next_generation: 0,
        }
    }

    #[cfg(test)]
    #[cfg_attr(loom, allow(dead_code))] // used by the timer driver's tests
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds a timer for tick `when`. `Err` gives the waker back when `when` has
    /// already been processed: the timer is due now.
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> Result<Key, Waker> {
        if when <= self.elapsed {
            return Err(waker);
        }
        let when = when.min(self.elapsed + MAX_TICKS);
        let generation = self.next_generation;
        self.next_generation += 1;
        let index = self.entries.insert(Entry {
            when,
            generation,
            waker: Some(waker),
            prev: NIL,
            next: NIL,
            level: 0,
            slot: 0,
        });
        self.link(index);
        Ok(Key { index, generation })
    }

    fn get(&self, key: Key) -> Option<&Entry> {
        self.entries
            .get(key.index)
            .filter(|e| e.generation == key.generation)
    }

    #[cfg(test)]
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn contains(&self, key: Key) -> bool {
        self.get(key).is_some()
    }

    /// Replaces the waker of a pending timer; false if it already fired.
    pub(crate) fn set_waker(&mut self, key: Key, waker: &Waker) -> bool {
        if self.get(key).is_none() {
            return false;
        }
        let e = &mut self.entries[key.index];
        match &e.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => e.waker = Some(waker.clone()),
        }
        true
    }

    /// Cancels a pending timer, freeing its entry. False if it already fired.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        self.get(key)?;
        self.unlink(key.index);
        self.entries.remove(key.index).waker
    }

    /// The tick of the next slot that comes due, if any timer is pending.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.levels
            .iter()
            .enumerate()
            .find_map(|(level, l)| l.next_deadline(level, self.elapsed))
    }

    /// Advances to tick `now`, calling `fire` for each due timer (at most `limit`).
    /// Returns false if it stopped at the limit with more due.
    pub(crate) fn advance(&mut self, now: u64, limit: usize, mut fire: impl FnMut(Waker)) -> bool {
        let mut fired = 0;
        while let Some(deadline) = self.next_expiration() {
            if deadline > now {
                break;
            }
            let (level, slot) = self.slot_of_deadline(deadline);
            // Move the slot's list out, then fire or re-file each entry.
            self.elapsed = deadline;
            let mut index = self.take_slot(level, slot);
            while index != NIL {
                let next = self.entries[index].next;
                let when = self.entries[index].when;
                if when <= self.elapsed {
                    if fired == limit {
                        // Put the rest back where they are due; resume next call.
                        self.refile_from(index);
                        return false;
                    }
                    if let Some(w) = self.entries.remove(index).waker {
                        fire(w);
                    }
                    fired += 1;
                } else {
                    self.link(index);
                }
                index = next;
            }
        }
        if now > self.elapsed {
            self.elapsed = now;
        }
        true
    }

    fn refile_from(&mut self, mut index: usize) {
        while index != NIL {
            let next = self.entries[index].next;
            self.link(index);
            index = next;
        }
    }

    fn slot_of_deadline(&self, deadline: u64) -> (usize, usize) {
        let level = level_for(self.elapsed, deadline);
        (level, slot_for(deadline, level))
    }

    fn take_slot(&mut self, level: usize, slot: usize) -> usize {
        let l = &mut self.levels[level];
        let list = std::mem::replace(
            &mut l.slots[slot],
            List {
                head: NIL,
                tail: NIL,
            },
        );
        l.occupied &= !(1 << slot);
        list.head
    }

    fn link(&mut self, index: usize) {
        let when = self.entries[index].when;
        let level = level_for(self.elapsed, when);
        let slot = slot_for(when, level);
        let l = &mut self.levels[level];
        let list = &mut l.slots[slot];
        let old_tail = list.tail;
        if old_tail == NIL {
            list.head = index;
        }
        list.tail = index;
        l.occupied |= 1 << slot;
        if old_tail != NIL {
            self.entries[old_tail].next = index;
        }
        let e = &mut self.entries[index];
        e.prev = old_tail;
        e.next = NIL;
        e.level = level as u8;
        e.slot = slot as u8;
    }

    fn unlink(&mut self, index: usize) {
        let (prev, next, level, slot) = {
            let e = &self.entries[index];
            (e.prev, e.next, e.level as usize, e.slot as usize)
        };
        if prev != NIL {
            self.entries[prev].next = next;
        }
        if next != NIL {
            self.entries[next].prev = prev;
        }
        let l = &mut self.levels[level];
        let list = &mut l.slots[slot];
        if list.head == index {
            list.head = next;
        }
        if list.tail == index {
            list.tail = prev;
        }
        if list.head == NIL {
            l.occupied &= !(1 << slot);
        }
    }
}

impl Level {
    fn next_deadline(&self, level: usize, now: u64) -> Option<u64> {
        if self.occupied == 0 {
            return None;
        }
        let shift = SLOT_BITS as usize * level;
        let now_slot = (now >> shift) & SLOT_MASK;
        let offset = self.occupied.rotate_right(now_slot as u32).trailing_zeros() as u64;
        let slot = (now_slot + offset) & SLOT_MASK;
        let slot_range = 1u64 << shift;
        let level_range = slot_range << SLOT_BITS;
        let level_start = now & !(level_range - 1);
        let mut deadline = level_start + slot * slot_range;
        if deadline <= now && level > 0 {
            // Only the top level wraps: its slots are a ring of the whole range. A
            // lower level's slot at or before `now` is the current one, which is due.
            if level == NUM_LEVELS - 1 && slot != now_slot {
                deadline += level_range;
            }
        }
        Some(deadline.max(now))
    }
}

/// The level at which a timer for `when` sits when `elapsed` ticks are processed: the
/// highest 6-bit digit in which they differ.
fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = (elapsed ^ when) | SLOT_MASK;
    let significant = 63 - masked.leading_zeros() as usize;
    (significant / SLOT_BITS as usize).min(NUM_LEVELS - 1)
}

fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (level * SLOT_BITS as usize)) & SLOT_MASK) as usize
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker(c: &Arc<Count>) -> Waker {
        Waker::from(c.clone())
    }

    #[test]
    fn fires_each_timer_at_its_tick_never_before() {
        let mut w = Wheel::new();
        let whens = [
            1u64, 2, 63, 64, 65, 100, 4095, 4096, 4097, 300_000, 20_000_000,
        ];
        let counters: Vec<_> = whens
            .iter()
            .map(|_| Arc::new(Count(AtomicUsize::new(0))))
            .collect();
        for (when, c) in whens.iter().zip(&counters) {
            w.insert(*when, waker(c)).unwrap();
        }
        let mut now = 0;
        while w.len() > 0 {
            let next = w.next_expiration().unwrap();
            assert!(next > now || next == w.elapsed(), "next {next} now {now}");
            // Step one tick before the expiration: nothing may fire early.
            if next > 0 {
                w.advance(next - 1, usize::MAX, |wk| wk.wake());
                for (when, c) in whens.iter().zip(&counters) {
                    if *when > next - 1 {
                        assert_eq!(
                            c.0.load(Ordering::SeqCst),
                            0,
                            "timer {when} fired early at {}",
                            next - 1
                        );
                    }
                }
            }
            now = next;
            w.advance(now, usize::MAX, |wk| wk.wake());
        }
        for (when, c) in whens.iter().zip(&counters) {
            assert_eq!(c.0.load(Ordering::SeqCst), 1, "timer {when} fired once");
        }
    }

    #[test]
    fn cancel_frees_and_stale_keys_are_refused() {
        let mut w = Wheel::new();
        let c = Arc::new(Count(AtomicUsize::new(0)));
        let keys: Vec<_> = (1..1000)
            .map(|i| w.insert(i * 7, waker(&c)).unwrap())
            .collect();
        for k in &keys[..500] {
            assert!(w.remove(*k).is_some());
        }
        assert_eq!(w.len(), 499);
        w.advance(100_000, usize::MAX, |wk| wk.wake());
        assert_eq!(c.0.load(Ordering::SeqCst), 499);
        assert_eq!(w.len(), 0);
        for k in &keys {
            assert!(w.remove(*k).is_none());
        }
        let k = w.insert(w.elapsed() + 5, waker(&c)).unwrap();
        assert!(!keys.contains(&k) || w.contains(k));
    }

    #[test]
    fn limit_resumes_without_loss() {
        let mut w = Wheel::new();
        let c = Arc::new(Count(AtomicUsize::new(0)));
        for _ in 0..100 {
            w.insert(10, waker(&c)).unwrap();
        }
        let mut calls = 0;
        while !w.advance(10, 7, |wk| wk.wake()) {
            calls += 1;
        }
        assert_eq!(calls, 14);
        assert_eq!(c.0.load(Ordering::SeqCst), 100);
    }

    #[test]
    fn due_timer_is_refused() {
        let mut w = Wheel::new();
        let c = Arc::new(Count(AtomicUsize::new(0)));
        w.advance(50, usize::MAX, |_| {});
        assert!(w.insert(50, waker(&c)).is_err());
        assert!(w.insert(51, waker(&c)).is_ok());
    }
}
