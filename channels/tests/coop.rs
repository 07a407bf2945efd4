//! The cooperative budget as a scheduler sees it (`coop::with_budget` around a poll):
//! operations that complete without waiting spend one unit each; when the budget is
//! spent the next operation yields once (wakes its task, returns Pending); an
//! operation that had to wait spends nothing; with no budget set nothing yields.

mod support;

use gort_channels::{coop, select, unbounded};
use std::pin::pin;
use std::task::Poll;
use support::{poll_with, CountingWaker};

#[test]
fn budget_spent_then_one_yield() {
    let (tx, rx) = unbounded::<u32>();
    for i in 0..10 {
        tx.send_blocking(i).unwrap();
    }
    let (wakes, waker) = CountingWaker::new();
    coop::with_budget(3, || {
        for i in 0..3 {
            let mut f = pin!(rx.recv());
            assert_eq!(poll_with(f.as_mut(), &waker), Poll::Ready(Some(i)));
        }
        assert!(!coop::has_budget_remaining());
        let mut f = pin!(rx.recv());
        assert!(
            poll_with(f.as_mut(), &waker).is_pending(),
            "a spent budget must yield"
        );
        assert_eq!(wakes.count(), 1, "a yield wakes its task");
        // Nothing was taken by the yielding receive.
        assert_eq!(rx.len(), 7);
    });
    // The next poll of the task gets a fresh budget.
    coop::with_budget(3, || {
        let mut f = pin!(rx.recv());
        assert_eq!(poll_with(f.as_mut(), &waker), Poll::Ready(Some(3)));
    });
}

/// Sends, selects and the stream spend too.
#[test]
fn every_kind_of_operation_spends() {
    let (tx, rx) = unbounded::<u32>();
    let (_w, waker) = CountingWaker::new();
    coop::with_budget(2, || {
        let mut f = pin!(tx.send(1));
        assert!(poll_with(f.as_mut(), &waker).is_ready());
        let mut f = pin!(async {
            select! { recv(rx) -> v => v }
        });
        assert!(poll_with(f.as_mut(), &waker).is_ready());
        let mut f = pin!(tx.send(2));
        assert!(poll_with(f.as_mut(), &waker).is_pending());
        let mut f = pin!(async {
            select! { recv(rx) -> v => v }
        });
        assert!(poll_with(f.as_mut(), &waker).is_pending());
    });
    assert_eq!(rx.len(), 0, "the yielding send sent nothing");
}

/// An operation that waited and then completed did not run without waiting: it
/// spends nothing.
#[test]
fn waited_operation_spends_nothing() {
    let (tx, rx) = unbounded::<u32>();
    let (_w, waker) = CountingWaker::new();
    let mut f = pin!(rx.recv());
    coop::with_budget(1, || assert!(poll_with(f.as_mut(), &waker).is_pending()));
    tx.send_blocking(5).unwrap();
    coop::with_budget(1, || {
        assert_eq!(poll_with(f.as_mut(), &waker), Poll::Ready(Some(5)));
        assert!(
            coop::has_budget_remaining(),
            "a waited receive spent the budget"
        );
    });
}

/// With no budget set (a plain thread, another executor) nothing ever yields.
#[test]
fn no_budget_no_yield() {
    let (tx, rx) = unbounded::<u32>();
    let (wakes, waker) = CountingWaker::new();
    for i in 0..10_000 {
        let mut f = pin!(tx.send(i));
        assert!(poll_with(f.as_mut(), &waker).is_ready());
        let mut f = pin!(rx.recv());
        assert_eq!(poll_with(f.as_mut(), &waker), Poll::Ready(Some(i)));
    }
    assert_eq!(wakes.count(), 0);
    assert!(coop::has_budget_remaining());
}

/// A select that yields for the budget leaves no trace: its send value is dropped,
/// nothing is taken.
#[test]
fn yielding_select_leaves_no_trace() {
    let (tx, rx) = unbounded::<u32>();
    tx.send_blocking(1).unwrap();
    let (_w, waker) = CountingWaker::new();
    coop::with_budget(0, || {
        let mut f = pin!(async {
            select! { recv(rx) -> v => v, send(tx, 2) -> _ => None }
        });
        assert!(poll_with(f.as_mut(), &waker).is_pending());
    });
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![1]);
}

/// A monitor's request to yield (`set_preempt_flag`) makes a task that keeps finding
/// its channel ready yield within a few operations, long before its budget is spent;
/// without the request it runs the whole budget.
#[test]
fn preempt_request_yields_before_the_budget_is_spent() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::Arc;

    // More values than the budget: the budget, not the channel, ends the run.
    let values = coop::DEFAULT_BUDGET + 100;
    let ready_ops_before_yield = |flag: &Arc<AtomicBool>| {
        let (tx, rx) = unbounded::<u32>();
        for i in 0..values {
            tx.send_blocking(i).unwrap();
        }
        let (_wakes, waker) = CountingWaker::new();
        coop::set_preempt_flag(Some(flag.clone()));
        let n = coop::with_budget(coop::DEFAULT_BUDGET, || {
            (0..values)
                .take_while(|_| poll_with(pin!(rx.recv()).as_mut(), &waker).is_ready())
                .count()
        });
        coop::set_preempt_flag(None);
        n
    };
    let flag = Arc::new(AtomicBool::new(false));
    assert_eq!(ready_ops_before_yield(&flag), coop::DEFAULT_BUDGET as usize);
    flag.store(true, Relaxed);
    let n = ready_ops_before_yield(&flag);
    assert!(
        (1..=16).contains(&n),
        "{n} operations ran after the request to yield"
    );
}
