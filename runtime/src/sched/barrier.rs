//! Asymmetric fences for a handshake with one hot side and one rare side.
//!
//! An M touches its P several times per poll; sysmon retakes a P a few times a second
//! at most. A Dekker handshake between them (each side stores its own flag, fences,
//! then loads the other's) needs a full fence on both sides, and on x86 a full fence
//! is a locked instruction of some twenty cycles: paid several times per poll, it was
//! the largest single cost of a wake-and-poll round trip. Here the hot side's fence
//! is [`Barrier::light`], only a compiler fence, and the rare side's is
//! [`Barrier::heavy`], Linux's `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`: the
//! kernel interrupts every CPU running one of this process's threads, which orders
//! each one's earlier stores before its later loads exactly as a full fence there
//! would have (a thread not running was ordered by its context switch). Userspace RCU,
//! folly's `asymmetricHeavyBarrier` and .NET's `FlushProcessWriteBuffers` rest on the
//! same guarantee.
//!
//! Where `membarrier` is missing (not Linux, a kernel older than 4.14, a seccomp
//! filter) both sides use `fence(SeqCst)`: correct, just slower on the hot side. Under
//! loom both are `fence(SeqCst)`, which is exactly what the heavy barrier provides,
//! so the models check the protocol that runs.
//!
//! Invariant: a [`Barrier`]'s mode is fixed when it is made, and both sides of one
//! handshake use the same `Barrier`, so a light fence never meets a heavy one that
//! cannot answer it.

use crate::loom::atomic::{fence, Ordering::SeqCst};

#[derive(Clone, Copy, Debug)]
pub(crate) struct Barrier {
    /// The light side is a compiler fence and the heavy side a `membarrier`.
    asymmetric: bool,
}

impl Barrier {
    /// The fastest mode this process supports (registering for `membarrier` on first
    /// use). `GORT_MEMBARRIER=0` forces symmetric fences, to compare or to rule the
    /// kernel out when chasing a bug.
    pub(crate) fn detect() -> Barrier {
        Barrier {
            asymmetric: membarrier::available(),
        }
    }

    /// Full fences on both sides.
    #[allow(dead_code)] // the stress test runs both modes
    pub(crate) fn symmetric() -> Barrier {
        Barrier { asymmetric: false }
    }

    /// The hot side: orders this thread's earlier stores before its later loads,
    /// provided the other side uses [`heavy`](Barrier::heavy).
    #[inline(always)]
    pub(crate) fn light(self) {
        if self.asymmetric {
            std::sync::atomic::compiler_fence(SeqCst);
        } else {
            fence(SeqCst);
        }
    }

    /// The rare side: a full fence here and, in effect, on every other thread.
    /// False if the kernel refused (it should not, once registered): the caller must
    /// then assume the other side may not have been ordered and back off.
    pub(crate) fn heavy(self) -> bool {
        fence(SeqCst);
        if self.asymmetric {
            membarrier::expedited()
        } else {
            true
        }
    }
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
mod membarrier {
    use std::sync::OnceLock;

    // From <linux/membarrier.h>.
    const CMD_QUERY: libc::c_long = 0;
    const CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    fn call(cmd: libc::c_long) -> libc::c_long {
        // SAFETY: membarrier takes a command and flags (both integers), reads and
        // writes no memory of ours, and reports failure as -1.
        unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_long) }
    }

    pub(super) fn available() -> bool {
        static REGISTERED: OnceLock<bool> = OnceLock::new();
        *REGISTERED.get_or_init(|| {
            if std::env::var_os("GORT_MEMBARRIER").is_some_and(|v| v == "0") {
                return false;
            }
            let supported = call(CMD_QUERY);
            supported >= 0
                && supported & CMD_PRIVATE_EXPEDITED != 0
                && call(CMD_REGISTER_PRIVATE_EXPEDITED) == 0
        })
    }

    pub(super) fn expedited() -> bool {
        if call(CMD_PRIVATE_EXPEDITED) == 0 {
            return true;
        }
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            log::error!(
                "gort: membarrier(PRIVATE_EXPEDITED) failed after registering ({}); \
                 sysmon will not retake Ps",
                std::io::Error::last_os_error()
            );
        });
        false
    }
}

#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
mod membarrier {
    pub(super) fn available() -> bool {
        false
    }

    pub(super) fn expedited() -> bool {
        unreachable!("no asymmetric barrier without membarrier")
    }
}
