//! The cancellation tree: one [`CancelNode`] per `with_cancel`/`with_deadline` layer,
//! each registered with its nearest cancellable ancestor until one of them ends.
//!
//! Protocol (the invariants are in the parent module's docs): every node's mutable
//! state sits behind its own lock, and no code path ever holds two node locks. A
//! cancel marks its node done under the node's lock and takes the children out in the
//! same critical section; it then releases the lock and marks the children one by one
//! from a work list (iterative, so a deep tree cannot overflow the stack), and only
//! then closes the done channels, children first. A child
//! that cancels itself first unregisters by taking only its parent's lock; if the
//! parent's cancel already took the children out, the child's slot is gone and the
//! removal finds nothing (the `ptr_eq` check also guards against a reused slot, though
//! a slot is only reused after its owner removed it).

use super::{Cause, ContextError};
use crate::loom::{Arc, Mutex};
use gort_channels::{bounded, Receiver, Sender};
use slab::Slab;

/// A disarm action for a deadline timer (see `timer.rs`); run outside any node lock.
pub(crate) type Disarm = Box<dyn FnOnce() + Send>;

type AfterFn = Box<dyn FnOnce() + Send>;

/// A cancellable layer of the tree.
pub(crate) struct CancelNode {
    /// The nearest cancellable ancestor this node is registered with (`None`: not
    /// registered: a root, or born done).
    parent: Option<Arc<CancelNode>>,
    /// This node's key in `parent`'s `children`; fixed at birth, only meaningful when
    /// `parent` is `Some`.
    slot: usize,
    state: Mutex<State>,
}

struct State {
    /// `None` until cancelled, then never changes again (invariant 2).
    done: Option<(ContextError, Cause)>,
    /// Registered children; always empty once `done` is set (invariant 3).
    children: Slab<Arc<CancelNode>>,
    /// The `done()` channel, made on first request (a context nobody watches pays
    /// for no channel). Closed exactly once, by the cancel that sets `done`.
    chan: Option<(Sender<()>, Receiver<()>)>,
    /// `after_func` callbacks by key, each with the id its stop handle checks.
    after: Slab<(u64, AfterFn)>,
    next_after_id: u64,
    /// The deadline timer, disarmed by the cancel that sets `done`.
    timer: Option<Disarm>,
}

impl State {
    fn new(done: Option<(ContextError, Cause)>) -> State {
        State {
            done,
            children: Slab::new(),
            chan: None,
            after: Slab::new(),
            next_after_id: 0,
            timer: None,
        }
    }
}

/// What a cancel took out of a node under its lock, to act on outside it.
struct Taken {
    children: Slab<Arc<CancelNode>>,
    chan: Option<Sender<()>>,
    after: Slab<(u64, AfterFn)>,
    timer: Option<Disarm>,
}

impl Taken {
    /// Whether `finish` has anything to do (most nodes of a big tree have nobody
    /// watching them: no channel, no after-func, no timer).
    fn has_work(&self) -> bool {
        self.chan.is_some() || !self.after.is_empty() || self.timer.is_some()
    }
}

impl CancelNode {
    /// A node under `parent` (the nearest cancellable ancestor, if any). Registration
    /// and the check for a done parent happen under the parent's lock, so a parent's
    /// cancel either sees the new child in `children` or the child sees the parent
    /// done and is born done with its error and cause (invariant 4).
    pub(crate) fn new(parent: Option<&Arc<CancelNode>>) -> Arc<CancelNode> {
        let Some(parent) = parent else {
            return Arc::new(CancelNode {
                parent: None,
                slot: usize::MAX,
                state: Mutex::new(State::new(None)),
            });
        };
        let mut ps = parent.state.lock();
        if let Some(done) = &ps.done {
            let done = done.clone();
            drop(ps);
            return Arc::new(CancelNode {
                parent: None,
                slot: usize::MAX,
                state: Mutex::new(State::new(Some(done))),
            });
        }
        let entry = ps.children.vacant_entry();
        let node = Arc::new(CancelNode {
            parent: Some(parent.clone()),
            slot: entry.key(),
            state: Mutex::new(State::new(None)),
        });
        entry.insert(node.clone());
        node
    }

    /// Cancels this node and every descendant. Only the first cancel of a node has
    /// an effect; the others return at once.
    ///
    /// Two passes: first every node of the subtree is marked done (so `err()` answers
    /// for all of them), then, children before parents, the done channels close and the
    /// after-funcs start. So whoever sees a context's `done` close finds every
    /// descendant done too.
    pub(crate) fn cancel(this: &Arc<Self>, err: ContextError, cause: Cause) {
        let Some(mut taken) = this.mark_done(err, &cause) else {
            return;
        };
        Self::unregister(this);
        let mut work: Vec<Arc<CancelNode>> = std::mem::take(&mut taken.children)
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        let mut marked = vec![taken];
        // The children learn the parent's error and cause (Go: a child cancelled by
        // its parent reports the parent's `Err` and `Cause`).
        while let Some(child) = work.pop() {
            if let Some(mut taken) = child.mark_done(err, &cause) {
                work.extend(
                    std::mem::take(&mut taken.children)
                        .into_iter()
                        .map(|(_, c)| c),
                );
                if taken.has_work() {
                    marked.push(taken);
                }
            }
        }
        for taken in marked.into_iter().rev() {
            finish(taken);
        }
    }

