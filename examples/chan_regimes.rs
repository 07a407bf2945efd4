//! One channel workload on gort's channels and on the async peers, interleaved round
//! by round, each round tagged with how fast the machine's two CPUs talked to each
//! other just before and just after it.
//!
//! ```text
//! P=2 cargo run --release --example chan_regimes -- spsc|mpsc|mpmc|sel|pp CAP|unb ROUNDS
//! ```
//!
//! Why: on the 2-vCPU machines these benches run on, the round trip of one cache line
//! between the two CPUs is sometimes about 100 ns and sometimes about 470 ns, for
//! seconds at a time (the host moves the virtual CPUs). Every workload where the two
//! CPUs share a channel runs 2-4× slower in the slow state, whichever channel it uses,
//! so a criterion run that happens to meet it for one peer and not another compares
//! the machine, not the channels. Here every peer runs once per round, a round takes a
//! fraction of a second, and a round counts only if the CPUs' round trip was in the
//! same state before and after it. The summary gives each peer's median and the median
//! of the per-round ratios, per state.
//!
//! Go's channels join the rounds when the Go twin of the benches is built
//! (`benches/go/chan/target-go/gortchanbench`; `bash benches/go/chan/run.sh 1` builds
//! it, or set `GO_CHAN_BENCH` to its path): each round runs it once, with
//! `GOMAXPROCS` = `P`, on the same workload (its own message counts: 20,000 at
//! capacity 0 and 1, 10,000 ping-pong trips), and the ratio to Go is printed too.

#[path = "shared/chan_work.rs"]
mod chan_work;

use chan_work::{Hosts, HUNG_AFTER, MSGS};
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Arc;
use std::time::Instant;

/// Below this a cache line's round trip between the CPUs is "near", above `FAR` "far".
const NEAR_NS: f64 = 200.0;
const FAR_NS: f64 = 300.0;

/// The mean round trip, in ns, of one cache line bounced between a thread pinned to
/// CPU 0 and one pinned to CPU 1 (`None` on a machine with one CPU).
fn cpu_round_trip() -> Option<f64> {
    const TRIPS: u64 = 5_000;
    let flag = Arc::new(AtomicU64::new(0));
    let other = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            if !pin_to(1) {
                return false;
            }
            for i in 0..TRIPS {
                // Acquire/Release: the bounce is the measurement; no data rides on it.
                while flag.load(Acquire) != 2 * i + 1 {
                    std::hint::spin_loop();
                }
                flag.store(2 * i + 2, Release);
            }
            true
        })
    };
    let pinned = pin_to(0);
    let start = Instant::now();
    for i in 0..TRIPS {
        flag.store(2 * i + 1, Release);
        while flag.load(Acquire) != 2 * i + 2 {
            if other.is_finished() {
                break;
            }
            std::hint::spin_loop();
        }
    }
    let elapsed = start.elapsed();
    let other_pinned = other.join().unwrap_or(false);
    unpin();
    (pinned && other_pinned).then(|| elapsed.as_nanos() as f64 / TRIPS as f64)
}

fn pin_to(cpu: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes within it, and
    // sched_setaffinity reads `size_of::<cpu_set_t>()` bytes of it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

fn unpin() {
    // SAFETY: as in `pin_to`, with every CPU the set can name.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..libc::CPU_SETSIZE as usize {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The peers, as (host, channel): gort's channels on gort's runtime and on tokio's,
/// and the async peers on tokio's; then Go, if its twin is built.
fn peers(cap: Option<usize>, go: bool) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("gort", "gort"), ("tokio", "gort"), ("tokio", "flume")];
    if cap != Some(0) {
        v.push(("tokio", "async"));
    }
    if go {
        v.push(("go", "go"));
    }
    v
}

/// The Go twin's binary, if built.
fn go_bench() -> Option<std::path::PathBuf> {
    let path = match std::env::var_os("GO_CHAN_BENCH") {
        Some(p) => p.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("benches/go/chan/target-go/gortchanbench"),
    };
    path.is_file().then_some(path)
}

/// The Go twin's name for a workload.
fn go_workload(work: &str, cap: Option<usize>) -> String {
    let cap = cap.map_or("unbounded".to_string(), |n| format!("cap{n}"));
    match work {
        "sel" => format!("select2_{cap}"),
        "pp" => format!("ping_pong_{cap}"),
        w => format!("{w}_{cap}"),
    }
}

/// One run of the Go twin: ns per message (per trip for ping-pong), `None` if it
/// failed or printed nothing it could parse.
fn time_go(bin: &std::path::Path, workload: &str) -> Option<f64> {
    let out = std::process::Command::new(bin)
        .env("GOMAXPROCS", chan_work::procs().to_string())
        .args(["-warmup=1", "-min-ms=150", workload])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "go {workload}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            k.starts_with("ns_per_").then(|| v.parse().ok()).flatten()
        })
}

