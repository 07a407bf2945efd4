//! Channels under the gort runtime: two goroutines ping-pong over unbuffered channels
//! (every exchange is a park and a wake-up through the scheduler), on one P and on
//! several; and Go's chain of 10,000 goroutines (test/chan/goroutines.go).

mod support;

use gort::chan::{bounded, unbounded};
use std::time::Duration;
use support::Watchdog;

fn rt(procs: usize) -> gort::Runtime {
    gort::Runtime::builder().procs(procs).build().unwrap()
}

fn ping_pong(procs: usize, rounds: u32) {
    let rt = rt(procs);
    rt.block_on(async move {
        let (ping_tx, ping_rx) = bounded::<u32>(0);
        let (pong_tx, pong_rx) = bounded::<u32>(0);
        let ponger = gort::go(async move {
            let mut n = 0;
            while let Some(v) = ping_rx.recv().await {
                pong_tx.send(v + 1).await.unwrap();
                n += 1;
            }
            n
        });
        let pinger = gort::go(async move {
            for i in 0..rounds {
                ping_tx.send(i).await.unwrap();
                assert_eq!(pong_rx.recv().await, Some(i + 1));
            }
            // ping_tx dropped: the ponger's loop ends.
        });
        pinger.await.unwrap();
        assert_eq!(ponger.await.unwrap(), rounds);
    });
}

#[test]
fn chan_pingpong_10000_one_proc() {
    let _wd = Watchdog::new("chan_pingpong_10000_one_proc", Duration::from_secs(60));
    ping_pong(1, 10_000);
}

#[test]
fn chan_pingpong_10000_two_procs() {
    let _wd = Watchdog::new("chan_pingpong_10000_two_procs", Duration::from_secs(60));
    ping_pong(2, 10_000);
}

#[test]
fn chan_pingpong_10000_four_procs() {
    let _wd = Watchdog::new("chan_pingpong_10000_four_procs", Duration::from_secs(60));
    ping_pong(4, 10_000);
}

/// The main future (in `block_on`, on a non-runtime thread) against a goroutine.
#[test]
fn chan_pingpong_with_block_on() {
    let _wd = Watchdog::new("chan_pingpong_with_block_on", Duration::from_secs(60));
    let rt = rt(2);
    rt.block_on(async {
        let (ping_tx, ping_rx) = bounded::<u32>(0);
        let (pong_tx, pong_rx) = bounded::<u32>(0);
        let h = gort::go(async move {
            while let Some(v) = ping_rx.recv().await {
                pong_tx.send(v * 2).await.unwrap();
            }
        });
        for i in 0..10_000 {
            ping_tx.send(i).await.unwrap();
            assert_eq!(pong_rx.recv().await, Some(i * 2));
        }
        drop(ping_tx);
        h.await.unwrap();
    });
}

/// test/chan/goroutines.go: a chain of 10,000 goroutines passes one value along.
#[test]
fn chan_goroutine_chain_10000() {
    let _wd = Watchdog::new("chan_goroutine_chain_10000", Duration::from_secs(60));
    for procs in [1, 4] {
        let rt = rt(procs);
        rt.block_on(async {
            let (leftmost_tx, leftmost) = bounded::<i32>(0);
            let mut left = leftmost_tx;
            for _ in 0..10_000 {
                let (right_tx, right) = bounded::<i32>(0);
                let l = std::mem::replace(&mut left, right_tx);
                drop(gort::go(async move {
                    let v = right.recv().await.unwrap();
                    l.send(v + 1).await.unwrap();
                }));
            }
            let right = left;
            drop(gort::go(async move { right.send(1).await.unwrap() }));
            assert_eq!(leftmost.recv().await, Some(10_001));
        });
    }
}

/// Many producers and consumers as goroutines on an unbounded and a bounded channel:
/// every value arrives once.
#[test]
fn chan_mpmc_goroutines() {
    let _wd = Watchdog::new("chan_mpmc_goroutines", Duration::from_secs(60));
    let rt = rt(4);
    for cap in [None, Some(0), Some(8)] {
        let total = rt.block_on(async move {
            let (tx, rx) = match cap {
                Some(c) => bounded::<u64>(c),
                None => unbounded::<u64>(),
            };
            let producers: Vec<_> = (0..8u64)
                .map(|p| {
                    let tx = tx.clone();
                    gort::go(async move {
                        for i in 0..5_000u64 {
                            tx.send(p * 5_000 + i).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let consumers: Vec<_> = (0..8)
                .map(|_| {
                    let rx = rx.clone();
                    gort::go(async move {
                        let (mut n, mut s) = (0u64, 0u64);
                        while let Some(v) = rx.recv().await {
                            n += 1;
                            s += v;
                        }
                        (n, s)
                    })
                })
                .collect();
            for p in producers {
                p.await.unwrap();
            }
            let (mut n, mut s) = (0, 0);
            for c in consumers {
                let (a, b) = c.await.unwrap();
                n += a;
                s += b;
            }
            (n, s)
        });
        let n = 40_000u64;
        assert_eq!(total, (n, n * (n - 1) / 2), "cap {cap:?}");
    }
}
