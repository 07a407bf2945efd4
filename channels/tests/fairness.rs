//! Among cases ready together the choice is uniformly random (Go's fairness), for
//! receives, sends, mixes, `default` present, and the dynamic `Select`. Each check is
//! a binomial bound at 6.5 sigma (a correct select fails it with probability ~1e-10).

mod support;

use gort_channels::{bounded, select, unbounded, Select};
use support::block_on;

const TRIALS: usize = 10_000;

/// Each of `counts` (k cases, `TRIALS` in all) is within 6.5 sigma of TRIALS / k.
fn assert_uniform(what: &str, counts: &[usize]) {
    let k = counts.len() as f64;
    let n = counts.iter().sum::<usize>() as f64;
    let p = 1.0 / k;
    let sigma = (n * p * (1.0 - p)).sqrt();
    for (i, &c) in counts.iter().enumerate() {
        let dev = (c as f64 - n * p).abs();
        assert!(
            dev <= 6.5 * sigma,
            "{what}: case {i} chosen {c} times of {n} ({counts:?})"
        );
    }
}

#[test]
fn recv_two_ready() {
    let (t1, r1) = unbounded::<u8>();
    let (t2, r2) = unbounded::<u8>();
    let mut c = [0usize; 2];
    block_on(async {
        for _ in 0..TRIALS {
            t1.try_send(0).unwrap();
            t2.try_send(1).unwrap();
            let i = select! { recv(r1) -> _ => 0, recv(r2) -> _ => 1 };
            c[i] += 1;
            // Empty both again so the next round starts equal.
            let _ = r1.try_recv();
            let _ = r2.try_recv();
        }
    });
    assert_uniform("recv two ready", &c);
}

#[test]
fn recv_three_ready_with_default() {
    let chans: Vec<_> = (0..3).map(|_| bounded::<u8>(1)).collect();
    let mut c = [0usize; 3];
    block_on(async {
        for _ in 0..TRIALS {
            for (t, _) in &chans {
                let _ = t.try_send(0);
            }
            let i = select! {
                recv(chans[0].1) -> _ => 0,
                default => unreachable!("all ready"),
                recv(chans[1].1) -> _ => 1,
                recv(chans[2].1) -> _ => 2,
            };
            c[i] += 1;
        }
    });
    assert_uniform("recv three ready, default", &c);
}

#[test]
fn send_two_ready() {
    let (t1, r1) = unbounded::<u8>();
    let (t2, r2) = unbounded::<u8>();
    let mut c = [0usize; 2];
    block_on(async {
        for _ in 0..TRIALS {
            let i = select! { send(t1, 0) -> _ => 0, send(t2, 1) -> _ => 1 };
            c[i] += 1;
        }
    });
    assert_eq!((r1.len(), r2.len()), (c[0], c[1]));
    assert_uniform("send two ready", &c);
}

#[test]
fn send_and_recv_ready() {
    let (t1, r1) = unbounded::<u8>();
    let (t2, _r2) = unbounded::<u8>();
    let mut c = [0usize; 2];
    block_on(async {
        for _ in 0..TRIALS {
            let _ = t1.try_send(0);
            let i = select! { recv(r1) -> _ => 0, send(t2, 1) -> _ => 1 };
            c[i] += 1;
        }
    });
    assert_uniform("send and recv ready", &c);
}

/// Four cases, two of them never ready: the two ready ones split evenly.
#[test]
fn two_of_four_ready() {
    let (t1, r1) = unbounded::<u8>();
    let (t2, r2) = unbounded::<u8>();
    let (_t3, r3) = bounded::<u8>(0);
    let n4 = gort_channels::never::<u8>();
    let mut c = [0usize; 2];
    block_on(async {
        for _ in 0..TRIALS {
            let _ = t1.try_send(0);
            let _ = t2.try_send(0);
            let i = select! {
                recv(r3) -> _ => unreachable!(),
                recv(r1) -> _ => 0,
                recv(n4) -> _ => unreachable!(),
                recv(r2) -> _ => 1,
            };
            c[i] += 1;
        }
    });
    assert_uniform("two of four ready", &c);
}

#[test]
fn dynamic_select_fair() {
    let chans: Vec<_> = (0..4).map(|_| bounded::<u8>(1)).collect();
    let mut c = [0usize; 4];
    for round in 0..TRIALS {
        for (t, _) in &chans {
            let _ = t.try_send(0);
        }
        let mut sel = Select::new();
        for (_, r) in &chans {
            sel.recv(r);
        }
        let op = if round % 2 == 0 {
            sel.select_blocking()
        } else {
            sel.try_select().unwrap()
        };
        let i = op.index();
        op.recv(&chans[i].1).unwrap();
        c[i] += 1;
    }
    assert_uniform("dynamic select", &c);
}

#[test]
fn dynamic_select_send_fair() {
    let chans: Vec<_> = (0..2).map(|_| unbounded::<u8>()).collect();
    let mut c = [0usize; 2];
    for _ in 0..TRIALS {
        let mut sel = Select::new();
        for (t, _) in &chans {
            sel.send(t);
        }
        let op = sel.select_blocking();
        let i = op.index();
        op.send(&chans[i].0, 0).unwrap();
        c[i] += 1;
    }
    assert_uniform("dynamic select sends", &c);
}
