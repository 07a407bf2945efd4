//! A quick probe of one channel workload, for A/B runs and profilers (`perf`,
//! `valgrind --tool=callgrind`) where criterion's harness gets in the way.
//!
//! ```text
//! P=2 cargo run --release --example chan_probe -- gort|tokio gort|flume|async pp|spsc|mpsc|mpmc|sel CAP REPS
//! ```
//! `CAP` is a capacity or `unb`; prints the median of `REPS` runs, in ns per message.
//! `EACH=1` also prints every run's figure (is it bimodal? does it drift?), and
//! `METRICS=1`, on gort, the runtime's steals, hand-offs and preemptions a message.
//! `GAP_MS=N` sleeps N ms before each run, so that each starts from an idle runtime
//! (as in `chan_regimes`, where the other peers run in between).
//! The workloads are those of `benches/channels.rs`, smaller (`shared/chan_work.rs`).

#[path = "shared/chan_work.rs"]
mod chan_work;

use chan_work::{Hosts, MSGS};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 5 {
        eprintln!(
            "usage: chan_probe gort|tokio gort|flume|async pp|spsc|mpsc|mpmc|sel CAP|unb REPS"
        );
        std::process::exit(2);
    }
    let cap = (args[3] != "unb").then(|| args[3].parse().expect("CAP is a number or unb"));
    let reps: usize = args[4].parse().expect("REPS is a number");
    let hosts = Hosts::new(chan_work::procs());
    let gap = std::env::var("GAP_MS")
        .ok()
        .map(|ms| std::time::Duration::from_millis(ms.parse().expect("GAP_MS is a number")));
    let mut times: Vec<_> = (0..reps)
        .map(|_| {
            if let Some(gap) = gap {
                std::thread::sleep(gap);
            }
            hosts
                .time(&args[0], &args[1], &args[2], cap)
                .unwrap_or_else(|| {
                    eprintln!("chan_probe: a run did not finish (a lost wake-up?)");
                    std::process::exit(1)
                })
        })
        .collect();
    if args[0] == "gort" && std::env::var_os("METRICS").is_some() {
        let m = hosts.gort.metrics();
        let per = |n: u64| n as f64 / (MSGS * reps) as f64;
        eprintln!(
            "per message: steals {:.4}, hand-offs {:.4}, preemptions {:.4}",
            per(m.steals),
            per(m.hand_offs),
            per(m.preemptions)
        );
    }
    if std::env::var_os("EACH").is_some() {
        let each: Vec<String> = times
            .iter()
            .map(|t| format!("{:.0}", t.as_nanos() as f64 / MSGS as f64))
            .collect();
        eprintln!("each run: {}", each.join(" "));
    }
    times.sort();
    let med = times[times.len() / 2];
    println!("{:.1}", med.as_nanos() as f64 / MSGS as f64);
}
