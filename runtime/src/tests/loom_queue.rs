//! Loom models of the P's local run queue (`sched/local_queue.rs`): the owner pushing
//! (to the ring and to `runnext`), overflowing half the ring and popping, while other
//! Ms steal half of it into their own rings.
//!
//! Every model ends the same way: everything left anywhere (the owner's ring and
//! `runnext`, each stealer's ring, the overflow batches) is drained, and each G must
//! have been seen exactly once: none lost, none run twice.
//!
//! A G is a slot in a pool, and the owner writes the slot (a loom `UnsafeCell`) just
//! before pushing it. Every consumer reads the slot, so loom also checks that the
//! queue's orderings publish a G's contents to whoever takes it (a read that does not
//! happen after the write fails the model), including through a second steal.
//!
//! Under loom the ring has `LEN = 4` slots, so the models reach overflow quickly.

use crate::sched::local_queue::{self, Item, Local, Steal, StealNext, LEN};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use std::ptr::NonNull;

/// A G's stand-in: it owns nothing, so a duplicated G shows up as a count of two
/// rather than as a double free.
struct Slot {
    val: UnsafeCell<usize>,
}

struct Tok(NonNull<Slot>);

// SAFETY: a `Tok` only points into a `Pool` that every thread holding one keeps alive
// (each holds an `Arc<Pool>`), and its slot is accessed through loom's `UnsafeCell`.
unsafe impl Send for Tok {}

impl Item for Tok {
    fn into_ptr(self) -> NonNull<()> {
        self.0.cast()
    }

    unsafe fn from_ptr(ptr: NonNull<()>) -> Self {
        Tok(ptr.cast())
    }
}

/// The slots of all the model's Gs.
struct Pool(Box<[Slot]>);

// SAFETY: slots are only touched through loom's `UnsafeCell`, which checks every
// access against loom's happens-before; loom then fails the model on a race.
unsafe impl Sync for Pool {}

impl Pool {
    fn new(n: usize) -> Arc<Pool> {
        Arc::new(Pool(
            (0..n)
                .map(|_| Slot {
                    val: UnsafeCell::new(usize::MAX),
                })
                .collect(),
        ))
    }

    /// The owner "spawns" G `i`: writes its slot, then hands it out.
    fn make(&self, i: usize) -> Tok {
        let slot = &self.0[i];
        // SAFETY: loom checks that no other access to the slot is concurrent.
        slot.val.with_mut(|p| unsafe { *p = i });
        Tok(NonNull::from(slot))
    }

    /// A consumer "runs" a G: reads its slot (loom checks that the owner's write
    /// happens before this read).
    fn run(&self, tok: Tok) -> usize {
        // Find the slot before touching it: a slot read too early holds a stale or
        // null pointer, which must fail the model, not crash it.
        let i = self
            .0
            .iter()
            .position(|s| std::ptr::eq(s, tok.0.as_ptr()))
            .expect("a G that is not in the pool: a slot read before it was published");
        // SAFETY: loom checks that the owner's write happens before this read.
        let val = self.0[i].val.with(|p| unsafe { *p });
        assert_eq!(val, i, "a G with the wrong contents");
        i
    }
}

#[derive(Clone, Copy)]
enum Op {
    /// `Local::push(g, next)` of the next G.
    Push { next: bool },
    /// `Local::pop(false)`.
    Pop,
}
use Op::*;

/// What one thread saw: Gs it ran (or, for the owner, sent to overflow).
#[derive(Default)]
struct Seen(Vec<usize>);

/// The owner M: runs `ops` on its queue; Gs popped and Gs pushed to overflow go to
/// the returned lists. Returns the queue too, so that the end can drain it.
fn owner(pool: Arc<Pool>, mut local: Local<Tok>, ops: &[Op]) -> (Local<Tok>, Seen, Seen) {
    let mut popped = Seen::default();
    let mut overflowed = Seen::default();
    let mut next_g = 0;
    for op in ops {
        match *op {
            Push { next } => {
                let g = pool.make(next_g);
                next_g += 1;
                let _where = local.push(g, next, |batch| {
                    // The global queue's side of `runq_put_slow`: LEN/2 + 1 Gs.
                    let n = batch.map(|g| overflowed.0.push(pool.run(g))).count();
                    assert_eq!(n, LEN as usize / 2 + 1, "overflow batch size");
                });
            }
            Pop => {
                if let Some(g) = local.pop(false) {
                    popped.0.push(pool.run(g));
                }
            }
        }
    }
    (local, popped, overflowed)
}

