//! Loom models of the no-lost-wake-up protocol (`sched/idle.rs`, module docs): a
//! running M makes a G visible and then asks for a wake-up, while the last spinning M
//! gives up its P and goes to park. Whatever the interleaving, either the pusher claims
//! a wake-up (and will start an M) or the parking M sees the G: a runnable G is never
//! left with every M parked.
//!
//! The counters are the scheduler's own `Idle`, and the local queue is the real
//! `local_queue`; the M side is the sequence of `M::release_p_and_park`, the pusher's
//! that of `Shared::schedule_task` / `Shared::inject`.

use crate::loom::atomic::{AtomicUsize, Ordering::*};
use crate::loom::{Arc, Mutex};
use crate::sched::idle::Idle;
use crate::sched::local_queue::{self, Item, Steal};
use std::ptr::NonNull;

/// A G that owns nothing: these models only care whether a queue is empty.
struct G;

impl Item for G {
    fn into_ptr(self) -> NonNull<()> {
        NonNull::dangling()
    }

    unsafe fn from_ptr(_: NonNull<()>) -> G {
        G
    }
}

/// The start state: the parking M is the one spinner (`nmspinning = 1`), and
/// `other_idle_ps` other Ps are idle already.
fn idle_with_one_spinner(other_idle_ps: usize) -> Arc<Idle> {
    let idle = Idle::new();
    idle.start_spinning();
    for _ in 0..other_idle_ps {
        idle.p_idled();
    }
    Arc::new(idle)
}

/// After a claim, the claimer counts as the one spinner; without one, the parking M
/// must have stopped spinning.
fn assert_counters(idle: &Idle, claimed: bool, other_idle_ps: usize) {
    assert_eq!(idle.nmspinning.load(SeqCst), usize::from(claimed));
    assert_eq!(idle.npidle.load(SeqCst), other_idle_ps + 1);
}

/// Thread A (a running M) pushes a G on its own ring (`next = false`) or to its
/// `runnext` (`next = true`, what `schedule_task` does for a spawn, or for a wake that
/// leaves a G in the ring; a wake into an empty `runnext` with an empty ring asks for
/// no wake-up, as its own running P runs it next), then
/// `try_claim_wake_after_local_push`. Thread B (the last spinning M) releases its P
/// (`p_idled`), `drop_spinning`, then re-checks A's queue (`Steal::is_empty`, as
/// `Shared::any_work` does).
fn local_push_vs_last_spinner(next: bool, other_idle_ps: usize) {
    super::in_orders(2, move |order| {
        let idle = idle_with_one_spinner(other_idle_ps);
        let (mut local, steal) = local_queue::new::<G>();

        let pusher = {
            let idle = idle.clone();
            move || {
                let _where = local.push(G, next, |_| unreachable!("one G cannot overflow"));
                let claimed = idle.try_claim_wake_after_local_push();
                // Keep the queue (and its G) alive until the checks below.
                (claimed, Some(local))
            }
        };
        let spinner = {
            let idle = idle.clone();
            move || {
                idle.p_idled();
                idle.drop_spinning();
                (!steal.is_empty(), None)
            }
        };
        let out = super::Threads::new().with(pusher).with(spinner).run(order);
        let (claimed, saw) = (out[0].0, out[1].0);
        assert!(
            claimed || saw,
            "lost wake-up: the pusher saw a spinner, and the spinner parked without \
             seeing the G"
        );
        assert_counters(&idle, claimed, other_idle_ps);
    });
}

/// Proves: case 2 of the module docs with the G on the ring. The store-buffering pair
/// (A: `tail` Release store, SeqCst fence, load `nmspinning`; B: `nmspinning`
/// fetch_sub, SeqCst fence, load `tail`) never has both loads miss, so a G pushed while
/// the last spinner parks is always seen by one side. No other P idle (`npidle` goes
/// 0 → 1 only through B).
#[test]
fn loom_idle_local_ring_push_vs_last_spinner() {
    local_push_vs_last_spinner(false, 0);
}

/// Proves: as above with another P already idle (`npidle` 1 → 2), so the pusher's
/// claim depends on `nmspinning` alone.
#[test]
fn loom_idle_local_ring_push_vs_last_spinner_other_idle_p() {
    local_push_vs_last_spinner(false, 1);
}

