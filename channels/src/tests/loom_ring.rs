//! Loom models of a buffered channel's buffer (buffer.rs): the bounded ring and the
//! unbounded block list, used without the lock while open, against a lock holder that
//! freezes them to wait, to serve a waiter or to close. Under loom a block of the list
//! holds two values, so three cross a block.

use super::{in_orders, run2, run3};
use crate::{bounded, unbounded, Receiver, Select, Sender, TryRecvError};

/// A channel of capacity `cap`, `None` for unbounded.
fn chan(cap: Option<usize>) -> (Sender<u32>, Receiver<u32>) {
    match cap {
        Some(n) => bounded(n),
        None => unbounded(),
    }
}

/// A sender pushes three values through a `bounded(1)` ring while a receiver takes
/// them: each side finds the ring open, full or empty in turn, so pushes and pops run
/// open, freeze it to wait and thaw it after a hand-off, across a wrap of the ring's
/// lap. The receiver gets 1, 2, 3 in order; a lost wake-up would park both threads,
/// which loom reports.
#[test]
fn loom_ring_laps_between_open_and_frozen() {
    laps(Some(1));
}

/// The same through an unbounded list: the sender never waits, the receiver may, and
/// the third value goes into a second block, which a pop (open or frozen) moves to.
#[test]
fn loom_list_blocks_between_open_and_frozen() {
    laps(None);
}

fn laps(cap: Option<usize>) {
    in_orders(2, move |order| {
        let (tx, rx) = chan(cap);
        let ((), got) = run2(
            order,
            move || {
                for v in 1..=3 {
                    tx.send_blocking(v).expect("the receiver is there");
                }
            },
            move || (0..3).map(|_| rx.recv_blocking()).collect::<Vec<_>>(),
        );
        assert_eq!(got, [Some(1), Some(2), Some(3)]);
    });
}

/// Two senders push into a `bounded(2)` ring without waiting while a receiver, which
/// may find it empty, freezes it and waits: whichever way the open pushes and the
/// freeze interleave, the receiver gets both values (each sender's once) and nothing
/// is left.
#[test]
fn loom_ring_open_pushes_meet_a_waiting_receiver() {
    pushes_meet_receiver(Some(2));
}

/// The same on an unbounded list, where the first push installs the first block.
#[test]
fn loom_list_open_pushes_meet_a_waiting_receiver() {
    pushes_meet_receiver(None);
}

fn pushes_meet_receiver(cap: Option<usize>) {
    in_orders(3, move |order| {
        let (tx, rx) = chan(cap);
        let tx2 = tx.clone();
        let rx2 = rx.clone();
        let (a, b, mut got) = run3(
            order,
            move || tx.try_send(1),
            move || tx2.try_send(2),
            move || [rx.recv_blocking(), rx.recv_blocking()],
        );
        assert!(a.is_ok() && b.is_ok(), "there is room for two");
        got.sort();
        assert_eq!(got, [Some(1), Some(2)]);
        assert_eq!(rx2.try_recv(), Err(TryRecvError::Closed), "nothing left");
    });
}

/// A select with `default` over an open ring, against a sender pushing without the
/// lock: the select either takes the value or takes `default`, and then the value is
/// still in the channel. Never both, never neither.
#[test]
fn loom_ring_select_default_against_open_push() {
    in_orders(2, |order| {
        let (tx, rx) = bounded::<u32>(1);
        let rx2 = rx.clone();
        let (sent, got) = run2(
            order,
            move || tx.try_send(5),
            move || {
                let mut sel = Select::new();
                let i = sel.recv(&rx);
                let got = match sel.try_select() {
                    Ok(op) => {
                        assert_eq!(op.index(), i);
                        op.recv(&rx)
                    }
                    Err(_) => None,
                };
                got
            },
        );
        assert!(sent.is_ok(), "the ring had room");
        match got {
            Some(v) => {
                assert_eq!(v, 5);
                assert_eq!(rx2.try_recv(), Err(TryRecvError::Closed), "nothing left");
            }
            None => assert_eq!(rx2.try_recv(), Ok(5), "default, and the value stays"),
        }
    });
}

