//! Hand-off on blocking: `gort::blocking(f)` is Go's `entersyscall`/`exitsyscall`.
//!
//! While an M polls a G, its P waits in the M's `PSlot` (p.rs), where sysmon can take
//! it. Entering `blocking` only marks the slot (`in_syscall`, and a tick): two relaxed
//! stores, no thread woken, nothing allocated. Then `f` runs in place. If it returns
//! quickly nothing else happens. If sysmon sees the same tick on two rounds (20 µs
//! apart while anything blocks), it takes the P out of the slot and hands it to another
//! M (`hand_off_p`), so the P's other Gs keep running. The returning M finishes its
//! poll without a P, then takes any idle P or parks (m.rs, `reacquire_p`); a G it
//! wakes meanwhile goes to the global queue.
//!
//! The slot's handshake decides the race between the M and sysmon: exactly one gets
//! the P (p.rs `PSlot`; loom models in tests/loom_handoff.rs).

use super::context;
use crate::loom::atomic::Ordering::Relaxed;

/// Runs blocking code (a system call, a lock, a slow computation) inside a task
/// without stalling the other tasks of its P: if `f` takes longer than about 20 µs,
/// the runtime hands the P to another thread, as Go does for a goroutine in a system
/// call. Cheap when `f` is quick. Outside a gort task it just calls `f`.
///
/// ```
/// gort::run(async {
///     let n = gort::blocking(|| std::fs::read_dir(".").map(|d| d.count()).unwrap_or(0));
///     assert!(n > 0);
/// });
/// ```
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    // Relaxed: only this M writes these; sysmon compares readings across rounds, and
    // a stale one only delays a retake by a round.
    let entered = context::with_polling_slot(|slot| {
        let tick = slot.syscall_tick.load(Relaxed);
        slot.syscall_tick.store(tick.wrapping_add(1), Relaxed);
        slot.in_syscall.store(true, Relaxed);
    });
    if !entered {
        return f();
    }
    struct Exit;
    impl Drop for Exit {
        // Also on unwind.
        fn drop(&mut self) {
            context::with_polling_slot(|slot| slot.in_syscall.store(false, Relaxed));
        }
    }
    let _exit = Exit;
    f()
}

/// Runs `f` on a thread where it may block, and returns its output through a
/// `JoinHandle` (as tokio's `spawn_blocking`). It is a task that calls
/// [`blocking`], so it holds a P only until sysmon hands the P on.
///
/// # Panics
/// On a thread with no gort runtime.
pub fn spawn_blocking<F, R>(f: F) -> crate::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    crate::go(async move { blocking(f) })
}
