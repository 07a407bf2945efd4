//! `yield_now`: many tasks yielding many times all complete, and a task that yields in
//! a loop does not starve other tasks on a single P — whether they were spawned
//! locally (runnext), from outside (global queue) or are woken by a timer.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use support::{scaled, Watchdog};

#[test]
fn yield_now_many_tasks_many_yields() {
    let _wd = Watchdog::new("yield_now_many_tasks_many_yields", Duration::from_secs(120));
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let (tasks, yields) = (1_000u64, 200u64);
    let polls = Arc::new(AtomicUsize::new(0));
    let p2 = polls.clone();
    let sum = rt.block_on(async move {
        let hs: Vec<_> = (0..tasks)
            .map(|i| {
                let polls = p2.clone();
                gort::go(async move {
                    for _ in 0..yields {
                        polls.fetch_add(1, SeqCst);
                        gort::yield_now().await;
                    }
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, tasks * (tasks - 1) / 2);
    assert_eq!(polls.load(SeqCst) as u64, tasks * yields);
}

#[test]
fn yield_now_interleaves_tasks_on_one_proc() {
    let _wd = Watchdog::new(
        "yield_now_interleaves_tasks_on_one_proc",
        Duration::from_secs(30),
    );
    // Two tasks on one P, each yielding after every step: their steps interleave
    // (a yield really gives the P away, to the back of the queue).
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let l2 = log.clone();
    rt.block_on(rt.spawn(async move {
        let hs: Vec<_> = (0..2)
            .map(|t| {
                let log = l2.clone();
                gort::go(async move {
                    for _ in 0..50 {
                        log.lock().unwrap().push(t);
                        gort::yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    }))
    .unwrap();
    let log = log.lock().unwrap();
    let switches = log.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        switches >= 50,
        "two yielding tasks on one P switched only {switches} times: {log:?}"
    );
}

/// Runs `spin` (a task that yields until `stop` is set) and `victim` on procs(1); the
/// victim sends on `tx` when it completes. Fails (after stopping the spinner, so the
/// runtime can shut down) if the victim does not complete within 10 s.
fn assert_not_starved(what: &str, start_victim: impl FnOnce(&gort::Runtime, mpsc::Sender<()>)) {
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let spins = Arc::new(AtomicUsize::new(0));
    let (s2, c2) = (stop.clone(), spins.clone());
    let spinner = rt.spawn(async move {
        while !s2.load(SeqCst) {
            c2.fetch_add(1, SeqCst);
            gort::yield_now().await;
        }
    });
    // Make sure the spinner owns the P before the victim appears.
    assert!(support::eventually(Duration::from_secs(10), || spins
        .load(SeqCst)
        > 100));
    let (tx, rx) = mpsc::channel();
    start_victim(&rt, tx);
    let res = rx.recv_timeout(Duration::from_secs(10));
    stop.store(true, SeqCst);
    assert!(
        res.is_ok(),
        "{what}: starved for 10 s by a task yielding in a loop on procs(1) \
         ({} spinner polls)",
        spins.load(SeqCst)
    );
    rt.block_on(spinner).unwrap();
}

#[test]
fn yield_now_no_starvation_of_a_task_spawned_from_outside() {
    let _wd = Watchdog::new(
        "yield_now_no_starvation_of_a_task_spawned_from_outside",
        Duration::from_secs(60),
    );
    // rt.spawn from the test thread: the G goes to the global queue, which the M
    // must look at even though its local queue is never empty.
    assert_not_starved("a task spawned with rt.spawn", |rt, tx| {
        drop(rt.spawn(async move {
            tx.send(()).unwrap();
        }));
    });
}

#[test]
fn yield_now_no_starvation_of_a_task_spawned_by_the_spinner() {
    let _wd = Watchdog::new(
        "yield_now_no_starvation_of_a_task_spawned_by_the_spinner",
        Duration::from_secs(60),
    );
    assert_not_starved("a task spawned by another task", |rt, tx| {
        drop(rt.spawn(async move {
            // Spawned from a task on the same P: runnext, then the ring.
            drop(gort::go(async move {
                for _ in 0..10 {
                    gort::yield_now().await;
                }
                tx.send(()).unwrap();
            }));
        }));
    });
}

#[test]
fn yield_now_no_starvation_of_a_sleeping_task() {
    let _wd = Watchdog::new(
        "yield_now_no_starvation_of_a_sleeping_task",
        Duration::from_secs(60),
    );
    // The victim sleeps 5 ms: its timer must fire although the only P always has a
    // runnable G (the spinner).
    assert_not_starved("a task sleeping 5 ms", |rt, tx| {
        drop(rt.spawn(async move {
            gort::time::sleep(Duration::from_millis(5)).await;
            tx.send(()).unwrap();
        }));
    });
}

#[test]
fn yield_now_no_starvation_of_a_task_woken_from_outside() {
    let _wd = Watchdog::new(
        "yield_now_no_starvation_of_a_task_woken_from_outside",
        Duration::from_secs(60),
    );
    // The victim parks on a gate that a plain thread opens: the wake-up comes from
    // outside the runtime.
    assert_not_starved("a task woken by a plain thread", |rt, tx| {
        let gate = support::Gate::new();
        let wait = gate.wait();
        drop(rt.spawn(async move {
            wait.await;
            tx.send(()).unwrap();
        }));
        std::thread::sleep(Duration::from_millis(5));
        gate.open();
    });
}

#[test]
fn yield_now_stress_many_spinners_few_procs() {
    let _wd = Watchdog::new(
        "yield_now_stress_many_spinners_few_procs",
        Duration::from_secs(120),
    );
    // More yielders than ring slots on two Ps (overflow to the global queue and back),
    // with every task counted exactly once at the end.
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let n = scaled(2_000, 600);
    let done = Arc::new(AtomicUsize::new(0));
    let d2 = done.clone();
    rt.block_on(async move {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let done = d2.clone();
                gort::go(async move {
                    for _ in 0..(50 + i % 50) {
                        gort::yield_now().await;
                    }
                    done.fetch_add(1, SeqCst);
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    assert_eq!(done.load(SeqCst), n);
}
