//! `select!`: an expression; operands borrowed (`rx`, `&rx`, `self.rx`, `rxs[i]`); the
//! same channel in several cases; `default` anywhere; `select! { default => .. }`;
//! `select! {}` never completes; bodies act on the enclosing async scope; operands
//! are evaluated once each, before choosing; a send value not chosen is dropped.
//!
//! (Block bodies followed by a comma are checked in compile.rs; this file avoids them.)

mod support;

use gort_channels::{bounded, select, unbounded, Receiver, SendError, Sender};
use std::cell::Cell;
use std::pin::pin;
use std::thread;
use std::time::Duration;
use support::{block_on, poll_once, Ledger};

#[test]
fn select_is_an_expression() {
    let (tx, rx) = bounded::<i32>(1);
    tx.send_blocking(6).unwrap();
    let v = block_on(async {
        select! { recv(rx) -> v => v.unwrap() * 7 }
    });
    assert_eq!(v, 42);
    let s: &str = block_on(async {
        select! { recv(rx) -> _ => "recv", default => "default" }
    });
    assert_eq!(s, "default");
}

struct Holder {
    rx: Receiver<i32>,
    txs: Vec<Sender<i32>>,
}

impl Holder {
    async fn pick(&self, i: usize) -> i32 {
        select! {
            recv(self.rx) -> v => v.unwrap(),
            send(self.txs[i], 5) -> r => { r.unwrap(); -1 }
        }
    }
}

#[test]
fn operand_forms() {
    let (tx, rx) = bounded::<i32>(4);
    let rxs = [rx.clone(), rx.clone()];
    tx.send_blocking(1).unwrap();
    tx.send_blocking(2).unwrap();
    tx.send_blocking(3).unwrap();
    block_on(async {
        let a = select! { recv(rx) -> v => v };
        let b = select! { recv(&rx) -> v => v };
        let c = select! { recv(rxs[1]) -> v => v };
        assert_eq!((a, b, c), (Some(1), Some(2), Some(3)));
        let r = &&rx;
        select! { recv(r) -> v => assert_eq!(v, None), default => {} }
    });
    // Struct fields and indexing, borrowed through &self.
    let (t1, r1) = bounded::<i32>(1);
    let h = Holder {
        rx: rx.clone(),
        txs: vec![t1.clone(), t1],
    };
    assert_eq!(block_on(h.pick(1)), -1);
    assert_eq!(r1.try_recv(), Ok(5));
    tx.send_blocking(9).unwrap();
    // tx's channel has 9; txs[0]'s channel has room: either may be chosen.
    let got = block_on(h.pick(0));
    assert!(got == 9 || got == -1);
    // Operands were borrowed: still usable.
    assert!(h.rx.capacity().is_some());
    drop(tx);
}

/// The same channel in several cases, receives and sends.
#[test]
fn same_channel_in_several_cases() {
    let (tx, rx) = unbounded::<i32>();
    let mut seen = [0; 3];
    block_on(async {
        for i in 0..300 {
            tx.send_blocking(i).unwrap();
            let k = select! {
                recv(rx) -> _ => 0,
                recv(rx) -> _ => 1,
                recv(rx) -> _ => 2,
            };
            seen[k] += 1;
        }
    });
    assert!(
        seen.iter().all(|&n| n > 0),
        "each duplicate case chosen sometimes: {seen:?}"
    );
    assert!(rx.is_empty());
    // Sends to the same channel twice: exactly one value arrives per select.
    block_on(async {
        for i in 0..100 {
            select! {
                send(tx, i) -> r => r.unwrap(),
                send(tx, i + 1000) -> r => r.unwrap(),
            }
        }
    });
    assert_eq!(rx.len(), 100);
}

#[test]
fn default_anywhere() {
    let (_tx, rx) = bounded::<i32>(0);
    block_on(async {
        assert_eq!(select! { default => 1, recv(rx) -> _ => 2 }, 1);
        assert_eq!(select! { recv(rx) -> _ => 2, default => 1 }, 1);
        assert_eq!(
            select! { recv(rx) -> _ => 2, default => 1, recv(rx) -> _ => 3 },
            1
        );
        assert_eq!(select! { default => 7 }, 7);
        assert_eq!(select! { default => { 8 } }, 8);
    });
}

