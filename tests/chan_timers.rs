//! Timer channels with select: `recv(after(d))` as a timeout arm; tickers drop the
//! ticks a slow receiver does not take; dropping a timer channel's receiver frees its
//! timer at once (`metrics().timers` back to 0). Timing assertions are one-sided
//! ("not early") or generous.

mod support;

use gort::chan::bounded;
use gort::time::{after, sleep, tick, Instant, Ticker};
use std::time::Duration;
use support::{eventually, Watchdog};

fn rt(procs: usize) -> gort::Runtime {
    gort::Runtime::builder().procs(procs).build().unwrap()
}

#[test]
fn chan_select_after_timeout_arm() {
    let _wd = Watchdog::new("chan_select_after_timeout_arm", Duration::from_secs(30));
    let rt = rt(2);
    rt.block_on(async {
        let (_tx, rx) = bounded::<u32>(0);
        let d = Duration::from_millis(20);
        let start = Instant::now();
        let timed_out = gort::select! {
            recv(rx) -> _ => false,
            recv(after(d)) -> t => {
                assert!(t.unwrap() >= start + d, "after() sent an early instant");
                true
            }
        };
        assert!(timed_out);
        assert!(start.elapsed() >= d, "the timeout arm fired early");
    });
}

/// A ready channel wins over a far timeout; the timeout's timer is freed with the
/// select (the temporary receiver is dropped at its end).
#[test]
fn chan_select_ready_beats_after_and_frees_timer() {
    let _wd = Watchdog::new(
        "chan_select_ready_beats_after_and_frees_timer",
        Duration::from_secs(30),
    );
    let rt = rt(2);
    rt.block_on(async {
        let (tx, rx) = bounded::<u32>(1);
        for i in 0..1_000 {
            tx.send(i).await.unwrap();
            let v = gort::select! {
                recv(rx) -> v => v.unwrap(),
                recv(after(Duration::from_secs(3600))) -> _ => unreachable!(),
            };
            assert_eq!(v, i);
        }
    });
    assert!(
        eventually(Duration::from_secs(5), || rt.metrics().timers == 0),
        "timers left: {}",
        rt.metrics().timers
    );
}

/// A receive loop with a timeout arm: values while a goroutine sends, then the
/// timeout ends the loop.
#[test]
fn chan_recv_loop_with_timeout() {
    let _wd = Watchdog::new("chan_recv_loop_with_timeout", Duration::from_secs(30));
    let rt = rt(2);
    let got = rt.block_on(async {
        let (tx, rx) = bounded::<u32>(0);
        let h = gort::go(async move {
            for i in 0..5 {
                tx.send(i).await.unwrap();
                sleep(Duration::from_millis(1)).await;
            }
            // Keep the channel open (no close): only the timeout can end the loop.
            sleep(Duration::from_millis(200)).await;
            drop(tx);
        });
        let mut got = Vec::new();
        loop {
            gort::select! {
                recv(rx) -> v => got.push(v.expect("open")),
                recv(after(Duration::from_millis(50))) -> _ => break,
            }
        }
        h.await.unwrap();
        got
    });
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
}

#[test]
fn chan_after_sends_once_not_early() {
    let _wd = Watchdog::new("chan_after_sends_once_not_early", Duration::from_secs(30));
    let rt = rt(1);
    rt.block_on(async {
        for ms in [0u64, 1, 3, 10] {
            let d = Duration::from_millis(ms);
            let start = Instant::now();
            let rx = after(d);
            let t = rx.recv().await.expect("after sends");
            assert!(t >= start + d && start.elapsed() >= d, "after({d:?}) early");
            // Only one value: a second receive waits (the channel stays open, as Go's).
            let second = gort::select! {
                recv(rx) -> _ => true,
                recv(after(Duration::from_millis(20))) -> _ => false,
            };
            assert!(!second, "after() sent twice");
        }
    });
}

/// A 5 ms ticker and a receiver that sleeps 50 ms: the ticks it missed were dropped,
/// not queued (the channel holds one), and the next ones come at the period again.
#[test]
fn chan_ticker_drops_ticks_for_slow_receiver() {
    let _wd = Watchdog::new(
        "chan_ticker_drops_ticks_for_slow_receiver",
        Duration::from_secs(30),
    );
    let rt = rt(2);
    rt.block_on(async {
        let ticker = Ticker::new(Duration::from_millis(5));
        let rx = ticker.chan();
        assert_eq!(rx.capacity(), Some(1));
        sleep(Duration::from_millis(50)).await;
        assert!(rx.len() <= 1);
        // Drain what is there now: one buffered tick (a new one may land meanwhile
        // only if this task is descheduled for a whole period; allow a couple).
        let mut now = 0;
        while rx.try_recv().is_ok() {
            now += 1;
        }
        assert!(now >= 1, "no tick buffered after 50 ms of a 5 ms ticker");
        assert!(
            now <= 3,
            "{now} ticks were queued: missed ticks must be dropped"
        );
        // And ticking goes on.
        rx.recv().await.unwrap();
        ticker.stop();
    });
}

#[test]
fn chan_tick_ticks_not_early() {
    let _wd = Watchdog::new("chan_tick_ticks_not_early", Duration::from_secs(30));
    let rt = rt(2);
    rt.block_on(async {
        let start = Instant::now();
        let rx = tick(Duration::from_millis(3));
        for k in 1..=5u32 {
            let t = rx.recv().await.unwrap();
            assert!(t >= start + Duration::from_millis(3) * k, "tick {k} early");
        }
    });
}

