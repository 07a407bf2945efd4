//! Hand-off on blocking, side by side with tokio in one run (issue 4):
//! - `blocking_workload`: 16 tasks × 5 blocking 20 ms sleeps beside two 200 ms CPU
//!   tasks that yield often, on 2 workers: gort with `gort::blocking`, gort with the
//!   sleep inline (sysmon retakes the P), tokio with `spawn_blocking`, with
//!   `block_in_place`, and inline.
//! - `fast_path`: the cost of a blocking section that returns at once
//!   (`gort::blocking(|| ())` against tokio's `block_in_place(|| ())`).
//!
//! Go's figures come from `benches/go/run.sh` (see BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

const SLEEPERS: usize = 16;
const ROUNDS: usize = 5;
const SLEEP: Duration = Duration::from_millis(20);
const CPU: Duration = Duration::from_millis(200);

fn spin_then<F: FnMut()>(total: Duration, mut yield_point: F) {
    let end = Instant::now() + total;
    while Instant::now() < end {
        let spin = Instant::now() + Duration::from_micros(50);
        while Instant::now() < spin {
            std::hint::spin_loop();
        }
        yield_point();
    }
}

#[derive(Clone, Copy)]
enum Gort {
    Blocking,
    Inline,
}

fn gort_workload(rt: &gort::Runtime, how: Gort) -> Duration {
    let start = Instant::now();
    rt.block_on(async move {
        let cpus: Vec<_> = (0..2)
            .map(|_| {
                gort::go(async {
                    let end = Instant::now() + CPU;
                    while Instant::now() < end {
                        spin_then(Duration::from_micros(50), || {});
                        gort::yield_now().await;
                    }
                })
            })
            .collect();
        let sleepers: Vec<_> = (0..SLEEPERS)
            .map(|_| {
                gort::go(async move {
                    for _ in 0..ROUNDS {
                        match how {
                            Gort::Blocking => gort::blocking(|| std::thread::sleep(SLEEP)),
                            Gort::Inline => std::thread::sleep(SLEEP),
                        }
                        gort::yield_now().await;
                    }
                })
            })
            .collect();
        for h in sleepers.into_iter().chain(cpus) {
            h.await.unwrap();
        }
    });
    start.elapsed()
}

#[derive(Clone, Copy)]
enum Tokio {
    SpawnBlocking,
    BlockInPlace,
    Inline,
}

fn tokio_workload(rt: &tokio::runtime::Runtime, how: Tokio) -> Duration {
    let start = Instant::now();
    rt.block_on(async move {
        let cpus: Vec<_> = (0..2)
            .map(|_| {
                tokio::spawn(async {
                    let end = Instant::now() + CPU;
                    while Instant::now() < end {
                        spin_then(Duration::from_micros(50), || {});
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let sleepers: Vec<_> = (0..SLEEPERS)
            .map(|_| {
                tokio::spawn(async move {
                    for _ in 0..ROUNDS {
                        match how {
                            Tokio::SpawnBlocking => {
                                tokio::task::spawn_blocking(|| std::thread::sleep(SLEEP))
                                    .await
                                    .unwrap()
                            }
                            Tokio::BlockInPlace => {
                                tokio::task::block_in_place(|| std::thread::sleep(SLEEP))
                            }
                            Tokio::Inline => std::thread::sleep(SLEEP),
                        }
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in sleepers.into_iter().chain(cpus) {
            h.await.unwrap();
        }
    });
    start.elapsed()
}

fn blocking_workload(c: &mut Criterion) {
    let g = gort::Runtime::builder().procs(2).build().unwrap();
    let t = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("blocking_workload");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("gort_blocking", |b| {
        b.iter_custom(|n| (0..n).map(|_| gort_workload(&g, Gort::Blocking)).sum())
    });
    group.bench_function("gort_inline", |b| {
        b.iter_custom(|n| (0..n).map(|_| gort_workload(&g, Gort::Inline)).sum())
    });
    group.bench_function("tokio_spawn_blocking", |b| {
        b.iter_custom(|n| {
            (0..n)
                .map(|_| tokio_workload(&t, Tokio::SpawnBlocking))
                .sum()
        })
    });
    group.bench_function("tokio_block_in_place", |b| {
        b.iter_custom(|n| {
            (0..n)
                .map(|_| tokio_workload(&t, Tokio::BlockInPlace))
                .sum()
        })
    });
    group.bench_function("tokio_inline", |b| {
        b.iter_custom(|n| (0..n).map(|_| tokio_workload(&t, Tokio::Inline)).sum())
    });
    group.finish();
}

fn fast_path(c: &mut Criterion) {
    const CALLS: u64 = 100_000;
    let g = gort::Runtime::builder().procs(2).build().unwrap();
    let t = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("blocking_fast_path");
    group.sample_size(20);
    group.throughput(criterion::Throughput::Elements(CALLS));
    group.bench_function("gort_blocking", |b| {
        b.iter_custom(|n| {
            g.block_on(async move {
                gort::go(async move {
                    let start = Instant::now();
                    for _ in 0..n * CALLS {
                        gort::blocking(|| std::hint::black_box(()));
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            })
        })
    });
    group.bench_function("tokio_block_in_place", |b| {
        b.iter_custom(|n| {
            t.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..n * CALLS {
                        tokio::task::block_in_place(|| std::hint::black_box(()));
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, fast_path, blocking_workload);
criterion_main!(benches);
