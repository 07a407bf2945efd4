//! Dropping a `Runtime`: every remaining task — parked, sleeping, queued and never
//! polled, busy yielding — has its future dropped exactly once, the drop returns
//! promptly, and no OS thread is left behind. Also: `rt.spawn` runs tasks with no
//! thread inside `block_on`.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::time::{Duration, Instant};
use support::{eventually, poll_now, DropCounter, Gate, OnDrop, Watchdog};

/// One drop counter per task, so "exactly once" is checked task by task.
#[derive(Clone)]
struct Drops(Arc<Vec<DropCounter>>);

impl Drops {
    fn new(n: usize) -> Drops {
        Drops(Arc::new((0..n).map(|_| DropCounter::new()).collect()))
    }

    fn guard(&self, i: usize) -> OnDrop {
        self.0[i].guard()
    }

    fn assert_each_dropped_once(&self, what: &str) {
        let bad: Vec<(usize, usize)> = self
            .0
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.get()))
            .filter(|&(_, c)| c != 1)
            .take(10)
            .collect();
        assert!(
            bad.is_empty(),
            "{what}: futures not dropped exactly once, as (index, drops): {bad:?}"
        );
    }
}

/// Drops `rt` and returns how long it took; fails if it takes more than 10 s.
fn timed_drop(rt: gort::Runtime) -> Duration {
    let start = Instant::now();
    drop(rt);
    let took = start.elapsed();
    println!("runtime drop took {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "dropping the runtime took {took:?}"
    );
    took
}

fn assert_cancelled_after_shutdown<T>(handles: Vec<gort::JoinHandle<T>>, what: &str) {
    for h in handles {
        match poll_now(h) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{what}: {e:?}"),
            Poll::Ready(Ok(_)) => panic!("{what}: a task that never finished gave Ok"),
            Poll::Pending => {
                panic!("{what}: JoinHandle still pending after the runtime was dropped")
            }
        }
    }
}

#[test]
fn shutdown_drops_parked_and_sleeping_tasks_once() {
    let _wd = Watchdog::new(
        "shutdown_drops_parked_and_sleeping_tasks_once",
        Duration::from_secs(60),
    );
    const N: usize = 500;
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let parked = Drops::new(N);
    let sleeping = Drops::new(N);
    let started = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..N {
        let (g, s) = (parked.guard(i), started.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            s.fetch_add(1, SeqCst);
            std::future::pending::<()>().await;
        }));
        let (g, s) = (sleeping.guard(i), started.clone());
        handles.push(rt.spawn(async move {
            let _g = g;
            s.fetch_add(1, SeqCst);
            gort::time::sleep(Duration::from_secs(3600)).await;
        }));
    }
    assert!(
        eventually(Duration::from_secs(10), || started.load(SeqCst) == 2 * N),
        "only {} of {} tasks started",
        started.load(SeqCst),
        2 * N
    );
    let m = rt.metrics();
    assert_eq!(m.alive_tasks, 2 * N, "{m:?}");
    assert!(
        eventually(Duration::from_secs(5), || rt.metrics().timers == N),
        "expected {N} pending timers: {:?}",
        rt.metrics()
    );
    timed_drop(rt);
    parked.assert_each_dropped_once("parked forever");
    sleeping.assert_each_dropped_once("sleeping 1 hour");
    // Nothing drops them a second time later (e.g. from a leftover thread).
    std::thread::sleep(Duration::from_millis(50));
    parked.assert_each_dropped_once("parked forever (later)");
    sleeping.assert_each_dropped_once("sleeping 1 hour (later)");
    assert_cancelled_after_shutdown(handles, "parked/sleeping");
}

