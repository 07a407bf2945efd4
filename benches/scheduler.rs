//! Scheduler benchmarks: each workload runs on gort and on tokio (both with 2 worker
//! threads) in one criterion group, so the report reads as a ratio. The workloads mirror
//! `benches/go/main.go`, which measures the same ones on Go's runtime (GOMAXPROCS=2).
//!
//! Every workload is one generic function over `common::Peer`, so gort and tokio run
//! the very same code; completion is signalled with `common::{Countdown, Handoff}`
//! (plain `Waker` slots), never with either runtime's own primitives.
//!
//! Timing: `iter_custom`, measured inside a driver task on the runtime (Go's equivalent
//! is the goroutine that runs each workload); `spawn_many_remote` is timed on the bench
//! thread, since spawning from outside is what it measures.
//!
//! Run: `cargo bench --bench scheduler`.

mod common;

use common::{compare, time_in_task, Countdown, Handoff, Peer, Workload};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SPAWN_MANY: usize = 100_000;
const YIELD_TASKS: usize = 1_000;
const YIELD_PER_TASK: usize = 200;
const CHAIN_DEPTH: usize = 1_000;
const SKYNET_LEAVES: u64 = 1_000_000;
const SKYNET_SUM: u64 = 499_999_500_000;
const PING_PONG_TRIPS: usize = 100_000;

// ------------------------------------------------------------------ spawn_many

/// From inside one task, spawn 100k tiny tasks; each decrements a shared counter and
/// the last one wakes the spawner (Go: `runSpawnMany`).
struct SpawnMany;

impl Workload for SpawnMany {
    fn run<P: Peer>(&self, rt: &P::Rt, iters: u64) -> Duration {
        time_in_task::<P, _, _>(rt, iters, || async {
            let left = Arc::new(Countdown::new(SPAWN_MANY));
            for _ in 0..SPAWN_MANY {
                let left = left.clone();
                drop(P::go(async move { left.done() }));
            }
            left.wait().await;
        })
    }
}

/// The same 100k tiny tasks, spawned by the bench thread from outside the runtime.
/// (No Go counterpart: every goroutine is started by a goroutine.)
struct SpawnManyRemote;

impl Workload for SpawnManyRemote {
    fn run<P: Peer>(&self, rt: &P::Rt, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            let left = Arc::new(Countdown::new(SPAWN_MANY));
            for _ in 0..SPAWN_MANY {
                let left = left.clone();
                drop(P::spawn(rt, async move { left.done() }));
            }
            P::block_on(rt, left.wait());
        }
        start.elapsed()
    }
}

// ------------------------------------------------------------------ yield_many

/// 1,000 tasks × 200 yields each (Go: `runtime.Gosched`), wait for all.
struct YieldMany;

impl Workload for YieldMany {
    fn run<P: Peer>(&self, rt: &P::Rt, iters: u64) -> Duration {
        time_in_task::<P, _, _>(rt, iters, || async {
            let left = Arc::new(Countdown::new(YIELD_TASKS));
            for _ in 0..YIELD_TASKS {
                let left = left.clone();
                drop(P::go(async move {
                    for _ in 0..YIELD_PER_TASK {
                        P::yield_now().await;
                    }
                    left.done();
                }));
            }
            left.wait().await;
        })
    }
}

// ------------------------------------------------------------------ chained_spawn

/// Each task spawns the next, 1,000 tasks in all; the last wakes the driver.
struct ChainedSpawn;

fn chain_link<P: Peer>(n: usize, done: Arc<Handoff>) {
    if n == 0 {
        done.notify();
    } else {
        drop(P::go(async move { chain_link::<P>(n - 1, done) }));
    }
}

impl Workload for ChainedSpawn {
    fn run<P: Peer>(&self, rt: &P::Rt, iters: u64) -> Duration {
        time_in_task::<P, _, _>(rt, iters, || async {
            let done = Arc::new(Handoff::new());
            let d = done.clone();
            drop(P::go(async move { chain_link::<P>(CHAIN_DEPTH - 1, d) }));
            done.wait().await;
        })
    }
}

// ------------------------------------------------------------------ skynet

/// 10-ary tree with 1,000,000 leaves (1,111,111 tasks); each node spawns its 10 children
/// and awaits their JoinHandles, summing (Go: `skynetJoined`, WaitGroup + result slots).
struct Skynet;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn skynet<P: Peer>(num: u64, size: u64) -> BoxFuture<u64> {
    Box::pin(skynet_node::<P>(num, size))
}

async fn skynet_node<P: Peer>(num: u64, size: u64) -> u64 {
    let sub = size / 10;
    let mut sum = 0;
    if sub == 1 {
        // Leaves need no recursion, hence no box: the leaf task is just its future.
        let children: [_; 10] = std::array::from_fn(|i| P::go(async move { num + i as u64 }));
        for c in children {
            sum += c.await.unwrap();
        }
    } else {
        let children: [_; 10] =
            std::array::from_fn(|i| P::go(skynet::<P>(num + i as u64 * sub, sub)));
        for c in children {
            sum += c.await.unwrap();
        }
    }
    sum
}

impl Workload for Skynet {
    fn run<P: Peer>(&self, rt: &P::Rt, iters: u64) -> Duration {
        time_in_task::<P, _, _>(rt, iters, || async {
            let sum = skynet_node::<P>(0, SKYNET_LEAVES).await;
            assert_eq!(sum, SKYNET_SUM, "{}: wrong skynet sum", P::NAME);
        })
    }
}

// ------------------------------------------------------------------ ping_pong

/// Two tasks wake each other 100,000 round trips through two `Handoff`s.
struct PingPong;

impl Workload for PingPong {
    fn run<P: Peer>(&self, rt: &P::Rt, iters: u64) -> Duration {
        time_in_task::<P, _, _>(rt, iters, || async {
            let ping = Arc::new(Handoff::new());
            let pong = Arc::new(Handoff::new());
            let echo = {
                let (ping, pong) = (ping.clone(), pong.clone());
                P::go(async move {
                    for _ in 0..PING_PONG_TRIPS {
                        ping.wait().await;
                        pong.notify();
                    }
                })
            };
            for _ in 0..PING_PONG_TRIPS {
                ping.notify();
                pong.wait().await;
            }
            echo.await.unwrap();
        })
    }
}

// ------------------------------------------------------------------ groups

fn scheduler(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_many");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(SPAWN_MANY as u64));
    compare(&mut g, &SpawnMany);
    g.finish();

    let mut g = c.benchmark_group("spawn_many_remote");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(SPAWN_MANY as u64));
    compare(&mut g, &SpawnManyRemote);
    g.finish();

    let mut g = c.benchmark_group("yield_many");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements((YIELD_TASKS * YIELD_PER_TASK) as u64));
    compare(&mut g, &YieldMany);
    g.finish();

    let mut g = c.benchmark_group("chained_spawn");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    compare(&mut g, &ChainedSpawn);
    g.finish();

    let mut g = c.benchmark_group("skynet");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15));
    compare(&mut g, &Skynet);
    g.finish();

    let mut g = c.benchmark_group("ping_pong");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(PING_PONG_TRIPS as u64));
    compare(&mut g, &PingPong);
    g.finish();
}

criterion_group!(benches, scheduler);
criterion_main!(benches);
