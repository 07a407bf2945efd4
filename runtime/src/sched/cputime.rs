//! How sysmon tells an M blocked in the kernel from an M computing.
//!
//! A poll that lasts is either a long computation or a blocking call nobody wrapped
//! in `gort::blocking` (a `std::thread::sleep`, a synchronous read, a lock). The
//! second wastes its P entirely, and should lose it as fast as an announced blocking
//! call does, not after the 10 ms a computation is allowed. The M's CPU clock tells
//! them apart: a computing thread's clock advances with the wall clock, a blocked
//! one's stands still. A thread that is runnable but not running (more threads than
//! CPUs) also stands still, so a stalled clock is confirmed by the thread's state in
//! `/proc` (`S` or `D`: asleep in the kernel) before sysmon acts on it.
//!
//! Linux only (`pthread_getcpuclockid`, `/proc/thread-self`); elsewhere, and under
//! loom or miri, there is no clock and sysmon falls back to the 10 ms rule.

/// One M's CPU clock, read from any thread.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThreadClock {
    #[cfg(all(target_os = "linux", not(loom), not(miri)))]
    clock: libc::clockid_t,
    #[cfg(all(target_os = "linux", not(loom), not(miri)))]
    tid: libc::pid_t,
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
impl ThreadClock {
    /// The calling thread's clock.
    pub(crate) fn current() -> Option<ThreadClock> {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: `pthread_self()` is the calling thread, alive for this call, and
        // `clock` is a valid place for the result.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
        if rc != 0 {
            return None;
        }
        // SAFETY: gettid has no arguments and cannot fail.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::pid_t;
        Some(ThreadClock { clock, tid })
    }

    /// CPU time the thread has used, in nanoseconds; `None` if it has exited.
    pub(crate) fn cpu_nanos(&self) -> Option<u64> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid place for the result; a clock of a thread that has
        // exited makes the call fail (EINVAL), not misbehave.
        if unsafe { libc::clock_gettime(self.clock, &mut ts) } != 0 {
            return None;
        }
        Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }

    /// Whether the thread is asleep in the kernel (`S` or `D` in `/proc`); `None`
    /// if that cannot be read.
    pub(crate) fn is_asleep(&self) -> Option<bool> {
        let path = format!("/proc/self/task/{}/stat", self.tid);
        let stat = std::fs::read_to_string(path).ok()?;
        // The state follows the command name, which is in parentheses and may itself
        // hold spaces or parentheses: look after the last ')'.
        let state = stat
            .get(stat.rfind(')')? + 1..)?
            .trim_start()
            .chars()
            .next()?;
        Some(matches!(state, 'S' | 'D'))
    }
}

#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
impl ThreadClock {
    pub(crate) fn current() -> Option<ThreadClock> {
        None
    }

    pub(crate) fn cpu_nanos(&self) -> Option<u64> {
        None
    }

    pub(crate) fn is_asleep(&self) -> Option<bool> {
        None
    }
}

#[cfg(all(test, target_os = "linux", not(loom), not(miri)))]
mod tests {
    use super::ThreadClock;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A sleeping thread's clock stands still and `/proc` says it sleeps; a spinning
    /// thread's clock runs and `/proc` says it runs.
    #[test]
    fn tells_a_sleeping_thread_from_a_spinning_one() {
        let (tx, rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let sleeper = std::thread::spawn(move || {
            tx.send(ThreadClock::current().expect("a clock on Linux"))
                .unwrap();
            stop_rx.recv().unwrap(); // blocks in the kernel
        });
        let clock = rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let a = clock.cpu_nanos().expect("alive");
        std::thread::sleep(Duration::from_millis(20));
        let b = clock.cpu_nanos().expect("alive");
        assert!(
            b - a < 5_000_000,
            "a blocked thread used {} ns of CPU",
            b - a
        );
        assert_eq!(clock.is_asleep(), Some(true));
        stop_tx.send(()).unwrap();
        sleeper.join().unwrap();

        let (tx, rx) = mpsc::channel();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let spinner = std::thread::spawn(move || {
            tx.send(ThreadClock::current().unwrap()).unwrap();
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        let clock = rx.recv().unwrap();
        let a = clock.cpu_nanos().expect("alive");
        std::thread::sleep(Duration::from_millis(50));
        let b = clock.cpu_nanos().expect("alive");
        // On a busy machine the spinner may not get a whole CPU; a tenth will do.
        assert!(
            b - a > 5_000_000,
            "a spinning thread used only {} ns",
            b - a
        );
        assert_eq!(
            clock.is_asleep(),
            Some(false),
            "runnable or running is not asleep"
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spinner.join().unwrap();
    }
}