fn median(v: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = v.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 {
        eprintln!("usage: chan_regimes spsc|mpsc|mpmc|sel|pp CAP|unb ROUNDS");
        std::process::exit(2);
    }
    let work = args[0].as_str();
    let cap = (args[1] != "unb").then(|| args[1].parse().expect("CAP is a number or unb"));
    let rounds: usize = args[2].parse().expect("ROUNDS is a number");
    let hosts = Hosts::new(chan_work::procs());
    let go = go_bench();
    if go.is_none() {
        println!("(Go's twin not built: `bash benches/go/chan/run.sh 1` builds it)");
    }
    let go_work = go_workload(work, cap);
    let peers = peers(cap, go.is_some());
    // The async peers: after gort's two, before Go.
    let asyncs = 2..peers.len() - usize::from(go.is_some());
    let name = |(h, c): (&str, &str)| match h {
        "go" => "go".to_string(),
        _ => format!("{c}-on-{h}"),
    };
    // A peer that hung once (a lost wake-up) is not run again: its tasks stay parked.
    let mut hung = vec![false; peers.len()];
    let mut run = |i: usize, round: usize| -> f64 {
        if hung[i] {
            return f64::NAN;
        }
        let (h, c) = peers[i];
        if h == "go" {
            let bin = go.as_deref().expect("Go is a peer only when built");
            return time_go(bin, &go_work).unwrap_or(f64::NAN);
        }
        match hosts.time(h, c, work, cap) {
            Some(t) => t.as_nanos() as f64 / MSGS as f64,
            None => {
                hung[i] = true;
                println!(
                    "{} did not finish in {HUNG_AFTER:?} (round {round}): a lost wake-up; \
                     not run again",
                    name(peers[i])
                );
                f64::NAN
            }
        }
    };
    // Warm both runtimes' threads up.
    for i in 0..peers.len() {
        run(i, 0);
    }
    // (state, ns per message by peer; NaN: hung)
    let mut kept: Vec<(&str, Vec<f64>)> = Vec::new();
    println!(
        "round  cpu-trip-before  cpu-trip-after  {}",
        peers
            .iter()
            .map(|&p| name(p))
            .collect::<Vec<_>>()
            .join("  ")
    );
    for round in 1..=rounds {
        let before = cpu_round_trip();
        let ns: Vec<f64> = (0..peers.len()).map(|i| run(i, round)).collect();
        let after = cpu_round_trip();
        let state = match (before, after) {
            (Some(b), Some(a)) if b < NEAR_NS && a < NEAR_NS => "near",
            (Some(b), Some(a)) if b > FAR_NS && a > FAR_NS => "far",
            (None, None) => "one-cpu",
            _ => "mixed",
        };
        let fmt = |t: Option<f64>| t.map_or("-".into(), |t| format!("{t:.0}"));
        println!(
            "{round:>5}  {:>15}  {:>14}  {}  ({state})",
            fmt(before),
            fmt(after),
            ns.iter()
                .map(|n| format!("{n:.1}"))
                .collect::<Vec<_>>()
                .join("  ")
        );
        if state != "mixed" {
            kept.push((state, ns));
        }
    }
    for state in ["near", "far", "one-cpu"] {
        let rows: Vec<&Vec<f64>> = kept
            .iter()
            .filter(|(s, _)| *s == state)
            .map(|(_, v)| v)
            .collect();
        if rows.is_empty() {
            continue;
        }
        println!("{state}: {} rounds", rows.len());
        for (i, &p) in peers.iter().enumerate() {
            match median(rows.iter().map(|r| r[i])) {
                Some(m) => println!("  {:<18} median {m:.1} ns", name(p)),
                None => println!("  {:<18} hung", name(p)),
            }
        }
        // gort on gort against the fastest async peer of the same round (the
        // peers after the first two).
        let ratio = median(rows.iter().map(|r| {
            let best = r[asyncs.clone()]
                .iter()
                .cloned()
                .filter(|x| x.is_finite())
                .fold(f64::INFINITY, f64::min);
            if best.is_finite() {
                r[0] / best
            } else {
                f64::NAN
            }
        }));
        if let Some(ratio) = ratio {
            println!("  gort-on-gort / fastest async peer, median of rounds: {ratio:.3}");
        }
        if go.is_some() {
            let last = peers.len() - 1;
            if let Some(ratio) = median(rows.iter().map(|r| r[0] / r[last])) {
                println!("  gort-on-gort / go, median of rounds: {ratio:.3}");
            }
        }
    }
}
