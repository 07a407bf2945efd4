//! The cooperative budget: a task whose channel operations always find their channel
//! ready would otherwise never return to its scheduler and starve the Gs queued behind
//! it. Operations that complete without waiting spend one unit; when a task's budget
//! is spent, the next operation yields once (as tokio's coop does).
//!
//! The budget is per thread and exists only while a scheduler has set it around a
//! task's poll (`with_budget`); under any other executor, or on a plain thread, there
//! is none and nothing yields.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

thread_local! {
    static BUDGET: Cell<Option<u32>> = const { Cell::new(None) };
    /// Set by a scheduler's monitor (gort's sysmon) to ask the running task to yield.
    static PREEMPT: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Installs (or removes) the flag that, once set, makes the next operation yield as
/// if the budget were spent. A scheduler sets it per thread, for the processor that
/// thread runs.
pub fn set_preempt_flag(flag: Option<Arc<AtomicBool>>) {
    let _ = PREEMPT.try_with(|p| *p.borrow_mut() = flag);
}

fn preempt_requested() -> bool {
    PREEMPT
        .try_with(|p| {
            // Relaxed: a hint; the flag carries no data.
            p.borrow().as_ref().is_some_and(|f| f.load(Relaxed))
        })
        .unwrap_or(false)
}

/// Operations a task may complete without waiting per poll (tokio uses 128 too).
///
/// A bigger budget trades latency for throughput: at 1024 the 4→1 channel workload at
/// capacity 64 ran 3× faster on 2 Ps (fewer forced yields, fewer steals), but the
/// Kafka-style sample's produce-to-handle p50 went from 0.2 to 1.3 ms (BENCHMARKS.md,
/// "Channels"), so it stays at 128.
pub const DEFAULT_BUDGET: u32 = 128;

/// Runs `f` (a task's poll) with a fresh budget of `units`.
pub fn with_budget<R>(units: u32, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = BUDGET.try_with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(BUDGET.with(|b| b.replace(Some(units))));
    f()
}

/// A request to yield (`set_preempt_flag`) is looked at once per this many units
/// spent, and spends the rest of the budget: the flag sits behind a second
/// thread-local, and an operation that completes at once costs a few dozen
/// nanoseconds, so looking at it every time would cost a fifth of one. A monitor asks
/// after milliseconds; sixteen operations more are nothing beside that.
const PREEMPT_EVERY: u32 = 16;

/// Yields (wakes the task and returns `Pending`) when the budget is spent.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let spent = BUDGET.try_with(|b| b.get() == Some(0)).unwrap_or(false);
    if spent {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    Poll::Ready(())
}

/// Spends one unit (an operation completed without waiting).
#[inline]
pub(crate) fn spend() {
    let _ = BUDGET.try_with(|b| {
        if let Some(n) = b.get() {
            let mut n = n.saturating_sub(1);
            if n % PREEMPT_EVERY == 0 && preempt_requested() {
                n = 0;
            }
            b.set(Some(n));
        }
    });
}

/// True inside a task's poll by a scheduler that keeps the budget (`with_budget`):
/// the channel lock's spin takes its long shape there (loom.rs, `lock_contended`).
#[cfg_attr(loom, allow(dead_code))] // its one caller is outside the models
pub(crate) fn in_budgeted_poll() -> bool {
    BUDGET.try_with(|b| b.get().is_some()).unwrap_or(false)
}

/// True when the current task has budget left (or runs with none) and has not been
/// asked to yield.
pub fn has_budget_remaining() -> bool {
    BUDGET.try_with(|b| b.get() != Some(0)).unwrap_or(true) && !preempt_requested()
}
