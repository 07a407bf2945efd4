//! `gort::context`: Go's context tests (`src/context/context_test.go`, `x_test.go`)
//! ported by meaning: cancel propagation through layers, parent finishing child, child
//! finishing first (and removed), deadlines and timeouts (in and out of a runtime),
//! cancelled timeouts freeing their timers, values and shadowing, interlocked cancels,
//! causes, `after_func`, `without_cancel`; plus churn (a million children, the parent's
//! child count back to zero).
//!
//! No timing asserts: a deadline test checks that `done` closed, that `err` is
//! `DeadlineExceeded`, and that the clock had reached the deadline by then.

mod support;

use gort::chan::TryRecvError;
use gort::context::{self, background, todo, Context, ContextError};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};
use support::{eventually, scaled, Watchdog};

const LONG: Duration = Duration::from_secs(3600);

fn rt(procs: usize) -> gort::Runtime {
    gort::Runtime::builder().procs(procs).build().unwrap()
}

fn is_done(ctx: &Context) -> bool {
    match ctx.done().try_recv() {
        Err(TryRecvError::Closed) => true,
        Err(TryRecvError::Empty) => false,
        Ok(()) => panic!("a done channel never carries a value"),
    }
}

fn assert_done(ctx: &Context, err: ContextError) {
    assert!(is_done(ctx), "{ctx:?}: done() not closed");
    assert_eq!(ctx.err(), Some(err), "{ctx:?}");
}

fn assert_live(ctx: &Context) {
    assert!(!is_done(ctx), "{ctx:?}: done() closed");
    assert_eq!(ctx.err(), None, "{ctx:?}");
    assert!(ctx.cause().is_none(), "{ctx:?}");
}

#[test]
fn context_roots_are_never_done() {
    let _wd = Watchdog::new("context_roots_are_never_done", Duration::from_secs(30));
    for ctx in [background(), todo()] {
        assert_live(&ctx);
        assert_eq!(ctx.deadline(), None);
        assert_eq!(ctx.value::<u32>(), None);
        assert_eq!(ctx.child_count(), 0);
        // A child of a root never registers anywhere, and cancels alone.
        let (child, cancel) = ctx.with_cancel();
        cancel.cancel();
        assert_done(&child, ContextError::Canceled);
        assert_live(&ctx);
    }
}

#[test]
fn context_types_and_messages() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Context>();
    send_sync::<context::CancelFn>();
    send_sync::<context::CancelCauseFn>();
    send_sync::<context::AfterFuncStop>();
    send_sync::<gort::sync::WaitGroup>();
    send_sync::<gort::sync::Group<String>>();
    assert_eq!(ContextError::Canceled.to_string(), "context canceled");
    assert_eq!(
        ContextError::DeadlineExceeded.to_string(),
        "context deadline exceeded"
    );
    let (ctx, cancel) = background().with_value(1u8).with_cancel();
    assert!(format!("{ctx:?}").contains("Context"));
    assert!(format!("{cancel:?}").contains("CancelFn"));
    cancel.cancel();
}

/// Go: TestWithCancel, and cancel is idempotent and err() fixed once set.
#[test]
fn context_with_cancel() {
    let _wd = Watchdog::new("context_with_cancel", Duration::from_secs(30));
    let (ctx, cancel) = background().with_cancel();
    assert_live(&ctx);
    let rx = ctx.done(); // taken before the cancel
    cancel.cancel();
    assert_eq!(rx.recv_blocking(), None);
    assert_done(&ctx, ContextError::Canceled);
    cancel.cancel();
    assert_done(&ctx, ContextError::Canceled);
    assert_eq!(
        ctx.cause().unwrap().to_string(),
        ContextError::Canceled.to_string()
    );
}

