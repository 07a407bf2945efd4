//! Many tasks: 100,000 spawned from one task, from outside the runtime, and from many
//! tasks at once, all complete exactly once (sum checks), and none is left alive.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use support::{eventually, Watchdog};

const N: u64 = 100_000;
const SUM: u64 = N * (N - 1) / 2;

fn runtime() -> gort::Runtime {
    gort::Runtime::builder().procs(4).build().unwrap()
}

fn assert_no_task_left(rt: &gort::Runtime) {
    assert!(
        eventually(Duration::from_secs(5), || rt.metrics().alive_tasks == 0),
        "tasks still alive after every JoinHandle completed: {:?}",
        rt.metrics()
    );
}

#[test]
fn spawn_many_from_one_task() {
    let _wd = Watchdog::new("spawn_many_from_one_task", Duration::from_secs(120));
    let rt = runtime();
    let ran = Arc::new(AtomicUsize::new(0));
    let ran2 = ran.clone();
    let sum = rt.block_on(rt.spawn(async move {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let ran = ran2.clone();
                gort::go(async move {
                    ran.fetch_add(1, SeqCst);
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    }));
    assert_eq!(sum.unwrap(), SUM);
    assert_eq!(ran.load(SeqCst), N as usize, "every task ran exactly once");
    let m = rt.metrics();
    assert!(m.spawned > N, "spawned counter: {m:?}");
    assert_no_task_left(&rt);
}

#[test]
fn spawn_many_from_block_on() {
    let _wd = Watchdog::new("spawn_many_from_block_on", Duration::from_secs(120));
    let rt = runtime();
    let sum = rt.block_on(async {
        let handles: Vec<_> = (0..N).map(|i| gort::go(async move { i })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, SUM);
    assert_no_task_left(&rt);
}

#[test]
fn spawn_many_from_outside() {
    let _wd = Watchdog::new("spawn_many_from_outside", Duration::from_secs(120));
    let rt = runtime();
    // rt.spawn from a plain thread: every task goes through the global queue.
    let handles: Vec<_> = (0..N).map(|i| rt.spawn(async move { i })).collect();
    let sum = rt.block_on(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, SUM);
    assert_no_task_left(&rt);
}

#[test]
fn spawn_many_from_several_threads_at_once() {
    let _wd = Watchdog::new(
        "spawn_many_from_several_threads_at_once",
        Duration::from_secs(120),
    );
    let rt = runtime();
    let per_thread = N / 4;
    let handles: Vec<_> = std::thread::scope(|s| {
        let rt = &rt;
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                s.spawn(move || {
                    (0..per_thread)
                        .map(|i| rt.spawn(async move { t * per_thread + i }))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let sum = rt.block_on(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, SUM);
    assert_no_task_left(&rt);
}

#[test]
fn spawn_many_from_many_tasks() {
    let _wd = Watchdog::new("spawn_many_from_many_tasks", Duration::from_secs(120));
    let rt = runtime();
    // 100 spawners × 1,000 children: the spawners' rings overflow into the global
    // queue and get stolen from while they are still being filled.
    let sum = rt.block_on(async {
        let spawners: Vec<_> = (0..100u64)
            .map(|s| {
                gort::go(async move {
                    let children: Vec<_> = (0..1_000u64)
                        .map(|i| gort::go(async move { s * 1_000 + i }))
                        .collect();
                    let mut sum = 0;
                    for c in children {
                        sum += c.await.unwrap();
                    }
                    sum
                })
            })
            .collect();
        let mut sum = 0;
        for s in spawners {
            sum += s.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, SUM);
    assert_no_task_left(&rt);
}

#[test]
fn detached_tasks_all_run() {
    let _wd = Watchdog::new("detached_tasks_all_run", Duration::from_secs(120));
    let rt = runtime();
    let ran = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        for _ in 0..N {
            let ran = ran.clone();
            // The handle is dropped at once: the task is detached, and must still run.
            drop(gort::go(async move {
                ran.fetch_add(1, SeqCst);
            }));
        }
    });
    assert!(
        eventually(Duration::from_secs(30), || ran.load(SeqCst) == N as usize),
        "only {} of {N} detached tasks ran",
        ran.load(SeqCst)
    );
    assert_no_task_left(&rt);
}
