//! Hand-off on blocking (issue 4): `gort::blocking` gives the P away while the thread
//! blocks; sysmon retakes the P from a poll that blocks without it; extra threads end
//! after their keep-alive; the thread limit never hangs the runtime.
//!
//! Behaviour, not timing: overlap is measured as how many blocking sections were in
//! progress at once, and "before it returns" as a counter read when the blocker wakes.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::Watchdog;

/// Tracks how many sections are inside at once.
#[derive(Default)]
struct Overlap {
    inside: AtomicUsize,
    max: AtomicUsize,
}

impl Overlap {
    fn section(&self, f: impl FnOnce()) {
        let now = self.inside.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(now, SeqCst);
        f();
        self.inside.fetch_sub(1, SeqCst);
    }
}

async fn cpu_task(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {
        let spin = Instant::now() + Duration::from_micros(50);
        while Instant::now() < spin {
            std::hint::spin_loop();
        }
        gort::yield_now().await;
    }
}

#[test]
fn blocking_calls_overlap_beyond_the_ps() {
    let _wd = Watchdog::new(
        "blocking_calls_overlap_beyond_the_ps",
        Duration::from_secs(60),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let overlap = Arc::new(Overlap::default());
    let o = overlap.clone();
    rt.block_on(async move {
        let cpus: Vec<_> = (0..2).map(|_| gort::go(cpu_task(100))).collect();
        let sleepers: Vec<_> = (0..16)
            .map(|_| {
                let o = o.clone();
                gort::go(async move {
                    for _ in 0..5 {
                        gort::blocking(|| {
                            o.section(|| std::thread::sleep(Duration::from_millis(20)))
                        });
                        gort::yield_now().await;
                    }
                })
            })
            .collect();
        for h in sleepers.into_iter().chain(cpus) {
            h.await.unwrap();
        }
    });
    let m = rt.metrics();
    // Without hand-off at most 2 (one per P) could be inside at once.
    assert!(
        overlap.max.load(SeqCst) > 2,
        "blocking sections never overlapped beyond the 2 Ps: {m:?}"
    );
    assert!(m.hand_offs > 0 && m.retakes > 0, "{m:?}");
}

#[test]
fn a_poll_that_blocks_without_blocking_does_not_hold_its_queue() {
    let _wd = Watchdog::new(
        "a_poll_that_blocks_without_blocking_does_not_hold_its_queue",
        Duration::from_secs(60),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let seen_at_return = rt.block_on(async move {
        // Both Ps get a G that blocks 300 ms inline; the 1,000 short Gs are queued on
        // the first blocker's P behind it.
        let other = gort::go(async { std::thread::sleep(Duration::from_millis(300)) });
        let blocker = gort::go(async move {
            for _ in 0..1000 {
                let d = d.clone();
                drop(gort::go(async move {
                    d.fetch_add(1, SeqCst);
                }));
            }
            std::thread::sleep(Duration::from_millis(300));
            d.load(SeqCst)
        });
        let seen = blocker.await.unwrap();
        other.await.unwrap();
        seen
    });
    assert_eq!(
        seen_at_return, 1000,
        "the short tasks waited for the blocked poll instead of moving to another M"
    );
    // sysmon took the P from the sleeping M: as blocked in the kernel (Linux), or
    // after 10 ms in one poll (elsewhere).
    let m = rt.metrics();
    assert!(m.retakes + m.preemptions > 0, "{m:?}");
}

/// A poll that computes for long is preempted (rule 3), never mistaken for one
/// blocked in the kernel (rule 2), even while other threads compete for the CPUs.
#[test]
fn a_computing_poll_is_preempted_not_taken_for_blocked() {
    let _wd = Watchdog::new(
        "a_computing_poll_is_preempted_not_taken_for_blocked",
        Duration::from_secs(60),
    );
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let spinners: Vec<_> = (0..2)
            .map(|_| {
                gort::go(async {
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_millis(60) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        for s in spinners {
            s.await.unwrap();
        }
    });
    let m = rt.metrics();
    assert!(m.preemptions > 0, "two 60 ms polls went unnoticed: {m:?}");
    assert_eq!(
        m.retakes, 0,
        "a computing M was taken for a blocked one: {m:?}"
    );
}

#[test]
fn extra_threads_end_after_the_burst() {
    let _wd = Watchdog::new("extra_threads_end_after_the_burst", Duration::from_secs(60));
    let rt = gort::Runtime::builder()
        .procs(2)
        .thread_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..8)
            .map(|_| gort::spawn_blocking(|| std::thread::sleep(Duration::from_millis(30))))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    let peak = rt.metrics().threads;
    assert!(
        peak > 2,
        "the burst should have needed more Ms than Ps: {peak}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while rt.metrics().threads > 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let m = rt.metrics();
    assert!(
        m.threads <= 2,
        "threads did not fall back after the burst: {m:?}"
    );
    // And the runtime still works.
    assert_eq!(
        rt.block_on(async { gort::go(async { 5 }).await.unwrap() }),
        5
    );
}

#[test]
fn thread_limit_reached_does_not_hang() {
    let _wd = Watchdog::new(
        "thread_limit_reached_does_not_hang",
        Duration::from_secs(60),
    );
    let rt = gort::Runtime::builder()
        .procs(1)
        .max_threads(2)
        .build()
        .unwrap();
    let n = rt.block_on(async {
        let hs: Vec<_> = (0..6)
            .map(|i| {
                gort::go(async move {
                    gort::blocking(|| std::thread::sleep(Duration::from_millis(20)));
                    i
                })
            })
            .collect();
        let mut n = 0;
        for h in hs {
            n += h.await.unwrap();
        }
        n
    });
    assert_eq!(n, 15);
    assert!(rt.metrics().threads <= 2, "{:?}", rt.metrics());
}

#[test]
fn blocking_outside_a_task_just_runs() {
    assert_eq!(gort::blocking(|| 7), 7);
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    assert_eq!(rt.block_on(async { gort::blocking(|| 8) }), 8);
}

#[test]
fn spawn_blocking_returns_its_value_and_panics_are_isolated() {
    let _wd = Watchdog::new("spawn_blocking_returns_its_value", Duration::from_secs(60));
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    rt.block_on(async {
        assert_eq!(gort::spawn_blocking(|| 6 * 7).await.unwrap(), 42);
        let e = gort::spawn_blocking(|| -> u32 { panic!("boom in blocking") })
            .await
            .unwrap_err();
        assert!(e.is_panic());
        // The P came back (or another was found): the runtime keeps running tasks.
        let hs: Vec<_> = (0..100).map(|i| gort::go(async move { i })).collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        assert_eq!(s, 4950);
    });
}