/// Go: TestWithCancel's three layers, and propagation through value layers.
#[test]
fn context_cancel_propagates_through_layers() {
    let _wd = Watchdog::new(
        "context_cancel_propagates_through_layers",
        Duration::from_secs(30),
    );
    let (c1, cancel1) = background().with_cancel();
    let v1 = c1.with_value("one");
    let (c2, _cancel2) = v1.with_cancel();
    let v2 = c2.with_value(2u32);
    let (c3, _cancel3) = v2.with_timeout(LONG);
    let all = [&c1, &v1, &c2, &v2, &c3];
    for c in all {
        assert_live(c);
    }
    // Value layers register nothing; each cancel layer registers with the nearest.
    assert_eq!(c1.child_count(), 1);
    assert_eq!(v1.child_count(), 1);
    assert_eq!(c2.child_count(), 1);
    assert_eq!(c3.child_count(), 0);
    cancel1.cancel();
    for c in all {
        assert_done(c, ContextError::Canceled);
    }
    assert_eq!(c1.child_count(), 0);
    assert_eq!(c2.child_count(), 0);
}

/// Go: TestParentFinishesChild.
#[test]
fn context_parent_finishes_child() {
    let _wd = Watchdog::new("context_parent_finishes_child", Duration::from_secs(30));
    let (parent, cancel) = background().with_cancel();
    let (cancel_child, _c1) = parent.with_cancel();
    let value_child = parent.with_value(5i64);
    let (timer_child, _c2) = value_child.with_timeout(LONG);
    let (grandchild, _c3) = timer_child.with_cancel();
    assert_eq!(parent.child_count(), 2);
    assert_eq!(timer_child.child_count(), 1);
    cancel.cancel();
    for c in [
        &parent,
        &cancel_child,
        &value_child,
        &timer_child,
        &grandchild,
    ] {
        assert_done(c, ContextError::Canceled);
    }
    assert_eq!(parent.child_count(), 0);
    assert_eq!(timer_child.child_count(), 0);
    // A child made now is born done.
    let (late, _c4) = parent.with_cancel();
    assert_done(&late, ContextError::Canceled);
    assert_eq!(parent.child_count(), 0);
}

/// Go: TestChildFinishesFirst: the child leaves its parent's children.
#[test]
fn context_child_finishes_first() {
    let _wd = Watchdog::new("context_child_finishes_first", Duration::from_secs(30));
    for parent_kind in 0..2 {
        let (parent, parent_cancel) = if parent_kind == 0 {
            background().with_cancel()
        } else {
            background().with_timeout(LONG)
        };
        let (child, cancel) = parent.with_cancel();
        assert_eq!(parent.child_count(), 1);
        cancel.cancel();
        assert_done(&child, ContextError::Canceled);
        assert_live(&parent);
        assert_eq!(parent.child_count(), 0);
        parent_cancel.cancel();
        assert_done(&parent, ContextError::Canceled);
        // The child keeps its own first error.
        assert_done(&child, ContextError::Canceled);
    }
}

#[test]
fn context_child_of_done_parent_is_born_done() {
    let _wd = Watchdog::new(
        "context_child_of_done_parent_is_born_done",
        Duration::from_secs(30),
    );
    let (parent, cancel) = background().with_cancel_cause();
    cancel.cancel(std::io::Error::other("shutdown"));
    let (c1, _x1) = parent.with_cancel();
    let (c2, _x2) = parent.with_timeout(LONG);
    let (c3, _x3) = parent.with_deadline(Instant::now() - Duration::from_secs(1));
    let (c4, _x4) = parent.with_cancel_cause();
    for c in [&c1, &c2, &c3, &c4] {
        // The parent's error and cause, not DeadlineExceeded, even for c3.
        assert_done(c, ContextError::Canceled);
        assert_eq!(c.cause().unwrap().to_string(), "shutdown");
    }
    assert_eq!(parent.child_count(), 0);
}

/// The brief's churn test: a million children created and cancelled under one parent
/// leave it with no children (memory stays flat).
#[test]
fn context_churn_million_children() {
    let _wd = Watchdog::new("context_churn_million_children", Duration::from_secs(120));
    let (parent, _cancel) = background().with_cancel();
    let n = scaled(1_000_000, 100_000);
    for i in 0..n {
        let (child, cancel) = parent.with_cancel();
        if i % 100_000 == 0 {
            assert_eq!(parent.child_count(), 1);
        }
        cancel.cancel();
        assert_eq!(child.err(), Some(ContextError::Canceled));
    }
    assert_eq!(parent.child_count(), 0);
    assert_live(&parent);
}

