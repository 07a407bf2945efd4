//! Context benchmarks: gort's context tree against tokio-util's `CancellationToken`
//! (the nearest peer: a cancellation tree, without values or deadlines), side by side
//! in one criterion group per workload. `benches/go/context/` measures the same three
//! workloads on Go's `context` (GOMAXPROCS=2).
//!
//! - `create_cancel_child`: make a child of a live parent, cancel it (the child leaves
//!   the parent's children); per child. `gort` is `with_cancel` + `cancel`, `tokio_util`
//!   is `child_token` + `cancel`.
//! - `cancel_tree_100k`: cancel the root of a tree of 100,000 descendants (100 children
//!   of 999 children each); the time of the one cancel, the tree built and dropped
//!   outside the timing.
//! - `done_select`: a select between a context's done signal (never ready) and a
//!   channel holding a value, in a loop inside one task; per select. gort uses
//!   `gort::select!` over `ctx.done()` and a gort channel on gort's runtime; tokio uses
//!   `tokio::select!` over `token.cancelled()` and a tokio mpsc on tokio's runtime.
//!
//! Run: `cargo bench --bench context`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const FAN_OUT: usize = 100;
const FAN_OUT_2: usize = 999;

fn create_cancel_child(c: &mut Criterion) {
    let mut g = c.benchmark_group("context/create_cancel_child");
    g.bench_function("gort", |b| {
        let (parent, _cancel) = gort::context::background().with_cancel();
        b.iter(|| {
            let (child, cancel) = parent.with_cancel();
            cancel.cancel();
            black_box(child)
        });
        assert_eq!(parent.child_count(), 0);
    });
    g.bench_function("tokio_util", |b| {
        let parent = CancellationToken::new();
        b.iter(|| {
            let child = parent.child_token();
            child.cancel();
            black_box(child)
        });
    });
    g.finish();
}

fn cancel_tree_100k(c: &mut Criterion) {
    let mut g = c.benchmark_group("context/cancel_tree_100k");
    g.sample_size(20);
    g.bench_function("gort", |b| {
        b.iter_batched(
            || {
                let (root, cancel) = gort::context::background().with_cancel();
                let mut keep = Vec::with_capacity(FAN_OUT * (FAN_OUT_2 + 1));
                for _ in 0..FAN_OUT {
                    let (child, cc) = root.with_cancel();
                    for _ in 0..FAN_OUT_2 {
                        keep.push(child.with_cancel());
                    }
                    keep.push((child, cc));
                }
                (root, cancel, keep)
            },
            |(root, cancel, keep)| {
                cancel.cancel();
                (root, keep)
            },
            BatchSize::PerIteration,
        );
    });
    g.bench_function("tokio_util", |b| {
        b.iter_batched(
            || {
                let root = CancellationToken::new();
                let mut keep = Vec::with_capacity(FAN_OUT * (FAN_OUT_2 + 1));
                for _ in 0..FAN_OUT {
                    let child = root.child_token();
                    for _ in 0..FAN_OUT_2 {
                        keep.push(child.child_token());
                    }
                    keep.push(child);
                }
                (root, keep)
            },
            |(root, keep)| {
                root.cancel();
                (root, keep)
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

fn done_select(c: &mut Criterion) {
    let mut g = c.benchmark_group("context/done_select");
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    g.bench_function("gort", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let (ctx, _cancel) = gort::context::background().with_cancel();
                let done = ctx.done();
                let (tx, rx) = gort::chan::bounded::<u64>(1);
                let start = Instant::now();
                let mut sum = 0u64;
                for i in 0..iters {
                    tx.try_send(i).unwrap();
                    sum += gort::select! {
                        recv(done) -> _ => unreachable!("never cancelled"),
                        recv(rx) -> v => v.unwrap(),
                    };
                }
                let took = start.elapsed();
                assert_eq!(sum, iters * iters.saturating_sub(1) / 2);
                took
            })
        });
    });
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    g.bench_function("tokio_util", |b| {
        b.iter_custom(|iters| {
            tokio_rt.block_on(async move {
                let token = CancellationToken::new();
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(1);
                let start = Instant::now();
                let mut sum = 0u64;
                for i in 0..iters {
                    tx.try_send(i).unwrap();
                    sum += tokio::select! {
                        _ = token.cancelled() => unreachable!("never cancelled"),
                        v = rx.recv() => v.unwrap(),
                    };
                }
                let took = start.elapsed();
                assert_eq!(sum, iters * iters.saturating_sub(1) / 2);
                took
            })
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = create_cancel_child, cancel_tree_100k, done_select
}
criterion_main!(benches);
