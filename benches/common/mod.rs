//! Code shared by the criterion benches (`scheduler.rs`, `timers.rs`) and, through
//! `#[path]` includes, by the memory programs in `examples/mem_*.rs`.
//!
//! - [`peer`]: the `Peer` trait, one implementation per runtime (gort, tokio), so every
//!   workload is written once and runs as the very same code on both.
//! - [`handoff`]: a one-slot wake-up (`Handoff`) and a countdown latch (`Countdown`)
//!   built only on `std::task::Waker`, so they behave identically on any executor.
//! - [`proc_status`]: reads `VmRSS`/`VmHWM` from `/proc/self/status` (memory programs).
//!
//! Each bench uses only part of this module, hence the `dead_code` allowance.
#![allow(dead_code, unused_imports)]

pub mod handoff;
pub mod peer;
pub mod proc_status;

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;
use std::time::Duration;

pub use handoff::{Countdown, Handoff};
pub use peer::{Gort, Peer, Tokio, WORKERS};

/// One workload, written once against [`Peer`].
pub trait Workload {
    /// Runs the workload `iters` times on `rt` and returns the time measured for all of
    /// them (criterion's `iter_custom` contract).
    fn run<P: Peer>(&self, rt: &P::Rt, iters: u64) -> Duration;
}

/// Benchmarks `w` as `gort` and then `tokio` in `group`. Each runtime is built once
/// (outside every timing loop) and dropped before the next one is built, so only one
/// runtime's threads exist at a time.
pub fn compare<W: Workload>(group: &mut BenchmarkGroup<'_, WallTime>, w: &W) {
    one::<Gort, W>(group, w);
    one::<Tokio, W>(group, w);
}

fn one<P: Peer, W: Workload>(group: &mut BenchmarkGroup<'_, WallTime>, w: &W) {
    let rt = P::build(WORKERS);
    group.bench_function(P::NAME, |b| b.iter_custom(|iters| w.run::<P>(&rt, iters)));
    drop(rt);
}

/// Runs `body` `iters` times inside one task of `rt` (a "driver" G, like Go's goroutine
/// that runs each workload) and returns the time the loop took, measured inside the task:
/// the cost of entering `block_on` is left out for both peers alike.
pub fn time_in_task<P, F, Fut>(rt: &P::Rt, iters: u64, body: F) -> Duration
where
    P: Peer,
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let driver = P::spawn(rt, async move {
        let start = std::time::Instant::now();
        for _ in 0..iters {
            body().await;
        }
        start.elapsed()
    });
    P::block_on(rt, driver).expect("driver task failed")
}
