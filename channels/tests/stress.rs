//! Stress tests with the fixed names (smoke, spsc, mpmc, stampede, stress,
//! no_starvation, destructors), plus `select_two_unbounded_no_loss`: the failure that
//! broke `may` (a two-channel select over unbounded channels with concurrent senders
//! lost messages). Sizes shrink in debug builds.
//!
//! "Random drops": futures are polled on a thread (parking between polls) and given
//! up at random after a few polls, as a select inside a timeout loop would. Values are
//! `Item`s counted by a `Ledger`: each must be dropped exactly once in the end, every
//! send that returned `Ok` must be received, and nothing may be received twice.

mod support;

use gort_channels::{
    bounded, never, select, unbounded, Receiver, RecvTimeoutError, Select, SendTimeoutError, Sender,
};
use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::thread;
use std::time::Duration;
use support::{block_on, poll_with, scaled, thread_waker, Item, Ledger, Pool, Rng, Watchdog};

fn flavor<T>(i: usize) -> (&'static str, Sender<T>, Receiver<T>) {
    match i {
        0 => {
            let (t, r) = bounded(0);
            ("bounded(0)", t, r)
        }
        1 => {
            let (t, r) = bounded(1);
            ("bounded(1)", t, r)
        }
        2 => {
            let (t, r) = bounded(16);
            ("bounded(16)", t, r)
        }
        _ => {
            let (t, r) = unbounded();
            ("unbounded", t, r)
        }
    }
}
const FLAVORS: usize = 4;

enum Outcome<T> {
    Done(T),
    Dropped,
}

/// Polls `fut` on this thread until it completes or `patience` polls have found it
/// pending; then drops it (pending) and says so.
fn drive<F: Future>(fut: F, rng: &mut Rng, patience: u32) -> Outcome<F::Output> {
    let waker = thread_waker();
    let mut fut = pin!(fut);
    let mut polls = 0;
    loop {
        if let Poll::Ready(v) = poll_with(fut.as_mut(), &waker) {
            return Outcome::Done(v);
        }
        polls += 1;
        if polls >= patience {
            return Outcome::Dropped;
        }
        thread::park_timeout(Duration::from_micros(rng.below(50)));
    }
}

/// 1..=3 polls most of the time, sometimes unlimited.
fn patience(rng: &mut Rng) -> u32 {
    if rng.chance(4) {
        u32::MAX
    } else {
        1 + rng.below(3) as u32
    }
}

#[test]
fn smoke() {
    for f in 0..FLAVORS {
        let (name, tx, rx) = flavor::<i32>(f);
        let h = thread::spawn(move || {
            tx.send_blocking(1).unwrap();
            block_on(tx.send(2)).unwrap();
            block_on(async {
                select! { send(tx, 3) -> r => r.unwrap() }
            });
        });
        assert_eq!(rx.recv_blocking(), Some(1), "{name}");
        assert_eq!(block_on(rx.recv()), Some(2), "{name}");
        assert_eq!(
            block_on(async {
                select! { recv(rx) -> v => v }
            }),
            Some(3),
            "{name}"
        );
        h.join().unwrap();
        assert_eq!(rx.recv_blocking(), None, "{name}");
    }
}

#[test]
fn spsc() {
    let _wd = Watchdog::new("spsc", Duration::from_secs(60));
    let n = scaled(100_000, 5_000);
    for f in 0..FLAVORS {
        for async_side in 0..3 {
            let (name, tx, rx) = flavor::<usize>(f);
            let h = thread::spawn(move || {
                if async_side == 1 {
                    block_on(async {
                        for i in 0..n {
                            tx.send(i).await.unwrap();
                        }
                    })
                } else {
                    for i in 0..n {
                        tx.send_blocking(i).unwrap();
                    }
                }
            });
            if async_side == 2 {
                block_on(async {
                    for i in 0..n {
                        assert_eq!(rx.recv().await, Some(i), "{name}, async receiver");
                    }
                });
            } else {
                for i in 0..n {
                    let side = if async_side == 1 {
                        "async sender"
                    } else {
                        "blocking both"
                    };
                    assert_eq!(rx.recv_blocking(), Some(i), "{name}, {side}");
                }
            }
            h.join().unwrap();
            assert_eq!(rx.recv_blocking(), None);
        }
    }
}