/// `default` is taken only when nothing is ready.
#[test]
fn default_only_when_nothing_ready() {
    let (tx, rx) = bounded::<i32>(1);
    block_on(async {
        for i in 0..100 {
            tx.try_send(i).unwrap();
            let v = select! { recv(rx) -> v => v, default => None };
            assert_eq!(v, Some(i));
            let v = select! { recv(rx) -> v => v, default => None };
            assert_eq!(v, None);
        }
    });
}

#[test]
fn empty_select_never_completes() {
    let mut f = pin!(async {
        select! {}
    });
    for _ in 0..10 {
        assert!(poll_once(f.as_mut()).is_pending());
    }
    let done = support::finishes_within(Duration::from_millis(30), || {
        block_on(async {
            select! {}
        })
    });
    assert!(done.is_none());
}

/// Send on a closed channel: ready, `Err(SendError(v))`; recv on closed and drained:
/// ready, `None`.
#[test]
fn closed_cases_are_ready() {
    let (tx, rx) = bounded::<i32>(0);
    tx.close();
    block_on(async {
        let r = select! { send(tx, 3) -> r => r, default => Ok(()) };
        assert_eq!(r, Err(SendError(3)));
        let v = select! { recv(rx) -> v => Some(v), default => None };
        assert_eq!(v, Some(None));
    });
}

/// Bodies run in the enclosing scope: break, continue, return, `?` and `.await`.
#[test]
fn bodies_control_flow() {
    async fn with_question_mark(rx: &Receiver<i32>) -> Result<i32, String> {
        let v = select! {
            recv(rx) -> v => v.ok_or_else(|| "closed".to_string())?
        };
        Ok(v * 2)
    }

    async fn with_return(rx: &Receiver<i32>) -> &'static str {
        select! {
            recv(rx) -> _ => return "returned",
            default => {}
        }
        "fell through"
    }

    let (tx, rx) = unbounded::<i32>();
    let (tx2, rx2) = unbounded::<i32>();
    block_on(async {
        for i in 0..10 {
            tx.send_blocking(i).unwrap();
        }
        tx2.send_blocking(100).unwrap();
        let mut sum = 0;
        let mut n = 0;
        loop {
            n += 1;
            select! {
                recv(rx) -> v => {
                    let v = v.unwrap();
                    if v % 2 == 0 {
                        continue;
                    }
                    sum += v;
                }
                default => break
            }
        }
        assert_eq!((sum, n), (25, 11));
        // .await inside a body.
        let got = select! {
            recv(rx2) -> v => {
                let w = async { v.unwrap() + 1 }.await;
                tx.send(w).await.unwrap();
                rx.recv().await.unwrap()
            }
        };
        assert_eq!(got, 101);
        assert_eq!(labeled_break(&rx).await, 1);
    });
    tx.send_blocking(4).unwrap();
    assert_eq!(block_on(with_question_mark(&rx)), Ok(8));
    assert_eq!(block_on(with_return(&rx)), "fell through");
    tx.send_blocking(1).unwrap();
    assert_eq!(block_on(with_return(&rx)), "returned");
    drop(tx);
    assert_eq!(block_on(with_question_mark(&rx)), Err("closed".to_string()));
}

/// Labeled break out of an outer loop from a select body.
#[allow(clippy::never_loop)]
async fn labeled_break(rx: &Receiver<i32>) -> i32 {
    let mut rounds = 0;
    'outer: loop {
        loop {
            rounds += 1;
            select! {
                recv(rx) -> _ => {}
                default => break 'outer
            }
        }
    }
    rounds
}

/// Every operand is evaluated once, before choosing, whichever case is chosen.
#[test]
fn operands_evaluated_once() {
    let evals = Cell::new(0);
    let chans = Cell::new(0);
    let (tx, rx) = bounded::<i32>(1);
    let (tx2, _rx2) = bounded::<i32>(0);
    fn chan<R>(count: &Cell<i32>, r: R) -> R {
        count.set(count.get() + 1);
        r
    }
    block_on(async {
        for _ in 0..10 {
            select! {
                send(chan(&chans, &tx), { evals.set(evals.get() + 1); 1 }) -> _ => {}
                send(chan(&chans, &tx2), { evals.set(evals.get() + 1); 2 }) -> _ => {}
                recv(chan(&chans, &rx)) -> _ => {}
            }
        }
    });
    assert_eq!(evals.get(), 20);
    assert_eq!(chans.get(), 30);
}