    /// Sets `done` if unset, taking out everything the cancel must act on.
    fn mark_done(&self, err: ContextError, cause: &Cause) -> Option<Taken> {
        let mut s = self.state.lock();
        if s.done.is_some() {
            return None;
        }
        s.done = Some((err, cause.clone()));
        Some(Taken {
            children: std::mem::take(&mut s.children),
            // The receiver stays, so a later `done()` hands out the closed channel.
            chan: s.chan.as_ref().map(|(tx, _)| tx.clone()),
            after: std::mem::take(&mut s.after),
            timer: s.timer.take(),
        })
    }

    /// Removes this node from its parent's children, under the parent's lock only.
    fn unregister(this: &Arc<Self>) {
        let Some(parent) = &this.parent else {
            return;
        };
        let removed = {
            let mut ps = parent.state.lock();
            match ps.children.get(this.slot) {
                Some(c) if Arc::ptr_eq(c, this) => Some(ps.children.remove(this.slot)),
                _ => None,
            }
        };
        // Our own `Arc`, dropped outside the parent's lock.
        drop(removed);
    }

    pub(crate) fn done(&self) -> Option<(ContextError, Cause)> {
        self.state.lock().done.clone()
    }

    /// The receiver of this node's done channel (closed once done).
    pub(crate) fn done_chan(&self) -> Receiver<()> {
        let mut s = self.state.lock();
        if let Some((_, rx)) = &s.chan {
            return rx.clone();
        }
        let (tx, rx) = bounded(0);
        if s.done.is_some() {
            tx.close();
        }
        s.chan = Some((tx, rx.clone()));
        rx
    }

    /// Registers `f` to run once when this node is cancelled; `Err(f)` if it already
    /// is (the caller runs it). `Ok` gives the key and id for [`Self::stop_after`].
    pub(crate) fn after_func(&self, f: AfterFn) -> Result<(usize, u64), AfterFn> {
        let mut s = self.state.lock();
        if s.done.is_some() {
            return Err(f);
        }
        let id = s.next_after_id;
        s.next_after_id += 1;
        let key = s.after.insert((id, f));
        Ok((key, id))
    }

    /// Unregisters an `after_func` callback; true when that prevented its call.
    pub(crate) fn stop_after(&self, key: usize, id: u64) -> bool {
        let removed = {
            let mut s = self.state.lock();
            match s.after.get(key) {
                Some((i, _)) if *i == id => Some(s.after.remove(key)),
                _ => None,
            }
        };
        removed.is_some()
    }

    /// Keeps `disarm` to run on cancel; if the node is done already, hands it back.
    pub(crate) fn set_timer(&self, disarm: Disarm) -> Result<(), Disarm> {
        let mut s = self.state.lock();
        if s.done.is_some() {
            return Err(disarm);
        }
        s.timer = Some(disarm);
        Ok(())
    }

    /// Registered children (for the churn tests).
    pub(crate) fn children_len(&self) -> usize {
        self.state.lock().children.len()
    }
}

/// The part of a cancel done outside the node's lock: close `done`, free the timer,
/// start the after-funcs.
fn finish(taken: Taken) {
    if let Some(tx) = taken.chan {
        tx.close();
    }
    if let Some(disarm) = taken.timer {
        disarm();
    }
    for (_, (_, f)) in taken.after {
        run_after(f);
    }
}

/// Runs an after-func on its own goroutine, as Go's `context.AfterFunc` does: on the
/// current runtime when there is one (through `spawn_blocking`, since `f` is plain
/// code that may block), else on a new thread. Under loom it runs in place, so the
/// models can count its calls.
pub(crate) fn run_after(f: AfterFn) {
    #[cfg(loom)]
    f();
    #[cfg(not(loom))]
    {
        if crate::sched::context::current().is_some() {
            drop(crate::spawn_blocking(f));
        } else {
            std::thread::Builder::new()
                .name("gort-context-after-func".into())
                .spawn(f)
                .expect("start a thread for a context after_func");
        }
    }
}

impl Drop for CancelNode {
    fn drop(&mut self) {
        // As `Node`'s drop: unroll the parent chain instead of recursing.
        let mut next = self.parent.take();
        while let Some(arc) = next {
            match Arc::try_unwrap(arc) {
                Ok(mut node) => next = node.parent.take(),
                Err(_) => break,
            }
        }
    }
}

impl std::fmt::Debug for CancelNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("CancelNode")
            .field("err", &s.done.as_ref().map(|(e, _)| *e))
            .field("children", &s.children.len())
            .finish_non_exhaustive()
    }
}
