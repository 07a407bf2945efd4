//! Loom models of the task state machine (`task/state.rs`, `task/harness.rs`): a task
//! run on one thread while another drops, awaits or aborts its `JoinHandle`, wakes it,
//! or the owned list shuts it down.
//!
//! The task runs the real code (`new_task`, `OwnedTasks::bind`, `Notified::run`) with a
//! toy scheduler whose run queue is a loom `Mutex<VecDeque<Notified>>`. Leaks are
//! caught by loom itself: the toy scheduler (a loom `Arc`) lives in the task's cell, so
//! a cell that is never freed fails the model with "Arc leaked". Drop counters (loom
//! atomics) prove the future and the output are each dropped exactly once; a double
//! free of the cell would drop the scheduler's `Arc` twice, which loom also reports.

use crate::loom::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::{thread, Arc, Mutex, UnsafeCell};
use crate::task::owned::OwnedTasks;
use crate::task::{self, JoinError, JoinHandle, Notified, Schedule, Task};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

struct Queue {
    runq: Mutex<VecDeque<Notified>>,
    /// Every `schedule` and `yield_now`: how many times a task was queued.
    queued: AtomicUsize,
    owned: OwnedTasks,
}

/// A scheduler with one FIFO run queue, run by hand.
#[derive(Clone)]
struct Toy(Arc<Queue>);

/// The scheduler handle a task holds (in its cell). Besides queueing through the
/// `Toy`, it proves that freeing the cell happens after the task's completion:
/// `release` (called once, by the completing thread) writes `witness`, and dropping
/// the cell (in `dealloc`, on whichever thread drops the last reference) writes it
/// again. Loom fails the model if the second write does not happen after the first,
/// e.g. if the last `ref_dec` did not acquire the other references' releases.
struct Bound {
    toy: Toy,
    witness: UnsafeCell<usize>,
}

// SAFETY: `witness` is only touched through loom's `UnsafeCell`, which checks every
// access against loom's happens-before; loom then fails the model on a race.
unsafe impl Sync for Bound {}

impl Schedule for Bound {
    fn schedule(&self, task: Notified) {
        self.toy.0.queued.fetch_add(1, SeqCst);
        self.toy.0.runq.lock().push_back(task);
    }

    fn yield_now(&self, task: Notified) {
        self.schedule(task);
    }

    fn bind(&self, task: Task) -> Result<(), Task> {
        self.toy.0.owned.bind(task)
    }

    fn release(&self, task: &Task) -> Option<Task> {
        // SAFETY: loom checks this access against the one in `drop`.
        self.witness.with_mut(|w| unsafe { *w += 1 });
        self.toy.0.owned.remove(task)
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        // SAFETY: as in `release`.
        let released = self.witness.with_mut(|w| unsafe { *w });
        assert_eq!(
            released, 1,
            "a task was freed without being released exactly once"
        );
    }
}

impl Toy {
    fn new() -> Toy {
        Toy(Arc::new(Queue {
            runq: Mutex::new(VecDeque::new()),
            queued: AtomicUsize::new(0),
            owned: OwnedTasks::new(1),
        }))
    }

    /// `Shared::spawn` without the queueing: returns the first `Notified`.
    fn spawn<F>(&self, future: F) -> (Notified, JoinHandle<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let bound = Bound {
            toy: self.clone(),
            witness: UnsafeCell::new(0),
        };
        task::new_task(future, bound, None)
    }

    fn pop(&self) -> Option<Notified> {
        self.0.runq.lock().pop_front()
    }

    /// Runs what is queued until the queue is empty.
    fn run_all(&self) {
        while let Some(n) = self.pop() {
            n.run();
        }
    }

    fn queued(&self) -> usize {
        self.0.queued.load(SeqCst)
    }

    /// The end of every model: nothing queued, every task gone from the owned list.
    /// The model's last reference to the scheduler goes with `self`; if a task cell
    /// was leaked, its own reference keeps the `Arc` alive and loom reports the leak.
    fn finish(self) {
        assert!(self.pop().is_none(), "a task is still queued");
        assert_eq!(self.0.owned.len(), 0, "a finished task is still owned");
    }
}