/// A value made for a send case that is not chosen is dropped, never delivered, also
/// when the select waited and another case completed.
#[test]
fn unchosen_send_value_dropped() {
    let ledger = Ledger::new(200);
    let (stx, srx) = bounded::<support::Item>(0);
    let (rtx, rrx) = bounded::<i32>(0);
    let h = thread::spawn(move || {
        for i in 0..100 {
            rtx.send_blocking(i).unwrap();
        }
    });
    block_on(async {
        for i in 0..100 {
            let v = select! {
                send(stx, ledger.item(i)) -> _ => panic!("nobody receives on stx"),
                recv(rrx) -> v => v.unwrap(),
            };
            assert_eq!(v, i as i32);
            assert_eq!(ledger.drops(i), 1, "the unchosen value was kept somewhere");
        }
    });
    h.join().unwrap();
    assert!(srx.try_recv().is_err());
    // Ready with default: the same.
    let (ftx, _frx) = bounded::<support::Item>(0);
    block_on(async {
        for i in 100..200 {
            select! { send(ftx, ledger.item(i)) -> _ => unreachable!(), default => {} }
        }
    });
    assert_eq!(ledger.total_drops(), 200);
}

/// A select with both a send and a receive ready picks each sometimes.
#[test]
fn mixed_send_recv_both_ready() {
    let (tx, rx) = unbounded::<i32>();
    let (otx, orx) = unbounded::<i32>();
    let (mut s, mut r) = (0, 0);
    block_on(async {
        for i in 0..1000 {
            tx.send_blocking(i).unwrap();
            select! {
                recv(rx) -> _ => r += 1,
                send(otx, i) -> res => { res.unwrap(); s += 1; }
            }
        }
    });
    assert!(s > 300 && r > 300, "send {s}, recv {r}");
    assert_eq!((rx.len(), orx.len()), (1000 - r, s));
}

/// More cases than the engine keeps inline (8): the heap path chooses correctly,
/// fairly, and judges default at one instant.
#[test]
fn many_cases() {
    let chans: Vec<_> = (0..12).map(|_| bounded::<usize>(1)).collect();
    let r: Vec<&Receiver<usize>> = chans.iter().map(|c| &c.1).collect();
    macro_rules! sel12 {
        ($($d:tt)*) => {
            select! {
                recv(r[0]) -> v => v, recv(r[1]) -> v => v, recv(r[2]) -> v => v,
                recv(r[3]) -> v => v, recv(r[4]) -> v => v, recv(r[5]) -> v => v,
                recv(r[6]) -> v => v, recv(r[7]) -> v => v, recv(r[8]) -> v => v,
                recv(r[9]) -> v => v, recv(r[10]) -> v => v, recv(r[11]) -> v => v,
                $($d)*
            }
        };
    }
    block_on(async {
        // Only the last is ready.
        chans[11].0.try_send(11).unwrap();
        assert_eq!(sel12!(), Some(11));
        assert_eq!(sel12!(default => None), None);
        // Each ready one in turn, found with and without default.
        for (i, (t, _)) in chans.iter().enumerate() {
            t.try_send(i).unwrap();
            let v = if i % 2 == 0 {
                sel12!()
            } else {
                sel12!(default => None)
            };
            assert_eq!(v, Some(i));
        }
        // All ready: each is chosen sometimes.
        let mut seen = [0usize; 12];
        for _ in 0..1200 {
            for (t, _) in &chans {
                let _ = t.try_send(0);
            }
            let _ = sel12!();
            for (k, (_, rx)) in chans.iter().enumerate() {
                if rx.is_empty() {
                    seen[k] += 1;
                    let _ = chans[k].0.try_send(0);
                }
            }
        }
        assert!(seen.iter().all(|&n| n > 20), "{seen:?}");
    });
    // Waiting on twelve, woken by the ninth.
    for (_, rx) in &chans {
        while rx.try_recv().is_ok() {}
    }
    let t8 = chans[8].0.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        t8.send_blocking(88).unwrap();
    });
    assert_eq!(block_on(async { sel12!() }), Some(88));
    h.join().unwrap();
}