#[test]
fn shutdown_drops_queued_never_polled_tasks_once() {
    let _wd = Watchdog::new(
        "shutdown_drops_queued_never_polled_tasks_once",
        Duration::from_secs(60),
    );
    const N: usize = 1_000;
    // One P, and its M is held inside a long poll: the tasks spawned meanwhile wait
    // in the queues, never polled, when the runtime is dropped.
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let blocker = rt.spawn(async move {
        tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("blocker task started");
    let drops = Drops::new(N);
    let polled = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let (g, p) = (drops.guard(i), polled.clone());
            rt.spawn(async move {
                let _g = g;
                p.fetch_add(1, SeqCst);
                std::future::pending::<()>().await;
            })
        })
        .collect();
    timed_drop(rt);
    println!(
        "{} of {N} queued tasks were polled before shutdown",
        polled.load(SeqCst)
    );
    drops.assert_each_dropped_once("queued, never polled");
    assert_cancelled_after_shutdown(handles, "queued");
    // The blocker was inside its poll when shutdown began: it completed.
    assert!(matches!(poll_now(blocker), Poll::Ready(Ok(()))));
}

#[test]
fn shutdown_stops_busy_yielding_tasks() {
    let _wd = Watchdog::new(
        "shutdown_stops_busy_yielding_tasks",
        Duration::from_secs(60),
    );
    const N: usize = 100;
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let drops = Drops::new(N);
    let started = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let (g, s) = (drops.guard(i), started.clone());
            rt.spawn(async move {
                let _g = g;
                s.fetch_add(1, SeqCst);
                loop {
                    gort::yield_now().await;
                }
            })
        })
        .collect();
    assert!(eventually(Duration::from_secs(10), || started.load(SeqCst) == N));
    timed_drop(rt);
    drops.assert_each_dropped_once("busy yielding");
    assert_cancelled_after_shutdown(handles, "busy yielding");
}

#[test]
fn shutdown_with_destructors_that_wake_and_await_other_tasks() {
    let _wd = Watchdog::new(
        "shutdown_with_destructors_that_wake_and_await_other_tasks",
        Duration::from_secs(60),
    );
    const N: usize = 200;
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let drops = Drops::new(3 * N);
    let started = Arc::new(AtomicUsize::new(0));
    for i in 0..N {
        // A: parked on a gate. B: parked forever, and opens A's gate (waking A) from
        // its destructor. C: awaits A's JoinHandle (and drops it in its destructor).
        let gate = Gate::new();
        let (ga, sa, wait) = (drops.guard(3 * i), started.clone(), gate.wait());
        let a = rt.spawn(async move {
            let _g = ga;
            sa.fetch_add(1, SeqCst);
            wait.await;
            // If woken by B's destructor during shutdown it must not run anyway.
        });
        let (gb, sb) = (drops.guard(3 * i + 1), started.clone());
        let opener = GateOpener(gate);
        drop(rt.spawn(async move {
            let _g = gb;
            let _opener = opener;
            sb.fetch_add(1, SeqCst);
            std::future::pending::<()>().await;
        }));
        let (gc, sc) = (drops.guard(3 * i + 2), started.clone());
        drop(rt.spawn(async move {
            let _g = gc;
            sc.fetch_add(1, SeqCst);
            let _ = a.await;
        }));
    }
    assert!(eventually(Duration::from_secs(10), || started.load(SeqCst) == 3 * N));
    timed_drop(rt);
    drops.assert_each_dropped_once("destructors that wake other tasks");
}

struct GateOpener(Gate);

impl Drop for GateOpener {
    fn drop(&mut self) {
        self.0.open();
    }
}

#[test]
fn shutdown_of_an_unused_runtime_and_from_another_thread() {
    let _wd = Watchdog::new(
        "shutdown_of_an_unused_runtime_and_from_another_thread",
        Duration::from_secs(60),
    );
    // Never used.
    timed_drop(gort::Runtime::builder().procs(4).build().unwrap());
    // Used on one thread, dropped on another, with a task still parked.
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let drops = Drops::new(1);
    assert_eq!(
        rt.block_on(async { gort::go(async { 1 }).await.unwrap() }),
        1
    );
    let g = drops.guard(0);
    let h = rt.spawn(async move {
        let _g = g;
        std::future::pending::<()>().await;
    });
    std::thread::spawn(move || {
        timed_drop(rt);
    })
    .join()
    .unwrap();
    drops.assert_each_dropped_once("dropped from another thread");
    assert_cancelled_after_shutdown(vec![h], "dropped from another thread");
}

