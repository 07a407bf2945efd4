//! `select!` under the gort runtime: bodies use `break`/`continue`/`return`/`?`/
//! `.await` (including runtime timers), the dynamic `Select` awaited in a runtime,
//! and Go's doubleselect and sieve with goroutines.
//!
//! `select!` inside `gort::go` needs its future to be `Send` (channels/tests/compile.rs
//! checks that; `chan_select_in_goroutines` runs it).

mod support;

use gort::chan::{bounded, unbounded, Receiver, Select};
use gort::time::{after, sleep};
use std::time::Duration;
use support::Watchdog;

fn rt(procs: usize) -> gort::Runtime {
    gort::Runtime::builder().procs(procs).build().unwrap()
}

async fn first_even(rx: &Receiver<u32>) -> Result<u32, &'static str> {
    loop {
        let v = gort::select! {
            recv(rx) -> v => v.ok_or("closed")?,
            recv(after(Duration::from_secs(10))) -> _ => return Err("timeout"),
        };
        if v % 2 == 1 {
            continue;
        }
        return Ok(v);
    }
}

#[test]
fn chan_select_bodies_control_flow() {
    let _wd = Watchdog::new("chan_select_bodies_control_flow", Duration::from_secs(30));
    let rt = rt(2);
    rt.block_on(async {
        let (tx, rx) = unbounded::<u32>();
        for v in [1, 3, 4, 5] {
            tx.send(v).await.unwrap();
        }
        assert_eq!(first_even(&rx).await, Ok(4));
        drop(tx);
        // 5 is odd (continue), then the channel is closed and drained (`?`).
        assert_eq!(first_even(&rx).await, Err("closed"));
        // .await on a runtime timer inside a body, and break with a value.
        let (tx, rx) = bounded::<u32>(1);
        tx.send(9).await.unwrap();
        let v = loop {
            gort::select! {
                recv(rx) -> v => {
                    sleep(Duration::from_millis(1)).await;
                    break v.unwrap() + 1;
                }
                default => {}
            }
        };
        assert_eq!(v, 10);
    });
}

#[test]
fn chan_dynamic_select_in_runtime() {
    let _wd = Watchdog::new("chan_dynamic_select_in_runtime", Duration::from_secs(30));
    let rt = rt(2);
    rt.block_on(async {
        let chans: Vec<_> = (0..4).map(|_| bounded::<usize>(0)).collect();
        for (i, (tx, _)) in chans.iter().enumerate() {
            let tx = tx.clone();
            drop(gort::go(async move {
                for k in 0..100 {
                    tx.send(i * 1000 + k).await.unwrap();
                }
            }));
        }
        let mut counts = [0usize; 4];
        for _ in 0..400 {
            let mut sel = Select::new();
            for (_, rx) in &chans {
                sel.recv(rx);
            }
            let op = sel.select().await;
            let i = op.index();
            let v = op.recv(&chans[i].1).unwrap();
            assert_eq!(v / 1000, i);
            assert_eq!(v % 1000, counts[i]);
            counts[i] += 1;
        }
        assert_eq!(counts, [100; 4]);
    });
}

/// test/chan/doubleselect.go on the runtime: one select sends over four channels,
/// four goroutines forward onto one; every value arrives exactly once.
#[test]
fn chan_doubleselect_goroutines() {
    let _wd = Watchdog::new("chan_doubleselect_goroutines", Duration::from_secs(60));
    let rt = rt(4);
    let n = 10_000usize;
    let seen = rt.block_on(async move {
        let chans: Vec<_> = (0..4).map(|_| bounded::<usize>(0)).collect();
        let (mux_tx, mux_rx) = bounded::<usize>(0);
        for (_, rx) in &chans {
            let (rx, out) = (rx.clone(), mux_tx.clone());
            drop(gort::go(async move {
                while let Some(v) = rx.recv().await {
                    out.send(v).await.unwrap();
                }
            }));
        }
        drop(mux_tx);
        let recver = gort::go(async move {
            let mut seen = vec![false; n];
            while let Some(v) = mux_rx.recv().await {
                assert!(!seen[v], "got duplicate value: {v}");
                seen[v] = true;
            }
            seen
        });
        let txs: Vec<_> = chans.into_iter().map(|(tx, _)| tx).collect();
        for i in 0..n {
            gort::select! {
                send(txs[0], i) -> r => r.unwrap(),
                send(txs[1], i) -> r => r.unwrap(),
                send(txs[2], i) -> r => r.unwrap(),
                send(txs[3], i) -> r => r.unwrap(),
            }
        }
        drop(txs);
        recver.await.unwrap()
    });
    assert!(seen.iter().all(|&s| s), "a value was lost");
}

