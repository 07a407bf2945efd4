//! The cooperative budget: a task whose channel operations always find their channel
//! ready would otherwise never return to its scheduler and starve the Gs queued behind
//! it. Operations that complete without waiting spend one unit; when a task's budget
//! is spent, the next operation yields once (as tokio's coop does).
//!
//! A scheduler may say that nobody is waiting (`set_yield_hint`): a spent budget is
//! then renewed instead, a bounded number of times per poll.
//!
//! The budget is per thread and exists only while a scheduler has set it around a
//! task's poll (`with_budget`); under any other executor, or on a plain thread, there
//! is none and nothing yields.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

/// The running task's budget.
#[derive(Clone, Copy)]
struct Budget {
    /// Units left.
    left: u32,
    /// The units `with_budget` gave, for a renewal.
    units: u32,
    /// Spent budgets renewed in this poll.
    renewals: u32,
}

thread_local! {
    static BUDGET: Cell<Option<Budget>> = const { Cell::new(None) };
    /// Set by a scheduler: would a yield now let another task run (`set_yield_hint`)?
    static YIELD_HINT: Cell<Option<fn() -> bool>> = const { Cell::new(None) };
    /// Set by a scheduler's monitor (gort's sysmon) to ask the running task to yield.
    static PREEMPT: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Installs (or removes) the flag that, once set, makes the next operation yield as
/// if the budget were spent. A scheduler sets it per thread, for the processor that
/// thread runs.
pub fn set_preempt_flag(flag: Option<Arc<AtomicBool>>) {
    let _ = PREEMPT.try_with(|p| *p.borrow_mut() = flag);
}

/// Installs (or removes) the scheduler's answer to "if the running task yielded now,
/// would another task run in its place?". A scheduler sets it per thread, for the
/// processor that thread runs.
///
/// When the answer is no, a spent budget is renewed instead of yielding, at most
/// `MAX_RENEWALS` times in a poll. A yield with nothing else to run gives nobody a
/// turn; it only leaves the task queued for a moment, where an idle processor can
/// steal it, and the steal moves the task and its channels' cache lines to another
/// CPU. With four producers and one consumer on two processors, the consumer changed
/// processor every few hundred messages that way, and each move let the buffer fill
/// and the producers block (BENCHMARKS.md, "Channels").
pub fn set_yield_hint(hint: Option<fn() -> bool>) {
    let _ = YIELD_HINT.try_with(|h| h.set(hint));
}

/// Renewals of a spent budget in one poll, at most, whatever the hint says: a
/// scheduler looks at its timers and ready sockets between polls, so a task that
/// always finds its channels ready still returns to it after `MAX_RENEWALS + 1`
/// budgets (1024 operations at `DEFAULT_BUDGET`).
pub const MAX_RENEWALS: u32 = 7;

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
/// "Channels"), so it stays at 128. The yield hint (`set_yield_hint`) gets the
/// throughput back where no other task waits, the latency's case untouched.
pub const DEFAULT_BUDGET: u32 = 128;

/// Runs `f` (a task's poll) with a fresh budget of `units`.
pub fn with_budget<R>(units: u32, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Budget>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = BUDGET.try_with(|b| b.set(self.0));
        }
    }
    let fresh = Budget {
        left: units,
        units,
        renewals: 0,
    };
    let _restore = Restore(BUDGET.with(|b| b.replace(Some(fresh))));
    f()
}

/// A request to yield (`set_preempt_flag`) is looked at once per this many units
/// spent, and spends the rest of the budget: the flag sits behind a second
/// thread-local, and an operation that completes at once costs a few dozen
/// nanoseconds, so looking at it every time would cost a fifth of one. A monitor asks
/// after milliseconds; sixteen operations more are nothing beside that.
const PREEMPT_EVERY: u32 = 16;

/// Yields (wakes the task and returns `Pending`) when the budget is spent and not
/// renewed.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let spent = BUDGET
        .try_with(|b| b.get().is_some_and(|b| b.left == 0))
        .unwrap_or(false);
    if spent && !renew() {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    Poll::Ready(())
}

/// Renews a spent budget, unless the scheduler says a yield would let another task
/// run, or a monitor asked for one, or it was renewed `MAX_RENEWALS` times already.
/// True if renewed.
#[cold]
fn renew() -> bool {
    let Some(hint) = YIELD_HINT.try_with(Cell::get).ok().flatten() else {
        return false;
    };
    let Some(Some(mut budget)) = BUDGET.try_with(Cell::get).ok() else {
        return false;
    };
    if budget.renewals >= MAX_RENEWALS || preempt_requested() || hint() {
        return false;
    }
    budget.left = budget.units;
    budget.renewals += 1;
    let _ = BUDGET.try_with(|b| b.set(Some(budget)));
    true
}

/// Spends one unit (an operation completed without waiting).
#[inline]
pub(crate) fn spend() {
    let _ = BUDGET.try_with(|b| {
        if let Some(mut budget) = b.get() {
            budget.left = budget.left.saturating_sub(1);
            if budget.left % PREEMPT_EVERY == 0 && preempt_requested() {
                budget.left = 0;
            }
            b.set(Some(budget));
        }
    });
}

/// True when the current task has budget left (or runs with none) and has not been
/// asked to yield. A spent budget may still be renewed at the next operation
/// (`set_yield_hint`).
pub fn has_budget_remaining() -> bool {
    BUDGET
        .try_with(|b| b.get().map_or(true, |b| b.left != 0))
        .unwrap_or(true)
        && !preempt_requested()
}
