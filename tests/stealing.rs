//! Work stealing: Gs spawned by one G land on that G's P only; a second M must steal
//! them, so they are seen running on two OS threads, and `metrics().steals` counts it.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use support::{busy_for, Watchdog};

/// Spawns `n` busy Gs (about 1 ms of CPU each) from inside one G, so that all of them
/// are queued on that G's P, and returns the set of OS threads they ran on.
fn run_round(rt: &gort::Runtime, n: usize) -> HashSet<ThreadId> {
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let seen2 = seen.clone();
    rt.block_on(async move {
        let spawner = gort::go(async move {
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    let seen = seen2.clone();
                    gort::go(async move {
                        busy_for(Duration::from_millis(1));
                        seen.lock().unwrap().insert(std::thread::current().id());
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
        });
        spawner.await.unwrap();
    });
    let set = seen.lock().unwrap().clone();
    set
}

#[test]
fn stealing_spreads_one_ps_work_over_two_threads() {
    let _wd = Watchdog::new(
        "stealing_spreads_one_ps_work_over_two_threads",
        Duration::from_secs(60),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    // 200 Gs fit in one P's ring (256), so nothing reaches the global queue: the
    // second M can only get them by stealing. On a loaded machine the second M may
    // be slow to start, so allow a few rounds ("eventually"), but not unbounded.
    let mut threads = HashSet::new();
    let mut rounds = 0;
    while rounds < 10 {
        rounds += 1;
        threads.extend(run_round(&rt, 200));
        if threads.len() >= 2 && rt.metrics().steals > 0 {
            break;
        }
    }
    let m = rt.metrics();
    println!("rounds={rounds} threads={} {m:?}", threads.len());
    assert!(
        threads.len() >= 2,
        "work spawned on one P ran on only {} OS thread(s) in {rounds} rounds of 200 x 1ms \
         Gs with procs(2): nothing was stolen ({m:?})",
        threads.len()
    );
    assert!(
        m.steals > 0,
        "Gs ran on two Ms but metrics().steals == 0: {m:?}"
    );
    // Two Ps: no more than two Ms run Gs, but for the Ms sysmon adds when a poll
    // lasts over 10 ms (a loaded machine can stretch a 1 ms poll that long).
    assert!(
        threads.len() <= 2 + m.hand_offs as usize,
        "{} threads ran Gs with procs(2) ({m:?})",
        threads.len()
    );
}

#[test]
fn stealing_keeps_every_proc_busy() {
    let _wd = Watchdog::new("stealing_keeps_every_proc_busy", Duration::from_secs(60));
    // With 4 Ps and 4 × more work than one P could do alone, at least three distinct
    // Ms should take part (generous: one of them might be slow to start).
    let rt = gort::Runtime::builder().procs(4).build().unwrap();
    let mut threads = HashSet::new();
    for _ in 0..10 {
        threads.extend(run_round(&rt, 250));
        if threads.len() >= 3 {
            break;
        }
    }
    let m = rt.metrics();
    assert!(
        threads.len() >= 3,
        "procs(4): work from one P reached only {} Ms ({m:?})",
        threads.len()
    );
    assert!(threads.len() <= 4 + m.hand_offs as usize, "{m:?}");
    assert!(m.steals > 0, "{m:?}");
}

#[test]
fn stealing_loses_and_duplicates_nothing() {
    let _wd = Watchdog::new(
        "stealing_loses_and_duplicates_nothing",
        Duration::from_secs(120),
    );
    // Many tiny Gs from one spawner, on a P whose ring overflows and gets stolen from
    // by three other Ms: every G runs exactly once.
    let rt = gort::Runtime::builder().procs(4).build().unwrap();
    let n = 50_000usize;
    let counts = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
    let c2 = counts.clone();
    rt.block_on(async move {
        gort::go(async move {
            let hs: Vec<_> = (0..n)
                .map(|i| {
                    let c = c2.clone();
                    gort::go(async move {
                        c[i].fetch_add(1, SeqCst);
                        gort::yield_now().await;
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap()
    });
    let wrong: Vec<_> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| c.load(SeqCst) != 1)
        .map(|(i, c)| (i, c.load(SeqCst)))
        .take(10)
        .collect();
    assert!(
        wrong.is_empty(),
        "Gs that did not run exactly once: {wrong:?}"
    );
}

/// A G woken into the `runnext` of a P whose running G then computes without yielding
/// wakes no idle P at the wake (sched/mod.rs, `schedule_task`); sysmon must then offer
/// it to the idle P (sysmon.rs, rule 5), so it runs while the waker still computes.
#[test]
fn a_g_woken_behind_a_busy_poll_runs_on_the_idle_p() {
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    for _ in 0..5 {
        let ran = rt.block_on(async {
            let ran = Arc::new(AtomicBool::new(false));
            let (tx, rx) = gort::chan::bounded::<()>(0);
            let waiter = {
                let ran = ran.clone();
                gort::go(async move {
                    rx.recv().await;
                    // SeqCst: read by the busy G's loop; the only order that matters.
                    ran.store(true, SeqCst);
                })
            };
            // Let the waiter park on the channel and the Ps go idle.
            gort::time::sleep(Duration::from_millis(5)).await;
            let busy = gort::go(async move {
                // Wakes the waiter into this P's runnext, with an empty ring.
                tx.send(()).await.unwrap();
                let start = Instant::now();
                while !ran.load(SeqCst) && start.elapsed() < Duration::from_secs(5) {
                    std::hint::spin_loop();
                }
                ran.load(SeqCst)
            });
            let ran = busy.await.unwrap();
            waiter.await.unwrap();
            ran
        });
        assert!(ran, "the woken G waited for the busy poll to end");
    }
}