/// Counts its drops.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[derive(Clone)]
struct Counter(Arc<AtomicUsize>);

impl Counter {
    fn new() -> Counter {
        Counter(Arc::new(AtomicUsize::new(0)))
    }
    fn track(&self) -> Tracked {
        Tracked(self.0.clone())
    }
    fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

/// Polls a `JoinHandle` once with a waker that does nothing (`Waker::noop` is newer
/// than the crate's MSRV).
fn poll_once<T>(join: &mut JoinHandle<T>) -> Poll<Result<T, JoinError>> {
    const VTABLE: RawWakerVTable = RawWakerVTable::new(|_| RAW, |_| {}, |_| {}, |_| {});
    const RAW: RawWaker = RawWaker::new(std::ptr::null(), &VTABLE);
    // SAFETY: every function of the vtable ignores the (null) data pointer.
    let waker = unsafe { Waker::from_raw(RAW) };
    let mut cx = Context::from_waker(&waker);
    Pin::new(join).poll(&mut cx)
}

/// Wakes the thread blocked in `block_on`.
struct Unpark(loom::sync::Notify);

impl std::task::Wake for Unpark {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.notify();
    }
}

/// `loom::future::block_on` without loom's `futures` feature: poll, and on `Pending`
/// wait for a wake (loom reports a deadlock if none ever comes).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let unpark = std::sync::Arc::new(Unpark(loom::sync::Notify::new()));
    let waker = Waker::from(unpark.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        unpark.0.wait();
    }
}

/// Returns `Pending` once, after handing its waker to `slot`; `Ready` when polled again.
struct PendingOnce {
    slot: Arc<Mutex<Option<Waker>>>,
    polled: bool,
}

impl Future for PendingOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polled {
            return Poll::Ready(());
        }
        self.polled = true;
        *self.slot.lock() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// The waker a task handed over when it waited.
type WakerSlot = Arc<Mutex<Option<Waker>>>;

/// Spawns a task that waits once on `PendingOnce` (its waker goes to the returned
/// slot), then finishes, or with `forever` waits forever; its future's drops are
/// counted.
fn spawn_waiting(toy: &Toy, forever: bool) -> (Notified, JoinHandle<()>, WakerSlot, Counter) {
    let slot: WakerSlot = Arc::new(Mutex::new(None));
    let fut_drops = Counter::new();
    let (fut_slot, in_fut) = (slot.clone(), fut_drops.track());
    let (notified, join) = toy.spawn(async move {
        let _in_fut = in_fut;
        PendingOnce {
            slot: fut_slot,
            polled: false,
        }
        .await;
        if forever {
            std::future::pending::<()>().await;
        }
    });
    (notified, join, slot, fut_drops)
}

/// Proves: the task completing on one thread while the `JoinHandle` is dropped on
/// another (`transition_to_complete` vs `unset_join_interested`) drops the output
/// exactly once, on whichever side the state word gives it to, and frees the cell
/// exactly once (no "Arc leaked", no double drop).
#[test]
fn loom_join_complete_vs_drop_join_handle() {
    super::in_orders(2, |order| {
        let toy = Toy::new();
        let (fut_drops, out_drops) = (Counter::new(), Counter::new());
        let (in_fut, out) = (fut_drops.track(), out_drops.clone());
        let (notified, join) = toy.spawn(async move {
            let _in_fut = in_fut;
            out.track()
        });

        super::Threads::new()
            .with(move || notified.run())
            .with(move || drop(join))
            .run(order);

        assert_eq!(fut_drops.get(), 1, "future dropped once");
        assert_eq!(out_drops.get(), 1, "output dropped once");
        assert_eq!(toy.queued(), 0);
        toy.finish();
    });
}

