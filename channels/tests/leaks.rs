//! Memory: channel operations leave nothing behind. Live heap bytes are counted by a
//! global allocator; each test measures alone in a child process (see support/alloc.rs).
//! Every bound is far below what one leaked allocation per operation would cost.

mod support;

#[path = "support/alloc.rs"]
mod alloc;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

use alloc::{in_child, live_bytes};
use gort_channels::{bounded, never, select, unbounded, Select};
use std::pin::pin;
use std::thread;
use support::{block_on, poll_once};

const ROUNDS: usize = 50_000;

/// Grows by less than `bound` bytes over `ROUNDS` more runs of `f` (after a warm-up).
fn no_growth(what: &str, bound: isize, mut f: impl FnMut()) {
    for _ in 0..ROUNDS / 10 {
        f();
    }
    let before = live_bytes();
    for _ in 0..ROUNDS {
        f();
    }
    let grown = live_bytes() - before;
    assert!(
        grown < bound,
        "{what}: {ROUNDS} rounds left {grown} bytes behind"
    );
}

/// `never()` costs nothing that outlives it (Go's nil channel is free).
#[test]
fn never_does_not_leak() {
    in_child("never_does_not_leak", || {
        no_growth("never()", 64 * 1024, || drop(never::<u64>()));
    });
}

#[test]
fn channels_freed() {
    in_child("channels_freed", || {
        no_growth("bounded(4) with values", 64 * 1024, || {
            let (tx, rx) = bounded::<Vec<u8>>(4);
            tx.send_blocking(vec![1; 100]).unwrap();
            tx.send_blocking(vec![2; 100]).unwrap();
            drop(rx);
            drop(tx);
        });
        no_growth("unbounded, receiver first", 64 * 1024, || {
            let (tx, rx) = unbounded::<Vec<u8>>();
            tx.send_blocking(vec![1; 100]).unwrap();
            drop(tx);
            drop(rx);
        });
        // Across blocks, with a spare block kept and values left in the last ones.
        no_growth("unbounded, dropped with a spare block", 64 * 1024, || {
            let (tx, rx) = unbounded::<Vec<u8>>();
            for i in 0..100 {
                tx.send_blocking(vec![i; 10]).unwrap();
            }
            for _ in 0..70 {
                rx.recv_blocking().unwrap();
            }
            drop(rx);
            drop(tx);
        });
    });
}

/// A long-lived unbounded channel holds no more blocks than its backlog needs: blocks
/// its receivers are done with are reused or freed, however many values pass.
#[test]
fn unbounded_blocks_reused() {
    in_child("unbounded_blocks_reused", || {
        let (tx, rx) = unbounded::<u64>();
        no_growth("unbounded, 100 in then 100 out", 16 * 1024, || {
            for i in 0..100 {
                tx.send_blocking(i).unwrap();
            }
            for i in 0..100 {
                assert_eq!(rx.recv_blocking(), Some(i));
            }
        });
    });
}

/// A future polled to Pending and dropped leaves no entry in the channel's queue.
#[test]
fn dropped_futures_do_not_accumulate() {
    in_child("dropped_futures_do_not_accumulate", || {
        let (tx, rx) = bounded::<u64>(0);
        let (_tx2, rx2) = bounded::<u64>(0);
        no_growth("dropped recv futures", 64 * 1024, || {
            let mut f = pin!(rx.recv());
            assert!(poll_once(f.as_mut()).is_pending());
        });
        no_growth("dropped send futures", 64 * 1024, || {
            let mut f = pin!(tx.send(1));
            assert!(poll_once(f.as_mut()).is_pending());
        });
        no_growth("dropped selects", 64 * 1024, || {
            let mut f = pin!(async {
                select! { recv(rx) -> _ => (), recv(rx2) -> _ => () }
            });
            assert!(poll_once(f.as_mut()).is_pending());
        });
    });
}

/// Selects that wait and then complete on one channel leave nothing on the other
/// (which never fires), for the macro, the dynamic select and blocking threads.
#[test]
fn waiting_selects_do_not_accumulate() {
    in_child("waiting_selects_do_not_accumulate", || {
        let (tx, rx) = bounded::<u64>(0);
        let (_idle_tx, idle) = bounded::<u64>(0);
        let n = ROUNDS + ROUNDS / 10;
        let sender = thread::spawn(move || {
            for i in 0..3 * n as u64 {
                tx.send_blocking(i).unwrap();
            }
        });
        no_growth("select! waiting", 64 * 1024, || {
            block_on(async {
                select! { recv(rx) -> v => { v.unwrap(); } recv(idle) -> _ => unreachable!() }
            })
        });
        no_growth("Select::select_blocking", 64 * 1024, || {
            let mut sel = Select::new();
            let i = sel.recv(&rx);
            sel.recv(&idle);
            let op = sel.select_blocking();
            assert_eq!(op.index(), i);
            op.recv(&rx).unwrap();
        });
        no_growth("recv_blocking", 64 * 1024, || {
            rx.recv_blocking().unwrap();
        });
        sender.join().unwrap();
    });
}

/// Timeouts leave nothing either.
#[test]
fn timeouts_do_not_accumulate() {
    in_child("timeouts_do_not_accumulate", || {
        let (_tx, rx) = bounded::<u64>(0);
        let before = live_bytes();
        for _ in 0..2_000 {
            assert!(rx
                .recv_timeout(std::time::Duration::from_micros(1))
                .is_err());
        }
        let grown = live_bytes() - before;
        assert!(
            grown < 64 * 1024,
            "2,000 timeouts left {grown} bytes behind"
        );
    });
}

/// A channel keeps the memory of the last entry that waited on it for the next one
/// (spare.rs), but not what the entry held: the waiting task's waker, and through it
/// the task, is let go when the operation ends.
#[test]
fn a_kept_entry_holds_no_waker() {
    use std::future::Future;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Counted;
    impl Wake for Counted {
        fn wake(self: Arc<Self>) {}
    }
    let counted = Arc::new(Counted);
    let waker = Waker::from(counted.clone());
    let mut cx = Context::from_waker(&waker);
    let (tx, rx) = bounded::<u32>(0);
    for round in 0..3 {
        let mut recv = pin!(rx.recv());
        assert!(recv.as_mut().poll(&mut cx).is_pending(), "nothing sent yet");
        tx.try_send(round).expect("a receiver waits");
        assert_eq!(recv.as_mut().poll(&mut cx), Poll::Ready(Some(round)));
    }
    drop(waker);
    assert_eq!(
        Arc::strong_count(&counted),
        1,
        "the channel still holds the finished task's waker"
    );
    drop((tx, rx));
}
