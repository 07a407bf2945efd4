//! A quick probe of one channel workload, for A/B runs and profilers (`perf`,
//! `valgrind --tool=callgrind`) where criterion's harness gets in the way.
//!
//! ```text
//! P=2 cargo run --release --example chan_probe -- gort|tokio gort|flume|async pp|spsc|mpsc|mpmc|sel CAP REPS
//! ```
//! `CAP` is a capacity or `unb`; prints the median of `REPS` runs, in ns per message.
//! The workloads are those of `benches/channels.rs`, smaller.

use std::future::Future;
use std::time::{Duration, Instant};

const MSGS: usize = 100_000;

type Boxed = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// One sender and one receiver end, both kept in one value so the probe stays small.
#[derive(Clone)]
enum Ends {
    Gort(gort::chan::Sender<usize>, gort::chan::Receiver<usize>),
    Flume(flume::Sender<usize>, flume::Receiver<usize>),
    Async(async_channel::Sender<usize>, async_channel::Receiver<usize>),
}

impl Ends {
    fn new(kind: &str, cap: Option<usize>) -> Ends {
        match kind {
            "gort" => {
                let (t, r) = match cap {
                    Some(n) => gort::chan::bounded(n),
                    None => gort::chan::unbounded(),
                };
                Ends::Gort(t, r)
            }
            "flume" => {
                let (t, r) = match cap {
                    Some(n) => flume::bounded(n),
                    None => flume::unbounded(),
                };
                Ends::Flume(t, r)
            }
            "async" => {
                let (t, r) = match cap {
                    Some(0) => panic!("async-channel has no capacity 0 (no rendezvous)"),
                    Some(n) => async_channel::bounded(n),
                    None => async_channel::unbounded(),
                };
                Ends::Async(t, r)
            }
            k => panic!("unknown channel kind {k}"),
        }
    }

    async fn send(&self, v: usize) {
        match self {
            Ends::Gort(t, _) => t.send(v).await.unwrap(),
            Ends::Flume(t, _) => t.send_async(v).await.unwrap(),
            Ends::Async(t, _) => t.send(v).await.unwrap(),
        }
    }

    async fn recv(&self) -> usize {
        match self {
            Ends::Gort(_, r) => r.recv().await.unwrap(),
            Ends::Flume(_, r) => r.recv_async().await.unwrap(),
            Ends::Async(_, r) => r.recv().await.unwrap(),
        }
    }

    async fn select2(&self, other: &Ends) -> usize {
        match (self, other) {
            (Ends::Gort(_, a), Ends::Gort(_, b)) => gort::select! {
                recv(a) -> v => v.unwrap(),
                recv(b) -> v => v.unwrap(),
            },
            (Ends::Flume(_, a), Ends::Flume(_, b)) => tokio::select! {
                v = a.recv_async() => v.unwrap(),
                v = b.recv_async() => v.unwrap(),
            },
            (Ends::Async(_, a), Ends::Async(_, b)) => tokio::select! {
                v = a.recv() => v.unwrap(),
                v = b.recv() => v.unwrap(),
            },
            _ => unreachable!("both ends of one kind"),
        }
    }
}

fn workload(kind: &str, work: &str, cap: Option<usize>, spawn: fn(Boxed) -> Boxed) -> Boxed {
    let a = Ends::new(kind, cap);
    let b = Ends::new(kind, cap);
    let work = work.to_string();
    match work.as_str() {
        "pp" => Box::pin(async move {
            let (a2, b2) = (a.clone(), b.clone());
            let echo = spawn(Box::pin(async move {
                for _ in 0..MSGS {
                    let v = a2.recv().await;
                    b2.send(v).await;
                }
            }));
            for i in 0..MSGS {
                a.send(i).await;
                b.recv().await;
            }
            echo.await;
        }),
        "spsc" | "mpsc" | "mpmc" => Box::pin(async move {
            let (np, nc) = match work.as_str() {
                "spsc" => (1, 1),
                "mpsc" => (4, 1),
                _ => (4, 4),
            };
            let mut tasks = Vec::new();
            for _ in 0..np {
                let a = a.clone();
                tasks.push(spawn(Box::pin(async move {
                    for i in 0..MSGS / np {
                        a.send(i).await;
                    }
                })));
            }
            for _ in 0..nc {
                let a = a.clone();
                tasks.push(spawn(Box::pin(async move {
                    for _ in 0..MSGS / nc {
                        std::hint::black_box(a.recv().await);
                    }
                })));
            }
            for t in tasks {
                t.await;
            }
        }),
        "sel" => Box::pin(async move {
            let mut tasks = Vec::new();
            for ch in [a.clone(), b.clone()] {
                tasks.push(spawn(Box::pin(async move {
                    for i in 0..MSGS / 2 {
                        ch.send(i).await;
                    }
                })));
            }
            for _ in 0..MSGS {
                std::hint::black_box(a.select2(&b).await);
            }
            for t in tasks {
                t.await;
            }
        }),
        w => panic!("unknown workload {w}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 5 {
        eprintln!(
            "usage: chan_probe gort|tokio gort|flume|async pp|spsc|mpsc|mpmc|sel CAP|unb REPS"
        );
        std::process::exit(2);
    }
    let procs: usize = std::env::var("P")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(2);
    let cap = (args[3] != "unb").then(|| args[3].parse().expect("CAP is a number or unb"));
    let reps: usize = args[4].parse().expect("REPS is a number");
    let (kind, work) = (args[1].clone(), args[2].clone());
    // Each rep builds the workload with the runtime's spawn and times `run` on it.
    let time_reps = |spawn: fn(Boxed) -> Boxed, run: &dyn Fn(Boxed)| -> Vec<Duration> {
        (0..reps)
            .map(|_| {
                let w = workload(&kind, &work, cap, spawn);
                let t = Instant::now();
                run(w);
                t.elapsed()
            })
            .collect()
    };
    let mut times = match args[0].as_str() {
        "gort" => {
            let rt = gort::Runtime::builder().procs(procs).build().unwrap();
            let times = time_reps(
                |f| {
                    let h = gort::go(f);
                    Box::pin(async move { h.await.unwrap() })
                },
                &|w| rt.block_on(rt.spawn(w)).unwrap(),
            );
            if std::env::var_os("METRICS").is_some() {
                let m = rt.metrics();
                let per = |n: u64| n as f64 / (MSGS * reps) as f64;
                eprintln!(
                    "per message: steals {:.4}, hand-offs {:.4}, preemptions {:.4}",
                    per(m.steals),
                    per(m.hand_offs),
                    per(m.preemptions)
                );
            }
            times
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(procs)
                .build()
                .unwrap();
            time_reps(
                |f| {
                    let h = tokio::spawn(f);
                    Box::pin(async move { h.await.unwrap() })
                },
                &|w| rt.block_on(rt.spawn(w)).unwrap(),
            )
        }
        r => panic!("unknown runtime {r}"),
    };
    times.sort();
    let med = times[times.len() / 2];
    println!("{:.1}", med.as_nanos() as f64 / MSGS as f64);
}
