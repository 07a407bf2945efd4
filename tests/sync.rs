//! `gort::sync`: `WaitGroup` (Go's `sync/waitgroup_test.go` by meaning: many
//! goroutines, waits from tasks and plain threads, reuse, the negative-counter panic)
//! and `Group` (errgroup's tests: first error returned, context cancelled on error and
//! after wait, the limit respected — measured with an atomic high-water mark).

mod support;

use gort::context::{background, ContextError};
use gort::sync::{Group, WaitGroup};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use support::{scaled, Watchdog};

fn rt(procs: usize) -> gort::Runtime {
    gort::Runtime::builder().procs(procs).build().unwrap()
}

#[test]
fn wait_group_many_goroutines() {
    let _wd = Watchdog::new("wait_group_many_goroutines", Duration::from_secs(60));
    let rt = rt(4);
    for _ in 0..scaled(50, 5) {
        let n = 1000;
        let done = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let wg = WaitGroup::new();
            wg.add(n);
            for _ in 0..n {
                let (wg, done) = (wg.clone(), done.clone());
                drop(gort::go(async move {
                    gort::yield_now().await;
                    done.fetch_add(1, SeqCst);
                    wg.done();
                }));
            }
            // Several waiters: in tasks and on a plain thread.
            let waiters: Vec<_> = (0..4)
                .map(|_| {
                    let (wg, done) = (wg.clone(), done.clone());
                    gort::go(async move {
                        wg.wait().await;
                        done.load(SeqCst)
                    })
                })
                .collect();
            let thread_waiter = {
                let (wg, done) = (wg.clone(), done.clone());
                thread::spawn(move || {
                    wg.wait_blocking();
                    done.load(SeqCst)
                })
            };
            wg.wait().await;
            assert_eq!(done.load(SeqCst), n);
            for w in waiters {
                assert_eq!(w.await.unwrap(), n);
            }
            assert_eq!(thread_waiter.join().unwrap(), n);
            assert_eq!(wg.count(), 0);
        });
    }
}

#[test]
fn wait_group_plain_threads_and_reuse() {
    let _wd = Watchdog::new(
        "wait_group_plain_threads_and_reuse",
        Duration::from_secs(60),
    );
    let wg = WaitGroup::new();
    wg.wait_blocking(); // zero: returns at once
    for round in 0..20 {
        let finished = Arc::new(AtomicUsize::new(0));
        wg.add(8);
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let (wg, finished) = (wg.clone(), finished.clone());
                thread::spawn(move || {
                    finished.fetch_add(1, SeqCst);
                    wg.done();
                })
            })
            .collect();
        wg.wait_blocking();
        assert_eq!(finished.load(SeqCst), 8, "round {round}");
        for h in hs {
            h.join().unwrap();
        }
    }
}

#[test]
fn wait_group_waiter_blocks_until_zero() {
    let _wd = Watchdog::new(
        "wait_group_waiter_blocks_until_zero",
        Duration::from_secs(30),
    );
    let wg = WaitGroup::new();
    wg.add(2);
    let released = Arc::new(AtomicBool::new(false));
    let h = {
        let (wg, released) = (wg.clone(), released.clone());
        thread::spawn(move || {
            wg.wait_blocking();
            released.store(true, SeqCst);
        })
    };
    wg.done();
    thread::sleep(Duration::from_millis(20));
    assert!(
        !released.load(SeqCst),
        "wait returned with the counter at 1"
    );
    wg.done();
    h.join().unwrap();
    assert!(released.load(SeqCst));
}

#[test]
fn wait_group_negative_counter_panics() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    let err = catch_unwind(AssertUnwindSafe(|| wg.done())).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("negative counter"), "{msg}");
    // Still usable afterwards.
    wg.add(1);
    wg.done();
    wg.wait_blocking();
}

#[test]
fn group_returns_first_error_and_cancels_context() {
    let _wd = Watchdog::new(
        "group_returns_first_error_and_cancels_context",
        Duration::from_secs(30),
    );
    rt(4).block_on(async {
        let (group, ctx) = Group::with_context(&background());
        let stopped = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let (ctx, stopped) = (ctx.clone(), stopped.clone());
            group.go(async move {
                // Only the group's error can end these.
                assert_eq!(ctx.done().recv().await, None);
                stopped.fetch_add(1, SeqCst);
                Ok(())
            });
        }
        let (gate_tx, gate_rx) = gort::chan::bounded::<()>(0);
        group.go(async move {
            gate_rx.recv().await;
            Err("first")
        });
        assert_eq!(ctx.err(), None);
        gate_tx.close();
        assert_eq!(group.wait().await, Err("first"));
        assert_eq!(stopped.load(SeqCst), 10);
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        // Taken by the first wait.
        assert_eq!(group.wait().await, Ok(()));
    });
}

