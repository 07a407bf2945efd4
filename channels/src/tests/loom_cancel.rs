//! Loom models of a waiting future's waker: registered, replaced, and dropped with
//! its future, while a sender completes the operation it waits for.
//!
//! Each future is polled under its own `block_on`, so each poll's waker is a distinct
//! loom `Arc`: one the channel kept past the future's end fails the model as a leak,
//! and a wake that went only to a replaced waker leaves the thread parked, which loom
//! reports as a deadlock. (A wake of an old waker after the drop is harmless: the
//! waker owns what it points at, and the crate has no `unsafe` to get that wrong.)

use super::{in_orders, poll_once, run2};
use crate::__private::{select, Case, RecvCase};
use crate::{bounded, TryRecvError};
use std::task::Poll;

/// A recv future polled once on a `bounded(1)` channel (so it waits, with its waker
/// in its token, unless the value is there already) and then dropped, while a sender
/// sends one value. The drop's abort races the sender's claim: if the claim won, the
/// value sits in the dropped future's slot and must go back to the channel. Either
/// the poll received it, or the channel holds it afterwards: never lost, never both.
#[test]
fn loom_recv_future_dropped_racing_send() {
    in_orders(2, |order| {
        let (tx, rx) = bounded::<u32>(1);
        let rx2 = rx.clone();
        let (sent, polled) = run2(
            order,
            move || tx.send_blocking(7),
            move || {
                let mut fut = rx.recv();
                poll_once(&mut fut)
            },
        );
        assert_eq!(sent, Ok(()));
        match polled {
            Poll::Ready(v) => {
                assert_eq!(v, Some(7));
                assert_eq!(rx2.try_recv(), Err(TryRecvError::Closed), "duplicated");
            }
            Poll::Pending => assert_eq!(rx2.try_recv(), Ok(7), "the value was lost"),
        }
    });
}

/// As above on a rendezvous channel, where the sender waits too: after dropping its
/// future the receiver receives again (blocking) unless the poll got the value. A
/// value that went into the dropped future's slot and not back would leave both
/// threads parked; the second receive must find exactly the one value.
#[test]
fn loom_recv_future_dropped_racing_rendezvous_send() {
    in_orders(2, |order| {
        let (tx, rx) = bounded::<u32>(0);
        let (sent, got) = run2(
            order,
            move || tx.send_blocking(7),
            move || {
                let mut fut = rx.recv();
                let polled = poll_once(&mut fut);
                drop(fut);
                let got = match polled {
                    Poll::Ready(v) => v,
                    Poll::Pending => rx.recv_blocking(),
                };
                (got, rx.recv_blocking())
            },
        );
        assert_eq!(sent, Ok(()));
        assert_eq!(got, (Some(7), None));
    });
}

/// A recv future polled with one waker, then awaited with another (as when a task
/// moves between executors' threads), while a sender sends. The sender's wake may go
/// to the old waker, before the new one is stored: the future must notice the claim
/// itself after storing it, or the second `block_on` parks forever.
#[test]
fn loom_recv_future_new_waker_racing_send() {
    in_orders(2, |order| {
        let (tx, rx) = bounded::<u32>(0);
        let (sent, got) = run2(
            order,
            move || tx.send_blocking(7),
            move || {
                let mut fut = rx.recv();
                match poll_once(&mut fut) {
                    Poll::Ready(v) => v,
                    Poll::Pending => loom::future::block_on(fut),
                }
            },
        );
        assert_eq!(sent, Ok(()));
        assert_eq!(got, Some(7));
    });
}

/// A select over `recv(a)` and `recv(b)` (`bounded(1)` each) polled once and dropped,
/// while a sender sends 7 on `a`. The select waits with one token in both channels'
/// queues; the drop must take both entries out, and a value claimed for the `a` case
/// before the abort goes back to `a`. Afterwards 7 is either the select's output or
/// in `a`, and `b` holds nothing.
#[test]
fn loom_select_future_dropped_racing_send() {
    in_orders(2, |order| {
        let (ta, ra) = bounded::<u32>(1);
        let (_tb, rb) = bounded::<u32>(1);
        let (ra2, rb2) = (ra.clone(), rb.clone());
        let (sent, got) = run2(
            order,
            move || ta.send_blocking(7),
            move || {
                let mut a = RecvCase::new(&ra);
                let mut b = RecvCase::new(&rb);
                let polled = {
                    let cases: &mut [&mut (dyn Case + Send)] = &mut [&mut a, &mut b];
                    let mut fut = select(cases, false);
                    poll_once(&mut fut)
                };
                match polled {
                    Poll::Ready(Some(0)) => Some(a.into_output()),
                    Poll::Ready(other) => panic!("only `a` gets a value: {other:?}"),
                    Poll::Pending => None,
                }
            },
        );
        assert_eq!(sent, Ok(()));
        match got {
            Some(v) => {
                assert_eq!(v, Some(7));
                assert_eq!(ra2.try_recv(), Err(TryRecvError::Closed), "duplicated");
            }
            None => assert_eq!(ra2.try_recv(), Ok(7), "the value was lost"),
        }
        assert_eq!(rb2.try_recv(), Err(TryRecvError::Empty));
    });
}
