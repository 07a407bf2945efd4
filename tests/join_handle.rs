//! `JoinHandle<T>`: Send, awaitable by value (from a task, from block_on, on another
//! task than the spawner), detaches on drop; its output is dropped exactly once
//! whoever ends up with it. Static checks of the promised auto traits.

mod support;

use std::error::Error;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use support::{eventually, DropCounter, Gate, OnDrop, Watchdog};

fn assert_send<T: Send>() {}
fn assert_send_sync_static<T: Send + Sync + 'static>() {}
fn assert_error<T: Error + Send + Sync + 'static>() {}
fn assert_future<F: Future<Output = O> + Send + Unpin, O>() {}
fn assert_debug<T: std::fmt::Debug>() {}
fn assert_clone<T: Clone>() {}

/// Not Sync, but Send: a JoinHandle must still be Send for it.
struct SendOnly(#[allow(dead_code)] std::cell::Cell<u32>);

#[test]
fn join_handle_static_assertions() {
    assert_send_sync_static::<gort::Runtime>();
    assert_send::<gort::JoinHandle<u64>>();
    assert_send::<gort::JoinHandle<SendOnly>>();
    assert_send::<gort::JoinHandle<()>>();
    assert_future::<gort::JoinHandle<u64>, Result<u64, gort::JoinError>>();
    assert_send_sync_static::<gort::JoinError>();
    assert_error::<gort::JoinError>();
    assert_send_sync_static::<gort::Metrics>();
    assert_clone::<gort::Metrics>();
    assert_send_sync_static::<gort::Builder>();
    assert_send_sync_static::<gort::task::Builder>();
    assert_send_sync_static::<gort::task::Id>();
    assert_error::<gort::time::Elapsed>();
    assert_send::<gort::time::Sleep>();
    assert_send::<gort::time::Timeout<gort::JoinHandle<u8>>>();
    assert_send::<gort::YieldNow>();
    for_all_debug();
    // The facade's paths name the same types.
    let _: fn() -> Option<gort::task::Id> = gort::task::id;
    let same: Option<gort::task::JoinHandle<()>> = None::<gort::JoinHandle<()>>;
    assert!(same.is_none());
    let same_err: Option<gort::task::JoinError> = None::<gort::JoinError>;
    assert!(same_err.is_none());
}

fn for_all_debug() {
    assert_debug::<gort::Runtime>();
    assert_debug::<gort::Builder>();
    assert_debug::<gort::JoinHandle<SendOnly>>();
    assert_debug::<gort::JoinError>();
    assert_debug::<gort::Metrics>();
    assert_debug::<gort::TaskPanic>();
    assert_debug::<gort::task::Builder>();
    assert_debug::<gort::task::Id>();
    assert_debug::<gort::time::Sleep>();
    assert_debug::<gort::time::Elapsed>();
    assert_debug::<gort::YieldNow>();
}

#[test]
fn join_handle_awaited_by_value_in_block_on_and_tasks() {
    let _wd = Watchdog::new(
        "join_handle_awaited_by_value_in_block_on_and_tasks",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    // block_on(handle) directly.
    assert_eq!(rt.block_on(rt.spawn(async { 1u8 })).unwrap(), 1);
    // Awaited on a different task than the one that spawned it: the handle is moved
    // (Send) into another task.
    let v = rt.block_on(async {
        let h = gort::go(async { vec![1, 2, 3] });
        let other = gort::go(async move { h.await.unwrap().into_iter().sum::<i32>() });
        other.await.unwrap()
    });
    assert_eq!(v, 6);
    // Handed to a plain thread, awaited there on the runtime.
    let h = rt.spawn(async { String::from("across threads") });
    let rt = Arc::new(rt);
    let rt2 = rt.clone();
    let s = std::thread::spawn(move || rt2.block_on(h).unwrap())
        .join()
        .unwrap();
    assert_eq!(s, "across threads");
}

#[test]
fn join_handle_awaited_after_completion() {
    let _wd = Watchdog::new(
        "join_handle_awaited_after_completion",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let h = rt.spawn(async { 99u64 });
    assert!(eventually(Duration::from_secs(10), || h.is_finished()));
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(rt.block_on(h).unwrap(), 99);
}

#[test]
fn join_handle_drop_detaches() {
    let _wd = Watchdog::new("join_handle_drop_detaches", Duration::from_secs(30));
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let gate = Gate::new();
    let wait = gate.wait();
    let drops = DropCounter::new();
    let g = drops.guard();
    let (tx, rx) = mpsc::channel();
    let h = rt.spawn(async move {
        let _g = g;
        wait.await;
        gort::time::sleep(Duration::from_millis(5)).await;
        tx.send("side effect").unwrap();
    });
    drop(h); // detach while the task is parked
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(drops.get(), 0, "dropping the JoinHandle cancelled the task");
    gate.open();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok("side effect"),
        "a detached task did not run to completion"
    );
    assert!(eventually(Duration::from_secs(5), || drops.get() == 1));
    assert!(eventually(Duration::from_secs(5), || rt
        .metrics()
        .alive_tasks
        == 0));
}

#[test]
fn join_handle_drop_detaches_from_inside_a_task() {
    let _wd = Watchdog::new(
        "join_handle_drop_detaches_from_inside_a_task",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    rt.block_on(async move {
        let h = gort::go(async move {
            for _ in 0..10 {
                gort::yield_now().await;
            }
            gort::time::sleep(Duration::from_millis(2)).await;
            d2.store(true, SeqCst);
        });
        drop(h);
    });
    assert!(
        eventually(Duration::from_secs(10), || done.load(SeqCst)),
        "a task detached inside block_on did not finish"
    );
}

/// An output that counts its drops.
struct Output(#[allow(dead_code)] OnDrop);

#[test]
fn join_handle_output_dropped_exactly_once() {
    let _wd = Watchdog::new(
        "join_handle_output_dropped_exactly_once",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();

    // Read by the handle: the caller owns it.
    let drops = DropCounter::new();
    let g = drops.guard();
    let out = rt.block_on(rt.spawn(async move { Output(g) })).unwrap();
    assert_eq!(
        drops.get(),
        0,
        "the output was dropped before the caller got it"
    );
    drop(out);
    assert_eq!(drops.get(), 1);

    // Finished, then the handle is dropped unread: the runtime drops the output.
    let drops = DropCounter::new();
    let g = drops.guard();
    let h = rt.spawn(async move { Output(g) });
    assert!(eventually(Duration::from_secs(10), || h.is_finished()));
    assert_eq!(drops.get(), 0);
    drop(h);
    assert_eq!(
        drops.get(),
        1,
        "an unread output must be dropped with its handle"
    );

    // Handle dropped first, then the task finishes: dropped by the runtime.
    let drops = DropCounter::new();
    let g = drops.guard();
    let gate = Gate::new();
    let wait = gate.wait();
    drop(rt.spawn(async move {
        wait.await;
        Output(g)
    }));
    gate.open();
    assert!(eventually(Duration::from_secs(10), || drops.get() == 1));
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(drops.get(), 1);
}

#[test]
fn join_handle_join_error_is_a_std_error() {
    let _wd = Watchdog::new(
        "join_handle_join_error_is_a_std_error",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let err = rt
        .block_on(rt.spawn(async { panic!("as an error") }))
        .unwrap_err();
    let boxed: Box<dyn Error + Send + Sync> = Box::new(err);
    assert!(boxed.to_string().contains("as an error"));
    // And converts into io::Error with `?`.
    fn via_io(rt: &gort::Runtime) -> std::io::Result<u8> {
        let v = rt.block_on(rt.spawn(async { panic!("io") }))?;
        Ok(v)
    }
    let io = via_io(&rt).unwrap_err();
    assert!(io.to_string().contains("io"), "{io}");
    // Awaiting inside a task that returns Result<_, Box<dyn Error>>.
    let r: Result<u8, Box<dyn Error + Send + Sync>> = rt.block_on(async {
        let v = gort::go(async { 5u8 }).await?;
        Ok(v)
    });
    assert_eq!(r.unwrap(), 5);
}

#[test]
fn join_handle_ids_are_unique_and_stable() {
    let _wd = Watchdog::new(
        "join_handle_ids_are_unique_and_stable",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let handles: Vec<_> = (0..2_000).map(|_| rt.spawn(async {})).collect();
    let ids: std::collections::HashSet<_> = handles.iter().map(|h| h.id()).collect();
    assert_eq!(ids.len(), handles.len(), "task ids must be unique");
    // Ids from another runtime (and another thread) do not collide either.
    let other = gort::Runtime::builder().procs(1).build().unwrap();
    let more: Vec<_> = std::thread::spawn(move || {
        let hs: Vec<_> = (0..2_000).map(|_| other.spawn(async {})).collect();
        hs.iter().map(|h| h.id()).collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    for id in more {
        assert!(!ids.contains(&id), "{id:?} reused");
    }
    for h in handles {
        let id = h.id();
        assert!(format!("{h:?}").contains(&id.as_u64().to_string()));
        rt.block_on(h).unwrap();
    }
}
