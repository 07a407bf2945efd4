//! Loom models of the unbuffered (`bounded(0)`) hand-off.

use super::{in_orders, poll_once, run2};
use crate::bounded;
use crate::loom::atomic::{AtomicBool, Ordering::*};
use crate::loom::Arc;
use crate::{SendError, TryRecvError};
use std::task::Poll;

/// How a side waits: parked thread (`*_blocking`) or a future under `block_on`.
#[derive(Clone, Copy)]
enum Wait {
    Thread,
    Task,
}

/// A sender and a receiver meet on a rendezvous channel, whichever comes first and
/// however their steps interleave: the value is delivered exactly once (the receiver
/// gets it, nothing is left in the channel), and the send returns only once a receiver
/// has come for it, never "into the buffer" as if the channel had room for one.
///
/// The receiver raises `receiving` just before it calls `recv`; the sender reads it
/// with `Relaxed` once its send returned. That read must see `true`: a send that
/// completed with no receiver present would miss it, and so would one that completed
/// without synchronizing with the receiver through the channel (its lock or the
/// token's claim), since only that orders the receiver's store before the load.
fn hand_off(send: Wait, recv: Wait) {
    in_orders(2, move |order| {
        let (tx, rx) = bounded::<Box<u32>>(0);
        let receiving = Arc::new(AtomicBool::new(false));
        let seen = receiving.clone();
        let rx2 = rx.clone();
        let (sent, got) = run2(
            order,
            move || {
                let r = match send {
                    Wait::Thread => tx.send_blocking(Box::new(7)),
                    Wait::Task => loom::future::block_on(tx.send(Box::new(7))),
                };
                // Relaxed: ordered by the hand-off itself (see above).
                (r.is_ok(), seen.load(Relaxed))
            },
            move || {
                // Relaxed: the channel's synchronization carries it (see above).
                receiving.store(true, Relaxed);
                match recv {
                    Wait::Thread => rx.recv_blocking(),
                    Wait::Task => loom::future::block_on(rx.recv()),
                }
            },
        );
        assert_eq!(sent, (true, true), "send returned before a receiver came");
        assert_eq!(got.as_deref(), Some(&7));
        assert_eq!(
            rx2.try_recv(),
            Err(TryRecvError::Closed),
            "a value was left"
        );
    });
}

#[test]
fn loom_rendezvous_blocking_send_async_recv() {
    hand_off(Wait::Thread, Wait::Task);
}

#[test]
fn loom_rendezvous_async_send_blocking_recv() {
    hand_off(Wait::Task, Wait::Thread);
}

/// A send future on a rendezvous channel, polled once (so it waits with its value in
/// its slot) and then dropped, while a receiver takes from the channel. The drop
/// races the receiver's claim of the send's token: either the receiver claimed first
/// and has the value (the send completed though nobody polled it to the end), or the
/// drop aborted first and the value went with the future. Never both, never neither:
/// the receiver, which waits until the sender's end is dropped, gets the value or
/// `None` and never hangs; it gets the value whenever the poll already reported `Ok`,
/// and never when its receive began after the drop (a dropped send sends nothing).
#[test]
fn loom_rendezvous_send_future_dropped_after_receiver_committed() {
    in_orders(2, |order| {
        let (tx, rx) = bounded::<u32>(0);
        let dropped = Arc::new(AtomicBool::new(false));
        let seen = dropped.clone();
        let (polled, (after_drop, got)) = run2(
            order,
            move || {
                let mut fut = tx.send(7);
                let polled = poll_once(&mut fut);
                drop(fut);
                // Release: pairs with the receiver's Acquire load; a receiver that
                // sees it begins its receive after the drop.
                dropped.store(true, Release);
                drop(tx); // the last sender: closes, so the receiver cannot hang
                polled
            },
            move || {
                // Acquire: pairs with the Release store after the drop.
                let after_drop = seen.load(Acquire);
                let got = rx.recv_blocking();
                (after_drop, (got, rx.recv_blocking()))
            },
        );
        assert_eq!(got.1, None, "one value was sent, at most");
        match polled {
            Poll::Ready(Ok(())) => assert_eq!(got.0, Some(7), "a sent value was lost"),
            Poll::Ready(Err(SendError(_))) => panic!("the channel was open"),
            Poll::Pending if after_drop => {
                assert_eq!(got.0, None, "a dropped send delivered its value later")
            }
            // Either is right: the receiver's claim and the drop's abort raced.
            Poll::Pending => {}
        }
    });
}

/// A `Select` with one deferred send case (`Select::send`: chosen first, value given
/// after) against an async receiver on a rendezvous channel. Whoever comes first,
/// the select ends up committing the receiver and then filling it, or, with `give`
/// false, dropping its choice unsent and closing the channel. Between the commit and
/// the fill the receiver's case is claimed but empty for as long as the select's owner
/// likes: the receiver must wait for the notify that follows, not spin on its claim
/// (loom reports a spin as a model that never ends). It gets 7 exactly when it was
/// given, and `None` (the close) when the choice was dropped.
fn deferred_send(give: bool) {
    in_orders(2, move |order| {
        let (tx, rx) = bounded::<u32>(0);
        let (sent, got) = run2(
            order,
            move || {
                let mut sel = crate::Select::new();
                sel.send(&tx);
                let op = sel.select_blocking();
                let sent = give.then(|| op.send(&tx, 7));
                drop(sel);
                drop(tx);
                sent
            },
            move || loom::future::block_on(rx.recv()),
        );
        if give {
            assert_eq!(sent, Some(Ok(())));
            assert_eq!(got, Some(7));
        } else {
            assert_eq!(got, None);
        }
    });
}

#[test]
fn loom_rendezvous_deferred_send_to_task() {
    deferred_send(true);
}

#[test]
fn loom_rendezvous_deferred_send_dropped_unsent() {
    deferred_send(false);
}

/// An entry's memory is kept by its channel when the operation that waited with it
/// completes (spare.rs), and the next operation to wait there reuses it. Here a
/// receiver waits twice and a sender sends twice on a rendezvous channel, so either
/// side's second wait may reuse the memory of its first while the other side, which
/// completed that first operation, is still finishing with it (moving the value,
/// notifying, dropping its reference). Loom checks every such reuse against those
/// accesses (the slots' cells track them), and the values arrive once each, in order.
#[test]
fn loom_rendezvous_entry_memory_reused_by_the_next_wait() {
    in_orders(2, |order| {
        let (tx, rx) = bounded::<u32>(0);
        let (sent, got) = run2(
            order,
            move || {
                [
                    tx.send_blocking(1).is_ok(),
                    loom::future::block_on(tx.send(2)).is_ok(),
                ]
            },
            move || [loom::future::block_on(rx.recv()), rx.recv_blocking()],
        );
        assert_eq!(sent, [true, true]);
        assert_eq!(got, [Some(1), Some(2)]);
    });
}
