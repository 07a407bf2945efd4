//! Task names and ids: `task::Builder::name` shows in `JoinError` (name and Display);
//! `gort::task::id()` inside a task is `Some` and equals its handle's id, and is
//! `None` outside any task.

mod support;

use std::collections::HashSet;
use std::time::Duration;
use support::Watchdog;

#[test]
fn named_task_name_in_join_error_on_panic() {
    let _wd = Watchdog::new(
        "named_task_name_in_join_error_on_panic",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let err = rt
        .block_on(async {
            gort::task::Builder::new()
                .name("order-consumer-7")
                .spawn(async { panic!("bad message") })
                .await
        })
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.name(), Some("order-consumer-7"));
    let shown = err.to_string();
    assert!(shown.contains("order-consumer-7"), "Display: {shown}");
    assert!(
        format!("{err:?}").contains("order-consumer-7"),
        "Debug: {err:?}"
    );
}

#[test]
fn named_task_name_in_join_error_on_abort() {
    let _wd = Watchdog::new(
        "named_task_name_in_join_error_on_abort",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let h = gort::task::Builder::new()
        .name("poller")
        .spawn_on(std::future::pending::<()>(), &rt);
    let id = h.id();
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.name(), Some("poller"));
    assert_eq!(err.id(), id);
    assert!(err.to_string().contains("poller"), "Display: {err}");
}

#[test]
fn named_unnamed_task_has_no_name_but_an_id() {
    let _wd = Watchdog::new(
        "named_unnamed_task_has_no_name_but_an_id",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let h = rt.spawn(async { panic!("anonymous") });
    let id = h.id();
    let err = rt.block_on(h).unwrap_err();
    assert_eq!(err.name(), None);
    assert_eq!(err.id(), id);
    // The Display names the task by its id instead.
    assert!(
        err.to_string().contains(&id.as_u64().to_string()),
        "Display: {err}"
    );
}

#[test]
fn named_task_builder_spawn_returns_output() {
    let _wd = Watchdog::new(
        "named_task_builder_spawn_returns_output",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let v = rt.block_on(async {
        let b = gort::task::Builder::new().name("adder");
        // A Builder is Clone: one configuration, many tasks.
        let hs: Vec<_> = (0..10u32)
            .map(|i| b.clone().spawn(async move { i * 2 }))
            .collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(v, 90);
    // An empty Builder works too.
    assert_eq!(
        rt.block_on(gort::task::Builder::new().spawn_on(async { 1 }, &rt))
            .unwrap(),
        1
    );
}

#[test]
fn named_task_id_inside_task_matches_handle() {
    let _wd = Watchdog::new(
        "named_task_id_inside_task_matches_handle",
        Duration::from_secs(30),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    // Outside any task.
    assert_eq!(gort::task::id(), None);
    let (tx, rx) = std::sync::mpsc::channel();
    let h = rt.spawn(async move {
        let before = gort::task::id();
        gort::yield_now().await; // possibly resumed on another M: same id
        gort::time::sleep(Duration::from_millis(1)).await;
        tx.send((before, gort::task::id())).unwrap();
    });
    let id = h.id();
    rt.block_on(h).unwrap();
    let (before, after) = rx.recv().unwrap();
    assert_eq!(before, Some(id));
    assert_eq!(after, Some(id));
    // Many tasks: each sees its own id, all distinct.
    let pairs = rt.block_on(async {
        let hs: Vec<_> = (0..500)
            .map(|_| gort::go(async { gort::task::id() }))
            .collect();
        let mut pairs = Vec::new();
        for h in hs {
            let hid = h.id();
            pairs.push((hid, h.await.unwrap()));
        }
        pairs
    });
    let mut seen = HashSet::new();
    for (hid, inside) in pairs {
        assert_eq!(inside, Some(hid));
        assert!(seen.insert(hid), "id {hid:?} seen twice");
    }
    // Still None on this thread after all that, and on a fresh plain thread.
    assert_eq!(gort::task::id(), None);
    assert_eq!(std::thread::spawn(gort::task::id).join().unwrap(), None);
}

#[test]
fn named_task_id_of_nested_tasks() {
    let _wd = Watchdog::new("named_task_id_of_nested_tasks", Duration::from_secs(30));
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    // A task polling a child's JoinHandle keeps its own id (the child's poll does not
    // leak its id into the parent).
    let (outer, inner, outer_after) = rt
        .block_on(rt.spawn(async {
            let outer = gort::task::id();
            let child = gort::go(async { gort::task::id() });
            let inner = child.await.unwrap();
            (outer, inner, gort::task::id())
        }))
        .unwrap();
    assert!(outer.is_some() && inner.is_some());
    assert_ne!(outer, inner);
    assert_eq!(outer, outer_after);
}
