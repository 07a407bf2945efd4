//! gort-runtime: the GMP work-stealing scheduler of gort, with its timers.
//!
//! Tasks (Gs) are futures in one allocation each (`task`); Ps own local run queues
//! and Ms are OS threads that run Gs while holding a P (`sched`); the timing wheel
//! and the timer sleeper are in `time`; the netpoller and the sockets on it in `net`;
//! the relay of process signals to channels in `signal`; Go's `context` tree in
//! `context`, and `WaitGroup` and the errgroup `Group` in `sync`. Most users depend on the
//! `gort` facade, which re-exports this crate.

#![warn(missing_docs, missing_debug_implementations)]

pub mod context;
mod loom;
mod metrics;
pub mod net;
mod panic_report;
mod runtime;
mod sched;
// The six signals it names and signal-hook's iterator exist only on Unix.
#[cfg(unix)]
pub mod signal;
mod spawn;
pub mod sync;
pub mod task;
pub mod time;
mod util;

#[cfg(test)]
mod tests;

pub use metrics::Metrics;
pub use runtime::{run, Builder, Runtime};
pub use sched::blocking::{blocking, spawn_blocking};
pub use sched::TaskPanic;
pub use spawn::{go, yield_now, YieldNow};
pub use task::{JoinError, JoinHandle};
