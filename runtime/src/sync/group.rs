//! `Group` (Go's `golang.org/x/sync/errgroup`): goroutines working on subtasks of one
//! task, the first error wins and cancels the group's context.
//!
//! Each `go` counts into a [`WaitGroup`] and spawns a goroutine; a guard in that
//! goroutine counts it out even if its future panics or is dropped (runtime shutdown),
//! so `wait` cannot hang on a goroutine that will never finish. The limit is Go's
//! semaphore: a buffered channel of `n` slots, a send takes a slot, a receive frees it.
//!
//! `go` with a limit: Go's `Go` blocks the caller until a slot is free. Here `go` never
//! blocks (it is called from async code, where blocking the thread would stall the P);
//! the new goroutine waits for a slot before it starts running `fut`, so at most `n`
//! run at once and the rest queue, in the order the runtime wakes them. `try_go` is
//! Go's `TryGo`: it starts the goroutine only if a slot is free now.

use super::WaitGroup;
use crate::context::{CancelFn, Context};
use crate::loom::{Arc, Mutex};
use gort_channels::{bounded, Receiver, Sender};
use std::fmt;
use std::future::Future;

/// A group of goroutines whose first error is returned by [`wait`](Group::wait).
///
/// ```
/// use gort::sync::Group;
/// gort::run(async {
///     let (group, ctx) = Group::with_context(&gort::context::background());
///     for i in 0..4 {
///         let ctx = ctx.clone();
///         group.go(async move {
///             if i == 2 {
///                 return Err(format!("task {i} failed"));
///             }
///             ctx.done().recv().await; // the others stop when one fails
///             Ok(())
///         });
///     }
///     assert_eq!(group.wait().await, Err("task 2 failed".to_string()));
///     assert!(ctx.err().is_some());
/// });
/// ```
pub struct Group<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    wg: WaitGroup,
    /// The first error, taken by `wait`.
    err: Mutex<Option<E>>,
    /// Set by a goroutine whose future panicked; `wait` panics then.
    panicked: Mutex<bool>,
    cancel: Option<CancelFn>,
    /// The slots: a send takes one, a receive frees it.
    sem: Mutex<Option<(Sender<()>, Receiver<()>)>>,
}

impl<E> Clone for Group<E> {
    fn clone(&self) -> Self {
        Group {
            inner: self.inner.clone(),
        }
    }
}

impl<E: Send + 'static> Group<E> {
    /// A group with no context and no limit.
    pub fn new() -> Group<E> {
        Group::build(None)
    }

    /// A group and a child of `ctx` that is cancelled on the group's first error, and
    /// when `wait` returns.
    pub fn with_context(ctx: &Context) -> (Group<E>, Context) {
        let (ctx, cancel) = ctx.with_cancel();
        (Group::build(Some(cancel)), ctx)
    }

    fn build(cancel: Option<CancelFn>) -> Group<E> {
        Group {
            inner: Arc::new(Inner {
                wg: WaitGroup::new(),
                err: Mutex::new(None),
                panicked: Mutex::new(false),
                cancel,
                sem: Mutex::new(None),
            }),
        }
    }

    /// At most `n` of the group's goroutines run `fut` at once; later ones wait for a
    /// slot (see the module docs).
    ///
    /// # Panics
    /// If `n` is zero (no goroutine could ever run), or if goroutines of the group are
    /// active (as Go).
    pub fn set_limit(&self, n: usize) {
        assert!(
            n > 0,
            "gort::sync::Group::set_limit(0): no goroutine could ever run"
        );
        assert!(
            self.inner.wg.count() == 0,
            "gort::sync::Group::set_limit called while goroutines of the group are active"
        );
        *self.inner.sem.lock() = Some(bounded(n));
    }

    /// Starts `fut` on a new goroutine of the current runtime. Its error, if it is the
    /// group's first, is what `wait` returns, and cancels the group's context.
    ///
    /// # Panics
    /// On a thread with no gort runtime.
    pub fn go<F>(&self, fut: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let sem = self.inner.sem.lock().clone();
        self.spawn(fut, sem, false);
    }

    /// Starts `fut` only if the limit allows one more goroutine now (Go's `TryGo`);
    /// false when it did not start it.
    pub fn try_go<F>(&self, fut: F) -> bool
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let sem = self.inner.sem.lock().clone();
        if let Some((tx, _)) = &sem {
            if tx.try_send(()).is_err() {
                return false;
            }
        }
        self.spawn(fut, sem, true);
        true
    }

    fn spawn<F>(&self, fut: F, sem: Option<(Sender<()>, Receiver<()>)>, has_slot: bool)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.inner.wg.add(1);
        // Made before the spawn and moved into the goroutine, so the count comes back
        // even if the spawn panics (no runtime) or the goroutine is dropped unpolled.
        let mut guard = Finish {
            inner: self.inner.clone(),
            slot: None,
        };
        if has_slot {
            guard.slot = sem.as_ref().map(|(_, rx)| rx.clone());
        }
        // Detached: the group tracks its goroutines through the wait group.
        drop(crate::go(async move {
            let mut guard = guard;
            if let Some((tx, rx)) = sem {
                if !has_slot {
                    // The sender and a receiver live here, so the channel is open.
                    let _ = tx.send(()).await;
                    guard.slot = Some(rx);
                }
            }
            if let Err(e) = fut.await {
                let inner = &guard.inner;
                let first = {
                    let mut err = inner.err.lock();
                    let first = err.is_none();
                    if first {
                        *err = Some(e);
                    }
                    first
                };
                if first {
                    inner.cancel_ctx();
                }
            }
        }));
    }

    /// Waits for every goroutine of the group, cancels the group's context, and
    /// returns the first error (taking it: a second `wait` returns `Ok`).
    ///
    /// # Panics
    /// If a goroutine of the group panicked (as Go's errgroup propagates the panic).
    pub async fn wait(&self) -> Result<(), E> {
        self.inner.wg.wait().await;
        self.finish_wait()
    }

    /// As [`wait`](Self::wait), blocking a plain thread.
    pub fn wait_blocking(&self) -> Result<(), E> {
        self.inner.wg.wait_blocking();
        self.finish_wait()
    }

    fn finish_wait(&self) -> Result<(), E> {
        self.inner.cancel_ctx();
        assert!(
            !*self.inner.panicked.lock(),
            "a goroutine of this gort::sync::Group panicked"
        );
        match self.inner.err.lock().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<E: Send + 'static> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E> Inner<E> {
    fn cancel_ctx(&self) {
        if let Some(c) = &self.cancel {
            c.cancel();
        }
    }
}

/// Counts its goroutine out of the group however it ends (returned, panicked, or
/// dropped unfinished), freeing its slot first so a queued goroutine can start.
struct Finish<E> {
    inner: Arc<Inner<E>>,
    slot: Option<Receiver<()>>,
}

impl<E> Drop for Finish<E> {
    fn drop(&mut self) {
        if let Some(rx) = self.slot.take() {
            let _ = rx.try_recv();
        }
        if std::thread::panicking() {
            *self.inner.panicked.lock() = true;
            self.inner.cancel_ctx();
        }
        self.inner.wg.done();
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("active", &self.inner.wg.count())
            .field("has_context", &self.inner.cancel.is_some())
            .finish_non_exhaustive()
    }
}
