//! 100,000 tasks each sleeping 10 ms at once, on gort or tokio (2 workers): total time
//! and peak RSS. The twin of `benches/go/main.go`'s `sleeps_100k`.
//!
//! Usage: `cargo run --release --example mem_sleeps -- gort|tokio`
//!
//! Prints `ms=<spawn all + wait for all> peak_rss_kib=<VmHWM> base_rss_kib=<VmRSS before>`
//! and the derived `bytes_per_task`. One process per measurement (VmHWM is
//! process-wide); `benches/mem.sh` runs it repeatedly.

#[allow(dead_code, unused_imports)]
#[path = "../benches/common/handoff.rs"]
mod handoff;
#[allow(dead_code)]
#[path = "../benches/common/peer.rs"]
mod peer;
#[allow(dead_code)]
#[path = "../benches/common/proc_status.rs"]
mod proc_status;

use handoff::Countdown;
use peer::{Gort, Peer, Tokio, WORKERS};
use proc_status::status_kib;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TASKS: usize = 100_000;
const SLEEP_FOR: Duration = Duration::from_millis(10);

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("gort") => run::<Gort>(),
        Some("tokio") => run::<Tokio>(),
        _ => {
            eprintln!("usage: mem_sleeps gort|tokio");
            std::process::exit(2);
        }
    }
}

fn run<P: Peer>() {
    let rt = P::build(WORKERS);
    // Start the workers before the baseline, so their stacks are not counted.
    P::block_on(&rt, P::spawn(&rt, async {})).unwrap();
    let base = status_kib("VmRSS");

    let driver = P::spawn(&rt, async {
        let start = Instant::now();
        let left = Arc::new(Countdown::new(TASKS));
        for _ in 0..TASKS {
            let left = left.clone();
            drop(P::go(async move {
                P::sleep(SLEEP_FOR).await;
                left.done();
            }));
        }
        left.wait().await;
        start.elapsed()
    });
    let elapsed = P::block_on(&rt, driver).unwrap();
    let peak = status_kib("VmHWM");

    let per_task = (peak.saturating_sub(base) * 1024) as f64 / TASKS as f64;
    println!(
        "ms={:.2} peak_rss_kib={peak} base_rss_kib={base} bytes_per_task={per_task:.1}",
        elapsed.as_secs_f64() * 1e3
    );
}
