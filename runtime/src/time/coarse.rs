//! A cheap upper bound on "now", to skip a precise clock read where a bound will do.
//!
//! A sleep's first poll must know whether its deadline has passed: if so it completes
//! at once, else it registers. A precise `Instant::now()` costs tens of nanoseconds on
//! a virtual machine, a sizeable part of a timer's whole cost (creating and cancelling
//! one is under 200 ns). Linux's `CLOCK_MONOTONIC_COARSE` is the same clock as
//! `Instant`'s, read as of the last scheduler tick: one memory read in the vDSO. It
//! lags the precise clock by less than its resolution `res`, so from a reading `c`
//! and a pair `(base, c0)` read together at start, the precise time now is at most
//! `base + (c - c0) + res` (both readings lag by less than `res`, and the later
//! lag only makes `c` smaller). A deadline later than that bound has surely not
//! passed; otherwise the caller reads the precise clock as before. Nothing can fire
//! early: the bound only ever errs towards "look precisely".
//!
//! Elsewhere (not Linux, loom, miri), or with a resolution over 10 ms, there is no
//! bound and every check is precise.

use std::time::Instant;

#[derive(Debug)]
pub(crate) struct CoarseClock {
    #[cfg(all(target_os = "linux", not(loom), not(miri)))]
    bound: Option<(Instant, u64, u64)>,
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
fn coarse_nanos() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid place for the result.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) } != 0 {
        return None;
    }
    Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
impl CoarseClock {
    pub(crate) fn new() -> CoarseClock {
        let mut res = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `res` is a valid place for the result.
        let ok = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut res) } == 0;
        let res = res.tv_sec as u64 * 1_000_000_000 + res.tv_nsec as u64;
        let bound = match (ok && res <= 10_000_000, coarse_nanos()) {
            (true, Some(c0)) => Some((Instant::now(), c0, res)),
            _ => None,
        };
        CoarseClock { bound }
    }

    /// True only if `deadline` has certainly not passed yet.
    pub(crate) fn surely_before(&self, deadline: Instant) -> bool {
        let Some((base, c0, res)) = self.bound else {
            return false;
        };
        let Some(c) = coarse_nanos() else {
            return false;
        };
        let ahead = c.saturating_sub(c0).saturating_add(res);
        base.checked_add(std::time::Duration::from_nanos(ahead))
            .is_some_and(|latest_now| latest_now < deadline)
    }
}

#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
impl CoarseClock {
    pub(crate) fn new() -> CoarseClock {
        CoarseClock {}
    }

    pub(crate) fn surely_before(&self, _deadline: Instant) -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux", not(loom), not(miri)))]
mod tests {
    use super::CoarseClock;
    use std::time::{Duration, Instant};

    /// The bound never says "not yet" for a deadline that has passed, and does say it
    /// for one well in the future.
    #[test]
    fn never_claims_a_past_deadline_is_ahead() {
        let clock = CoarseClock::new();
        for i in 0..200_000u32 {
            let now = Instant::now();
            assert!(!clock.surely_before(now), "the present is not ahead of now");
            let just_passed = now - Duration::from_nanos(u64::from(i % 1000));
            assert!(!clock.surely_before(just_passed));
        }
        assert!(clock.surely_before(Instant::now() + Duration::from_secs(60)));
    }
}
