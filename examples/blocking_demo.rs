//! Hand-off on blocking: 16 tasks each block five times for 20 ms beside two CPU-bound
//! tasks, on 2 Ps — with `gort::blocking` (hand-off at once), and with the sleep inline
//! and unannotated (sysmon retakes the P after 10 ms).
//!
//! ```sh
//! cargo run --release --example blocking_demo
//! ```

use std::time::{Duration, Instant};

async fn cpu(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {
        let spin = Instant::now() + Duration::from_micros(50);
        while Instant::now() < spin {
            std::hint::spin_loop();
        }
        gort::yield_now().await;
    }
}

fn main() -> std::io::Result<()> {
    let rt = gort::Runtime::builder().procs(2).build()?;
    for annotated in [true, false] {
        let start = Instant::now();
        let (blockers_done, all_done) = rt.block_on(async move {
            let cpus: Vec<_> = (0..2).map(|_| gort::go(cpu(200))).collect();
            let sleepers: Vec<_> = (0..16)
                .map(|_| {
                    gort::go(async move {
                        for _ in 0..5 {
                            if annotated {
                                gort::blocking(|| std::thread::sleep(Duration::from_millis(20)));
                            } else {
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            gort::yield_now().await;
                        }
                    })
                })
                .collect();
            for s in sleepers {
                s.await.unwrap();
            }
            let blockers_done = start.elapsed();
            for c in cpus {
                c.await.unwrap();
            }
            (blockers_done, start.elapsed())
        });
        println!(
            "{}: blocking tasks done at {:.0} ms, all done at {:.0} ms",
            if annotated {
                "gort::blocking"
            } else {
                "inline sleep "
            },
            blockers_done.as_secs_f64() * 1e3,
            all_done.as_secs_f64() * 1e3
        );
    }
    let m = rt.metrics();
    println!(
        "threads {} (procs {}), hand-offs {}, retakes {}, preemptions {}",
        m.threads, m.procs, m.hand_offs, m.retakes, m.preemptions
    );
    Ok(())
}
