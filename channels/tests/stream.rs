//! `Receiver` as a `futures_core::Stream`: items until closed and drained, Pending
//! while empty (woken by a send), and a pending `poll_next` abandoned by dropping the
//! receiver loses nothing.

mod support;

use futures_core::Stream;
use gort_channels::{bounded, unbounded};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;
use support::{block_on, noop_waker, poll_with, CountingWaker};

fn poll_next<S: Stream + Unpin>(s: &mut S, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
    Pin::new(s).poll_next(cx)
}

async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| poll_next(s, cx)).await
}

#[test]
fn stream_yields_until_closed() {
    let (tx, mut rx) = bounded::<i32>(2);
    let h = thread::spawn(move || {
        for i in 0..100 {
            tx.send_blocking(i).unwrap();
        }
    });
    let got = block_on(async {
        let mut v = Vec::new();
        while let Some(x) = next(&mut rx).await {
            v.push(x);
        }
        v
    });
    h.join().unwrap();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    // After the end, it keeps ending.
    assert_eq!(block_on(next(&mut rx)), None);
}

#[test]
fn stream_pending_then_woken() {
    let (tx, mut rx) = unbounded::<i32>();
    let (count, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(poll_next(&mut rx, &mut cx), Poll::Pending);
    assert_eq!(poll_next(&mut rx, &mut cx), Poll::Pending);
    tx.send_blocking(1).unwrap();
    assert!(count.count() >= 1, "a send did not wake the stream");
    assert_eq!(poll_next(&mut rx, &mut cx), Poll::Ready(Some(1)));
    assert_eq!(poll_next(&mut rx, &mut cx), Poll::Pending);
    drop(tx);
    assert_eq!(poll_next(&mut rx, &mut cx), Poll::Ready(None));
}

/// A receiver clone whose `poll_next` is pending, dropped after a value was handed to
/// it: the value goes back and another receiver gets it.
#[test]
fn dropped_pending_stream_puts_value_back() {
    for cap in [0usize, 1] {
        let (tx, rx) = bounded::<i32>(cap);
        let mut rx2 = rx.clone();
        let waker = noop_waker();
        assert_eq!(
            poll_with(
                std::pin::pin!(std::future::poll_fn(|cx| poll_next(&mut rx2, cx))),
                &waker
            ),
            Poll::Pending
        );
        tx.try_send(7).expect("the stream waits");
        drop(rx2);
        assert_eq!(
            rx.try_recv(),
            Ok(7),
            "cap {cap}: the value was lost with the stream"
        );
    }
}

/// A pending stream dropped (the last receiver) before any value: senders fail.
#[test]
fn dropped_pending_stream_disconnects() {
    let (tx, mut rx) = bounded::<i32>(0);
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(poll_next(&mut rx, &mut cx), Poll::Pending);
    drop(rx);
    assert!(tx.try_send(1).unwrap_err().is_closed());
}

/// Mixing stream polls with plain receives on the same receiver.
#[test]
fn stream_and_recv_mixed() {
    let (tx, mut rx) = unbounded::<i32>();
    for i in 0..10 {
        tx.send_blocking(i).unwrap();
    }
    block_on(async {
        for i in 0..10 {
            let v = if i % 2 == 0 {
                next(&mut rx).await
            } else {
                rx.recv().await
            };
            assert_eq!(v, Some(i));
        }
    });
}