/// Proves: awaiting the `JoinHandle` on one thread while the task completes on
/// another (`try_read_output`'s register-then-recheck against `complete`'s
/// `join_waker.wake()`) never misses the completion (`block_on` would deadlock, which
/// loom reports) and hands the output over exactly once.
#[test]
fn loom_join_complete_vs_await() {
    super::in_orders(2, |order| {
        let toy = Toy::new();
        let out_drops = Counter::new();
        let (out, seen_drops) = (out_drops.clone(), out_drops.clone());
        let (notified, join) = toy.spawn(async move { out.track() });

        super::Threads::new()
            .with(move || notified.run())
            .with(move || {
                let output = block_on(join).expect("the task completed");
                assert_eq!(seen_drops.get(), 0, "output dropped before it was read");
                drop(output);
            })
            .run(order);

        assert_eq!(out_drops.get(), 1, "output dropped once");
        toy.finish();
    });
}

/// Proves: `abort` racing with the task's only poll (the task would finish in it):
/// if the poll wins, the `JoinHandle` gives `Ok`, else `Err(cancelled)` and the
/// future never ran. Either way the future is dropped exactly once, the output at most
/// once, the abort queues nothing (the task is notified or running or complete), and
/// the awaiting side (`block_on` on the aborting thread) is always woken.
#[test]
fn loom_join_abort_vs_run() {
    super::in_orders(2, |order| {
        let toy = Toy::new();
        let (fut_drops, out_drops) = (Counter::new(), Counter::new());
        let ran = Arc::new(AtomicBool::new(false));
        let (in_fut, out, ran2) = (fut_drops.track(), out_drops.clone(), ran.clone());
        let (notified, join) = toy.spawn(async move {
            let _in_fut = in_fut;
            ran2.store(true, SeqCst);
            out.track()
        });

        let mut out = super::Threads::new()
            .with(move || {
                notified.run();
                None
            })
            .with(move || {
                join.abort();
                Some(block_on(join))
            })
            .run(order);

        match out.pop().flatten().expect("the aborter's result") {
            Ok(output) => {
                assert!(ran.load(SeqCst));
                drop(output);
                assert_eq!(out_drops.get(), 1);
            }
            Err(e) => {
                assert!(e.is_cancelled(), "{e:?}");
                assert!(!ran.load(SeqCst), "cancelled after it produced its output");
                assert_eq!(out_drops.get(), 0);
            }
        }
        assert_eq!(fut_drops.get(), 1, "future dropped once");
        assert_eq!(toy.queued(), 0, "abort queued a task that was not idle");
        toy.finish();
    });
}

/// Proves: `abort` of a task that may already be waiting (polled to `Pending`, with
/// nobody holding its waker) queues it exactly when it is idle, so that it is dropped
/// at its next run: afterwards the `JoinHandle` is always ready with
/// `Err(cancelled)`, the future is dropped exactly once, and nothing leaks.
#[test]
fn loom_join_abort_idle_task() {
    super::in_orders(2, |order| {
        let toy = Toy::new();
        let fut_drops = Counter::new();
        let in_fut = fut_drops.track();
        let (notified, join) = toy.spawn(async move {
            let _in_fut = in_fut;
            std::future::pending::<()>().await;
        });

        let runner = {
            let toy = toy.clone();
            move || {
                notified.run();
                toy.run_all();
                None
            }
        };
        let aborter = move || {
            join.abort();
            Some(join)
        };
        let mut out = super::Threads::new().with(runner).with(aborter).run(order);
        let mut join = out.pop().flatten().expect("the aborter's handle");
        // What the abort queued after the runner looked: an M runs it later.
        toy.run_all();

        match poll_once(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e:?}"),
            Poll::Ready(Ok(())) => panic!("a pending-forever task completed"),
            Poll::Pending => panic!("an aborted task never finished"),
        }
        assert_eq!(fut_drops.get(), 1, "future dropped once");
        assert!(toy.queued() <= 1);
        drop(join);
        toy.finish();
    });
}