#[test]
fn mpmc() {
    let _wd = Watchdog::new("mpmc", Duration::from_secs(60));
    let per = scaled(20_000, 1_000);
    const S: usize = 4;
    let pool = Pool::new(2);
    for f in 0..FLAVORS {
        let (name, tx, rx) = flavor::<usize>(f);
        let senders: Vec<_> = (0..S)
            .map(|s| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..per {
                        if i % 2 == 0 {
                            tx.send_blocking(s * per + i).unwrap();
                        } else {
                            block_on(tx.send(s * per + i)).unwrap();
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        // Two blocking receivers and two async ones on the pool.
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.iter().collect::<Vec<_>>())
            })
            .collect();
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                pool.spawn(async move {
                    let mut v = Vec::new();
                    while let Some(x) = rx.recv().await {
                        v.push(x);
                    }
                    v
                })
            })
            .collect();
        drop(rx);
        for s in senders {
            s.join().unwrap();
        }
        let mut all: Vec<usize> = threads
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.extend(tasks.into_iter().flat_map(|h| h.join()));
        all.sort_unstable();
        assert_eq!(all.len(), S * per, "{name}");
        assert!(
            all.iter().enumerate().all(|(i, &v)| i == v),
            "{name}: lost or duplicated"
        );
    }
}

/// Many receivers (futures and threads) wait on one channel at once; a flood of
/// values then a close: each value goes to exactly one, and every receiver ends.
#[test]
fn stampede() {
    let _wd = Watchdog::new("stampede", Duration::from_secs(60));
    let n = scaled(50_000, 2_000);
    let pool = Pool::new(2);
    for f in 0..FLAVORS {
        let (name, tx, rx) = flavor::<usize>(f);
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let rx = rx.clone();
                pool.spawn(async move {
                    let mut v = Vec::new();
                    while let Some(x) = rx.recv().await {
                        v.push(x);
                    }
                    v
                })
            })
            .collect();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.iter().collect::<Vec<_>>())
            })
            .collect();
        drop(rx);
        thread::sleep(Duration::from_millis(10)); // let them all wait
        for i in 0..n {
            tx.send_blocking(i).unwrap();
        }
        drop(tx);
        let mut all: Vec<usize> = tasks.into_iter().flat_map(|h| h.join()).collect();
        all.extend(threads.into_iter().flat_map(|h| h.join().unwrap()));
        all.sort_unstable();
        assert_eq!(all.len(), n, "{name}");
        assert!(
            all.iter().enumerate().all(|(i, &v)| i == v),
            "{name}: lost or duplicated"
        );
    }
}

/// Random selects (sends and receives over four channels of every flavor, several
/// threads, futures dropped at random): every value whose send completed is received
/// once, nothing is received twice, every value is dropped once.
#[test]
fn stress() {
    let _wd = Watchdog::new("stress", Duration::from_secs(60));
    const T: usize = 4;
    let iters = scaled(6_000, 400);
    let ledger = Ledger::new(T * iters);
    let chans: Vec<(Sender<Item>, Receiver<Item>)> = (0..FLAVORS)
        .map(|f| {
            let (_, t, r) = flavor(f);
            (t, r)
        })
        .collect();
    let workers: Vec<_> = (0..T)
        .map(|t| {
            let chans = chans.clone();
            let ledger = ledger.clone();
            thread::spawn(move || {
                let mut rng = Rng::new(t as u64 + 1);
                let (mut sent, mut maybe, mut got) = (Vec::new(), Vec::new(), Vec::new());
                for i in 0..iters {
                    let id = t * iters + i;
                    let (a, b) = (
                        rng.below(FLAVORS as u64) as usize,
                        rng.below(FLAVORS as u64) as usize,
                    );
                    // Never wait for good: the last selects may have no counterpart.
                    let p = if rng.chance(8) {
                        50
                    } else {
                        1 + rng.below(4) as u32
                    };
                    let item = ledger.item(id);
                    let fut = async {
                        select! {
                            send(chans[a].0, item) -> r => { assert!(r.is_ok(), "open"); None }
                            recv(chans[b].1) -> v => v
                        }
                    };
                    match drive(fut, &mut rng, p) {
                        Outcome::Done(None) => sent.push(id),
                        Outcome::Done(Some(v)) => got.push(v.id),
                        Outcome::Dropped => maybe.push(id),
                    }
                }
                (sent, maybe, got)
            })
        })
        .collect();
    let (mut sent, mut maybe, mut got) = (Vec::new(), HashSet::new(), Vec::new());
    for w in workers {
        let (s, m, g) = w.join().unwrap();
        sent.extend(s);
        maybe.extend(m);
        got.extend(g);
    }
    for (_, rx) in &chans {
        got.extend(rx.try_iter().map(|i| i.id));
    }
    let got_set: HashSet<usize> = got.iter().copied().collect();
    assert_eq!(got_set.len(), got.len(), "a value was received twice");
    for id in &sent {
        assert!(
            got_set.contains(id),
            "value {id} was sent (Ok) but never received"
        );
    }
    for id in &got_set {
        assert!(
            sent.contains(id) || maybe.contains(id),
            "value {id} received but never sent"
        );
    }
    drop(chans);
    assert_eq!(ledger.not_dropped_once(), vec![]);
}

