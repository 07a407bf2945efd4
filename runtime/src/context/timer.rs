//! Deadline timers of `with_deadline`/`with_timeout` contexts.
//!
//! Inside a gort runtime (the thread that creates the context has one current) the
//! deadline is an entry in that runtime's timing wheel, whose waker cancels the node
//! with `DeadlineExceeded`; the node keeps a disarm action that frees the entry at once
//! (the wheel's O(1) cancel) when the node is cancelled first.
//!
//! Outside a runtime, contexts still work as Go's do anywhere: the deadline goes to one
//! process-wide fallback thread ("gort-context-timer", started on first need) that
//! sleeps until the earliest deadline in an ordered map; cancel removes the entry at
//! once (O(log n)). Rejected: requiring a runtime (a `with_timeout` in a plain thread
//! or a test harness would panic, unlike Go), and a thread per timeout (a thread per
//! request under load).
//!
//! The fallback thread uses parking_lot directly, not the loom shim: it lives outside
//! any model (loom's locks cannot sit in a static), and the models use no deadlines.
//!
//! A deadline set inside a runtime fires from that runtime only: if the runtime is
//! dropped first, the wheel is cleared and the deadline never fires (the context can
//! still be cancelled by its `CancelFn` or its parent).

use super::tree::CancelNode;
use super::ContextError;
use crate::loom::Arc;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Arms a deadline for `node` (not yet done, or done: then nothing is left armed).
pub(crate) fn start(node: &Arc<CancelNode>, deadline: Instant) {
    if node.done().is_some() {
        // Born done (its parent was): no timer to arm.
        return;
    }
    if Instant::now() >= deadline {
        CancelNode::cancel(node, ContextError::DeadlineExceeded, deadline_cause());
        return;
    }
    let disarm = arm_wheel(node, deadline).unwrap_or_else(|| arm_thread(node, deadline));
    if let Err(disarm) = node.set_timer(disarm) {
        // Cancelled (or fired) while arming: free the entry now. A wheel key of a timer
        // that already fired is refused by its generation, so this is harmless.
        disarm();
    }
}

pub(crate) fn deadline_cause() -> super::Cause {
    super::default_cause(ContextError::DeadlineExceeded)
}

/// The wheel's waker: fires the deadline.
#[cfg(not(loom))]
struct Fire(Arc<CancelNode>);

#[cfg(not(loom))]
impl std::task::Wake for Fire {
    fn wake(self: std::sync::Arc<Self>) {
        CancelNode::cancel(&self.0, ContextError::DeadlineExceeded, deadline_cause());
    }
}

#[cfg(not(loom))]
fn arm_wheel(node: &Arc<CancelNode>, deadline: Instant) -> Option<super::tree::Disarm> {
    let handle = crate::sched::context::current()?;
    let waker = std::task::Waker::from(std::sync::Arc::new(Fire(node.clone())));
    match handle.timers.insert(&handle, deadline, waker) {
        Ok(key) => {
            let handle = std::sync::Arc::downgrade(&handle);
            Some(Box::new(move || {
                if let Some(h) = handle.upgrade() {
                    h.timers.remove(key);
                }
            }))
        }
        Err(waker) => {
            drop(waker);
            if Instant::now() >= deadline {
                // Passed while arming: the caller's `set_timer` finds the node done.
                CancelNode::cancel(node, ContextError::DeadlineExceeded, deadline_cause());
                Some(Box::new(|| {}))
            } else {
                // The runtime is shutting down: its wheel takes no more timers.
                None
            }
        }
    }
}

/// Loom models use no deadlines; the wheel is not part of them.
#[cfg(loom)]
fn arm_wheel(_node: &Arc<CancelNode>, _deadline: Instant) -> Option<super::tree::Disarm> {
    None
}

struct Fallback {
    state: parking_lot::Mutex<Pending>,
    changed: parking_lot::Condvar,
}

#[derive(Default)]
struct Pending {
    /// Keyed by deadline and a unique id (two contexts may share a deadline).
    timers: BTreeMap<(Instant, u64), Arc<CancelNode>>,
    next_id: u64,
}

fn fallback() -> &'static Fallback {
    static FALLBACK: std::sync::OnceLock<&'static Fallback> = std::sync::OnceLock::new();
    FALLBACK.get_or_init(|| {
        let f: &'static Fallback = Box::leak(Box::new(Fallback {
            state: parking_lot::Mutex::new(Pending::default()),
            changed: parking_lot::Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("gort-context-timer".into())
            .spawn(move || f.run())
            .expect("start gort's context timer thread");
        f
    })
}

fn arm_thread(node: &Arc<CancelNode>, deadline: Instant) -> super::tree::Disarm {
    let f = fallback();
    let key = {
        let mut p = f.state.lock();
        let key = (deadline, p.next_id);
        p.next_id += 1;
        let earliest = p.timers.keys().next().map_or(true, |first| key < *first);
        p.timers.insert(key, node.clone());
        if earliest {
            f.changed.notify_one();
        }
        key
    };
    Box::new(move || {
        let removed = f.state.lock().timers.remove(&key);
        // The node's `Arc` is dropped outside the timer lock.
        drop(removed);
    })
}

impl Fallback {
    fn run(&self) {
        let mut p = self.state.lock();
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            while let Some(entry) = p.timers.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            if !due.is_empty() {
                // Fired outside the lock: a cancel disarms timers, which takes it.
                parking_lot::MutexGuard::unlocked(&mut p, || {
                    for node in due {
                        CancelNode::cancel(&node, ContextError::DeadlineExceeded, deadline_cause());
                    }
                });
                continue;
            }
            match p.timers.keys().next() {
                Some(&(at, _)) => {
                    // `wait_until` may return early; the loop re-checks the clock.
                    let at = at.max(now + Duration::from_micros(1));
                    self.changed.wait_until(&mut p, at);
                }
                None => self.changed.wait(&mut p),
            }
        }
    }
}