/// A wake from another thread racing with the poll that stored the waker, by value
/// (`Waker::wake`) or by reference (`wake_by_ref`, then the waker is dropped).
fn wake_vs_poll(by_ref: bool) {
    super::in_orders(2, move |order| {
        let toy = Toy::new();
        let slot = Arc::new(Mutex::new(None::<Waker>));
        let out_drops = Counter::new();
        let (fut_slot, out) = (slot.clone(), out_drops.clone());
        let (notified, mut join) = toy.spawn(async move {
            PendingOnce {
                slot: fut_slot,
                polled: false,
            }
            .await;
            out.track()
        });

        super::Threads::new()
            .with(move || notified.run())
            .with(move || loop {
                let w = slot.lock().take();
                match w {
                    Some(w) if by_ref => {
                        w.wake_by_ref();
                        break drop(w);
                    }
                    Some(w) => break w.wake(),
                    None => thread::yield_now(),
                }
            })
            .run(order);

        assert_eq!(toy.queued(), 1, "one wake, one queue entry");
        let again = toy.pop().expect("the woken task is queued");
        again.run();
        match poll_once(&mut join) {
            Poll::Ready(Ok(output)) => drop(output),
            other => panic!("expected the output, got {:?}", other.map(|r| r.err())),
        }
        assert_eq!(out_drops.get(), 1);
        assert_eq!(toy.queued(), 1, "completion queued nothing");
        drop(join);
        toy.finish();
    });
}

/// Proves: a wake from another thread racing with the poll that stored the waker (the
/// wake lands while the task is `RUNNING`, so `transition_to_idle` re-queues it; or
/// after, so the waker queues it) queues the task exactly once, and its next run
/// completes it. Also: the waker's reference is given back on every path (no leak).
#[test]
fn loom_join_wake_vs_poll() {
    wake_vs_poll(false);
}

/// Proves: the same with `wake_by_ref` (`transition_to_notified_by_ref`, which adds
/// a reference for the queue entry instead of handing over the waker's), followed by
/// the waker's drop.
#[test]
fn loom_join_wake_by_ref_vs_poll() {
    wake_vs_poll(true);
}

/// Proves: a wake and an abort from two other threads, both racing with the poll
/// that hands out the waker: whichever of the task's paths they hit (wake while
/// running and `OkNotified`, abort while running and `TransitionToIdle::Cancelled`,
/// abort of an idle or queued task, the second run completing or cancelling), the
/// task ends complete after the queue is run, the `JoinHandle` gives the output or
/// `Err(cancelled)`, the future and the output are each dropped exactly once, and
/// nothing leaks.
#[test]
fn loom_join_wake_and_abort_vs_poll() {
    super::in_orders(3, |order| {
        let toy = Toy::new();
        let slot = Arc::new(Mutex::new(None::<Waker>));
        let (fut_drops, out_drops) = (Counter::new(), Counter::new());
        let (fut_slot, in_fut, out) = (slot.clone(), fut_drops.track(), out_drops.clone());
        let (notified, join) = toy.spawn(async move {
            let _in_fut = in_fut;
            PendingOnce {
                slot: fut_slot,
                polled: false,
            }
            .await;
            out.track()
        });

        let dropped = fut_drops.clone();
        let mut outs = super::Threads::new()
            .with(move || {
                notified.run();
                None
            })
            .with(move || loop {
                let w = slot.lock().take();
                match w {
                    Some(w) => {
                        w.wake();
                        break None;
                    }
                    // Aborted before its first poll: no waker will ever come.
                    None if dropped.get() > 0 => break None,
                    None => thread::yield_now(),
                }
            })
            .with(move || {
                join.abort();
                Some(join)
            })
            .run(order);
        let mut join = outs.pop().flatten().expect("the aborter's handle");
        toy.run_all();

        match poll_once(&mut join) {
            Poll::Ready(Ok(output)) => drop(output),
            Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e:?}"),
            Poll::Pending => panic!("the task never finished"),
        }
        assert_eq!(fut_drops.get(), 1, "future dropped once");
        assert!(out_drops.get() <= 1, "output dropped twice");
        assert!(toy.queued() <= 2, "queued more than once per wake");
        drop(join);
        toy.finish();
    });
}

