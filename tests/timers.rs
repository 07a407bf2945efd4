//! Timers: nothing fires early; an idle runtime is not very late; `timeout` drops the
//! inner future on `Err`; cancelled timers are freed at once (no growth under churn);
//! many concurrent sleeps all fire.
//!
//! Timing assertions are one-sided: "not early" is strict (the contract), "not late"
//! only against generous bounds so that a noisy 2-core CI machine cannot make them
//! flaky. The median lateness is printed for humans.

mod support;

use gort::time::{sleep, sleep_until, timeout, timeout_at, Elapsed, Instant};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use support::{eventually, parked_forever, poll_once, scaled, DropCounter, Watchdog};

fn rt(procs: usize) -> gort::Runtime {
    gort::Runtime::builder().procs(procs).build().unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Durations from 0 to 20 ms, dense below 1 ms (where tick rounding matters).
fn durations() -> Vec<Duration> {
    let mut v: Vec<Duration> = (0..=20).map(Duration::from_millis).collect();
    v.extend(
        [
            1, 50, 100, 261, 262, 263, 500, 524, 525, 999, 1001, 1500, 2621, 7777, 15_001,
        ]
        .map(Duration::from_micros),
    );
    v.extend((0..40).map(|i| Duration::from_nanos(1 + i * 499_979)));
    v
}

#[test]
fn timers_sleep_never_fires_early_in_block_on() {
    let _wd = Watchdog::new(
        "timers_sleep_never_fires_early_in_block_on",
        Duration::from_secs(60),
    );
    let rt = rt(2);
    rt.block_on(async {
        for d in durations() {
            let start = Instant::now();
            sleep(d).await;
            let took = start.elapsed();
            assert!(took >= d, "sleep({d:?}) returned after {took:?}");
        }
    });
}

#[test]
fn timers_sleep_never_fires_early_in_tasks() {
    let _wd = Watchdog::new(
        "timers_sleep_never_fires_early_in_tasks",
        Duration::from_secs(60),
    );
    // Many sleeps at once, of every duration, in tasks on several Ps: all at once
    // and one after another in each task.
    let rt = rt(4);
    let early = rt.block_on(async {
        let hs: Vec<_> = (0..200u64)
            .map(|i| {
                gort::go(async move {
                    let mut early = Vec::new();
                    for j in 0..5u64 {
                        let d = Duration::from_micros((i * 97 + j * 3_331) % 20_000);
                        let start = Instant::now();
                        sleep(d).await;
                        let took = start.elapsed();
                        if took < d {
                            early.push((d, took));
                        }
                    }
                    early
                })
            })
            .collect();
        let mut early = Vec::new();
        for h in hs {
            early.extend(h.await.unwrap());
        }
        early
    });
    assert!(
        early.is_empty(),
        "sleeps that returned early (asked, took): {early:?}"
    );
}

#[test]
fn timers_sleep_until_never_fires_early() {
    let _wd = Watchdog::new(
        "timers_sleep_until_never_fires_early",
        Duration::from_secs(60),
    );
    let rt = rt(2);
    rt.block_on(async {
        for d in durations() {
            let deadline = Instant::now() + d;
            sleep_until(deadline).await;
            let now = Instant::now();
            assert!(
                now >= deadline,
                "sleep_until woke {:?} early",
                deadline - now
            );
        }
        let s = sleep(Duration::from_millis(3));
        let deadline = s.deadline();
        s.await;
        assert!(Instant::now() >= deadline);
    });
}

#[test]
fn timers_idle_runtime_is_not_very_late() {
    let _wd = Watchdog::new(
        "timers_idle_runtime_is_not_very_late",
        Duration::from_secs(60),
    );
    let rt = rt(2);
    let d = Duration::from_millis(20);
    // From block_on (no P on this thread) and from a task (the timer sleeper path).
    let mut late = Vec::new();
    for _ in 0..10 {
        let took = rt.block_on(async {
            let start = Instant::now();
            sleep(d).await;
            start.elapsed()
        });
        assert!(took >= d);
        late.push(took - d);
        let took = rt
            .block_on(rt.spawn(async move {
                let start = Instant::now();
                sleep(d).await;
                start.elapsed()
            }))
            .unwrap();
        assert!(took >= d);
        late.push(took - d);
    }
    let med = median(late.clone());
    let max = *late.iter().max().unwrap();
    println!("20 ms sleeps on an idle runtime: median lateness {med:?}, max {max:?}");
    // The design target is under a few ms; 50 ms only catches a timer that waits for
    // something else (a periodic poll, the next unrelated wake-up) to fire it.
    assert!(
        med < Duration::from_millis(50),
        "median lateness {med:?} ({late:?})"
    );
}

#[test]
fn timers_sleep_in_block_on_without_tasks() {
    let _wd = Watchdog::new(
        "timers_sleep_in_block_on_without_tasks",
        Duration::from_secs(30),
    );
    // A runtime that has never run a task: block_on's own future sleeps.
    let rt = rt(1);
    let start = Instant::now();
    rt.block_on(sleep(Duration::from_millis(15)));
    assert!(start.elapsed() >= Duration::from_millis(15));
    assert_eq!(rt.metrics().timers, 0);
    // And via gort::run.
    let start = Instant::now();
    gort::run(sleep(Duration::from_millis(5)));
    assert!(start.elapsed() >= Duration::from_millis(5));
}

#[test]
fn timers_sleep_until_past_or_now_is_ready_at_once() {
    let _wd = Watchdog::new(
        "timers_sleep_until_past_or_now_is_ready_at_once",
        Duration::from_secs(30),
    );
    let rt = rt(1);
    rt.block_on(async {
        let past = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
        for s in [
            sleep_until(past),
            sleep_until(Instant::now()),
            sleep(Duration::ZERO),
        ] {
            let mut s = pin!(s);
            assert_eq!(poll_once(s.as_mut()), Poll::Ready(()), "not ready at once");
            assert!(s.is_elapsed());
        }
    });
    assert_eq!(
        rt.metrics().timers,
        0,
        "a ready sleep must not leave a timer"
    );
}

#[test]
fn timers_timeout_elapsed_drops_inner_future() {
    let _wd = Watchdog::new(
        "timers_timeout_elapsed_drops_inner_future",
        Duration::from_secs(30),
    );
    let rt = rt(2);
    let drops = DropCounter::new();
    let g = drops.guard();
    let d2 = drops.clone();
    let (res, took, dropped_at_return) = rt.block_on(async move {
        let start = Instant::now();
        let res = timeout(Duration::from_millis(10), parked_forever(g)).await;
        (res, start.elapsed(), d2.get())
    });
    assert_eq!(res, Err(an_elapsed()));
    assert!(
        took >= Duration::from_millis(10),
        "timeout fired early: {took:?}"
    );
    assert_eq!(
        dropped_at_return, 1,
        "inner future not dropped when timeout returned Err"
    );
    assert_eq!(drops.get(), 1);
    assert_eq!(rt.metrics().timers, 0);

    // Inside a task too, with a sleep as the slow future, and timeout_at.
    let drops = DropCounter::new();
    let g = drops.guard();
    let res = rt
        .block_on(rt.spawn(async move {
            let slow = async move {
                let _g = g;
                sleep(Duration::from_secs(3600)).await;
            };
            let deadline = Instant::now() + Duration::from_millis(5);
            let r = timeout_at(deadline, slow).await;
            assert!(Instant::now() >= deadline, "timeout_at fired early");
            r
        }))
        .unwrap();
    assert!(res.is_err());
    assert_eq!(drops.get(), 1);
    assert!(
        eventually(Duration::from_secs(1), || rt.metrics().timers == 0),
        "both timers (the timeout's and the inner sleep's) must be freed: {:?}",
        rt.metrics()
    );
}

/// An `Elapsed` (it has no public constructor): from a zero timeout.
fn an_elapsed() -> Elapsed {
    gort::run(timeout(Duration::ZERO, std::future::pending::<()>())).unwrap_err()
}

#[test]
fn timers_timeout_ok_when_fast() {
    let _wd = Watchdog::new("timers_timeout_ok_when_fast", Duration::from_secs(30));
    let rt = rt(2);
    rt.block_on(async {
        assert_eq!(timeout(Duration::from_secs(10), async { 7 }).await, Ok(7));
        let r = timeout(Duration::from_secs(10), sleep(Duration::from_millis(2))).await;
        assert_eq!(r, Ok(()));
        let r = timeout(Duration::from_secs(10), gort::go(async { 8 })).await;
        assert_eq!(r.unwrap().unwrap(), 8);
        // A ready future wins even with a zero timeout.
        assert_eq!(timeout(Duration::ZERO, async { 9 }).await, Ok(9));
    });
    assert_eq!(rt.metrics().timers, 0, "Ok must free the timeout's timer");
    let e = an_elapsed();
    assert!(!e.to_string().is_empty());
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn timers_long_sleep_dropped_early_frees_its_timer() {
    let _wd = Watchdog::new(
        "timers_long_sleep_dropped_early_frees_its_timer",
        Duration::from_secs(30),
    );
    let rt = rt(2);
    rt.block_on(async {
        // Registered on first poll, unregistered on drop, synchronously.
        let mut long = Box::pin(sleep(Duration::from_secs(3600)));
        assert_eq!(poll_once(long.as_mut()), Poll::Pending);
        assert_eq!(rt.metrics().timers, 1);
        drop(long);
        assert_eq!(
            rt.metrics().timers,
            0,
            "a dropped sleep must free its timer at once"
        );
    });
    // In a task, lost to a shorter timeout.
    let r = rt.block_on(rt.spawn(timeout(
        Duration::from_millis(5),
        sleep(Duration::from_secs(3600)),
    )));
    assert!(r.unwrap().is_err());
    assert!(eventually(Duration::from_secs(1), || rt.metrics().timers == 0));
    // reset() moves the deadline and frees the old entry.
    rt.block_on(async {
        let mut s = Box::pin(sleep(Duration::from_secs(3600)));
        assert_eq!(poll_once(s.as_mut()), Poll::Pending);
        let deadline = Instant::now() + Duration::from_millis(3);
        s.as_mut().reset(deadline);
        s.await;
        assert!(Instant::now() >= deadline);
    });
    assert_eq!(rt.metrics().timers, 0);
}

#[test]
fn timers_churn_leaves_no_timer_behind() {
    let _wd = Watchdog::new(
        "timers_churn_leaves_no_timer_behind",
        Duration::from_secs(180),
    );
    let rt = rt(4);
    // The count is live: 1,000 held timers show as 1,000.
    rt.block_on(async {
        let mut held: Vec<_> = (0..1_000u64)
            .map(|i| Box::pin(sleep(Duration::from_secs(60 + i))))
            .collect();
        for s in &mut held {
            assert_eq!(poll_once(s.as_mut()), Poll::Pending);
        }
        assert_eq!(rt.metrics().timers, 1_000);
        drop(held);
        assert_eq!(rt.metrics().timers, 0);
    });
    // 1,000,000 timers (100,000 in debug builds), created, polled once and dropped,
    // from 4 tasks at once and from block_on, with deadlines spread over every level
    // of the wheel.
    let total = scaled(1_000_000, 100_000);
    let per_task = total / 5;
    let churn = move |seed: usize| async move {
        for i in 0..per_task {
            let d =
                Duration::from_micros(((i * 7_919 + seed * 104_729) % 10_000_000) as u64 + 1_000);
            let mut s = pin!(sleep(d));
            assert_eq!(poll_once(s.as_mut()), Poll::Pending);
            if i % 4_096 == 0 {
                gort::yield_now().await;
            }
        }
    };
    let handles: Vec<_> = (0..4).map(|t| rt.spawn(churn(t))).collect();
    rt.block_on(churn(4));
    for h in handles {
        rt.block_on(h).unwrap();
    }
    let m = rt.metrics();
    assert_eq!(
        m.timers, 0,
        "timers left after {total} created and dropped: {m:?}"
    );
}

#[test]
fn timers_many_concurrent_sleeps_all_fire() {
    let _wd = Watchdog::new(
        "timers_many_concurrent_sleeps_all_fire",
        Duration::from_secs(120),
    );
    let rt = rt(4);
    let n = 10_000u64;
    let fired = Arc::new(AtomicUsize::new(0));
    let f2 = fired.clone();
    let (sum, early) = rt.block_on(async move {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let fired = f2.clone();
                gort::go(async move {
                    let d = Duration::from_micros(1_000 + (i * 4_999) % 49_000);
                    let start = Instant::now();
                    sleep(d).await;
                    let early = start.elapsed() < d;
                    fired.fetch_add(1, SeqCst);
                    (1u64, early)
                })
            })
            .collect();
        let (mut sum, mut early) = (0, 0);
        for h in hs {
            let (one, e) = h.await.unwrap();
            sum += one;
            early += e as u64;
        }
        (sum, early)
    });
    assert_eq!(sum, n);
    assert_eq!(fired.load(SeqCst), n as usize);
    assert_eq!(early, 0, "{early} sleeps fired early");
    assert_eq!(rt.metrics().timers, 0);
}

