//! Timer benchmarks, gort against tokio (2 worker threads each) in one criterion group
//! per workload; `benches/go/main.go` measures the same on Go (GOMAXPROCS=2).
//!
//! Run: `cargo bench --bench timers`.

mod common;

use common::{compare, time_in_task, Countdown, Peer, Workload};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

const TIMERS: u64 = 1_000_000;
const SLEEP_TASKS: usize = 100_000;
const SLEEP_FOR: Duration = Duration::from_millis(10);

/// From one task: 1,000,000 one-hour sleeps, each polled once (which registers it with
/// the timer wheel) and dropped (which cancels it). Go: `time.NewTimer(time.Hour)` +
/// `Stop()`.
///
/// The loop runs in one poll of one `poll_fn`; tokio's part runs `unconstrained`,
/// since after 128 polls tokio's coop budget makes `Sleep::poll` return `Pending`
/// before it registers anything, which would measure nothing.
struct TimersCreateCancel;

impl Workload for TimersCreateCancel {
    fn run<P: Peer>(&self, rt: &P::Rt, iters: u64) -> Duration {
        time_in_task::<P, _, _>(rt, iters, || {
            P::unconstrained(poll_fn(|cx| {
                for _ in 0..TIMERS {
                    let mut sleep = pin!(P::sleep(Duration::from_secs(3600)));
                    assert!(sleep.as_mut().poll(cx).is_pending());
                }
                Poll::Ready(())
            }))
        })
    }
}

/// 100,000 tasks each sleeping 10 ms at once; wait for all (Go: `runSleeps`).
struct Sleeps100k;

impl Workload for Sleeps100k {
    fn run<P: Peer>(&self, rt: &P::Rt, iters: u64) -> Duration {
        time_in_task::<P, _, _>(rt, iters, || async {
            let left = Arc::new(Countdown::new(SLEEP_TASKS));
            for _ in 0..SLEEP_TASKS {
                let left = left.clone();
                drop(P::go(async move {
                    P::sleep(SLEEP_FOR).await;
                    left.done();
                }));
            }
            left.wait().await;
        })
    }
}

fn timers(c: &mut Criterion) {
    let mut g = c.benchmark_group("timers_create_cancel");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(TIMERS));
    compare(&mut g, &TimersCreateCancel);
    g.finish();

    let mut g = c.benchmark_group("sleeps_100k");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    compare(&mut g, &Sleeps100k);
    g.finish();
}

criterion_group!(benches, timers);
criterion_main!(benches);