/// test/chan/sieve1.go with goroutines: the first 100 primes; dropping the last
/// receiver shuts the chain down.
#[test]
fn chan_sieve_goroutines() {
    let _wd = Watchdog::new("chan_sieve_goroutines", Duration::from_secs(60));
    let rt = rt(2);
    let primes = rt.block_on(async {
        let (tx, mut ch) = bounded::<u64>(0);
        let mut hs = vec![gort::go(async move {
            let mut i = 2;
            while tx.send(i).await.is_ok() {
                i += 1;
            }
        })];
        let mut primes = Vec::new();
        for _ in 0..100 {
            let prime = ch.recv().await.unwrap();
            primes.push(prime);
            let (tx1, rx1) = bounded::<u64>(0);
            let inp = std::mem::replace(&mut ch, rx1);
            hs.push(gort::go(async move {
                while let Some(i) = inp.recv().await {
                    if i % prime != 0 && tx1.send(i).await.is_err() {
                        return;
                    }
                }
            }));
        }
        drop(ch);
        for h in hs {
            h.await.unwrap();
        }
        primes
    });
    assert_eq!(primes.len(), 100);
    assert_eq!(primes[..10], [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    assert_eq!(primes[99], 541);
}

/// An aborted goroutine blocked in a receive loses nothing: the value it would have
/// got goes to another receiver (the task's future, with its pending recv, is dropped).
#[test]
fn chan_aborted_receiver_loses_nothing() {
    let _wd = Watchdog::new(
        "chan_aborted_receiver_loses_nothing",
        Duration::from_secs(30),
    );
    let rt = rt(2);
    rt.block_on(async {
        for _ in 0..200 {
            let (tx, rx) = bounded::<u32>(0);
            let rx2 = rx.clone();
            let h = gort::go(async move { rx2.recv().await });
            gort::yield_now().await;
            let sender = gort::go(async move { tx.send(5).await });
            h.abort();
            match h.await {
                Ok(v) => assert_eq!(v, Some(5)),
                Err(_) => assert_eq!(
                    rx.recv().await,
                    Some(5),
                    "the aborted receiver lost the value"
                ),
            }
            sender.await.unwrap().unwrap();
        }
    });
}

/// `select!` and the dynamic `Select` inside goroutines (their futures are `Send`):
/// fan-in from two channels by several goroutines, every value once.
#[test]
fn chan_select_in_goroutines() {
    let _wd = Watchdog::new("chan_select_in_goroutines", Duration::from_secs(60));
    let rt = rt(4);
    let n = 5_000usize;
    let mut all = rt.block_on(async move {
        let (atx, arx) = bounded::<usize>(0);
        let (btx, brx) = unbounded::<usize>();
        let senders = [
            gort::go(async move {
                for i in 0..n {
                    atx.send(i).await.unwrap();
                }
            }),
            gort::go(async move {
                for i in n..2 * n {
                    btx.send(i).await.unwrap();
                }
            }),
        ];
        let receivers: Vec<_> = (0..4)
            .map(|k| {
                let (arx, brx) = (arx.clone(), brx.clone());
                gort::go(async move {
                    let nil = gort::chan::never::<usize>();
                    let (mut a_open, mut b_open) = (true, true);
                    let mut got = Vec::new();
                    while a_open || b_open {
                        let (a, b) = (if a_open { &arx } else { &nil }, if b_open { &brx } else { &nil });
                        if k % 2 == 0 {
                            gort::select! {
                                recv(a) -> v => match v { Some(v) => got.push(v), None => a_open = false },
                                recv(b) -> v => match v { Some(v) => got.push(v), None => b_open = false },
                            }
                        } else {
                            let mut sel = Select::new();
                            let ia = sel.recv(a);
                            let _ib = sel.recv(b);
                            let op = sel.select().await;
                            if op.index() == ia {
                                match op.recv(a) { Some(v) => got.push(v), None => a_open = false }
                            } else {
                                match op.recv(b) { Some(v) => got.push(v), None => b_open = false }
                            }
                        }
                    }
                    got
                })
            })
            .collect();
        drop((arx, brx));
        for s in senders {
            s.await.unwrap();
        }
        let mut all = Vec::new();
        for r in receivers {
            all.extend(r.await.unwrap());
        }
        all
    });
    all.sort_unstable();
    assert_eq!(all, (0..2 * n).collect::<Vec<_>>());
}