/// A stopped ticker sends nothing more.
#[test]
fn chan_ticker_stop() {
    let _wd = Watchdog::new("chan_ticker_stop", Duration::from_secs(30));
    let rt = rt(2);
    rt.block_on(async {
        let ticker = Ticker::new(Duration::from_millis(2));
        ticker.chan().recv().await.unwrap();
        ticker.stop();
        while ticker.chan().try_recv().is_ok() {}
        let ticked = gort::select! {
            recv(ticker.chan()) -> _ => true,
            recv(after(Duration::from_millis(30))) -> _ => false,
        };
        assert!(!ticked, "a stopped ticker ticked");
        assert!(!ticker.chan().is_closed(), "stop closes nothing (as Go)");
    });
    assert!(eventually(Duration::from_secs(5), || rt.metrics().timers == 0));
}

/// Dropping the receiver of `after`, `tick` or a `Ticker` frees its timer at once.
#[test]
fn chan_dropping_timer_receivers_frees_timers() {
    let _wd = Watchdog::new(
        "chan_dropping_timer_receivers_frees_timers",
        Duration::from_secs(30),
    );
    let rt = rt(2);
    rt.block_on(async {
        assert_eq!(rt.metrics().timers, 0);
        let afters: Vec<_> = (0..1_000)
            .map(|_| after(Duration::from_secs(3600)))
            .collect();
        assert_eq!(rt.metrics().timers, 1_000);
        drop(afters);
        assert_eq!(
            rt.metrics().timers,
            0,
            "dropped after() receivers kept their timers"
        );
        let ticks: Vec<_> = (0..500).map(|_| tick(Duration::from_secs(3600))).collect();
        let tickers: Vec<_> = (0..500)
            .map(|_| Ticker::new(Duration::from_secs(3600)))
            .collect();
        assert_eq!(rt.metrics().timers, 1_000);
        drop(ticks);
        drop(tickers);
        assert_eq!(rt.metrics().timers, 0, "dropped tickers kept their timers");
        // A clone keeps the timer alive until the last receiver goes.
        let rx = after(Duration::from_secs(3600));
        let rx2 = rx.clone();
        drop(rx);
        assert_eq!(rt.metrics().timers, 1);
        drop(rx2);
        assert_eq!(rt.metrics().timers, 0);
        // Churn: no growth.
        for _ in 0..10_000 {
            drop(after(Duration::from_millis(1 + fastrand_ms())));
        }
        assert_eq!(rt.metrics().timers, 0);
    });
}

fn fastrand_ms() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    static X: AtomicU64 = AtomicU64::new(12345);
    let x = X.fetch_add(0x9E37_79B9, Relaxed);
    x % 1000
}

/// A fired `after` whose value nobody took: dropping the receiver leaves no timer
/// either (and a ticker's re-armed timer goes with its receiver).
#[test]
fn chan_dropping_fired_timers() {
    let _wd = Watchdog::new("chan_dropping_fired_timers", Duration::from_secs(30));
    let rt = rt(2);
    rt.block_on(async {
        let rx = after(Duration::from_millis(1));
        let t = tick(Duration::from_millis(1));
        sleep(Duration::from_millis(20)).await;
        assert_eq!(rx.len(), 1);
        assert_eq!(t.len(), 1);
        drop(rx);
        drop(t);
    });
    assert!(
        eventually(Duration::from_secs(5), || rt.metrics().timers == 0),
        "timers left: {}",
        rt.metrics().timers
    );
}

/// `stop()` racing with the ticker's own firing: once `stop` has returned, a ticker
/// ticks at most once more (a fire already in flight) and its timer leaves the wheel
/// for good. 200 tickers at a 1 ms period (they fire together, in batches), stopped
/// at varying moments; afterwards none may still tick and no timer may remain.
#[test]
fn chan_ticker_stop_while_firing() {
    let _wd = Watchdog::new("chan_ticker_stop_while_firing", Duration::from_secs(60));
    let rt = rt(2);
    let mut bad = Vec::new();
    let batches = 60;
    for b in 0..batches {
        rt.block_on(async {
            let tickers: Vec<_> = (0..200)
                .map(|_| Ticker::new(Duration::from_millis(1)))
                .collect();
            sleep(Duration::from_micros(2_000 + (b * 137) % 1_000)).await;
            for t in &tickers {
                t.stop();
            }
            // A fire in flight at `stop` lands well within this; drain it.
            sleep(Duration::from_millis(5)).await;
            for t in &tickers {
                while t.chan().try_recv().is_ok() {}
            }
            // Twenty periods later, a stopped ticker has sent nothing more.
            sleep(Duration::from_millis(20)).await;
            let ticking = tickers.iter().filter(|t| !t.chan().is_empty()).count();
            let armed = rt.metrics().timers;
            if ticking != 0 || armed != 0 {
                bad.push(format!(
                    "batch {b}: {ticking} stopped tickers still tick, {armed} timers armed"
                ));
            }
            drop(tickers);
        });
    }
    assert!(
        bad.is_empty(),
        "{} of {batches} batches: {}",
        bad.len(),
        bad.join("; ")
    );
}