/// Go: TestDeadline and TestTimeout, inside a runtime (the runtime's timers).
#[test]
fn context_deadline_fires_in_runtime() {
    let _wd = Watchdog::new("context_deadline_fires_in_runtime", Duration::from_secs(30));
    rt(2).block_on(async {
        for d in [0u64, 1, 5, 20] {
            let d = Duration::from_millis(d);
            let (ctx, _cancel) = background().with_timeout(d);
            let deadline = ctx.deadline().unwrap();
            let (child, _c) = ctx.with_cancel();
            assert_eq!(ctx.done().recv().await, None);
            assert!(
                Instant::now() >= deadline,
                "done closed before the deadline"
            );
            assert_done(&ctx, ContextError::DeadlineExceeded);
            assert_done(&child, ContextError::DeadlineExceeded);
            assert_eq!(
                ctx.cause().unwrap().to_string(),
                "context deadline exceeded"
            );
            assert_eq!(child.deadline(), Some(deadline));
        }
        // In a select, against a channel that never fires.
        let (ctx, _cancel) = background().with_timeout(Duration::from_millis(3));
        let (_tx, rx) = gort::chan::bounded::<()>(0);
        let which = gort::select! {
            recv(rx) -> _ => "rx",
            recv(ctx.done()) -> _ => "done",
        };
        assert_eq!(which, "done");
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    });
}