/// A full `bounded(1)` ring: a sender waits with 2 (freezing the ring) while the
/// receiver pops 1, possibly without the lock before the freeze: the waiting sender's
/// 2 must move in, and the receiver gets 1 then 2.
#[test]
fn loom_ring_waiting_sender_against_open_pop() {
    in_orders(2, |order| {
        let (tx, rx) = bounded::<u32>(1);
        tx.try_send(1).expect("room for one");
        let (sent, got) = run2(
            order,
            move || tx.send_blocking(2),
            move || [rx.try_recv().ok(), rx.recv_blocking()],
        );
        assert!(sent.is_ok());
        match got {
            [Some(1), Some(2)] => {}
            // The try came before anything was popped? It cannot: 1 was there.
            other => panic!("received {other:?}"),
        }
    });
}

/// "One instant" (select.rs) on open rings: `b` holds a value and a mover puts one
/// into `a` before it takes `b`'s, so at every instant one of them holds a value. A
/// select with `default` over both, each tried without the lock, must therefore never
/// take `default`, though it may look at `a` before the move and at `b` after it: the
/// versions it read tell it that something moved in between, and it looks again.
#[test]
fn loom_ring_select_default_sees_one_instant() {
    in_orders(2, |order| {
        let (ta, ra) = bounded::<u32>(1);
        let (tb, rb) = bounded::<u32>(1);
        tb.try_send(9).expect("room for one");
        // The senders stay alive here: a closed channel would be ready with `None`.
        let (ta2, ra2, rb2) = (ta.clone(), ra.clone(), rb.clone());
        let (moved, got) = run2(
            order,
            move || {
                ta2.try_send(1).expect("room for one");
                rb2.try_recv().ok()
            },
            move || {
                let mut sel = Select::new();
                sel.recv(&ra);
                sel.recv(&rb);
                let got = match sel.try_select() {
                    Ok(op) => match op.index() {
                        0 => op.recv(&ra),
                        _ => op.recv(&rb),
                    },
                    Err(_) => None,
                };
                got
            },
        );
        let got = got.expect("default taken while a channel held a value all along");
        // Nothing lost or duplicated: 1 and 9 each went exactly once somewhere.
        let mut all = vec![got];
        all.extend(moved);
        all.extend(ra2.try_recv().ok());
        all.sort();
        assert_eq!(all, [1, 9]);
        drop((ta, tb));
    });
}

/// Two receivers take the two values of a full first block while a sender pushes
/// three more. Whichever receiver claims the block's last slot waits for the other to
/// finish reading, then keeps the block as the spare; the sender's fourth push needs a
/// third block and may take that spare, so its fifth value can go into a cell the
/// receivers read a moment before. Loom checks every such reuse against the reads
/// (its cells track accesses), and the values come out once each, in order.
#[test]
fn loom_list_block_reused_after_its_readers() {
    in_orders(3, |order| {
        let (tx, rx) = unbounded::<u32>();
        tx.try_send(1).expect("unbounded");
        tx.try_send(2).expect("unbounded");
        let (rx1, rx2) = (rx.clone(), rx.clone());
        let (a, b, ()) = run3(
            order,
            move || rx1.try_recv().ok(),
            move || rx2.try_recv().ok(),
            move || {
                for v in 3..=5 {
                    tx.try_send(v).expect("unbounded");
                }
            },
        );
        let mut first = [a, b];
        first.sort();
        assert_eq!(
            first,
            [Some(1), Some(2)],
            "each of the first block's values once"
        );
        let rest: Vec<_> = (0..3).map(|_| rx.try_recv().ok()).collect();
        assert_eq!(rest, [Some(3), Some(4), Some(5)]);
    });
}
