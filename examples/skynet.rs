//! The main demo: the skynet benchmark (1,000,000 goroutines in a 10-ary tree, each
//! leaf returning its number, each parent summing its children) on gort's GMP
//! scheduler, with the scheduler trace printed as it runs, as Go's
//! `GODEBUG=schedtrace=100` would.
//!
//! ```sh
//! cargo run --release --example skynet            # GORT_MAXPROCS=4 to change the Ps
//! ```

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

fn skynet(num: u64, size: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let child = size / 10;
        let handles: Vec<_> = (0..10)
            .map(|i| gort::go(skynet(num + i * child, child)))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("a skynet task failed");
        }
        sum
    })
}

fn main() -> std::io::Result<()> {
    let rt = gort::Runtime::builder()
        .schedtrace(Duration::from_millis(100), false)
        .build()?;
    println!("skynet: 1,000,000 goroutines on {} Ps", rt.metrics().procs);
    for round in 1..=3 {
        let start = Instant::now();
        let sum = rt.block_on(skynet(0, 1_000_000));
        assert_eq!(sum, 499_999_500_000, "wrong skynet sum");
        println!(
            "round {round}: sum {sum} in {:.1} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    let m = rt.metrics();
    println!(
        "spawned {} tasks, {} steals, {} OS threads for {} Ps",
        m.spawned, m.steals, m.threads, m.procs
    );
    Ok(())
}
