//! In-crate tests, including the loom models (run with `RUSTFLAGS="--cfg loom"`).
//!
//! The loom models run the runtime's own code with loom's atomics (see `crate::loom`);
//! `.ci/loom.sh` runs them with the CI bound (`LOOM_MAX_PREEMPTIONS=2`).
//!
//! - `loom_queue`: the P's local ring and `runnext` against stealers (no G lost or
//!   duplicated, overflow included).
//! - `loom_idle`: the no-lost-wake-up protocol of `sched::idle::Idle`.
//! - `loom_join`: the task state machine (run, wake, abort, `JoinHandle`, shutdown).

#[cfg(loom)]
mod loom_idle;
#[cfg(loom)]
mod loom_join;
#[cfg(loom)]
mod loom_queue;