#[test]
fn timers_same_deadline_all_fire() {
    let _wd = Watchdog::new("timers_same_deadline_all_fire", Duration::from_secs(60));
    // 10,000 sleeps on one instant, from outside the runtime (rt.spawn).
    let rt = rt(2);
    let deadline = Instant::now() + Duration::from_millis(30);
    let hs: Vec<_> = (0..10_000)
        .map(|_| {
            rt.spawn(async move {
                sleep_until(deadline).await;
                Instant::now() >= deadline
            })
        })
        .collect();
    let ok = rt.block_on(async {
        let mut ok = 0;
        for h in hs {
            ok += h.await.unwrap() as usize;
        }
        ok
    });
    assert_eq!(ok, 10_000);
}

#[test]
fn timers_fire_while_every_p_is_busy() {
    let _wd = Watchdog::new("timers_fire_while_every_p_is_busy", Duration::from_secs(60));
    // Both Ps run Gs that yield in a loop until a sleeping G wakes: the timer must
    // fire even though no M ever runs out of work.
    let rt = rt(2);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            rt.spawn(async move {
                while !stop.load(SeqCst) {
                    support::busy_for(Duration::from_micros(50));
                    gort::yield_now().await;
                }
            })
        })
        .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    let start = Instant::now();
    drop(rt.spawn(async move {
        sleep(Duration::from_millis(10)).await;
        tx.send(Instant::now()).unwrap();
    }));
    let woke = rx.recv_timeout(Duration::from_secs(10));
    stop.store(true, SeqCst);
    let woke = woke.expect("a 10 ms sleep never fired while every P was busy");
    println!("10 ms sleep with busy Ps fired after {:?}", woke - start);
    assert!(woke - start >= Duration::from_millis(10));
    for h in busy {
        rt.block_on(h).unwrap();
    }
}
