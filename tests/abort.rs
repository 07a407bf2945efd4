//! `JoinHandle::abort`: a parked, queued, or busy task is cancelled, its future is
//! dropped promptly, and awaiting gives `Err(is_cancelled)`; a finished task keeps its
//! output; `is_finished` moves from false to true.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use support::{eventually, parked_forever, DropCounter, Gate, Watchdog};

fn rt2() -> gort::Runtime {
    gort::Runtime::builder().procs(2).build().unwrap()
}

#[test]
fn abort_parked_task() {
    let _wd = Watchdog::new("abort_parked_task", Duration::from_secs(30));
    let rt = rt2();
    let drops = DropCounter::new();
    let started = Arc::new(AtomicBool::new(false));
    let (g, s) = (drops.guard(), started.clone());
    let h = rt.spawn(async move {
        let _g = g;
        s.store(true, SeqCst);
        std::future::pending::<()>().await;
    });
    assert!(eventually(Duration::from_secs(10), || started.load(SeqCst)));
    assert!(!h.is_finished(), "a parked task is not finished");
    assert_eq!(drops.get(), 0);
    h.abort();
    // The future is dropped promptly, without anyone awaiting the handle.
    assert!(
        eventually(Duration::from_secs(1), || drops.get() == 1),
        "aborted parked task's future not dropped within 1 s"
    );
    assert!(eventually(Duration::from_secs(1), || h.is_finished()));
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!err.is_panic());
    assert!(err.to_string().contains("cancel"), "Display: {err}");
    assert_eq!(drops.get(), 1, "dropped exactly once");
    assert!(eventually(Duration::from_secs(1), || rt
        .metrics()
        .alive_tasks
        == 0));
}

