//! Go's channel and select tests, ported by meaning (not line by line): one `mod` per
//! Go file, each naming the file it comes from. Goroutines are OS threads (blocking
//! operations) or futures on the tests' small `Pool` executor / `block_on`; Go's nil
//! channel is `never()` for receives, and for sends a channel whose receiver is kept
//! alive but never receives (`dead()`): a send on it is never ready, as on nil.
//!
//! "Blocks" is checked one-sidedly: the operation has not completed after a while
//! (for correct code that holds however slow the machine); "does not block" gets a
//! generous limit.

mod support;

#[path = "support/alloc.rs"]
mod alloc;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

use gort_channels::{Receiver, Sender};

/// A send target that is never ready (Go's nil channel in a send case).
#[allow(dead_code)]
fn dead<T>() -> (Sender<T>, Receiver<T>) {
    gort_channels::bounded(0)
}

// https://github.com/golang/go/blob/master/src/runtime/chan_test.go
mod chan_test {
    use super::dead;
    use crate::support::{block_on, finishes_within, poll_once, scaled, Ledger, Watchdog};
    use gort_channels::{bounded, never, select, unbounded, TryRecvError, TrySendError};
    use std::collections::HashMap;
    use std::pin::pin;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Barrier};
    use std::thread;
    use std::time::Duration;

    const BLOCK_CHECK: Duration = Duration::from_millis(5);
    const LIMIT: Duration = Duration::from_secs(20);

    /// TestChan: for a range of capacities, the basic behaviours.
    #[test]
    fn chan() {
        let _wd = Watchdog::new("chan_test::chan", Duration::from_secs(60));
        let caps: Vec<usize> = (0..12).chain([50, 100, 199]).collect();
        for &cap in &caps {
            // A receive from an empty channel blocks (two receivers), until sends come.
            {
                let (tx, rx) = bounded::<usize>(cap);
                let recv1 = Arc::new(AtomicBool::new(false));
                let recv2 = Arc::new(AtomicBool::new(false));
                let h1 = {
                    let (rx, f) = (rx.clone(), recv1.clone());
                    thread::spawn(move || {
                        rx.recv_blocking().unwrap();
                        f.store(true, SeqCst);
                    })
                };
                let h2 = {
                    let (rx, f) = (rx.clone(), recv2.clone());
                    thread::spawn(move || {
                        block_on(rx.recv()).unwrap();
                        f.store(true, SeqCst);
                    })
                };
                thread::sleep(BLOCK_CHECK);
                assert!(
                    !recv1.load(SeqCst) && !recv2.load(SeqCst),
                    "cap {cap}: recv from empty chan"
                );
                tx.send_blocking(0).unwrap();
                tx.send_blocking(0).unwrap();
                h1.join().unwrap();
                h2.join().unwrap();
            }
            // A non-blocking receive from an empty channel does not receive.
            {
                let (_tx, rx) = bounded::<usize>(cap);
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "cap {cap}");
                let got = block_on(async {
                    select! { recv(rx) -> v => v, default => None }
                });
                assert!(got.is_none(), "cap {cap}: select recv from empty chan");
            }
            // A send to a full channel blocks (two senders), until receives come.
            {
                let (tx, rx) = bounded::<usize>(cap);
                for i in 0..cap {
                    tx.send_blocking(i).unwrap();
                }
                let sent1 = Arc::new(AtomicBool::new(false));
                let sent2 = Arc::new(AtomicBool::new(false));
                let h1 = {
                    let (tx, f) = (tx.clone(), sent1.clone());
                    thread::spawn(move || {
                        tx.send_blocking(0).unwrap();
                        f.store(true, SeqCst);
                    })
                };
                let h2 = {
                    let (tx, f) = (tx.clone(), sent2.clone());
                    thread::spawn(move || {
                        block_on(tx.send(0)).unwrap();
                        f.store(true, SeqCst);
                    })
                };
                thread::sleep(BLOCK_CHECK);
                assert!(
                    !sent1.load(SeqCst) && !sent2.load(SeqCst),
                    "cap {cap}: send to full chan"
                );
                rx.recv_blocking().unwrap();
                rx.recv_blocking().unwrap();
                h1.join().unwrap();
                h2.join().unwrap();
            }
            // A non-blocking send to a full channel does not send.
            {
                let (tx, rx) = bounded::<usize>(cap);
                for i in 0..cap {
                    tx.send_blocking(i).unwrap();
                }
                assert!(
                    matches!(tx.try_send(7), Err(TrySendError::Full(7))),
                    "cap {cap}"
                );
                let sent = block_on(async {
                    select! { send(tx, 7) -> _ => true, default => false }
                });
                assert!(!sent, "cap {cap}: select send to full chan");
                assert_eq!(rx.len(), cap);
            }
            // Receiving from a closed channel: the buffer first, in order, then None.
            {
                let (tx, rx) = bounded::<usize>(cap);
                for i in 0..cap {
                    tx.send_blocking(i).unwrap();
                }
                tx.close();
                for i in 0..cap {
                    assert_eq!(rx.recv_blocking(), Some(i), "cap {cap}");
                }
                assert_eq!(rx.recv_blocking(), None);
                assert_eq!(rx.recv_blocking(), None);
                assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
            }
            // Close unblocks every blocked receiver.
            {
                let (tx, rx) = bounded::<usize>(cap);
                let done = Arc::new(AtomicUsize::new(0));
                let hs: Vec<_> = (0..4)
                    .map(|_| {
                        let (rx, done) = (rx.clone(), done.clone());
                        thread::spawn(move || {
                            assert_eq!(rx.recv_blocking(), None);
                            done.fetch_add(1, SeqCst);
                        })
                    })
                    .collect();
                thread::sleep(BLOCK_CHECK);
                assert_eq!(done.load(SeqCst), 0);
                tx.close();
                for h in hs {
                    h.join().unwrap();
                }
            }
            // 100 values through a blocked sender arrive uncorrupted, in FIFO order.
            {
                let (tx, rx) = bounded::<usize>(cap);
                let h = thread::spawn(move || {
                    for i in 0..100 {
                        tx.send_blocking(i).unwrap();
                    }
                });
                for i in 0..100 {
                    assert_eq!(rx.recv_blocking(), Some(i), "cap {cap}");
                }
                h.join().unwrap();
            }
            // 4 senders and 4 receivers: every value arrives as often as it was sent.
            if cap <= 11 || cap == 100 {
                const P: usize = 4;
                const L: usize = 1000;
                let (tx, rx) = bounded::<usize>(cap);
                let senders: Vec<_> = (0..P)
                    .map(|_| {
                        let tx = tx.clone();
                        thread::spawn(move || {
                            for i in 0..L {
                                tx.send_blocking(i).unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let receivers: Vec<_> = (0..P)
                    .map(|_| {
                        let rx = rx.clone();
                        thread::spawn(move || {
                            let mut m = HashMap::new();
                            for v in rx.iter() {
                                *m.entry(v).or_insert(0usize) += 1;
                            }
                            m
                        })
                    })
                    .collect();
                for s in senders {
                    s.join().unwrap();
                }
                let mut total = HashMap::new();
                for r in receivers {
                    for (k, n) in r.join().unwrap() {
                        *total.entry(k).or_insert(0usize) += n;
                    }
                }
                assert_eq!(total.len(), L, "cap {cap}");
                assert!(
                    total.values().all(|&n| n == P),
                    "cap {cap}: a value lost or duplicated"
                );
            }
            // len and cap.
            {
                let (tx, rx) = bounded::<usize>(cap);
                assert_eq!((tx.len(), rx.len()), (0, 0));
                assert_eq!((tx.capacity(), rx.capacity()), (Some(cap), Some(cap)));
                for i in 0..cap {
                    tx.send_blocking(i).unwrap();
                    assert_eq!(rx.len(), i + 1);
                }
                assert_eq!((tx.len(), rx.len()), (cap, cap));
                assert_eq!((tx.capacity(), rx.capacity()), (Some(cap), Some(cap)));
            }
        }
    }

    /// TestNonblockRecvRace: a channel with a value, closed while another goroutine
    /// looks at it with a non-blocking receive: the receive is never "not ready" (it
    /// finds the value, or the close).
    #[test]
    fn nonblock_recv_race() {
        let n = scaled(4000, 300);
        for i in 0..n {
            let (tx, rx) = bounded::<i32>(1);
            tx.send_blocking(1).unwrap();
            let rx2 = rx.clone();
            let h = thread::spawn(move || {
                if i % 2 == 0 {
                    let ready = block_on(async {
                        select! { recv(rx2) -> _ => true, default => false }
                    });
                    assert!(ready, "iteration {i}: chan is not ready (select)");
                } else {
                    assert_ne!(
                        rx2.try_recv(),
                        Err(TryRecvError::Empty),
                        "iteration {i}: try_recv"
                    );
                }
            });
            tx.close();
            let _ = rx.recv_blocking();
            h.join().unwrap();
        }
    }

    /// TestNonblockSelectRace: c1 holds a value; meanwhile c2 gets one and only then
    /// c1's is taken: at every instant one of them is ready, so a select with default
    /// over both never takes default.
    #[test]
    fn nonblock_select_race() {
        let n = scaled(4000, 300);
        for i in 0..n {
            let (tx1, rx1) = bounded::<i32>(1);
            let (tx2, rx2) = bounded::<i32>(1);
            tx1.send_blocking(1).unwrap();
            let (r1, r2) = (rx1.clone(), rx2.clone());
            let h = thread::spawn(move || {
                block_on(async {
                    select! {
                        recv(r1) -> _ => true,
                        recv(r2) -> _ => true,
                        default => false,
                    }
                })
            });
            tx2.send_blocking(1).unwrap();
            block_on(async {
                select! { recv(rx1) -> _ => {} default => {} }
            });
            assert!(h.join().unwrap(), "iteration {i}: no chan is ready");
        }
    }

    /// TestNonblockSelectRace2: the same, with c2 closed instead of sent to.
    #[test]
    fn nonblock_select_race2() {
        let n = scaled(4000, 300);
        for i in 0..n {
            let (tx1, rx1) = bounded::<i32>(1);
            let (tx2, rx2) = bounded::<i32>(1);
            tx1.send_blocking(1).unwrap();
            let (r1, r2) = (rx1.clone(), rx2.clone());
            let h = thread::spawn(move || {
                block_on(async {
                    select! {
                        recv(r1) -> _ => true,
                        recv(r2) -> _ => true,
                        default => false,
                    }
                })
            });
            tx2.close();
            block_on(async {
                select! { recv(rx1) -> _ => {} default => {} }
            });
            assert!(h.join().unwrap(), "iteration {i}: no chan is ready");
        }
    }

    /// TestSelfSelect: selects that send and receive on the same channel, from two
    /// goroutines, neither deadlock nor (unbuffered) receive their own value.
    #[test]
    fn self_select() {
        let _wd = Watchdog::new("chan_test::self_select", Duration::from_secs(60));
        for cap in [0usize, 10] {
            let (tx, rx) = bounded::<usize>(cap);
            let barrier = Arc::new(Barrier::new(2));
            let hs: Vec<_> = (0..2usize)
                .map(|p| {
                    let (tx, rx, barrier) = (tx.clone(), rx.clone(), barrier.clone());
                    thread::spawn(move || {
                        barrier.wait();
                        block_on(async {
                            for i in 0..1000 {
                                let got = if p == 0 || i % 2 == 0 {
                                    select! {
                                        send(tx, p) -> r => { r.unwrap(); None }
                                        recv(rx) -> v => v,
                                    }
                                } else {
                                    select! {
                                        recv(rx) -> v => v,
                                        send(tx, p) -> r => { r.unwrap(); None }
                                    }
                                };
                                if cap == 0 {
                                    assert_ne!(got, Some(p), "self receive (cap 0, p {p}, i {i})");
                                }
                            }
                        })
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        }
    }

    /// The same with the dynamic `Select` (blocking), and three goroutines.
    #[test]
    fn self_select_dynamic() {
        let _wd = Watchdog::new("chan_test::self_select_dynamic", Duration::from_secs(60));
        for cap in [0usize, 10] {
            let (tx, rx) = bounded::<usize>(cap);
            // With cap 0 every completion pairs the two goroutines' selects, so they
            // advance in step and both finish; with cap 10 a select is always ready.
            let done = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..2usize)
                .map(|p| {
                    let (tx, rx, done) = (tx.clone(), rx.clone(), done.clone());
                    thread::spawn(move || {
                        for i in 0..1000 {
                            let mut sel = gort_channels::Select::new();
                            let (s, r) = if i % 2 == 0 {
                                let s = sel.send(&tx);
                                (s, sel.recv(&rx))
                            } else {
                                let r = sel.recv(&rx);
                                (sel.send(&tx), r)
                            };
                            let op = sel.select_blocking();
                            if op.index() == s {
                                op.send(&tx, p).unwrap();
                            } else {
                                assert_eq!(op.index(), r);
                                let v = op.recv(&rx);
                                if cap == 0 {
                                    assert_ne!(v, Some(p), "self receive (p {p}, i {i})");
                                }
                            }
                        }
                        done.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(done.load(SeqCst), 2);
        }
    }

    /// TestSelectStress: plain senders and receivers on four channels (two unbuffered,
    /// two buffered) plus one goroutine that sends on all four in one select and one
    /// that receives on all four in one select, disabling a case (nil) once it has
    /// done its share. It must not deadlock.
    #[test]
    fn select_stress() {
        let _wd = Watchdog::new("chan_test::select_stress", Duration::from_secs(60));
        let n = scaled(20_000, 1_000);
        let chans: Vec<_> = [0usize, 0, 2, 3]
            .iter()
            .map(|&c| bounded::<i32>(c))
            .collect();
        let mut hs = Vec::new();
        for (tx, rx) in &chans {
            let tx = tx.clone();
            hs.push(thread::spawn(move || {
                for _ in 0..n {
                    tx.send_blocking(0).unwrap();
                }
            }));
            let rx = rx.clone();
            hs.push(thread::spawn(move || {
                for _ in 0..n {
                    rx.recv_blocking().unwrap();
                }
            }));
        }
        let txs: Vec<_> = chans.iter().map(|(t, _)| t.clone()).collect();
        hs.push(thread::spawn(move || {
            let (nil, _keep) = dead::<i32>();
            let mut cnt = [0usize; 4];
            block_on(async {
                for _ in 0..4 * n {
                    let c: Vec<_> = (0..4)
                        .map(|k| if cnt[k] < n { &txs[k] } else { &nil })
                        .collect();
                    let k = select! {
                        send(c[3], 0) -> r => { r.unwrap(); 3 }
                        send(c[2], 0) -> r => { r.unwrap(); 2 }
                        send(c[0], 0) -> r => { r.unwrap(); 0 }
                        send(c[1], 0) -> r => { r.unwrap(); 1 }
                    };
                    cnt[k] += 1;
                }
            });
            assert_eq!(cnt, [n; 4]);
        }));
        let rxs: Vec<_> = chans.iter().map(|(_, r)| r.clone()).collect();
        hs.push(thread::spawn(move || {
            let nil = never::<i32>();
            let mut cnt = [0usize; 4];
            block_on(async {
                for _ in 0..4 * n {
                    let c: Vec<_> = (0..4)
                        .map(|k| if cnt[k] < n { &rxs[k] } else { &nil })
                        .collect();
                    let k = select! {
                        recv(c[0]) -> v => { v.unwrap(); 0 }
                        recv(c[3]) -> v => { v.unwrap(); 3 }
                        recv(c[2]) -> v => { v.unwrap(); 2 }
                        recv(c[1]) -> v => { v.unwrap(); 1 }
                    };
                    cnt[k] += 1;
                }
            });
            assert_eq!(cnt, [n; 4]);
        }));
        for h in hs {
            h.join().unwrap();
        }
        for (_, rx) in &chans {
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        }
    }

    /// TestSelectFairness: two channels always ready (and two never): over 10,000
    /// selects each ready one is chosen about half the time. The bound is a binomial
    /// tail of ~1e-10 (6.5 sigma), so a correct select does not fail it in practice.
    #[test]
    fn select_fairness() {
        const TRIALS: usize = 10_000;
        let (tx1, rx1) = bounded::<u8>(TRIALS + 1);
        let (tx2, rx2) = bounded::<u8>(TRIALS + 1);
        for _ in 0..TRIALS + 1 {
            tx1.send_blocking(1).unwrap();
            tx2.send_blocking(2).unwrap();
        }
        let (_tx3, rx3) = bounded::<u8>(0);
        let (_tx4, rx4) = bounded::<u8>(0);
        let (out_tx, out_rx) = bounded::<u8>(0);
        let (done_tx, done_rx) = bounded::<()>(0);
        let h = thread::spawn(move || {
            block_on(async {
                loop {
                    let b = select! {
                        recv(rx3) -> b => b.unwrap(),
                        recv(rx4) -> b => b.unwrap(),
                        recv(rx1) -> b => b.unwrap(),
                        recv(rx2) -> b => b.unwrap(),
                    };
                    select! {
                        send(out_tx, b) -> r => r.unwrap(),
                        recv(done_rx) -> _ => return,
                    }
                }
            })
        });
        let (mut cnt1, mut cnt2) = (0usize, 0usize);
        for _ in 0..TRIALS {
            match out_rx.recv_blocking().unwrap() {
                1 => cnt1 += 1,
                2 => cnt2 += 1,
                b => panic!("unexpected value {b}"),
            }
        }
        done_tx.close();
        h.join().unwrap();
        let r = cnt1 as f64 / TRIALS as f64;
        let bound = 6.5 * 0.5 / (TRIALS as f64).sqrt();
        assert!(
            (r - 0.5).abs() <= bound,
            "unfair select: in {TRIALS} trials, results were {cnt1}, {cnt2}"
        );
        drop(done_tx);
    }

    /// TestChanSendInterface: selects whose send cases cannot proceed (full channel)
    /// take default; the values made for those cases are dropped, never delivered.
    #[test]
    fn chan_send_interface() {
        let ledger = Ledger::new(4);
        let (tx, rx) = bounded::<crate::support::Item>(1);
        tx.send_blocking(ledger.item(0)).unwrap();
        block_on(async {
            select! { send(tx, ledger.item(1)) -> _ => panic!("sent to a full chan"), default => {} }
            select! {
                send(tx, ledger.item(2)) -> _ => panic!("sent to a full chan"),
                send(tx, ledger.item(3)) -> _ => panic!("sent to a full chan"),
                default => {}
            }
        });
        assert_eq!(ledger.drops(0), 0);
        assert_eq!(
            (ledger.drops(1), ledger.drops(2), ledger.drops(3)),
            (1, 1, 1)
        );
        assert_eq!(rx.len(), 1);
        assert_eq!(rx.try_recv().ok().map(|i| i.id), Some(0));
        assert_eq!(ledger.drops(0), 1);
    }

    /// TestPseudoRandomSend: a select of two sends (1 and 0) on the same channel
    /// chooses between them at random, unbuffered and buffered.
    #[test]
    fn pseudo_random_send() {
        const N: usize = 100;
        for cap in [0usize, N] {
            let (tx, rx) = bounded::<usize>(cap);
            let h = thread::spawn(move || {
                (0..N)
                    .map(|_| {
                        thread::yield_now();
                        rx.recv_blocking().unwrap()
                    })
                    .collect::<Vec<_>>()
            });
            block_on(async {
                for _ in 0..N {
                    select! {
                        send(tx, 1) -> r => r.unwrap(),
                        send(tx, 0) -> r => r.unwrap(),
                    }
                }
            });
            let l = h.join().unwrap();
            let n1: usize = l.iter().sum();
            let n0 = N - n1;
            // P(n0 <= 10) for a fair coin is ~1.5e-17.
            assert!(
                n0 > N / 10 && n1 > N / 10,
                "want pseudorandom, got {n0} zeros and {n1} ones (chan cap {cap})"
            );
        }
    }

    /// TestMultiConsumer: many consumers between two buffered channels, some
    /// yielding on particular values: every value arrives once (count and sum).
    #[test]
    fn multi_consumer() {
        const NWORK: usize = 23;
        let niter = scaled(100_000, 5_000);
        let pn = [2usize, 3, 7, 11, 13, 17, 19, 23, 27, 31];
        let (q_tx, q_rx) = bounded::<usize>(NWORK * 3);
        let (r_tx, r_rx) = bounded::<usize>(NWORK * 3);
        let workers: Vec<_> = (0..NWORK)
            .map(|w| {
                let (q_rx, r_tx) = (q_rx.clone(), r_tx.clone());
                thread::spawn(move || {
                    for v in q_rx.iter() {
                        // Mess with the fifo-ish nature of range.
                        if pn[w % pn.len()] == v {
                            thread::yield_now();
                        }
                        r_tx.send_blocking(v).unwrap();
                    }
                })
            })
            .collect();
        drop((q_rx, r_tx));
        let feeder = thread::spawn(move || {
            let mut expect = 0usize;
            for i in 0..niter {
                let v = pn[i % pn.len()];
                expect += v;
                q_tx.send_blocking(v).unwrap();
            }
            expect
        });
        let (mut n, mut s) = (0usize, 0usize);
        for v in r_rx.iter() {
            n += 1;
            s += v;
        }
        let expect = feeder.join().unwrap();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(
            (n, s),
            (niter, expect),
            "expected {niter} values summing to {expect}"
        );
    }

    /// TestSelectDuplicateChannel: a select waiting on the same channel twice (and on
    /// another) is woken by the other; the channel's queue still works afterwards.
    #[test]
    fn select_duplicate_channel() {
        let (c_tx, c_rx) = bounded::<i32>(0);
        let (d_tx, d_rx) = bounded::<i32>(0);
        let (e_tx, e_rx) = bounded::<i32>(0);
        // A queues itself on c twice and on d.
        let a = {
            let c_rx = c_rx.clone();
            thread::spawn(move || {
                let which = block_on(async {
                    select! {
                        recv(c_rx) -> _ => "c",
                        recv(c_rx) -> _ => "c",
                        recv(d_rx) -> _ => "d",
                    }
                });
                e_tx.send_blocking(9).unwrap();
                which
            })
        };
        thread::sleep(Duration::from_millis(1));
        // B queues on c behind A.
        let b = thread::spawn(move || c_rx.recv_blocking());
        thread::sleep(Duration::from_millis(1));
        d_tx.send_blocking(7).unwrap(); // wakes A, which dequeues itself from c
        assert_eq!(e_rx.recv_blocking(), Some(9));
        c_tx.send_blocking(8).unwrap(); // must wake B
        assert_eq!(
            finishes_within(LIMIT, move || b.join().unwrap()),
            Some(Some(8))
        );
        assert_eq!(a.join().unwrap(), "d");
    }

    /// Go's nil channel in a select never becomes ready; the select waits for the
    /// others (TestSelectStress's disabled cases, in isolation).
    #[test]
    fn nil_case_never_chosen() {
        let nil = never::<i32>();
        let (tx, rx) = unbounded::<i32>();
        for i in 0..100 {
            tx.send_blocking(i).unwrap();
        }
        block_on(async {
            for i in 0..100 {
                let v = select! { recv(nil) -> _ => unreachable!(), recv(rx) -> v => v.unwrap() };
                assert_eq!(v, i);
            }
        });
        let mut fut = pin!(async {
            select! { recv(nil) -> _ => 0, recv(rx) -> _ => 1 }
        });
        assert!(poll_once(fut.as_mut()).is_pending());
        tx.send_blocking(5).unwrap();
        assert_eq!(block_on(fut), 1);
    }
}

// https://github.com/golang/go/blob/master/test/chan/fifo.go
mod fifo {
    use gort_channels::bounded;
    use std::thread;

    const N: usize = 10;

    #[test]
    fn asynch_fifo() {
        let (tx, rx) = bounded(N);
        for i in 0..N {
            tx.send_blocking(i).unwrap();
        }
        for i in 0..N {
            assert_eq!(rx.recv_blocking(), Some(i));
        }
    }

    /// A daisy chain of goroutines, each allowed to read only after the one before
    /// it has: they read the unbuffered channel's values in sequence.
    #[test]
    fn synch_fifo() {
        let (tx, rx) = bounded::<usize>(0);
        let (start_tx, mut input) = bounded::<()>(0);
        let mut hs = Vec::new();
        for i in 0..N {
            let (out_tx, out_rx) = bounded::<()>(0);
            let (rx, inp) = (rx.clone(), std::mem::replace(&mut input, out_rx));
            hs.push(thread::spawn(move || {
                inp.recv_blocking().unwrap();
                assert_eq!(rx.recv_blocking(), Some(i), "chain link {i}");
                out_tx.send_blocking(()).unwrap();
            }));
        }
        start_tx.send_blocking(()).unwrap();
        for i in 0..N {
            tx.send_blocking(i).unwrap();
        }
        input.recv_blocking().unwrap();
        for h in hs {
            h.join().unwrap();
        }
    }
}

// https://github.com/golang/go/blob/master/test/chan/sieve1.go
mod sieve {
    use crate::support::{Pool, Watchdog};
    use gort_channels::{bounded, Receiver, Sender};
    use std::thread;
    use std::time::Duration;

    fn first_100_primes() -> Vec<u64> {
        let mut v = Vec::new();
        let mut n = 2u64;
        while v.len() < 100 {
            if (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0) {
                v.push(n);
            }
            n += 1;
        }
        v
    }

    /// The concurrent prime sieve with threads. When the main goroutine drops its
    /// receiver, the last filter's send fails, it returns and drops its own: the whole
    /// chain shuts down (all receivers gone makes sends fail), so every thread joins.
    #[test]
    fn sieve_threads() {
        let _wd = Watchdog::new("sieve::sieve_threads", Duration::from_secs(60));
        let mut hs = Vec::new();
        let (tx, mut ch) = bounded::<u64>(0);
        hs.push(thread::spawn(move || {
            let mut i = 2;
            while tx.send_blocking(i).is_ok() {
                i += 1;
            }
        }));
        let mut primes = Vec::new();
        for _ in 0..100 {
            let prime = ch.recv_blocking().unwrap();
            primes.push(prime);
            let (tx1, rx1) = bounded::<u64>(0);
            let inp = std::mem::replace(&mut ch, rx1);
            hs.push(thread::spawn(move || filter_blocking(inp, tx1, prime)));
        }
        assert_eq!(primes, first_100_primes());
        drop(ch);
        for h in hs {
            h.join().unwrap();
        }
    }

    fn filter_blocking(inp: Receiver<u64>, out: Sender<u64>, prime: u64) {
        for i in inp.iter() {
            if i % prime != 0 && out.send_blocking(i).is_err() {
                return;
            }
        }
    }

    /// The same sieve with goroutines as futures on a two-thread executor.
    #[test]
    fn sieve_tasks() {
        let _wd = Watchdog::new("sieve::sieve_tasks", Duration::from_secs(60));
        let pool = Pool::new(2);
        let mut hs = Vec::new();
        let (tx, mut ch) = bounded::<u64>(0);
        hs.push(pool.spawn(async move {
            let mut i = 2;
            while tx.send(i).await.is_ok() {
                i += 1;
            }
        }));
        let primes = crate::support::block_on(async {
            let mut primes = Vec::new();
            for _ in 0..100 {
                let prime = ch.recv().await.unwrap();
                primes.push(prime);
                let (tx1, rx1) = bounded::<u64>(0);
                let inp = std::mem::replace(&mut ch, rx1);
                hs.push(pool.spawn(async move {
                    while let Some(i) = inp.recv().await {
                        if i % prime != 0 && tx1.send(i).await.is_err() {
                            return;
                        }
                    }
                }));
            }
            primes
        });
        assert_eq!(primes, first_100_primes());
        drop(ch);
        for h in hs {
            h.join();
        }
    }
}

// https://github.com/golang/go/blob/master/test/chan/doubleselect.go
mod doubleselect {
    use crate::support::{block_on, scaled, Watchdog};
    use gort_channels::{bounded, select, Receiver, Select, Sender};
    use std::thread;
    use std::time::Duration;

    /// The values one select sends over four channels, forwarded by four muxes onto
    /// one channel, arrive exactly once each: two cases of a select never both run.
    fn run(n: usize, dynamic: bool) {
        let chans: Vec<(Sender<usize>, Receiver<usize>)> = (0..4).map(|_| bounded(0)).collect();
        let txs: Vec<Sender<usize>> = chans.iter().map(|c| c.0.clone()).collect();
        let sender = thread::spawn(move || {
            if dynamic {
                for i in 0..n {
                    let mut sel = Select::new();
                    for tx in &txs {
                        sel.send(tx);
                    }
                    let op = sel.select_blocking();
                    let k = op.index();
                    op.send(&txs[k], i).unwrap();
                }
            } else {
                block_on(async {
                    for i in 0..n {
                        select! {
                            send(txs[0], i) -> r => r.unwrap(),
                            send(txs[1], i) -> r => r.unwrap(),
                            send(txs[2], i) -> r => r.unwrap(),
                            send(txs[3], i) -> r => r.unwrap(),
                        }
                    }
                });
            }
            // Dropping `txs` (the last senders) closes the four channels.
        });
        let (mux_tx, mux_rx) = bounded::<usize>(0);
        let muxes: Vec<_> = chans
            .into_iter()
            .map(|(tx, rx)| {
                drop(tx);
                let out = mux_tx.clone();
                thread::spawn(move || {
                    for v in rx.iter() {
                        out.send_blocking(v).unwrap();
                    }
                })
            })
            .collect();
        drop(mux_tx);
        let recver = thread::spawn(move || {
            let mut seen = vec![false; n];
            for v in mux_rx.iter() {
                assert!(!seen[v], "got duplicate value: {v}");
                seen[v] = true;
            }
            seen
        });
        sender.join().unwrap();
        for m in muxes {
            m.join().unwrap();
        }
        let seen = recver.join().unwrap();
        assert!(seen.iter().all(|&s| s), "a value was lost");
    }

    #[test]
    fn doubleselect() {
        let _wd = Watchdog::new("doubleselect::doubleselect", Duration::from_secs(60));
        run(scaled(10_000, 1_000), false);
    }

    #[test]
    fn doubleselect_dynamic() {
        let _wd = Watchdog::new(
            "doubleselect::doubleselect_dynamic",
            Duration::from_secs(60),
        );
        run(scaled(10_000, 1_000), true);
    }
}

// https://github.com/golang/go/blob/master/test/chan/nonblock.go
mod nonblock {
    use crate::support::block_on;
    use gort_channels::{bounded, select, Receiver, Sender, TryRecvError};
    use std::thread;
    use std::time::Duration;

    /// Up to 10 s per step: the loops below end as soon as the other side is there.
    const MAX_TRIES: usize = 10_000;

    fn sleep() {
        thread::yield_now();
        thread::sleep(Duration::from_millis(1));
    }

    fn receiver<T: PartialEq + std::fmt::Debug + Send + 'static>(
        c: Receiver<T>,
        expect: T,
        strobe: Sender<bool>,
    ) {
        assert_eq!(c.recv_blocking(), Some(expect));
        strobe.send_blocking(true).unwrap();
    }

    fn sender<T: Send + 'static>(c: Sender<T>, v: T, strobe: Sender<bool>) {
        c.send_blocking(v).unwrap();
        strobe.send_blocking(true).unwrap();
    }

    fn check<T>(buffer: usize, a: T, b: T, use_select: bool)
    where
        T: PartialEq + Clone + std::fmt::Debug + Send + 'static,
    {
        let (tx, rx) = bounded::<T>(buffer);
        let (sync_tx, sync_rx) = bounded::<bool>(0);
        // Nothing to receive: a non-blocking receive takes default.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let got = block_on(async {
            select! { recv(rx) -> v => v, default => None }
        });
        assert!(got.is_none(), "blocked sender (buffer {buffer})");

        // A receiver arrives: the non-blocking send loop eventually sends.
        {
            let (rx, s) = (rx.clone(), sync_tx.clone());
            let a = a.clone();
            thread::spawn(move || receiver(rx, a, s));
        }
        let mut tries = 0;
        loop {
            let sent = if use_select {
                block_on(async {
                    select! { send(tx, a.clone()) -> r => { r.unwrap(); true } default => false }
                })
            } else {
                tx.try_send(a.clone()).is_ok()
            };
            if sent {
                break;
            }
            tries += 1;
            assert!(tries <= MAX_TRIES, "receiver never came (buffer {buffer})");
            sleep();
        }
        sync_rx.recv_blocking().unwrap();

        // A sender arrives: the non-blocking receive loop eventually receives.
        {
            let (tx, s) = (tx.clone(), sync_tx.clone());
            let b = b.clone();
            thread::spawn(move || sender(tx, b, s));
        }
        if buffer > 0 {
            sync_rx.recv_blocking().unwrap();
        }
        let mut tries = 0;
        let got = loop {
            let got = if use_select {
                block_on(async {
                    select! { recv(rx) -> v => v, default => None }
                })
            } else {
                rx.try_recv().ok()
            };
            if let Some(v) = got {
                break v;
            }
            tries += 1;
            assert!(tries <= MAX_TRIES, "sender never came (buffer {buffer})");
            sleep();
        };
        assert_eq!(got, b, "sender value (buffer {buffer})");
        if buffer == 0 {
            sync_rx.recv_blocking().unwrap();
        }
    }

    #[test]
    fn nonblock_try() {
        for buffer in 0..2 {
            check(buffer, 123i32, 234i32, false);
            check(buffer, 123i64, 234i64, false);
            check(buffer, true, false, false);
            check(
                buffer,
                "hello".to_string(),
                "hello again".to_string(),
                false,
            );
        }
    }

    #[test]
    fn nonblock_select() {
        for buffer in 0..2 {
            check(buffer, 123i32, 234i32, true);
            check(buffer, 123i64, 234i64, true);
            check(buffer, true, false, true);
            check(buffer, "hello".to_string(), "hello again".to_string(), true);
        }
    }
}

// https://github.com/golang/go/blob/master/test/chan/select.go
mod select {
    use super::dead;
    use crate::support::block_on;
    use gort_channels::{bounded, select, Sender};
    use std::cell::Cell;

    /// Every case's value is evaluated on every select (Go evaluates all operands
    /// first), a nil case is never chosen, and default ends the loop.
    #[test]
    fn select() {
        let counter = Cell::new(0u32);
        let shift = Cell::new(0u32);
        let get_value = || {
            counter.set(counter.get() + 1);
            1u32 << shift.get()
        };
        let (nil, _keep) = dead::<u32>();
        let send = |a: Option<&Sender<u32>>, b: Option<&Sender<u32>>| {
            let (mut a, mut b) = (a, b);
            let mut i = 0;
            block_on(async {
                loop {
                    let (ca, cb) = (a.unwrap_or(&nil), b.unwrap_or(&nil));
                    select! {
                        send(ca, get_value()) -> r => { r.unwrap(); i += 1; a = None; }
                        send(cb, get_value()) -> r => { r.unwrap(); i += 1; b = None; }
                        default => break,
                    }
                    shift.set(shift.get() + 1);
                }
            });
            i
        };
        let (a_tx, a_rx) = bounded::<u32>(1);
        let (b_tx, b_rx) = bounded::<u32>(1);
        assert_eq!(send(Some(&a_tx), Some(&b_tx)), 2);
        let (av, bv) = (a_rx.recv_blocking().unwrap(), b_rx.recv_blocking().unwrap());
        assert_eq!(av | bv, 3, "bad values {av} {bv}");
        assert_eq!(send(Some(&a_tx), None), 1);
        assert_eq!(counter.get(), 10, "bad value evaluation count");
    }
}

// https://github.com/golang/go/blob/master/test/chan/select2.go
mod select2 {
    use crate::alloc::{in_child, live_bytes};
    use crate::support::block_on;
    use gort_channels::{bounded, select};
    use std::thread;

    /// 100,000 values received through a select (over the channel and a dummy that
    /// never fires) leave no memory behind: live heap bytes do not grow.
    #[test]
    fn select2() {
        in_child("select2::select2", || {
            let (tx, rx) = bounded::<i32>(0);
            let (_dummy_tx, dummy) = bounded::<i32>(0);
            let sender = thread::spawn(move || {
                for i in 0..200_000 {
                    tx.send_blocking(i).unwrap();
                }
            });
            let recv = |n: usize| {
                block_on(async {
                    for _ in 0..n {
                        select! { recv(rx) -> v => { v.unwrap(); } recv(dummy) -> _ => unreachable!() }
                    }
                })
            };
            recv(100_000);
            let before = live_bytes();
            recv(100_000);
            let after = live_bytes();
            sender.join().unwrap();
            let grown = after - before;
            // Go's bound is 1e5 bytes for 1e5 selects; a leak of one entry or token
            // per select would be megabytes.
            assert!(grown < 100_000, "100,000 selects left {grown} bytes behind");
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/select3.go
mod select3 {
    use super::dead;
    use crate::support::{block_on, finishes_within};
    use gort_channels::{bounded, never, select};
    use std::time::Duration;

    /// `f` has not completed after a while (it blocks).
    fn blocks(what: &str, f: impl FnOnce() + Send + 'static) {
        assert!(
            finishes_within(Duration::from_millis(30), f).is_none(),
            "{what}: did not block"
        );
    }

    /// `f` completes.
    fn does_not_block(what: &str, f: impl FnOnce() + Send + 'static) {
        assert!(
            finishes_within(Duration::from_secs(20), f).is_some(),
            "{what}: blocked"
        );
    }

    fn closed() -> gort_channels::Receiver<i32> {
        let (tx, rx) = bounded::<i32>(0);
        tx.close();
        rx
    }

    #[test]
    fn select3() {
        // Receiving from a nil channel blocks; so does sending where nobody receives.
        blocks("recv on nil", || {
            never::<i32>().recv_blocking();
        });
        blocks("async recv on nil", || {
            block_on(never::<i32>().recv());
        });
        blocks("send on nil", || {
            let (nil, _keep) = dead::<i32>();
            let _ = nil.send_blocking(7);
        });
        // Nil channels inside a select with default are never selected.
        does_not_block("select nil recv with default", || {
            let nil = never::<i32>();
            block_on(async {
                select! { recv(nil) -> _ => unreachable!(), default => {} }
            });
        });
        does_not_block("select nil send with default", || {
            let (nil, _keep) = dead::<i32>();
            block_on(async {
                select! { send(nil, 7) -> _ => unreachable!(), default => {} }
            });
        });
        // Sending to a buffered channel with room never blocks.
        does_not_block("send with room", || {
            let (tx, _rx) = bounded::<i32>(1);
            tx.send_blocking(7).unwrap();
        });
        // Receiving from a closed channel never blocks.
        does_not_block("recv on closed", || {
            let c = closed();
            for _ in 0..10 {
                assert_eq!(c.recv_blocking(), None);
                assert_eq!(block_on(c.recv()), None);
            }
        });
        // Sending to a closed channel fails at once (Go panics).
        does_not_block("send on closed", || {
            let (tx, _rx) = bounded::<i32>(0);
            tx.close();
            assert_eq!(tx.send_blocking(7).unwrap_err().0, 7);
        });
        // Receiving from a non-ready channel always blocks.
        blocks("recv not ready", || {
            let (_tx, rx) = bounded::<i32>(0);
            rx.recv_blocking();
        });
        // Empty selects always block.
        blocks("select {}", || {
            block_on(async {
                select! {}
            })
        });
        // Selects with only nil channels always block.
        blocks("select nil recv", || {
            let nil = never::<i32>();
            block_on(async {
                select! { recv(nil) -> _ => unreachable!() }
            })
        });
        blocks("select nil send", || {
            let (nil, _keep) = dead::<i32>();
            block_on(async {
                select! { send(nil, 7) -> _ => unreachable!() }
            })
        });
        blocks("select nil recv and send", || {
            let nil = never::<i32>();
            let (nil_tx, _keep) = dead::<i32>();
            block_on(async {
                select! { recv(nil) -> _ => unreachable!(), send(nil_tx, 7) -> _ => unreachable!() }
            })
        });
        // Selects with non-ready non-nil channels always block.
        blocks("select not ready", || {
            let (_tx, rx) = bounded::<i32>(0);
            block_on(async {
                select! { recv(rx) -> _ => unreachable!() }
            })
        });
        // Selects with default cases don't block.
        does_not_block("select default", || {
            block_on(async {
                select! { default => {} }
            })
        });
        // Selects with ready channels don't block.
        does_not_block("select ready send", || {
            let (tx, _rx) = bounded::<i32>(1);
            block_on(async {
                select! { send(tx, 7) -> r => r.unwrap(), default => unreachable!() }
            })
        });
        does_not_block("select ready recv", || {
            let (tx, rx) = bounded::<i32>(1);
            tx.send_blocking(7).unwrap();
            block_on(async {
                select! { recv(rx) -> v => assert_eq!(v, Some(7)), default => unreachable!() }
            })
        });
        // Selects with closed channels behave like ordinary operations.
        does_not_block("select recv closed", || {
            let c = closed();
            block_on(async {
                select! { recv(c) -> v => assert_eq!(v, None) }
            })
        });
        does_not_block("select send closed", || {
            let (tx, _rx) = bounded::<i32>(0);
            tx.close();
            block_on(async {
                select! { send(tx, 7) -> r => assert_eq!(r.unwrap_err().0, 7) }
            })
        });
        // A select does not get confused if it sees itself.
        blocks("self select", || {
            let (tx, rx) = bounded::<i32>(0);
            block_on(async {
                select! { send(tx, 1) -> _ => unreachable!(), recv(rx) -> _ => unreachable!() }
            })
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/select4.go
mod select4 {
    use crate::support::block_on;
    use gort_channels::{bounded, select};
    use std::cell::Cell;

    /// The receive target of a case not chosen is not evaluated (here: its body and
    /// pattern do not run).
    #[test]
    fn select4() {
        let called = Cell::new(false);
        let f = || {
            called.set(true);
            0
        };
        let (tx, c) = bounded::<i32>(1);
        let (_tx1, c1) = bounded::<i32>(0);
        tx.send_blocking(42).unwrap();
        let mut x = 0;
        block_on(async {
            select! {
                recv(c1) -> v => { let _ = f(); let _ = v; }
                recv(c) -> v => x = v.unwrap(),
            }
        });
        assert!(!called.get(), "called f");
        assert_eq!(x, 42);
    }
}

// https://github.com/golang/go/blob/master/test/chan/select5.go
mod select5 {
    //! Go's select5 generates a select for every shape and checks which case runs and
    //! in what order operands are evaluated. Here: every combination of two cases
    //! (receive or send) over channels in every state (ready, not ready, closed, nil),
    //! with and without default: the case chosen is always a ready one (each ready one
    //! sometimes), default only when none is ready, and a select with neither waits;
    //! cases not chosen leave their channels as they were.
    use super::dead;
    use crate::support::{block_on, poll_once};
    use gort_channels::{bounded, never, select, Receiver, Sender};
    use std::pin::pin;
    use std::task::Poll;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum State {
        Ready,
        NotReady,
        Closed,
        Nil,
    }
    const STATES: [State; 4] = [State::Ready, State::NotReady, State::Closed, State::Nil];

    /// One channel in a given state; `rx`/`tx` are what a recv/send case uses.
    struct Chan {
        tx: Sender<i32>,
        rx: Receiver<i32>,
        _keep: Option<(Sender<i32>, Receiver<i32>)>,
    }

    fn recv_chan(s: State) -> Chan {
        let (tx, rx) = bounded::<i32>(1);
        match s {
            State::Ready => tx.send_blocking(1).unwrap(),
            State::NotReady => {}
            State::Closed => tx.close(),
            State::Nil => {
                return Chan {
                    tx,
                    rx: never(),
                    _keep: None,
                }
            }
        }
        Chan {
            tx,
            rx,
            _keep: None,
        }
    }

    fn send_chan(s: State) -> Chan {
        let (tx, rx) = bounded::<i32>(1);
        match s {
            State::Ready => {}
            State::NotReady => tx.send_blocking(0).unwrap(),
            State::Closed => tx.close(),
            State::Nil => {
                let (ntx, nrx) = dead::<i32>();
                return Chan {
                    tx: ntx,
                    rx: nrx,
                    _keep: Some((tx, rx)),
                };
            }
        }
        Chan {
            tx,
            rx,
            _keep: None,
        }
    }

    #[derive(Debug, PartialEq)]
    enum Out {
        Recv(usize, Option<i32>),
        Send(usize, bool),
        Default,
        Blocked,
    }

    fn ready(s: State) -> bool {
        matches!(s, State::Ready | State::Closed)
    }

    /// Runs one select of kinds `k` (true = send) over `c`, polled once.
    fn run(k: [bool; 2], c: &[Chan; 2], with_default: bool) -> Out {
        macro_rules! poll {
            ($fut:expr) => {{
                let mut fut = pin!($fut);
                match poll_once(fut.as_mut()) {
                    Poll::Ready(o) => o,
                    Poll::Pending => Out::Blocked,
                }
            }};
        }
        match (k, with_default) {
            ([false, false], false) => poll!(async {
                select! {
                recv(c[0].rx) -> v => Out::Recv(0, v), recv(c[1].rx) -> v => Out::Recv(1, v) }
            }),
            ([false, false], true) => poll!(async {
                select! {
                recv(c[0].rx) -> v => Out::Recv(0, v), recv(c[1].rx) -> v => Out::Recv(1, v), default => Out::Default }
            }),
            ([false, true], false) => poll!(async {
                select! {
                recv(c[0].rx) -> v => Out::Recv(0, v), send(c[1].tx, 2) -> r => Out::Send(1, r.is_ok()) }
            }),
            ([false, true], true) => poll!(async {
                select! {
                default => Out::Default, recv(c[0].rx) -> v => Out::Recv(0, v), send(c[1].tx, 2) -> r => Out::Send(1, r.is_ok()) }
            }),
            ([true, false], false) => poll!(async {
                select! {
                send(c[0].tx, 2) -> r => Out::Send(0, r.is_ok()), recv(c[1].rx) -> v => Out::Recv(1, v) }
            }),
            ([true, false], true) => poll!(async {
                select! {
                send(c[0].tx, 2) -> r => Out::Send(0, r.is_ok()), default => Out::Default, recv(c[1].rx) -> v => Out::Recv(1, v) }
            }),
            ([true, true], false) => poll!(async {
                select! {
                send(c[0].tx, 2) -> r => Out::Send(0, r.is_ok()), send(c[1].tx, 2) -> r => Out::Send(1, r.is_ok()) }
            }),
            ([true, true], true) => poll!(async {
                select! {
                send(c[0].tx, 2) -> r => Out::Send(0, r.is_ok()), send(c[1].tx, 2) -> r => Out::Send(1, r.is_ok()), default => Out::Default }
            }),
        }
    }

    fn check_one(k: [bool; 2], s: [State; 2], with_default: bool, chosen: &mut [bool; 2]) {
        let mk = |i: usize| {
            if k[i] {
                send_chan(s[i])
            } else {
                recv_chan(s[i])
            }
        };
        let c = [mk(0), mk(1)];
        let lens = [c[0].rx.len(), c[1].rx.len()];
        let out = run(k, &c, with_default);
        let what = format!("kinds {k:?} states {s:?} default {with_default}: {out:?}");
        let any_ready = ready(s[0]) || ready(s[1]);
        let i = match out {
            Out::Blocked => {
                assert!(!any_ready && !with_default, "{what}");
                None
            }
            Out::Default => {
                assert!(!any_ready && with_default, "{what}");
                None
            }
            Out::Recv(i, v) => {
                assert!(!k[i] && ready(s[i]), "{what}");
                assert_eq!(v, (s[i] == State::Ready).then_some(1), "{what}");
                Some(i)
            }
            Out::Send(i, ok) => {
                assert!(k[i] && ready(s[i]), "{what}");
                assert_eq!(ok, s[i] == State::Ready, "{what}");
                Some(i)
            }
        };
        for j in 0..2 {
            let expect = match (Some(j) == i, k[j], s[j]) {
                (true, false, State::Ready) => lens[j] - 1,
                (true, true, State::Ready) => lens[j] + 1,
                _ => lens[j],
            };
            assert_eq!(c[j].rx.len(), expect, "{what}: case {j} left a trace");
        }
        if let Some(i) = i {
            chosen[i] = true;
        }
    }

    #[test]
    fn select5() {
        for k0 in [false, true] {
            for k1 in [false, true] {
                for s0 in STATES {
                    for s1 in STATES {
                        for with_default in [false, true] {
                            let mut chosen = [false; 2];
                            for _ in 0..64 {
                                check_one([k0, k1], [s0, s1], with_default, &mut chosen);
                            }
                            // Both ready: each is chosen sometimes (P(miss) = 2^-63).
                            for i in 0..2 {
                                if ready([s0, s1][i]) {
                                    assert!(
                                        chosen[i],
                                        "kinds {:?} states {:?}: ready case {i} never chosen",
                                        [k0, k1],
                                        [s0, s1]
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        // A blocked select completes once a case becomes ready.
        let (tx, rx) = bounded::<i32>(0);
        let (_tx2, rx2) = bounded::<i32>(0);
        let h = std::thread::spawn(move || tx.send_blocking(9).unwrap());
        let v = block_on(async {
            select! { recv(rx) -> v => v, recv(rx2) -> v => v }
        });
        assert_eq!(v, Some(9));
        h.join().unwrap();
    }
}

// https://github.com/golang/go/blob/master/test/chan/select6.go
mod select6 {
    use crate::support::{block_on, finishes_within};
    use gort_channels::{bounded, select};
    use std::thread;
    use std::time::Duration;

    /// Issue 2075: a select's failed cases must not corrupt the queues of channels
    /// with several waiters: later waits on c1 are still woken.
    #[test]
    fn select6() {
        let ok = finishes_within(Duration::from_secs(20), || {
            let (c1_tx, c1) = bounded::<bool>(0);
            let (c2_tx, c2) = bounded::<bool>(0);
            let (c3_tx, c3) = bounded::<bool>(0);
            let a = {
                let c1 = c1.clone();
                thread::spawn(move || {
                    c1.recv_blocking();
                })
            };
            let b = thread::spawn(move || {
                block_on(async {
                    select! {
                        recv(c1) -> _ => panic!("dummy"),
                        recv(c2) -> _ => c3_tx.send(true).await.unwrap(),
                    }
                });
                c1.recv_blocking();
            });
            let c = thread::spawn(move || c2_tx.send_blocking(true).unwrap());
            c3.recv_blocking().unwrap();
            c1_tx.send_blocking(true).unwrap();
            c1_tx.send_blocking(true).unwrap();
            for h in [a, b, c] {
                h.join().unwrap();
            }
        });
        assert!(ok.is_some(), "select6 hangs");
    }
}

// https://github.com/golang/go/blob/master/test/chan/select7.go
mod select7 {
    use crate::support::block_on;
    use gort_channels::{bounded, select, Receiver, Sender};
    use std::thread;

    fn recv1(c: Receiver<i32>) {
        assert_eq!(c.recv_blocking(), Some(1));
    }
    fn recv2(c: Receiver<i32>) {
        block_on(async {
            select! { recv(c) -> v => assert_eq!(v, Some(1)) }
        });
    }
    fn recv3(c: Receiver<i32>) {
        let (_tx2, c2) = bounded::<i32>(0);
        block_on(async {
            select! { recv(c) -> v => assert_eq!(v, Some(1)), recv(c2) -> _ => unreachable!() }
        });
    }

    fn send1(c: &Sender<i32>) {
        c.send_blocking(1).unwrap();
    }
    fn send2(c: &Sender<i32>) {
        block_on(async {
            select! { send(c, 1) -> r => r.unwrap() }
        });
    }
    fn send3(c: &Sender<i32>) {
        let (c2, _rx2) = bounded::<i32>(0);
        block_on(async {
            select! { send(c, 1) -> r => r.unwrap(), send(c2, 1) -> _ => unreachable!() }
        });
    }

    /// Every pairing of plain / one-case select / two-case select receives and sends,
    /// with the receiver started first (usually already waiting) or second.
    #[test]
    fn select7() {
        let recvs: [fn(Receiver<i32>); 3] = [recv1, recv2, recv3];
        let sends: [fn(&Sender<i32>); 3] = [send1, send2, send3];
        for _ in 0..20 {
            for recv in recvs {
                for send in sends {
                    for recv_first in [true, false] {
                        let (tx, rx) = bounded::<i32>(0);
                        let h = if recv_first {
                            let h = thread::spawn(move || recv(rx));
                            thread::yield_now();
                            send(&tx);
                            h
                        } else {
                            let h = thread::spawn(move || send(&tx));
                            thread::yield_now();
                            recv(rx);
                            h
                        };
                        h.join().unwrap();
                    }
                }
            }
        }
    }
}

// https://github.com/golang/go/blob/master/test/chan/goroutines.go
mod goroutines {
    use crate::support::{block_on, Pool, Watchdog};
    use gort_channels::bounded;
    use std::time::Duration;

    /// A chain of 10,000 goroutines, each passing one value from its right neighbour
    /// to its left over unbuffered channels.
    #[test]
    fn goroutines() {
        let _wd = Watchdog::new("goroutines::goroutines", Duration::from_secs(60));
        const N: usize = 10_000;
        let pool = Pool::new(2);
        let (leftmost_tx, leftmost) = bounded::<i32>(0);
        let mut left = leftmost_tx;
        let mut hs = Vec::with_capacity(N);
        for _ in 0..N {
            let (right_tx, right) = bounded::<i32>(0);
            let l = std::mem::replace(&mut left, right_tx);
            hs.push(pool.spawn(async move {
                let v = right.recv().await.unwrap();
                l.send(v).await.unwrap();
            }));
        }
        let right = left;
        pool.spawn(async move { right.send(1).await.unwrap() });
        assert_eq!(block_on(leftmost.recv()), Some(1));
        for h in hs {
            h.join();
        }
    }
}

// https://github.com/golang/go/blob/master/test/chan/zerosize.go
mod zerosize {
    use crate::support::block_on;
    use gort_channels::{bounded, select, unbounded};

    /// Channels of zero-sized values work like any other.
    #[test]
    fn zerosize() {
        for cap in [Some(0), Some(1), Some(5), None] {
            let (tx, rx) = match cap {
                Some(c) => bounded::<()>(c),
                None => unbounded::<()>(),
            };
            let h = std::thread::spawn(move || {
                for _ in 0..1000 {
                    tx.send_blocking(()).unwrap();
                }
            });
            assert_eq!(rx.iter().count(), 1000);
            h.join().unwrap();
        }
        let (tx, rx) = bounded::<[u8; 0]>(3);
        for _ in 0..3 {
            tx.try_send([]).unwrap();
        }
        assert_eq!(rx.len(), 3);
        assert!(tx.try_send([]).is_err());
        let n = block_on(async {
            let mut n = 0;
            loop {
                select! { recv(rx) -> _ => n += 1, default => break n }
            }
        });
        assert_eq!(n, 3);
    }
}
