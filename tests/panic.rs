//! A panicking task: its JoinHandle gives `Err(JoinError)` with `is_panic()` and the
//! payload; the M that ran it survives and the runtime keeps working.

mod support;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;
use support::{panic_message, DropCounter, Watchdog};

#[test]
fn panic_gives_join_error_with_payload() {
    let _wd = Watchdog::new(
        "panic_gives_join_error_with_payload",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let err = rt
        .block_on(rt.spawn(async {
            panic!("boom {}", 42);
        }))
        .unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert!(!err.is_cancelled(), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("boom 42"), "Display: {shown}");
    assert!(format!("{err:?}").contains("boom 42"), "Debug: {err:?}");
    let payload = err.into_panic();
    assert_eq!(panic_message(&*payload), "boom 42");
}

#[test]
fn panic_with_static_str_and_non_string_payloads() {
    let _wd = Watchdog::new(
        "panic_with_static_str_and_non_string_payloads",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let err = rt
        .block_on(rt.spawn(async { panic!("static") }))
        .unwrap_err();
    assert_eq!(
        *err.into_panic().downcast::<&'static str>().unwrap(),
        "static"
    );

    let err = rt
        .block_on(rt.spawn(async { std::panic::panic_any(7u32) }))
        .unwrap_err();
    assert!(err.is_panic());
    let _ = err.to_string(); // a non-string payload still displays
    assert_eq!(*err.into_panic().downcast::<u32>().unwrap(), 7);
}

#[test]
fn panic_payload_can_be_resumed() {
    let _wd = Watchdog::new("panic_payload_can_be_resumed", Duration::from_secs(30));
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let err = rt
        .block_on(rt.spawn(async { panic!("again") }))
        .unwrap_err();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        std::panic::resume_unwind(err.into_panic())
    }))
    .unwrap_err();
    assert_eq!(panic_message(&*caught), "again");
}

#[test]
fn panic_leaves_the_m_and_runtime_working() {
    let _wd = Watchdog::new(
        "panic_leaves_the_m_and_runtime_working",
        Duration::from_secs(60),
    );
    // One P, one M at most: the Gs after the panic must run on that same M, which
    // proves the panic did not take the M down (and no replacement was started).
    let rt = gort::Runtime::builder()
        .procs(1)
        .max_threads(1)
        .build()
        .unwrap();
    let before = rt
        .block_on(rt.spawn(async { std::thread::current().id() }))
        .unwrap();
    let threads_before = rt.metrics().threads;
    assert_eq!(threads_before, 1);

    for i in 0..10 {
        let err = rt
            .block_on(rt.spawn(async move { panic!("panic number {i}") }))
            .unwrap_err();
        assert!(err.is_panic());
    }

    let after: HashSet<_> = rt.block_on(async {
        let hs: Vec<_> = (0..100)
            .map(|_| gort::go(async { std::thread::current().id() }))
            .collect();
        let mut ids = HashSet::new();
        for h in hs {
            ids.insert(h.await.unwrap());
        }
        ids
    });
    assert_eq!(
        after.len(),
        1,
        "Gs after the panics ran on {} threads",
        after.len()
    );
    assert!(
        after.contains(&before),
        "the M that ran the panicking Gs is gone"
    );
    assert_eq!(rt.metrics().threads, threads_before, "{:?}", rt.metrics());
}

#[test]
fn panic_among_many_tasks_only_fails_that_task() {
    let _wd = Watchdog::new(
        "panic_among_many_tasks_only_fails_that_task",
        Duration::from_secs(60),
    );
    let rt = gort::Runtime::builder().procs(4).build().unwrap();
    let (ok, panicked) = rt.block_on(async {
        let hs: Vec<_> = (0..1_000u32)
            .map(|i| {
                gort::go(async move {
                    gort::yield_now().await;
                    if i % 10 == 0 {
                        panic!("task {i} fails");
                    }
                    i
                })
            })
            .collect();
        let (mut ok, mut panicked) = (0u32, 0u32);
        for (i, h) in hs.into_iter().enumerate() {
            match h.await {
                Ok(v) => {
                    assert_eq!(v as usize, i);
                    ok += 1;
                }
                Err(e) => {
                    assert!(e.is_panic());
                    assert_eq!(panic_message(&*e.into_panic()), format!("task {i} fails"));
                    panicked += 1;
                }
            }
        }
        (ok, panicked)
    });
    assert_eq!((ok, panicked), (900, 100));
    let m = rt.metrics();
    // A panic does not end its M, so no M is replaced. Extra Ms come only from sysmon
    // handing a P on when a poll lasts over 10 ms, which a panic report can (the
    // reports take the stderr lock one at a time, and may print backtraces).
    assert!(
        m.threads <= m.procs + m.hand_offs as usize,
        "panics must not start replacement Ms: {m:?}"
    );
}

#[test]
fn panic_drops_the_tasks_locals_once() {
    let _wd = Watchdog::new("panic_drops_the_tasks_locals_once", Duration::from_secs(30));
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let drops = DropCounter::new();
    let guard = drops.guard();
    let err = rt
        .block_on(rt.spawn(async move {
            let _guard = guard;
            gort::yield_now().await;
            panic!("with a guard alive");
        }))
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(
        drops.get(),
        1,
        "the panicking future's state must be dropped once"
    );
}

#[test]
fn panic_in_a_detached_task_is_contained() {
    let _wd = Watchdog::new(
        "panic_in_a_detached_task_is_contained",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    drop(rt.spawn(async { panic!("nobody is listening") }));
    // The runtime keeps going: a later task completes.
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
    assert!(support::eventually(Duration::from_secs(5), || rt
        .metrics()
        .alive_tasks
        == 0));
}

#[test]
fn panic_in_a_named_task_names_it() {
    let _wd = Watchdog::new("panic_in_a_named_task_names_it", Duration::from_secs(30));
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let err = rt
        .block_on(
            gort::task::Builder::new()
                .name("ledger-writer")
                .spawn_on(async { panic!("disk full") }, &rt),
        )
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.name(), Some("ledger-writer"));
    let shown = err.to_string();
    assert!(shown.contains("ledger-writer"), "Display: {shown}");
    assert!(shown.contains("disk full"), "Display: {shown}");
}

#[test]
fn panic_inside_block_on_future_propagates_to_caller() {
    let _wd = Watchdog::new(
        "panic_inside_block_on_future_propagates_to_caller",
        Duration::from_secs(30),
    );
    // block_on's own future is not a task: its panic unwinds out of block_on, and the
    // thread can use the runtime again afterwards.
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { panic!("in block_on") })
    }))
    .unwrap_err();
    assert_eq!(panic_message(&*caught), "in block_on");
    assert_eq!(
        rt.block_on(async { gort::go(async { 3 }).await.unwrap() }),
        3
    );
}