/// Waiters are served in the order they came (no waiter is passed over forever).
#[test]
fn no_starvation() {
    let waker = support::noop_waker();
    // Receivers, every flavor: values go to the pending receives in arrival order,
    // and one that comes back goes to the end of the line.
    for f in 0..FLAVORS {
        let (name, tx, rx) = flavor::<usize>(f);
        let mut futs: Vec<_> = (0..5).map(|_| Box::pin(rx.recv())).collect();
        for fu in futs.iter_mut() {
            assert!(poll_with(fu.as_mut(), &waker).is_pending());
        }
        for v in 0..5 {
            tx.try_send(v).unwrap();
        }
        for (k, fu) in futs.iter_mut().enumerate() {
            assert_eq!(
                poll_with(fu.as_mut(), &waker),
                Poll::Ready(Some(k)),
                "{name}"
            );
        }
        drop(futs);
        let mut a = Box::pin(rx.recv());
        let mut b = Box::pin(rx.recv());
        assert!(poll_with(a.as_mut(), &waker).is_pending());
        assert!(poll_with(b.as_mut(), &waker).is_pending());
        tx.try_send(10).unwrap();
        assert_eq!(
            poll_with(a.as_mut(), &waker),
            Poll::Ready(Some(10)),
            "{name}"
        );
        let mut a2 = Box::pin(rx.recv());
        assert!(poll_with(a2.as_mut(), &waker).is_pending());
        tx.try_send(11).unwrap();
        tx.try_send(12).unwrap();
        assert_eq!(
            poll_with(b.as_mut(), &waker),
            Poll::Ready(Some(11)),
            "{name}"
        );
        assert_eq!(
            poll_with(a2.as_mut(), &waker),
            Poll::Ready(Some(12)),
            "{name}"
        );
    }
    // Senders: blocked sends complete in arrival order (after the buffer).
    for cap in [0usize, 1, 3] {
        let (tx, rx) = bounded::<usize>(cap);
        for i in 0..cap {
            tx.try_send(100 + i).unwrap();
        }
        let mut futs: Vec<_> = (0..5).map(|k| Box::pin(tx.send(k))).collect();
        for fu in futs.iter_mut() {
            assert!(poll_with(fu.as_mut(), &waker).is_pending());
        }
        let got: Vec<_> = (0..cap + 5).map(|_| rx.try_recv().unwrap()).collect();
        let want: Vec<_> = (0..cap).map(|i| 100 + i).chain(0..5).collect();
        assert_eq!(got, want, "cap {cap}");
        for fu in futs.iter_mut() {
            assert!(matches!(
                poll_with(fu.as_mut(), &waker),
                Poll::Ready(Ok(()))
            ));
        }
    }
    // Threads: four blocked receivers all get a share of a long stream.
    let n = scaled(20_000, 2_000);
    let (tx, rx) = bounded::<usize>(0);
    let ready = std::sync::Arc::new(std::sync::Barrier::new(5));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let (rx, ready) = (rx.clone(), ready.clone());
            thread::spawn(move || {
                ready.wait();
                rx.iter().count()
            })
        })
        .collect();
    ready.wait();
    for i in 0..n {
        tx.send_blocking(i).unwrap();
    }
    drop(tx);
    let counts: Vec<usize> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(counts.iter().sum::<usize>(), n);
    assert!(
        counts.iter().all(|&c| c > 0),
        "a receiver starved: {counts:?}"
    );
}