/// A stealing M: `steal_into` its own (empty) queue and run the G it got; the rest of
/// what it took stays on `dst` for the caller to drain.
fn stealer(pool: &Pool, victim: &Steal<Tok>, dst: &mut Local<Tok>, steal_next: bool) -> Seen {
    let mut seen = Seen::default();
    let next = if steal_next {
        StealNext::Yes
    } else {
        StealNext::No
    };
    if let Some(g) = victim.steal_into(dst, next) {
        seen.0.push(pool.run(g));
    }
    seen
}

fn drain(pool: &Pool, local: &mut Local<Tok>, seen: &mut Seen) {
    while let Some(g) = local.pop(false) {
        seen.0.push(pool.run(g));
    }
}

/// Every G `0..n` seen exactly once across all the lists.
fn assert_exactly_once(n: usize, lists: &[&Seen]) {
    let mut count = vec![0usize; n];
    for list in lists {
        for &g in &list.0 {
            count[g] += 1;
        }
    }
    assert!(
        count.iter().all(|&c| c == 1),
        "each G must be seen exactly once; times seen per G: {count:?}"
    );
}

fn pushes(ops: &[Op]) -> usize {
    ops.iter().filter(|op| matches!(op, Push { .. })).count()
}

/// What a model thread hands back: the Gs it saw, and its own queue (the owner's),
/// to be drained at the end.
struct Out {
    seen: Vec<Seen>,
    local: Option<Local<Tok>>,
}

/// The owner thread of every model.
fn owner_thread(pool: &Arc<Pool>, local: Local<Tok>, ops: &'static [Op]) -> impl FnOnce() -> Out {
    let pool = pool.clone();
    move || {
        let (local, popped, overflowed) = owner(pool, local, ops);
        Out {
            seen: vec![popped, overflowed],
            local: Some(local),
        }
    }
}

/// A thread that steals once from `victim` into a queue of its own and runs all it got.
fn stealer_thread(
    pool: &Arc<Pool>,
    victim: &Arc<Steal<Tok>>,
    steal_next: bool,
) -> impl FnOnce() -> Out {
    let (pool, victim) = (pool.clone(), victim.clone());
    move || {
        let mut dst = local_queue::new::<Tok>().0;
        let mut seen = stealer(&pool, &victim, &mut dst, steal_next);
        drain(&pool, &mut dst, &mut seen);
        Out {
            seen: vec![seen],
            local: None,
        }
    }
}

/// The end of every model: drain what is left and count.
fn finish(pool: &Pool, n: usize, outs: Vec<Out>) {
    let mut seen = Vec::new();
    for out in outs {
        seen.extend(out.seen);
        if let Some(mut local) = out.local {
            let mut rest = Seen::default();
            drain(pool, &mut local, &mut rest);
            seen.push(rest);
        }
    }
    assert_exactly_once(n, &seen.iter().collect::<Vec<_>>());
}

/// One owner doing `ops` against `stealers` stealers.
fn owner_vs_stealers(ops: &'static [Op], stealers: usize, steal_next: bool) {
    let kinds: Vec<usize> = (0..=stealers).map(|i| i.min(1)).collect();
    super::in_orders_of(&kinds, move |order| {
        let n = pushes(ops);
        let pool = Pool::new(n);
        let (local, steal) = local_queue::new::<Tok>();
        let steal = Arc::new(steal);
        let mut threads = super::Threads::new().with(owner_thread(&pool, local, ops));
        for _ in 0..stealers {
            threads = threads.with(stealer_thread(&pool, &steal, steal_next));
        }
        finish(&pool, n, threads.run(order));
    });
}

