//! Loom models of a select over two channels with a sender on each.

use super::{in_orders, run3};
use crate::{bounded, Receiver, TryRecvError};

/// `select!` over `recv(a)` and `recv(b)`, awaited under `block_on`: which case
/// completed (0 for `a`, 1 for `b`) and its value.
fn select_recv(a: &Receiver<u32>, b: &Receiver<u32>) -> (usize, Option<u32>) {
    loom::future::block_on(async {
        crate::select! {
            recv(a) -> v => (0, v),
            recv(b) -> v => (1, v),
        }
    })
}

/// Two rendezvous channels, a blocking sender on each (1 on `a`, 2 on `b`) and a
/// select receiving from both, which then receives once more from the channel whose
/// case was not chosen. Each sender can complete only by handing its value to a
/// receiver, and the select's token is claimable once. Whatever the interleaving of
/// the two senders' claims with the select's tries and registrations: the select
/// completes exactly one case, with that channel's value; the other sender's value is
/// still there for the second receive (a lost one would leave its sender blocked
/// forever, which loom reports; a duplicated one would give the select and the second
/// receive the same channel's value); both sends return `Ok`.
#[test]
fn loom_select_two_rendezvous_senders() {
    in_orders(3, |order| {
        let (ta, ra) = bounded::<u32>(0);
        let (tb, rb) = bounded::<u32>(0);
        let (ra2, rb2) = (ra.clone(), rb.clone());
        let (sa, sb, (chosen, other)) = run3(
            order,
            move || ta.send_blocking(1),
            move || tb.send_blocking(2),
            move || {
                let chosen = select_recv(&ra, &rb);
                let other = if chosen.0 == 0 {
                    rb.recv_blocking()
                } else {
                    ra.recv_blocking()
                };
                (chosen, other)
            },
        );
        assert_eq!((sa, sb), (Ok(()), Ok(())));
        match chosen {
            (0, Some(1)) => assert_eq!(other, Some(2)),
            (1, Some(2)) => assert_eq!(other, Some(1)),
            c => panic!("case {} completed with {:?}", c.0, c.1),
        }
        assert_eq!(ra2.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(rb2.try_recv(), Err(TryRecvError::Closed));
    });
}

/// Two `bounded(1)` channels, a `try_send` on each (1 on `a`, 2 on `b`; room for it,
/// so it never waits) and a select receiving from both. Senders may find the select
/// waiting on both channels and race to claim it, or find nobody and buffer. Exactly
/// one case completes, with its channel's value; the value sent on the other channel
/// is still in that channel afterwards (the sender that lost the claim to the other
/// buffered its value instead of dropping it or handing it to the select too), and
/// the chosen channel is empty.
#[test]
fn loom_select_two_buffered_senders() {
    in_orders(3, |order| {
        let (ta, ra) = bounded::<u32>(1);
        let (tb, rb) = bounded::<u32>(1);
        let (ra2, rb2) = (ra.clone(), rb.clone());
        let (sa, sb, chosen) = run3(
            order,
            move || ta.try_send(1),
            move || tb.try_send(2),
            move || select_recv(&ra, &rb),
        );
        assert_eq!((sa, sb), (Ok(()), Ok(())));
        let (chosen_rx, other_rx, other_value) = match chosen {
            (0, Some(1)) => (&ra2, &rb2, 2),
            (1, Some(2)) => (&rb2, &ra2, 1),
            c => panic!("case {} completed with {:?}", c.0, c.1),
        };
        assert_eq!(
            other_rx.try_recv(),
            Ok(other_value),
            "the other value was lost"
        );
        assert_eq!(chosen_rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(other_rx.try_recv(), Err(TryRecvError::Closed));
    });
}