/// Outside a runtime, deadlines fire from the fallback timer thread.
#[test]
fn context_deadline_fires_without_runtime() {
    let _wd = Watchdog::new(
        "context_deadline_fires_without_runtime",
        Duration::from_secs(30),
    );
    let handles: Vec<_> = [7u64, 1, 3, 0, 12]
        .into_iter()
        .map(|ms| {
            thread::spawn(move || {
                let (ctx, _cancel) = background().with_timeout(Duration::from_millis(ms));
                let deadline = ctx.deadline().unwrap();
                assert_eq!(ctx.done().recv_blocking(), None);
                assert!(
                    Instant::now() >= deadline,
                    "done closed before the deadline"
                );
                assert_done(&ctx, ContextError::DeadlineExceeded);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // A cancelled fallback timer does not fire later.
    let (ctx, cancel) = background().with_timeout(Duration::from_millis(2));
    cancel.cancel();
    thread::sleep(Duration::from_millis(10));
    assert_done(&ctx, ContextError::Canceled);
}

/// Go: TestDeadline's parent/child rules: a child never outlives its parent.
#[test]
fn context_child_deadline_never_outlives_parent() {
    let now = Instant::now();
    let (parent, _c) = background().with_deadline(now + LONG);
    let (later, _c1) = parent.with_deadline(now + 2 * LONG);
    assert_eq!(later.deadline(), Some(now + LONG));
    let (earlier, _c2) = parent.with_deadline(now + LONG / 2);
    assert_eq!(earlier.deadline(), Some(now + LONG / 2));
    let value = earlier.with_value(1u8);
    assert_eq!(value.deadline(), Some(now + LONG / 2));
    let (c, _c3) = value.with_cancel();
    assert_eq!(c.deadline(), Some(now + LONG / 2));
    assert_eq!(c.without_cancel().deadline(), None);
    // An overflowing timeout means "no deadline of its own".
    let (huge, _c4) = background().with_timeout(Duration::MAX);
    assert_eq!(huge.deadline(), None);
    assert_live(&huge);
}

/// Go: TestCanceledTimeout, and "cancelling a timeout child frees its timer at once",
/// checked through the runtime's pending-timer count.
#[test]
fn context_cancelled_timeout_frees_timer() {
    let _wd = Watchdog::new(
        "context_cancelled_timeout_frees_timer",
        Duration::from_secs(30),
    );
    let rt = rt(2);
    let base = rt.metrics().timers;
    rt.block_on(async {
        let (ctx, cancel) = background().with_timeout(LONG);
        cancel.cancel();
        assert_done(&ctx, ContextError::Canceled);
    });
    assert_eq!(rt.metrics().timers, base);
    let (parent, cancels) = rt.block_on(async {
        let (parent, cancel) = background().with_cancel();
        let kids: Vec<_> = (0..1000).map(|_| parent.with_timeout(LONG)).collect();
        (parent, (cancel, kids))
    });
    assert_eq!(rt.metrics().timers, base + 1000);
    let (cancel, kids) = cancels;
    for (_, c) in &kids[..500] {
        c.cancel();
    }
    assert_eq!(rt.metrics().timers, base + 500);
    cancel.cancel(); // the parent frees the other 500
    assert_eq!(rt.metrics().timers, base);
    assert_eq!(parent.child_count(), 0);
    for (k, _) in &kids {
        assert_done(k, ContextError::Canceled);
    }
    // Churn of timeout children keeps the wheel flat too.
    rt.block_on(async {
        for _ in 0..scaled(100_000, 10_000) {
            let (_k, c) = parent.without_cancel().with_timeout(LONG);
            c.cancel();
        }
    });
    assert_eq!(rt.metrics().timers, base);
}

/// Go: TestValues: lookup through layers, shadowing, keyed by type.
#[test]
fn context_values() {
    #[derive(Debug, PartialEq)]
    struct User(&'static str);
    #[derive(Debug, PartialEq)]
    struct Trace(u64);
    let c0 = background();
    let c1 = c0.with_value(User("ann"));
    let (c2, _cancel) = c1.with_cancel();
    let c3 = c2.with_value(Trace(9));
    let c4 = c3.with_value(User("bob"));
    assert_eq!(c0.value::<User>(), None);
    assert_eq!(c1.value::<User>(), Some(&User("ann")));
    assert_eq!(c2.value::<User>(), Some(&User("ann")));
    assert_eq!(c3.value::<User>(), Some(&User("ann")));
    assert_eq!(c3.value::<Trace>(), Some(&Trace(9)));
    assert_eq!(c4.value::<User>(), Some(&User("bob")));
    assert_eq!(c4.value::<Trace>(), Some(&Trace(9)));
    assert_eq!(c1.value::<Trace>(), None);
    // Same layout, different type: no confusion.
    assert_eq!(c4.value::<u64>(), None);
    let detached = c4.without_cancel();
    assert_eq!(detached.value::<User>(), Some(&User("bob")));
}

/// Go: TestWithoutCancel: values kept, cancellation dropped.
#[test]
fn context_without_cancel() {
    let (parent, cancel) = background().with_value(3u16).with_timeout(LONG);
    let detached = parent.without_cancel();
    let (child, _c) = detached.with_cancel();
    cancel.cancel();
    assert_done(&parent, ContextError::Canceled);
    assert_live(&detached);
    assert_live(&child);
    assert_eq!(detached.value::<u16>(), Some(&3));
    assert_eq!(detached.deadline(), None);
}

/// Go: TestWithCancelCause / TestCause.
#[test]
fn context_cause() {
    #[derive(Debug)]
    struct Boom;
    impl std::fmt::Display for Boom {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("boom")
        }
    }
    impl std::error::Error for Boom {}

    let (parent, cancel) = background().with_cancel_cause();
    let (child, child_cancel) = parent.with_value(1u8).with_cancel();
    assert!(parent.cause().is_none());
    cancel.cancel(Boom);
    cancel.cancel(std::io::Error::other("second")); // ignored: the first one counts
    child_cancel.cancel(); // ignored: done already
    for c in [&parent, &child] {
        assert_done(c, ContextError::Canceled);
        let cause = c.cause().unwrap();
        assert!(cause.downcast_ref::<Boom>().is_some(), "{cause}");
    }
    // A child that finished first keeps its own cause.
    let (parent, cancel) = background().with_cancel_cause();
    let (child, child_cancel) = parent.with_cancel_cause();
    child_cancel.cancel(std::io::Error::other("child"));
    cancel.cancel(std::io::Error::other("parent"));
    assert_eq!(child.cause().unwrap().to_string(), "child");
    assert_eq!(parent.cause().unwrap().to_string(), "parent");
}

/// Go: TestAfterFuncCalledAfterCancel, ...NotCalledAfterStop, ...AlreadyDone.
#[test]
fn context_after_func() {
    let _wd = Watchdog::new("context_after_func", Duration::from_secs(30));
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = || {
        let calls = calls.clone();
        move || {
            calls.fetch_add(1, SeqCst);
        }
    };
    // Called once, after cancel; stop afterwards says it did not prevent it.
    let (ctx, cancel) = background().with_cancel();
    let mut stop = ctx.after_func(counter());
    cancel.cancel();
    cancel.cancel();
    assert!(eventually(Duration::from_secs(10), || calls.load(SeqCst) == 1));
    assert!(!stop.stop());
    // Stopped first: never called.
    let (ctx, cancel) = background().with_cancel();
    let mut stop = ctx.after_func(counter());
    assert!(stop.stop());
    assert!(!stop.stop());
    cancel.cancel();
    // On a context done already: called at once (on its own thread).
    let mut stop = ctx.after_func(counter());
    assert!(eventually(Duration::from_secs(10), || calls.load(SeqCst) == 2));
    assert!(!stop.stop());
    // On a context that can never be done: never called; the first stop "prevents" it.
    let mut stop = background().after_func(counter());
    assert!(stop.stop());
    // Inside a runtime it runs on a goroutine there.
    rt(2).block_on(async {
        let (ctx, cancel) = background().with_timeout(Duration::from_millis(1));
        let (tx, rx) = gort::chan::bounded(1);
        let _stop = ctx.after_func(move || tx.send_blocking("after").unwrap());
        assert_eq!(rx.recv().await, Some("after"));
        cancel.cancel();
    });
    thread::sleep(Duration::from_millis(20));
    assert_eq!(calls.load(SeqCst), 2, "a stopped after_func ran");
}

/// A tree of depth 3 and fan-out 8, every node with an after_func counter; threads
/// cancel random nodes, create and cancel new children, all at once; then the root is
/// cancelled. Every node ends done once: one after_func call each, every child count 0.
#[test]
fn context_interlocked_cancels() {
    let _wd = Watchdog::new("context_interlocked_cancels", Duration::from_secs(60));
    for round in 0..scaled(20, 4) {
        let (root, root_cancel) = background().with_cancel();
        let mut nodes: Vec<(Context, context::CancelFn)> = Vec::new();
        let mut frontier = vec![root.clone()];
        for _depth in 0..3 {
            let mut next = Vec::new();
            for parent in &frontier {
                for i in 0..8 {
                    let (c, cancel) = if i % 2 == 0 {
                        parent.with_cancel()
                    } else {
                        parent.with_value(i).with_timeout(LONG)
                    };
                    next.push(c.clone());
                    nodes.push((c, cancel));
                }
            }
            frontier = next;
        }
        let calls: Arc<Vec<AtomicUsize>> =
            Arc::new((0..nodes.len()).map(|_| AtomicUsize::new(0)).collect());
        for (i, (c, _)) in nodes.iter().enumerate() {
            let calls = calls.clone();
            drop(c.after_func(move || {
                calls[i].fetch_add(1, SeqCst);
            }));
        }
        let nodes = Arc::new(nodes);
        let threads = 4;
        let barrier = Arc::new(Barrier::new(threads + 1));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (nodes, barrier) = (nodes.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    let mut x = (round * 31 + t * 7 + 1) as u64;
                    for _ in 0..200 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let (ctx, cancel) = &nodes[x as usize % nodes.len()];
                        match x % 3 {
                            0 => cancel.cancel(),
                            1 => {
                                let (c, cc) = ctx.with_cancel();
                                cc.cancel();
                                assert!(c.err().is_some());
                            }
                            _ => {
                                // Born done or not, it ends done with the root.
                                // Its CancelFn is dropped uncalled.
                                let (c, _) = ctx.with_timeout(LONG);
                                drop(c);
                            }
                        }
                    }
                })
            })
            .collect();
        barrier.wait();
        root_cancel.cancel();
        for h in handles {
            h.join().unwrap();
        }
        for (c, _) in nodes.iter() {
            assert!(is_done(c));
            assert!(c.err().is_some());
            assert_eq!(c.child_count(), 0);
        }
        assert_eq!(root.child_count(), 0);
        assert!(eventually(Duration::from_secs(20), || {
            calls.iter().all(|c| c.load(SeqCst) >= 1)
        }));
        for (i, c) in calls.iter().enumerate() {
            assert_eq!(c.load(SeqCst), 1, "node {i}'s after_func calls");
        }
    }
}