#[test]
fn shutdown_rt_spawn_runs_without_block_on() {
    let _wd = Watchdog::new(
        "shutdown_rt_spawn_runs_without_block_on",
        Duration::from_secs(60),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    // Nobody is inside block_on: the runtime's own Ms must run this, including its
    // timer and the task it spawns.
    let h = rt.spawn(async move {
        gort::time::sleep(Duration::from_millis(10)).await;
        let inner = gort::go(async { 40 });
        let v = inner.await.unwrap() + 2;
        tx.send(v).unwrap();
        v
    });
    let got = rx.recv_timeout(Duration::from_secs(10));
    assert_eq!(
        got,
        Ok(42),
        "a task spawned with rt.spawn did not run without block_on"
    );
    assert!(eventually(Duration::from_secs(5), || h.is_finished()));
    assert!(matches!(poll_now(h), Poll::Ready(Ok(42))));
}

#[test]
fn shutdown_leaves_no_thread_behind() {
    let _wd = Watchdog::new("shutdown_leaves_no_thread_behind", Duration::from_secs(120));
    // Counting /proc/self/task is only exact with nothing else running in the
    // process, so the count runs in a child process with this one test.
    let out = support::run_child("shutdown_child_thread_count", &[]);
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// Helper run by `shutdown_leaves_no_thread_behind` in a child process; does nothing
/// in a normal run.
#[test]
fn shutdown_child_thread_count() {
    if !support::is_child("shutdown_child_thread_count") {
        return;
    }
    #[cfg(target_os = "linux")]
    child_thread_count();
}

#[cfg(target_os = "linux")]
fn child_thread_count() {
    use support::{os_thread_names, os_threads};
    let baseline = os_threads();
    println!("baseline threads: {baseline}");
    for round in 0..6 {
        let mut builder = gort::Runtime::builder().procs(4).thread_name("leakchk");
        if round % 2 == 1 {
            // The schedtrace thread must go too.
            builder = builder.schedtrace(Duration::from_secs(3600), false);
        }
        let rt = builder.build().unwrap();
        // Start every M: 4 busy tasks per round, spread by stealing.
        let busy = Arc::new(AtomicBool::new(true));
        for _ in 0..8 {
            let busy = busy.clone();
            drop(rt.spawn(async move {
                while busy.load(SeqCst) {
                    gort::yield_now().await;
                }
            }));
        }
        let drops = DropCounter::new();
        for _ in 0..50 {
            drop(rt.spawn(support::parked_forever(drops.guard())));
            let g = drops.guard();
            drop(rt.spawn(async move {
                let _g = g;
                gort::time::sleep(Duration::from_secs(3600)).await;
            }));
        }
        assert!(
            eventually(Duration::from_secs(10), || rt.metrics().threads >= 2),
            "{:?}",
            rt.metrics()
        );
        let during = os_threads();
        println!("round {round}: {during} threads while running");
        // The counter does see the runtime's threads (so the check below can fail).
        assert!(during > baseline, "{during} <= {baseline}");
        // A new thread carries its creator's name until it sets its own, so the
        // names may take a moment to match.
        let ms = || {
            os_thread_names()
                .iter()
                .filter(|n| n.starts_with("leakchk-"))
                .count()
        };
        assert!(
            eventually(Duration::from_secs(2), || ms() == rt.metrics().threads),
            "threads named leakchk-*: {:?}, metrics: {:?}",
            os_thread_names(),
            rt.metrics()
        );
        busy.store(false, SeqCst);
        // Dropped on a helper thread: a hung drop fails the test instead of hanging.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            drop(rt);
            let _ = tx.send(());
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(10)).is_ok(),
            "round {round}: dropping the runtime did not return within 10 s"
        );
        assert_eq!(drops.get(), 100, "round {round}: pending tasks dropped");
        let ok = eventually(Duration::from_secs(2), || os_threads() == baseline);
        assert!(
            ok,
            "round {round}: {} threads after dropping the runtime, {baseline} before: {:?}",
            os_threads(),
            os_thread_names()
        );
    }
}
