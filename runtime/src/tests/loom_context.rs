//! Loom models of the context cancellation tree (`context/tree.rs`, invariants in
//! `context/mod.rs`): a parent cancelled while a child is being created under it and
//! while children cancel themselves and grow grandchildren.
//!
//! The tree's locks and `Arc`s come through `crate::loom`, so loom explores every
//! interleaving of the real code. What each model checks at the end, in every
//! execution: every context is done, with the error of the cancel that reached it
//! first; every after-func (run in place under loom, see `tree::run_after`) ran exactly
//! once, so every node was cancelled exactly once; no child is left registered with
//! any parent. A cycle left between a parent and a child would be reported by loom as
//! a leaked `Arc`. Two smaller models check `AfterFuncStop::stop` against a cancel
//! (exactly one wins) and a first `done()` against a cancel (the channel handed out is
//! closed either way: the channel is made and checked under the node's lock).

use crate::context::{background, Context, ContextError};
use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::Arc;

/// Registers an after-func that counts its calls.
fn counted(ctx: &Context) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    drop(ctx.after_func(move || {
        c.fetch_add(1, SeqCst);
    }));
    calls
}

/// Thread A cancels the parent; thread B creates a child of it (born done, or
/// registered and then taken out by A, or registered and removing itself), gives it an
/// after-func, and cancels it.
#[test]
fn loom_context_cancel_vs_child_create_and_self_cancel() {
    super::in_orders(2, |order| {
        let (parent, cancel) = background().with_cancel();
        let parent_calls = counted(&parent);
        let results = super::Threads::new()
            .with(move || {
                cancel.cancel();
                None
            })
            .with({
                let parent = parent.clone();
                move || {
                    let (child, cancel) = parent.with_cancel();
                    let calls = counted(&child);
                    cancel.cancel();
                    Some((child, calls))
                }
            })
            .run(order);
        let (child, child_calls) = results.into_iter().flatten().next().unwrap();
        assert_eq!(parent.err(), Some(ContextError::Canceled));
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(parent_calls.load(SeqCst), 1);
        assert_eq!(child_calls.load(SeqCst), 1);
        assert_eq!(parent.child_count(), 0);
    });
}

/// Three levels at once: A cancels the parent; B cancels a registered child; C grows
/// a grandchild under that child. Whoever wins, each node is cancelled once, and the
/// grandchild is done (with the parent's or the child's cancel) and unregistered.
#[test]
fn loom_context_cancel_vs_grandchild() {
    super::in_orders(3, |order| {
        let (parent, cancel) = background().with_cancel();
        let (child, child_cancel) = parent.with_cancel();
        let child_calls = counted(&child);
        let results = super::Threads::new()
            .with(move || {
                cancel.cancel();
                None
            })
            .with(move || {
                child_cancel.cancel();
                None
            })
            .with({
                let child = child.clone();
                move || {
                    let (grandchild, _cancel) = child.with_cancel();
                    let calls = counted(&grandchild);
                    Some((grandchild, calls))
                }
            })
            .run(order);
        let (grandchild, grand_calls) = results.into_iter().flatten().next().unwrap();
        for ctx in [&parent, &child, &grandchild] {
            assert_eq!(ctx.err(), Some(ContextError::Canceled));
            assert_eq!(ctx.child_count(), 0);
        }
        assert_eq!(child_calls.load(SeqCst), 1);
        assert_eq!(grand_calls.load(SeqCst), 1);
    });
}

/// A cancel against `AfterFuncStop::stop`: exactly one of them wins, the function runs
/// if and only if `stop` says it did not prevent it.
#[test]
fn loom_context_after_func_stop_vs_cancel() {
    super::in_orders(2, |order| {
        let (ctx, cancel) = background().with_cancel();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut stop = {
            let calls = calls.clone();
            ctx.after_func(move || {
                calls.fetch_add(1, SeqCst);
            })
        };
        let results = super::Threads::new()
            .with(move || {
                cancel.cancel();
                None
            })
            .with(move || Some(stop.stop()))
            .run(order);
        let stopped = results.into_iter().flatten().next().unwrap();
        assert_eq!(calls.load(SeqCst), usize::from(!stopped));
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
    });
}

/// A parent's cancel against a child's first `done()` (which makes the channel): the
/// channel handed out is closed once both are over, whichever came first.
#[test]
fn loom_context_done_chan_vs_cancel() {
    super::in_orders(2, |order| {
        let (parent, cancel) = background().with_cancel();
        let (child, _child_cancel) = parent.with_cancel();
        let results = super::Threads::new()
            .with(move || {
                cancel.cancel();
                None
            })
            .with(move || Some(child.done()))
            .run(order);
        let done = results.into_iter().flatten().next().unwrap();
        assert_eq!(
            done.try_recv(),
            Err(gort_channels::TryRecvError::Closed),
            "the done channel missed the cancel"
        );
        assert_eq!(parent.child_count(), 0);
    });
}