/// Many threads cancel the same contexts at once: each cancel takes effect once.
#[test]
fn context_racing_cancels_take_effect_once() {
    let _wd = Watchdog::new(
        "context_racing_cancels_take_effect_once",
        Duration::from_secs(60),
    );
    for _ in 0..scaled(200, 20) {
        let (parent, parent_cancel) = background().with_cancel();
        let (child, child_cancel) = parent.with_cancel_cause();
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        drop(child.after_func(move || {
            c2.fetch_add(1, SeqCst);
        }));
        let parent_cancel = Arc::new(parent_cancel);
        let child_cancel = Arc::new(child_cancel);
        let barrier = Arc::new(Barrier::new(4));
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let (pc, cc, b) = (parent_cancel.clone(), child_cancel.clone(), barrier.clone());
                thread::spawn(move || {
                    b.wait();
                    if i % 2 == 0 {
                        pc.cancel();
                    } else {
                        cc.cancel(std::io::Error::other("child"));
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_done(&child, ContextError::Canceled);
        let cause = child.cause().unwrap().to_string();
        assert!(
            cause == "child" || cause == "context canceled",
            "cause {cause}"
        );
        assert_eq!(parent.child_count(), 0);
        assert!(eventually(Duration::from_secs(10), || calls.load(SeqCst) == 1));
        thread::sleep(Duration::from_millis(1));
        assert_eq!(calls.load(SeqCst), 1);
    }
}

/// A deep chain cancels and drops without recursion: both run on a small stack.
#[test]
fn context_deep_chain_cancels_and_drops() {
    let _wd = Watchdog::new(
        "context_deep_chain_cancels_and_drops",
        Duration::from_secs(60),
    );
    thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let (root, cancel) = background().with_cancel();
            let mut leaf = root.clone();
            let mut keep = Vec::new();
            for i in 0..100_000u32 {
                if i % 2 == 0 {
                    let (c, cc) = leaf.with_cancel();
                    keep.push(cc);
                    leaf = c;
                } else {
                    leaf = leaf.with_value(i);
                }
            }
            assert_eq!(leaf.value::<u32>(), Some(&99_999));
            cancel.cancel();
            assert_done(&leaf, ContextError::Canceled);
            drop(root);
            drop(keep);
            drop(leaf); // the last owner of the whole chain
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Interlocked cancels from goroutines: 64 goroutines each make a child and a
/// grandchild of a shared parent and cancel one of them, while the parent is cancelled
/// half way through. Every context ends done, and no child stays registered.
#[test]
fn context_interlocked_cancels_in_goroutines() {
    let _wd = Watchdog::new(
        "context_interlocked_cancels_in_goroutines",
        Duration::from_secs(60),
    );
    let rt = rt(4);
    for _ in 0..scaled(50, 5) {
        rt.block_on(async {
            let (parent, cancel) = background().with_cancel();
            let (started_tx, started_rx) = gort::chan::bounded::<()>(64);
            let tasks: Vec<_> = (0..64)
                .map(|i| {
                    let (parent, started_tx) = (parent.clone(), started_tx.clone());
                    gort::go(async move {
                        let (child, child_cancel) = parent.with_cancel();
                        let (grand, grand_cancel) = child.with_timeout(LONG);
                        started_tx.send(()).await.unwrap();
                        gort::yield_now().await;
                        if i % 2 == 0 {
                            child_cancel.cancel();
                        } else {
                            grand_cancel.cancel();
                        }
                        (child, grand)
                    })
                })
                .collect();
            for _ in 0..32 {
                started_rx.recv().await.unwrap();
            }
            cancel.cancel();
            let mut all = Vec::new();
            for t in tasks {
                let (child, grand) = t.await.unwrap();
                all.push(child);
                all.push(grand);
            }
            for c in &all {
                assert!(is_done(c));
                assert_eq!(c.child_count(), 0);
            }
            assert_eq!(parent.child_count(), 0);
        });
    }
}