#[test]
fn abort_sleeping_task_frees_its_timer() {
    let _wd = Watchdog::new(
        "abort_sleeping_task_frees_its_timer",
        Duration::from_secs(30),
    );
    let rt = rt2();
    let drops = DropCounter::new();
    let g = drops.guard();
    let h = rt.spawn(async move {
        let _g = g;
        gort::time::sleep(Duration::from_secs(3600)).await;
    });
    assert!(eventually(Duration::from_secs(10), || rt.metrics().timers == 1));
    h.abort();
    assert!(eventually(Duration::from_secs(1), || drops.get() == 1));
    assert!(
        eventually(Duration::from_secs(1), || rt.metrics().timers == 0),
        "the aborted task's timer is still registered: {:?}",
        rt.metrics()
    );
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn abort_of_an_awaiter_detaches_what_it_awaited() {
    let _wd = Watchdog::new(
        "abort_of_an_awaiter_detaches_what_it_awaited",
        Duration::from_secs(30),
    );
    let rt = rt2();
    let drops = DropCounter::new();
    let inner = rt.spawn(parked_forever(drops.guard()));
    let (tx, rx) = std::sync::mpsc::channel();
    // The waiter owns `inner`'s handle and is parked on it.
    let waiter = rt.spawn(async move {
        tx.send(()).unwrap();
        inner.await
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert!(!waiter.is_finished());
    waiter.abort();
    let err = rt.block_on(waiter).unwrap_err();
    assert!(err.is_cancelled());
    // Aborting the waiter dropped `inner`'s JoinHandle, which detaches `inner` (as
    // dropping any JoinHandle does) but does not cancel it: it lives until shutdown.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        drops.get(),
        0,
        "dropping a JoinHandle must not cancel its task"
    );
    assert!(
        eventually(Duration::from_secs(1), || rt.metrics().alive_tasks == 1),
        "{:?}",
        rt.metrics()
    );
    drop(rt);
    assert_eq!(drops.get(), 1);
}

#[test]
fn abort_wakes_a_task_awaiting_the_handle() {
    let _wd = Watchdog::new(
        "abort_wakes_a_task_awaiting_the_handle",
        Duration::from_secs(30),
    );
    let rt = rt2();
    let drops = DropCounter::new();
    let target = rt.spawn(parked_forever(drops.guard()));
    let gate = Gate::new();
    let wait = gate.wait();
    let (tx, rx) = std::sync::mpsc::channel();
    // Abort from inside a task, then have a third party observe the result.
    let outcome = rt.block_on(async move {
        let aborter = gort::go(async move {
            wait.await;
            target.abort();
            tx.send(()).unwrap();
            target.await
        });
        gate.open();
        aborter.await.unwrap()
    });
    rx.recv_timeout(Duration::from_secs(1)).unwrap();
    assert!(outcome.unwrap_err().is_cancelled());
    assert_eq!(drops.get(), 1);
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let _wd = Watchdog::new(
        "abort_after_completion_keeps_the_output",
        Duration::from_secs(30),
    );
    let rt = rt2();
    let h = rt.spawn(async { String::from("done") });
    assert!(
        eventually(Duration::from_secs(10), || h.is_finished()),
        "a trivial task did not finish"
    );
    h.abort();
    h.abort(); // twice: still harmless
    assert!(h.is_finished());
    assert_eq!(rt.block_on(h).unwrap(), "done");
}

#[test]
fn abort_is_finished_transitions() {
    let _wd = Watchdog::new("abort_is_finished_transitions", Duration::from_secs(30));
    let rt = rt2();
    let gate = Gate::new();
    let wait = gate.wait();
    let h = rt.spawn(async move {
        wait.await;
        7
    });
    // Not finished while it waits, however long we look.
    for _ in 0..10 {
        assert!(!h.is_finished());
        std::thread::sleep(Duration::from_millis(2));
    }
    gate.open();
    assert!(
        eventually(Duration::from_secs(10), || h.is_finished()),
        "task never finished after its gate opened"
    );
    assert!(h.is_finished(), "is_finished never goes back to false");
    assert_eq!(rt.block_on(h).unwrap(), 7);

    // An aborted task is finished too.
    let h = rt.spawn(std::future::pending::<()>());
    assert!(!h.is_finished());
    h.abort();
    assert!(eventually(Duration::from_secs(1), || h.is_finished()));
    assert!(rt.block_on(h).unwrap_err().is_cancelled());

    // A panicked task is finished.
    let h = rt.spawn(async { panic!("x") });
    assert!(eventually(Duration::from_secs(10), || h.is_finished()));
    assert!(rt.block_on(h).unwrap_err().is_panic());
}

#[test]
fn abort_queued_task_before_it_is_ever_polled() {
    let _wd = Watchdog::new(
        "abort_queued_task_before_it_is_ever_polled",
        Duration::from_secs(30),
    );
    // procs(1): the spawned G sits in this P's runnext while the spawner runs, so it
    // cannot have been polled when it is aborted.
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    let drops = DropCounter::new();
    let polled = Arc::new(AtomicBool::new(false));
    let (g, p) = (drops.guard(), polled.clone());
    let d2 = drops.clone();
    let res = rt.block_on(async move {
        gort::go(async move {
            let h = gort::go(async move {
                let _g = g;
                p.store(true, SeqCst);
                1
            });
            h.abort();
            // Dropped promptly: by the time the handle resolves, at the latest.
            let r = h.await;
            (r.map_err(|e| e.is_cancelled()), d2.get())
        })
        .await
        .unwrap()
    });
    assert_eq!(res, (Err(true), 1));
    assert!(
        !polled.load(SeqCst),
        "an aborted never-polled task was polled"
    );
}

#[test]
fn abort_busy_yielding_task() {
    let _wd = Watchdog::new("abort_busy_yielding_task", Duration::from_secs(30));
    let rt = rt2();
    let drops = DropCounter::new();
    let spins = Arc::new(AtomicUsize::new(0));
    let (g, s) = (drops.guard(), spins.clone());
    let h = rt.spawn(async move {
        let _g = g;
        loop {
            s.fetch_add(1, SeqCst);
            gort::yield_now().await;
        }
    });
    assert!(eventually(Duration::from_secs(10), || spins.load(SeqCst) > 100));
    h.abort();
    assert!(
        eventually(Duration::from_secs(1), || drops.get() == 1),
        "a yielding task was not stopped within 1 s of abort"
    );
    let after = spins.load(SeqCst);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(spins.load(SeqCst), after, "the aborted task kept running");
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn abort_self_from_inside_the_task() {
    let _wd = Watchdog::new("abort_self_from_inside_the_task", Duration::from_secs(30));
    let rt = rt2();
    let drops = DropCounter::new();
    let g = drops.guard();
    let slot: Arc<std::sync::Mutex<Option<gort::JoinHandle<()>>>> = Default::default();
    let slot2 = slot.clone();
    let gate = Gate::new();
    let wait = gate.wait();
    let after_abort = Arc::new(AtomicBool::new(false));
    let after2 = after_abort.clone();
    let h = rt.spawn(async move {
        let _g = g;
        wait.await;
        // Abort ourselves while running: we stop at the next scheduling point.
        let me = slot2.lock().unwrap().take().unwrap();
        me.abort();
        drop(me);
        gort::yield_now().await;
        after2.store(true, SeqCst);
    });
    // The task gets its own (only) handle through the slot.
    *slot.lock().unwrap() = Some(h);
    gate.open();
    assert!(eventually(Duration::from_secs(5), || drops.get() == 1));
    assert!(
        !after_abort.load(SeqCst),
        "the task ran past a yield point after aborting itself"
    );
}

#[test]
fn abort_many_concurrently_with_completion() {
    let _wd = Watchdog::new(
        "abort_many_concurrently_with_completion",
        Duration::from_secs(60),
    );
    // Aborts racing with wake-ups and completion: each task ends exactly one way,
    // and its future is dropped exactly once.
    let rt = gort::Runtime::builder().procs(4).build().unwrap();
    let n = support::scaled(20_000, 5_000);
    let drops = DropCounter::new();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let g = drops.guard();
            rt.spawn(async move {
                let _g = g;
                for _ in 0..(i % 4) {
                    gort::yield_now().await;
                }
                i
            })
        })
        .collect();
    for h in handles.iter().step_by(2) {
        h.abort();
    }
    let (ok, cancelled) = rt.block_on(async move {
        let (mut ok, mut cancelled) = (0, 0);
        for (i, h) in handles.into_iter().enumerate() {
            match h.await {
                Ok(v) => {
                    assert_eq!(v, i);
                    ok += 1
                }
                Err(e) => {
                    assert!(e.is_cancelled());
                    assert!(i % 2 == 0, "task {i} was cancelled but never aborted");
                    cancelled += 1
                }
            }
        }
        (ok, cancelled)
    });
    assert_eq!(ok + cancelled, n);
    assert!(ok >= n / 2);
    assert!(eventually(Duration::from_secs(5), || drops.get() == n));
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(drops.get(), n);
}
