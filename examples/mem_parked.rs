//! Memory per parked task: 100,000 tasks each waiting on its own wake-up, on gort or
//! tokio (2 workers). The twin of `benches/go/main.go`'s `parked_100k` (one goroutine
//! blocked on its own unbuffered channel each).
//!
//! Usage: `cargo run --release --example mem_parked -- gort|tokio`
//!
//! Prints one line of key=value pairs:
//! `bytes_per_task=(VmHWM - baseline VmRSS) / 100000`, the raw KiB numbers, and the time
//! to wake every task and see them all finish. One process per measurement: VmHWM is a
//! process-wide high-water mark (`benches/mem.sh` runs it repeatedly).

#[allow(dead_code, unused_imports)]
#[path = "../benches/common/handoff.rs"]
mod handoff;
#[allow(dead_code)]
#[path = "../benches/common/peer.rs"]
mod peer;
#[allow(dead_code)]
#[path = "../benches/common/proc_status.rs"]
mod proc_status;

use handoff::{Countdown, Handoff};
use peer::{Gort, Peer, Tokio, WORKERS};
use proc_status::status_kib;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TASKS: usize = 100_000;

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("gort") => run::<Gort>(),
        Some("tokio") => run::<Tokio>(),
        _ => {
            eprintln!("usage: mem_parked gort|tokio");
            std::process::exit(2);
        }
    }
}

fn run<P: Peer>() {
    let rt = P::build(WORKERS);
    // Start the workers before the baseline, so their stacks are not counted.
    P::block_on(&rt, P::spawn(&rt, async {})).unwrap();
    let base = status_kib("VmRSS");

    let driver = P::spawn(&rt, async move {
        let started = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(Countdown::new(TASKS));
        // Each task owns its wake-up (counted in the per-task cost, as Go's channel is).
        let wakeups: Vec<Arc<Handoff>> = (0..TASKS).map(|_| Arc::new(Handoff::new())).collect();
        for w in &wakeups {
            let (w, started, finished) = (w.clone(), started.clone(), finished.clone());
            drop(P::go(async move {
                started.fetch_add(1, Ordering::Relaxed); // before the first Pending
                w.wait().await;
                finished.done();
            }));
        }
        while started.load(Ordering::Relaxed) < TASKS {
            P::sleep(Duration::from_millis(1)).await;
        }
        // Let the last tasks get from the increment to their Pending.
        P::sleep(Duration::from_millis(20)).await;
        let peak = status_kib("VmHWM");

        let start = Instant::now();
        for w in &wakeups {
            w.notify();
        }
        finished.wait().await;
        (peak, start.elapsed())
    });
    let (peak, wake) = P::block_on(&rt, driver).unwrap();

    let per_task = (peak.saturating_sub(base) * 1024) as f64 / TASKS as f64;
    println!(
        "bytes_per_task={per_task:.1} peak_rss_kib={peak} base_rss_kib={base} wake_all_ms={:.2}",
        wake.as_secs_f64() * 1e3
    );
}