/// Proves: case 2 when the G goes to `runnext` (the `swap(AcqRel)` is the write that
/// the SeqCst fences order, and B's `is_empty` reads `runnext` too).
#[test]
fn loom_idle_runnext_push_vs_last_spinner() {
    local_push_vs_last_spinner(true, 0);
}

/// The global queue and its lock-free length hint (`Sched::global` under the sched
/// lock, `Shared::global_len`).
struct Global {
    queue: Mutex<Vec<G>>,
    len: AtomicUsize,
}

/// Thread A is `Shared::inject`: push under the sched lock, store `global_len`
/// (Relaxed), unlock, then `wake_p` (`try_claim_wake`, or the fenced
/// `try_claim_wake_after_local_push` when `fenced`). Thread B is
/// `M::release_p_and_park`: under the lock, resume if the global queue has a G, else
/// `p_idled`; unlock; then, if it was the last spinner (`spinning`),
/// `drop_spinning` and `any_work` (`global_len` SeqCst load, and A's ring, which
/// stays empty here); a non-spinning M parks without re-checking.
fn global_push_vs_parking_m(fenced: bool, spinning: bool) {
    super::in_orders(2, move |order| {
        let idle = if spinning {
            idle_with_one_spinner(0)
        } else {
            Arc::new(Idle::new())
        };
        let global = Arc::new(Global {
            queue: Mutex::new(Vec::new()),
            len: AtomicUsize::new(0),
        });
        let (_local, steal): (_, Steal<G>) = local_queue::new();

        let injector = {
            let (idle, global) = (idle.clone(), global.clone());
            move || {
                {
                    let mut q = global.queue.lock();
                    q.push(G);
                    global.len.store(q.len(), Relaxed);
                }
                if fenced {
                    idle.try_claim_wake_after_local_push()
                } else {
                    idle.try_claim_wake()
                }
            }
        };
        let spinner = {
            let (idle, global) = (idle.clone(), global.clone());
            move || {
                let saw_under_lock = {
                    let q = global.queue.lock();
                    if q.is_empty() {
                        idle.p_idled();
                        false
                    } else {
                        true
                    }
                };
                saw_under_lock
                    || (spinning && {
                        idle.drop_spinning();
                        global.len.load(SeqCst) != 0 || !steal.is_empty()
                    })
            }
        };
        let out = super::Threads::new()
            .with(injector)
            .with(spinner)
            .run(order);
        let (claimed, saw) = (out[0], out[1]);
        assert!(
            claimed || saw,
            "lost wake-up: the injector claimed no wake-up, and the M parked without \
             seeing the G"
        );
    });
}

/// Proves: case 1 of the module docs (the global queue) with the ordering that
/// `Shared::inject` needs: a SeqCst fence between the `global_len` store and the loads
/// of `wake_p`. The lock alone does not do it: B may check the queue under the lock
/// before A pushes, and then A's `wake_p` still sees B spinning; only B's re-check of
/// `global_len` after `drop_spinning` finds the G, and that is again a
/// store-buffering pair that needs a fence on both sides.
#[test]
fn loom_idle_global_push_vs_last_spinner() {
    global_push_vs_parking_m(true, true);
}

/// Proves: case 1 as the module docs argue it, for an M that was not spinning: the
/// sched lock alone orders its check of the queue and its `p_idled` against the push,
/// so either it sees the G or the injector's (unfenced) `wake_p` sees `npidle > 0`
/// and `nmspinning == 0` and claims the wake-up.
#[test]
fn loom_idle_global_push_vs_nonspinning_m() {
    global_push_vs_parking_m(false, false);
}

/// The negative control of the model above, and the shape of today's
/// `Shared::inject` (`wake_p`, no fence after the `global_len` store): loom finds the
/// lost wake-up. B checks the global queue under the lock (empty), `p_idled`,
/// unlocks; A pushes, stores `global_len = 1` (Relaxed), unlocks, and its
/// `try_claim_wake` reads `nmspinning = 1` (B has not stopped spinning); B
/// `drop_spinning`s and its `global_len` load still reads 0, because nothing orders
/// A's store before B's fence. Both sides miss and every M parks with a G queued.
/// This is allowed by the C++/Rust memory model (A's store is neither SeqCst nor
/// followed by a SeqCst fence), not only by loom's weaker SeqCst.
#[test]
#[should_panic(expected = "lost wake-up")]
fn loom_idle_global_push_unfenced_loses_wakeup() {
    global_push_vs_parking_m(false, true);
}