/// Senders and receivers that give up on their futures at random: nothing is lost,
/// duplicated or leaked (every `Item` dropped exactly once).
#[test]
fn destructors() {
    let _wd = Watchdog::new("destructors", Duration::from_secs(60));
    const S: usize = 3;
    const R: usize = 3;
    let per = scaled(4_000, 300);
    for f in 0..FLAVORS {
        let ledger = Ledger::new(S * per);
        let (name, tx, rx) = flavor::<Item>(f);
        let senders: Vec<_> = (0..S)
            .map(|s| {
                let (tx, ledger) = (tx.clone(), ledger.clone());
                thread::spawn(move || {
                    let mut rng = Rng::new(s as u64 * 7 + 3);
                    let (mut sent, mut maybe) = (Vec::new(), Vec::new());
                    for i in 0..per {
                        let id = s * per + i;
                        let p = patience(&mut rng);
                        match drive(tx.send(ledger.item(id)), &mut rng, p) {
                            Outcome::Done(Ok(())) => sent.push(id),
                            Outcome::Done(Err(_)) => panic!("send failed on an open channel"),
                            Outcome::Dropped => maybe.push(id),
                        }
                    }
                    (sent, maybe)
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..R)
            .map(|r| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let mut rng = Rng::new(r as u64 * 13 + 5);
                    let mut got = Vec::new();
                    loop {
                        let p = patience(&mut rng);
                        match drive(rx.recv(), &mut rng, p) {
                            Outcome::Done(Some(item)) => got.push(item.id),
                            Outcome::Done(None) => return got,
                            Outcome::Dropped => {}
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        let (mut sent, mut maybe) = (Vec::new(), HashSet::new());
        for s in senders {
            let (a, b) = s.join().unwrap();
            sent.extend(a);
            maybe.extend(b);
        }
        let got: Vec<usize> = receivers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let got_set: HashSet<usize> = got.iter().copied().collect();
        assert_eq!(
            got_set.len(),
            got.len(),
            "{name}: a value was received twice"
        );
        for id in &sent {
            assert!(
                got_set.contains(id),
                "{name}: value {id} sent (Ok) but never received"
            );
        }
        for id in &got_set {
            assert!(
                sent.contains(id) || maybe.contains(id),
                "{name}: {id} received, never sent"
            );
        }
        assert_eq!(
            ledger.not_dropped_once(),
            vec![],
            "{name}: (id, drops) not dropped once"
        );
    }
}

fn two_channel_select_receiver(
    a: Receiver<usize>,
    b: Receiver<usize>,
    drops: bool,
    seed: u64,
) -> Vec<usize> {
    let nil = never::<usize>();
    let (mut a_open, mut b_open) = (true, true);
    let mut got = Vec::new();
    let mut rng = Rng::new(seed);
    while a_open || b_open {
        let (ra, rb) = (
            if a_open { &a } else { &nil },
            if b_open { &b } else { &nil },
        );
        let fut = async {
            select! {
                recv(ra) -> v => (0, v),
                recv(rb) -> v => (1, v),
            }
        };
        let p = if drops { patience(&mut rng) } else { u32::MAX };
        match drive(fut, &mut rng, p) {
            Outcome::Done((_, Some(v))) => got.push(v),
            Outcome::Done((0, None)) => a_open = false,
            Outcome::Done((_, None)) => b_open = false,
            Outcome::Dropped => {}
        }
    }
    got
}

fn select_two_unbounded(drops: bool) {
    let per = scaled(50_000, 2_000);
    const SENDERS_PER_CHAN: usize = 2;
    let (atx, arx) = unbounded::<usize>();
    let (btx, brx) = unbounded::<usize>();
    let mut senders = Vec::new();
    for (c, tx) in [atx, btx].into_iter().enumerate() {
        for s in 0..SENDERS_PER_CHAN {
            let tx = tx.clone();
            let base = (c * SENDERS_PER_CHAN + s) * per;
            senders.push(thread::spawn(move || {
                for i in 0..per {
                    if i % 3 == 0 {
                        block_on(tx.send(base + i)).unwrap();
                    } else {
                        tx.send_blocking(base + i).unwrap();
                    }
                }
            }));
        }
    }
    let receivers: Vec<_> = (0..2)
        .map(|r| {
            let (a, b) = (arx.clone(), brx.clone());
            thread::spawn(move || two_channel_select_receiver(a, b, drops, r + 1))
        })
        .collect();
    drop((arx, brx));
    for s in senders {
        s.join().unwrap();
    }
    let mut all: Vec<usize> = receivers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    let total = 2 * SENDERS_PER_CHAN * per;
    let dups = all.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(dups, 0, "{dups} messages received twice");
    assert_eq!(all.len(), total, "{} messages lost", total - all.len());
}

#[test]
fn select_two_unbounded_no_loss() {
    let _wd = Watchdog::new("select_two_unbounded_no_loss", Duration::from_secs(60));
    select_two_unbounded(false);
}

#[test]
fn select_two_unbounded_no_loss_with_drops() {
    let _wd = Watchdog::new(
        "select_two_unbounded_no_loss_with_drops",
        Duration::from_secs(60),
    );
    select_two_unbounded(true);
}

/// Sends and receives with short timeouts racing their counterparts: a send that
/// timed out handed its value back (never delivered), one that returned Ok was
/// received, every value dropped once.
#[test]
fn stress_timeouts() {
    let _wd = Watchdog::new("stress_timeouts", Duration::from_secs(60));
    let per = scaled(3_000, 200);
    for f in 0..3 {
        let ledger = Ledger::new(2 * per);
        let (name, tx, rx) = flavor::<Item>(f);
        let senders: Vec<_> = (0..2)
            .map(|s| {
                let (tx, ledger) = (tx.clone(), ledger.clone());
                thread::spawn(move || {
                    let mut rng = Rng::new(s as u64 + 11);
                    let mut sent = Vec::new();
                    for i in 0..per {
                        let id = s * per + i;
                        let d = Duration::from_micros(rng.below(100));
                        match tx.send_timeout(ledger.item(id), d) {
                            Ok(()) => sent.push(id),
                            Err(SendTimeoutError::Timeout(item)) => {
                                assert_eq!(item.id, id, "got another value back");
                            }
                            Err(SendTimeoutError::Closed(_)) => panic!("closed"),
                        }
                    }
                    sent
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..2)
            .map(|r| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let mut rng = Rng::new(r as u64 + 17);
                    let mut got = Vec::new();
                    loop {
                        match rx.recv_timeout(Duration::from_micros(rng.below(100))) {
                            Ok(item) => got.push(item.id),
                            Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Closed) => return got,
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        let sent: HashSet<usize> = senders
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let got: Vec<usize> = receivers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let got_set: HashSet<usize> = got.iter().copied().collect();
        assert_eq!(got_set.len(), got.len(), "{name}: received twice");
        assert_eq!(
            got_set, sent,
            "{name}: received values differ from those sent Ok"
        );
        assert_eq!(ledger.not_dropped_once(), vec![], "{name}");
    }
}

/// Dynamic selects with a send and a receive case on random channels, with timeouts,
/// completing or dropping the chosen operation at random: nothing lost or duplicated.
#[test]
fn stress_dynamic() {
    let _wd = Watchdog::new("stress_dynamic", Duration::from_secs(60));
    const T: usize = 4;
    let iters = scaled(5_000, 300);
    let ledger = Ledger::new(T * iters);
    let chans: Vec<(Sender<Item>, Receiver<Item>)> = (0..FLAVORS)
        .map(|f| {
            let (_, t, r) = flavor(f);
            (t, r)
        })
        .collect();
    let workers: Vec<_> = (0..T)
        .map(|t| {
            let chans = chans.clone();
            let ledger = ledger.clone();
            thread::spawn(move || {
                let mut rng = Rng::new(t as u64 + 101);
                let (mut sent, mut got) = (Vec::new(), Vec::new());
                for i in 0..iters {
                    let id = t * iters + i;
                    let (a, b) = (
                        rng.below(FLAVORS as u64) as usize,
                        rng.below(FLAVORS as u64) as usize,
                    );
                    let mut sel = Select::new();
                    let s = sel.send(&chans[a].0);
                    let r = sel.recv(&chans[b].1);
                    let op = match sel.select_timeout(Duration::from_micros(rng.below(200))) {
                        Ok(op) => op,
                        Err(_) => continue,
                    };
                    if rng.chance(8) {
                        drop(op); // chosen, not completed: must leave no trace
                    } else if op.index() == s {
                        assert!(op.send(&chans[a].0, ledger.item(id)).is_ok(), "open");
                        sent.push(id);
                    } else {
                        assert_eq!(op.index(), r);
                        got.push(op.recv(&chans[b].1).expect("open").id);
                    }
                }
                (sent, got)
            })
        })
        .collect();
    let (mut sent, mut got) = (HashSet::new(), Vec::new());
    for w in workers {
        let (s, g) = w.join().unwrap();
        sent.extend(s);
        got.extend(g);
    }
    for (_, rx) in &chans {
        got.extend(rx.try_iter().map(|i| i.id));
    }
    let got_set: HashSet<usize> = got.iter().copied().collect();
    assert_eq!(got_set.len(), got.len(), "a value was received twice");
    assert_eq!(got_set, sent, "received values differ from those sent");
    drop(chans);
    // Ids never sent were never made; the others are dropped once.
    for id in 0..T * iters {
        let want = usize::from(sent.contains(&id));
        assert_eq!(ledger.drops(id), want, "value {id}");
    }
}
