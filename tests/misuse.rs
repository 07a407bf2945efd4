//! Misuse gives clear errors: spawning or sleeping with no runtime panics with a
//! message saying so; `block_on` inside a runtime panics; bad `Builder` settings are
//! `InvalidInput` errors. (The `GORT_MAXPROCS` cases are in maxprocs_env.rs: env vars
//! are process-global.)

mod support;

use std::io::ErrorKind;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;
use support::{panic_message, poll_now, Watchdog};

fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(p) => panic_message(&*p),
    }
}

#[test]
fn misuse_go_outside_a_runtime_panics() {
    let msg = expect_panic(|| gort::go(async { 1 }));
    assert!(msg.contains("no gort runtime"), "message: {msg}");
    // Also on a fresh plain thread.
    let msg = std::thread::spawn(|| expect_panic(|| gort::go(async {})))
        .join()
        .unwrap();
    assert!(msg.contains("no gort runtime"), "message: {msg}");
}

#[test]
fn misuse_task_builder_spawn_outside_a_runtime_panics() {
    let msg = expect_panic(|| gort::task::Builder::new().name("x").spawn(async {}));
    assert!(msg.contains("no gort runtime"), "message: {msg}");
}

#[test]
fn misuse_sleep_outside_a_runtime_panics() {
    // Building a Sleep is fine; polling it with no runtime is the mistake.
    let sleep = gort::time::sleep(Duration::from_millis(10));
    let msg = expect_panic(move || poll_now(sleep));
    assert!(msg.contains("no gort runtime"), "message: {msg}");
}

#[test]
fn misuse_go_after_block_on_returned_panics() {
    let _wd = Watchdog::new(
        "misuse_go_after_block_on_returned_panics",
        Duration::from_secs(30),
    );
    // The runtime is current only inside block_on.
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    assert_eq!(
        rt.block_on(async { gort::go(async { 2 }).await.unwrap() }),
        2
    );
    let msg = expect_panic(|| gort::go(async {}));
    assert!(msg.contains("no gort runtime"), "message: {msg}");
}

#[test]
fn misuse_block_on_inside_block_on_panics() {
    let _wd = Watchdog::new(
        "misuse_block_on_inside_block_on_panics",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    let other = gort::Runtime::builder().procs(1).build().unwrap();
    // Same runtime and another runtime: both would block the thread that should be
    // driving the outer future.
    for inner in [&rt, &other] {
        let msg = expect_panic(|| rt.block_on(async { inner.block_on(async { 1 }) }));
        assert!(
            msg.contains("block_on") || msg.contains("already running"),
            "unclear message: {msg}"
        );
    }
    // The thread is usable again afterwards: the failed entry left nothing behind.
    assert_eq!(
        rt.block_on(async { gort::go(async { 3 }).await.unwrap() }),
        3
    );
    assert_eq!(other.block_on(async { 4 }), 4);
}

#[test]
fn misuse_block_on_inside_a_task_panics() {
    let _wd = Watchdog::new(
        "misuse_block_on_inside_a_task_panics",
        Duration::from_secs(30),
    );
    let rt = Arc::new(gort::Runtime::builder().procs(2).build().unwrap());
    let rt2 = rt.clone();
    let res = rt.block_on(rt.spawn(async move {
        let msg = expect_panic(|| rt2.block_on(async { 1 }));
        drop(rt2); // not the last reference: the test thread keeps one
        msg
    }));
    let msg = res.expect("the task caught the panic itself");
    assert!(
        msg.contains("block_on") || msg.contains("already running"),
        "unclear message: {msg}"
    );
    // The M that ran the task still works.
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);

    // Uncaught, the panic goes to the JoinHandle like any task panic.
    let rt3 = rt.clone();
    let err = rt
        .block_on(rt.spawn(async move {
            rt3.block_on(async {});
        }))
        .unwrap_err();
    assert!(err.is_panic());
}

#[test]
fn misuse_builder_procs_zero_is_invalid_input() {
    let err = gort::Runtime::builder().procs(0).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(!err.to_string().is_empty());
}

#[test]
fn misuse_builder_max_threads_below_procs_is_invalid_input() {
    let err = gort::Runtime::builder()
        .procs(4)
        .max_threads(3)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = gort::Runtime::builder()
        .max_threads(0)
        .procs(1)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    // The boundary is allowed: one M per P.
    let rt = gort::Runtime::builder()
        .procs(2)
        .max_threads(2)
        .build()
        .unwrap();
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
}

#[test]
fn misuse_run_works_from_plain_threads() {
    let _wd = Watchdog::new(
        "misuse_run_works_from_plain_threads",
        Duration::from_secs(60),
    );
    // Not misuse: gort::run builds its own runtime, on any thread, many at once.
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                gort::run(async move {
                    let hs: Vec<_> = (0..100)
                        .map(|i| gort::go(async move { t * 100 + i }))
                        .collect();
                    let mut s = 0;
                    for h in hs {
                        s += h.await.unwrap();
                    }
                    s
                })
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, (0..400).sum::<u64>());
}

#[test]
fn misuse_run_inside_a_runtime_panics() {
    let _wd = Watchdog::new(
        "misuse_run_inside_a_runtime_panics",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    let msg = expect_panic(|| rt.block_on(async { gort::run(async { 1 }) }));
    assert!(
        msg.contains("block_on") || msg.contains("already running"),
        "unclear message: {msg}"
    );
}