/// Proves: the owned list's shutdown (`close_and_shutdown_all`, `Task::shutdown`)
/// racing with a wake from a foreign thread (a timer or a channel on a thread without
/// a P) drops the future exactly once, wherever the wake puts the task: a `Notified`
/// queued by the wake and run after shutdown finds the task complete and only drops
/// its reference. The `JoinHandle` then reports cancellation.
#[test]
fn loom_join_shutdown_vs_wake() {
    super::in_orders(2, |order| {
        let toy = Toy::new();
        let (notified, mut join, slot, fut_drops) = spawn_waiting(&toy, true);
        // Polled once: now idle, its waker held by "the channel".
        notified.run();
        let waker = slot.lock().take().expect("the waker was stored");

        let shutdown = {
            let toy = toy.clone();
            move || toy.0.owned.close_and_shutdown_all()
        };
        super::Threads::new()
            .with(shutdown)
            .with(move || waker.wake())
            .run(order);
        // The runtime drops or runs whatever the wake queued; running is the stricter.
        toy.run_all();

        assert_eq!(fut_drops.get(), 1, "future dropped once");
        match poll_once(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e:?}"),
            _ => panic!("shutdown must cancel the task"),
        }
        drop(join);
        toy.finish();
    });
}

/// Proves: a G that was spawned but never run, whose `Notified` is thrown away (a run
/// queue dropped at shutdown, a spawn refused by a closing runtime) while its
/// `JoinHandle` is awaited or dropped on another thread, is cancelled: the future is
/// dropped exactly once, a live handle reports cancellation, and the cell is freed
/// exactly once. Such a G never joined the owned list (it never waited).
#[test]
fn loom_join_unrun_task_dropped_vs_join() {
    for drop_handle in [false, true] {
        super::in_orders(2, move |order| {
            let toy = Toy::new();
            let fut_drops = Counter::new();
            let in_fut = fut_drops.track();
            let (notified, mut join) = toy.spawn(async move {
                let _in_fut = in_fut;
            });
            let dropper = move || {
                drop(notified);
                None
            };
            let joiner = move || {
                if drop_handle {
                    drop(join);
                    return None;
                }
                // Either side may go first: the handle is ready now, or later.
                match poll_once(&mut join) {
                    Poll::Ready(res) => Some((None, Some(res))),
                    Poll::Pending => Some((Some(join), None)),
                }
            };
            let mut out = super::Threads::new().with(dropper).with(joiner).run(order);
            if let Some((join, early)) = out.pop().flatten() {
                let res = match (join, early) {
                    (_, Some(res)) => res,
                    (Some(mut join), None) => match poll_once(&mut join) {
                        Poll::Ready(res) => res,
                        Poll::Pending => panic!("a dropped Notified left its JoinHandle waiting"),
                    },
                    (None, None) => unreachable!("the joiner returns one or the other"),
                };
                match res {
                    Err(e) => assert!(e.is_cancelled(), "{e:?}"),
                    Ok(()) => panic!("nothing ran the task, yet it reported success"),
                }
            }
            assert_eq!(fut_drops.get(), 1, "future dropped once");
            toy.finish();
        });
    }
}

/// Proves: a G whose first poll returns `Pending` after the owned list has closed
/// (shutdown raced ahead of its first wait) is cancelled by its runner instead of
/// joining a list nobody will drain: its future is dropped once, and its
/// `JoinHandle` reports cancellation even though a waker of it is still held.
#[test]
fn loom_join_first_wait_after_close() {
    super::in_orders(2, |order| {
        let toy = Toy::new();
        let (notified, mut join, slot, fut_drops) = spawn_waiting(&toy, false);
        let closer = {
            let toy = toy.clone();
            move || toy.0.owned.close_and_shutdown_all()
        };
        super::Threads::new()
            .with(closer)
            .with(move || notified.run())
            .run(order);
        // The waker outlives the task; waking it now finds the task complete.
        if let Some(w) = slot.lock().take() {
            w.wake();
        }
        toy.run_all();
        assert_eq!(fut_drops.get(), 1, "future dropped once");
        match poll_once(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e:?}"),
            _ => panic!("a task that waited after close must be cancelled"),
        }
        drop(join);
        toy.finish();
    });
}
