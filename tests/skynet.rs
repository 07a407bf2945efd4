//! Skynet (github.com/atemerev/skynet): a 10-ary tree of tasks, each leaf returning its
//! number and each inner node summing its children. 1,000,000 leaves (depth 6) sum to
//! 499,999,500,000.
//!
//! `skynet` runs the full 1M-leaf tree in every build (about 5 s in a debug build on a
//! 2-core machine, 1-2 s in release). The variants with other proc counts would triple
//! that in debug, so under `cfg(debug_assertions)` they use 100,000 leaves (depth 5,
//! sum 4,999,950,000); `cargo test --release` runs them on the full tree too.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use support::{eventually, Watchdog};

fn skynet(num: u64, size: u64, div: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let children: Vec<_> = (0..div)
            .map(|i| {
                let sub = size / div;
                gort::go(skynet(num + i * sub, sub, div))
            })
            .collect();
        let mut sum = 0;
        for c in children {
            sum += c.await.unwrap();
        }
        sum
    })
}

/// Leaves of the proc-count variants (see the module docs).
fn variant_leaves() -> u64 {
    if cfg!(debug_assertions) {
        100_000
    } else {
        1_000_000
    }
}

fn check(rt: &gort::Runtime, what: &str, n: u64) {
    let start = Instant::now();
    let sum = rt.block_on(async move { gort::go(skynet(0, n, 10)).await.unwrap() });
    println!("skynet {what}: {n} leaves in {:?}", start.elapsed());
    assert_eq!(sum, n * (n - 1) / 2);
    if n == 1_000_000 {
        assert_eq!(sum, 499_999_500_000);
    }
    assert!(
        eventually(Duration::from_secs(5), || rt.metrics().alive_tasks == 0),
        "tasks left alive: {:?}",
        rt.metrics()
    );
}

#[test]
fn skynet_1m_leaves() {
    let _wd = Watchdog::new("skynet_1m_leaves", Duration::from_secs(300));
    let rt = gort::Runtime::new().unwrap();
    check(&rt, "default procs", 1_000_000);
}

#[test]
fn skynet_one_proc() {
    let _wd = Watchdog::new("skynet_one_proc", Duration::from_secs(300));
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    check(&rt, "procs(1)", variant_leaves());
}

#[test]
fn skynet_more_procs_than_cores() {
    let _wd = Watchdog::new("skynet_more_procs_than_cores", Duration::from_secs(300));
    let rt = gort::Runtime::builder().procs(8).build().unwrap();
    check(&rt, "procs(8)", variant_leaves());
}