#[test]
fn group_only_the_first_of_many_errors() {
    let _wd = Watchdog::new(
        "group_only_the_first_of_many_errors",
        Duration::from_secs(30),
    );
    rt(4).block_on(async {
        for _ in 0..scaled(50, 5) {
            let (group, ctx) = Group::with_context(&background());
            for _ in 0..20 {
                let ctx = ctx.clone();
                group.go(async move {
                    // These fail too, but only after the first error cancelled ctx.
                    ctx.done().recv().await;
                    Err("late")
                });
            }
            group.go(async { Err("first") });
            assert_eq!(group.wait().await, Err("first"));
        }
    });
}

#[test]
fn group_ok_and_context_cancelled_after_wait() {
    let _wd = Watchdog::new(
        "group_ok_and_context_cancelled_after_wait",
        Duration::from_secs(30),
    );
    rt(2).block_on(async {
        let (group, ctx) = Group::<String>::with_context(&background());
        let sum = Arc::new(AtomicUsize::new(0));
        for i in 0..100 {
            let sum = sum.clone();
            group.go(async move {
                sum.fetch_add(i, SeqCst);
                Ok(())
            });
        }
        assert_eq!(group.wait().await, Ok(()));
        assert_eq!(sum.load(SeqCst), 4950);
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
    });
}

#[test]
fn group_limit_is_respected() {
    let _wd = Watchdog::new("group_limit_is_respected", Duration::from_secs(60));
    rt(4).block_on(async {
        for limit in [1usize, 2, 3, 8] {
            let group: Group<()> = Group::new();
            group.set_limit(limit);
            let running = Arc::new(AtomicUsize::new(0));
            let max_seen = Arc::new(AtomicUsize::new(0));
            let ran = Arc::new(AtomicUsize::new(0));
            for _ in 0..200 {
                let (running, max_seen, ran) = (running.clone(), max_seen.clone(), ran.clone());
                group.go(async move {
                    let now = running.fetch_add(1, SeqCst) + 1;
                    max_seen.fetch_max(now, SeqCst);
                    for _ in 0..3 {
                        gort::yield_now().await;
                    }
                    running.fetch_sub(1, SeqCst);
                    ran.fetch_add(1, SeqCst);
                    Ok(())
                });
            }
            assert_eq!(group.wait().await, Ok(()));
            assert_eq!(ran.load(SeqCst), 200);
            let max = max_seen.load(SeqCst);
            assert!(max <= limit, "limit {limit}: {max} ran at once");
            assert!(max >= 1);
        }
    });
}

#[test]
fn group_try_go_respects_limit() {
    let _wd = Watchdog::new("group_try_go_respects_limit", Duration::from_secs(30));
    rt(2).block_on(async {
        let group: Group<()> = Group::new();
        group.set_limit(2);
        let (gate_tx, gate_rx) = gort::chan::bounded::<()>(0);
        for _ in 0..2 {
            let gate_rx = gate_rx.clone();
            assert!(group.try_go(async move {
                gate_rx.recv().await;
                Ok(())
            }));
        }
        assert!(!group.try_go(async { Ok(()) }), "a third slot was given");
        gate_tx.close();
        assert_eq!(group.wait().await, Ok(()));
        assert!(group.try_go(async { Ok(()) }));
        assert_eq!(group.wait().await, Ok(()));
    });
}

#[test]
fn group_wait_blocking_from_thread_and_panic() {
    let _wd = Watchdog::new(
        "group_wait_blocking_from_thread_and_panic",
        Duration::from_secs(30),
    );
    let rt = rt(2);
    let group: Group<&'static str> = rt.block_on(async {
        let group = Group::new();
        group.go(async { Err("boom") });
        group
    });
    assert_eq!(group.wait_blocking(), Err("boom"));
    // A panicking goroutine does not hang wait; wait reports the panic.
    let group: Group<()> = rt.block_on(async {
        let group = Group::new();
        group.go(async { panic!("goroutine panic (expected by the test)") });
        group
    });
    let res = catch_unwind(AssertUnwindSafe(|| group.wait_blocking()));
    assert!(res.is_err(), "wait did not report the panic");
}

#[test]
fn group_go_outside_runtime_panics_without_hanging_wait() {
    let _wd = Watchdog::new(
        "group_go_outside_runtime_panics_without_hanging_wait",
        Duration::from_secs(30),
    );
    let group: Group<()> = Group::new();
    let err = catch_unwind(AssertUnwindSafe(|| group.go(async { Ok(()) }))).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("no gort runtime"), "{msg}");
    // The goroutine never started: wait does not hang on it (it reports the panic).
    assert!(catch_unwind(AssertUnwindSafe(|| group.wait_blocking())).is_err());
}