/// Proves: a steal racing with the owner's overflow (`runq_put_slow`'s CAS on `head`
/// against the stealer's) and with `runnext` displacement loses and duplicates no G,
/// and an overflow batch is always exactly LEN/2 + 1 Gs. Six pushes overflow the
/// 4-slot ring when nothing is stolen first (the displaced `runnext` is the sixth);
/// a steal first leaves room instead. The owner then pops once.
#[test]
fn loom_queue_overflow_vs_steal() {
    const OPS: &[Op] = &[
        Push { next: false },
        Push { next: true },
        Push { next: false },
        Push { next: false },
        Push { next: false },
        Push { next: true },
        Pop,
    ];
    owner_vs_stealers(OPS, 1, false);
}

/// Proves: the owner reusing ring slots that a stealer has just freed (pop, push
/// again, wrapping past `LEN`) never overwrites a G the stealer is still copying: the
/// stealer's CAS on `head` commits its reads, and the owner's `head` Acquire sees it.
#[test]
fn loom_queue_pop_push_wrap_vs_steal() {
    const OPS: &[Op] = &[
        Push { next: false },
        Push { next: false },
        Push { next: false },
        Pop,
        Push { next: false },
        Push { next: false },
        Push { next: false },
    ];
    owner_vs_stealers(OPS, 1, false);
}

/// Proves: `runnext` is taken exactly once when the owner's `pop` (Acquire CAS) races
/// a stealer's `steal_into(.., steal_next = true)` (AcqRel CAS), and when the owner's
/// swap displaces it into the ring at the same time.
#[test]
fn loom_queue_steal_runnext() {
    const OPS: &[Op] = &[Push { next: true }, Push { next: true }, Pop, Pop];
    owner_vs_stealers(OPS, 1, true);
}

/// Proves: two stealers against the owner's pushes and pop never take the same G
/// (their CASes on the victim's `head` serialize their batches), and nothing is lost.
#[test]
fn loom_queue_two_stealers() {
    const OPS: &[Op] = &[
        Push { next: false },
        Push { next: false },
        Push { next: false },
        Pop,
    ];
    owner_vs_stealers(OPS, 2, false);
}

/// Proves: the overflow of `loom_queue_overflow_vs_steal` against two stealers at
/// once: the owner's overflow CAS and two thieves' CASes on the same `head` hand each
/// G to exactly one of them.
#[test]
fn loom_queue_overflow_vs_two_stealers() {
    const OPS: &[Op] = &[
        Push { next: false },
        Push { next: false },
        Push { next: false },
        Push { next: false },
        Push { next: false },
    ];
    owner_vs_stealers(OPS, 2, false);
}

/// Proves: Gs stolen into a ring are published by the stealer's `tail` Release to a
/// second stealer taking from that ring (the G's contents, written by the first owner,
/// reach the second thief), while the first stealer pops its own ring.
#[test]
fn loom_queue_steal_chain() {
    super::in_orders(2, |order| {
        const N: usize = 3;
        let pool = Pool::new(N);
        let (mut local, steal) = local_queue::new::<Tok>();
        // The victim's Gs are queued before the thieves start.
        for i in 0..N {
            let _where = local.push(pool.make(i), false, |_| unreachable!("no overflow"));
        }
        let (mut mid, mid_steal) = local_queue::new::<Tok>();
        let mid_steal = Arc::new(mid_steal);

        let first = {
            let pool = pool.clone();
            move || {
                let mut seen = stealer(&pool, &steal, &mut mid, false);
                drain(&pool, &mut mid, &mut seen);
                Out {
                    seen: vec![seen],
                    local: None,
                }
            }
        };
        let second = stealer_thread(&pool, &mid_steal, true);
        let mut outs = super::Threads::new().with(first).with(second).run(order);
        assert!(mid_steal.is_empty());
        outs.push(Out {
            seen: vec![],
            local: Some(local),
        });
        finish(&pool, N, outs);
    });
}
