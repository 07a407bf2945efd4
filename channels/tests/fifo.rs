//! FIFO per channel under races: one sender, one receiver, buffered channels, the
//! receiver often finding the buffer empty (so it goes to wait) just as the sender
//! refills it. Values must arrive in the order sent.
//!
//! The race this catches: a receiver that registers to wait while values are already
//! buffered (the buffer filled between its try and its registration) is seen as
//! "ready" and unregisters, but in between the sender hands its *next* value straight
//! to the registered receiver, ahead of the buffered ones (seen as `.., 2788, 2794,
//! 2789, ..`). Each test runs many short rounds; a correct channel never reorders.

mod support;

use gort_channels::{bounded, select, unbounded, Receiver, Sender};
use std::thread;
use std::time::Duration;
use support::{block_on, scaled, Watchdog};

const N: usize = 10_000;

#[derive(Clone, Copy, Debug)]
enum Recv {
    Blocking,
    Async,
    /// `select!` over the channel and 11 idle ones.
    Select12,
}

fn chan(cap: Option<usize>) -> (Sender<usize>, Receiver<usize>) {
    match cap {
        Some(c) => bounded(c),
        None => unbounded(),
    }
}

/// One round; `Err` describes the first out-of-order value.
fn round(cap: Option<usize>, how: Recv, sender_pause: bool) -> Result<(), String> {
    let (tx, rx) = chan(cap);
    let h = thread::spawn(move || {
        for i in 0..N {
            tx.send_blocking(i).unwrap();
            if sender_pause {
                for _ in 0..50 {
                    std::hint::spin_loop();
                }
            }
        }
    });
    let mut got = Vec::with_capacity(N);
    match how {
        Recv::Blocking => got.extend(rx.iter()),
        Recv::Async => block_on(async {
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
        }),
        Recv::Select12 => {
            let idle: Vec<_> = (0..11).map(|_| bounded::<usize>(0)).collect();
            let r: Vec<&Receiver<usize>> = idle.iter().map(|c| &c.1).collect();
            block_on(async {
                loop {
                    let v = select! {
                        recv(rx) -> v => v,
                        recv(r[0]) -> v => v, recv(r[1]) -> v => v, recv(r[2]) -> v => v,
                        recv(r[3]) -> v => v, recv(r[4]) -> v => v, recv(r[5]) -> v => v,
                        recv(r[6]) -> v => v, recv(r[7]) -> v => v, recv(r[8]) -> v => v,
                        recv(r[9]) -> v => v, recv(r[10]) -> v => v,
                    };
                    match v {
                        Some(v) => got.push(v),
                        None => break,
                    }
                }
            });
        }
    }
    h.join().unwrap();
    assert_eq!(got.len(), N, "values lost or duplicated");
    match got.iter().enumerate().position(|(i, &v)| i != v) {
        None => Ok(()),
        Some(k) => Err(format!(
            "cap {cap:?}, {how:?} receiver: out of order at {k}: {:?}",
            &got[k.saturating_sub(2)..(k + 8).min(N)]
        )),
    }
}

fn rounds(cap: Option<usize>, how: Recv, sender_pause: bool) {
    let n = scaled(60, 5);
    let mut bad = Vec::new();
    for _ in 0..n {
        if let Err(e) = round(cap, how, sender_pause) {
            bad.push(e);
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {n} rounds out of FIFO order; first: {}",
        bad.len(),
        bad[0]
    );
}

#[test]
fn fifo_race_unbounded_blocking() {
    let _wd = Watchdog::new("fifo_race_unbounded_blocking", Duration::from_secs(60));
    rounds(None, Recv::Blocking, false);
}

#[test]
fn fifo_race_unbounded_async() {
    let _wd = Watchdog::new("fifo_race_unbounded_async", Duration::from_secs(60));
    rounds(None, Recv::Async, false);
}

#[test]
fn fifo_race_unbounded_select() {
    let _wd = Watchdog::new("fifo_race_unbounded_select", Duration::from_secs(60));
    rounds(None, Recv::Select12, true);
}

#[test]
fn fifo_race_bounded_blocking() {
    let _wd = Watchdog::new("fifo_race_bounded_blocking", Duration::from_secs(60));
    rounds(Some(16), Recv::Blocking, false);
}

#[test]
fn fifo_race_bounded_select() {
    let _wd = Watchdog::new("fifo_race_bounded_select", Duration::from_secs(60));
    rounds(Some(16), Recv::Select12, true);
}
