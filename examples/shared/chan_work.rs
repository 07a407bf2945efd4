//! The channel workloads of `benches/channels.rs`, smaller, and the two hosts that
//! run them: shared by the `chan_probe` and `chan_regimes` examples.

use std::future::Future;
use std::time::{Duration, Instant};

pub const MSGS: usize = 100_000;

pub type Boxed = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// How a workload spawns its tasks on the runtime it runs on.
pub type Spawn = fn(Boxed) -> Boxed;

/// One sender and one receiver end, both kept in one value so the probe stays small.
#[derive(Clone)]
pub enum Ends {
    Gort(gort::chan::Sender<usize>, gort::chan::Receiver<usize>),
    Flume(flume::Sender<usize>, flume::Receiver<usize>),
    Async(async_channel::Sender<usize>, async_channel::Receiver<usize>),
}

impl Ends {
    pub fn new(kind: &str, cap: Option<usize>) -> Ends {
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

pub fn workload(kind: &str, work: &str, cap: Option<usize>, spawn: Spawn) -> Boxed {
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

/// gort's runtime and tokio's, with the same number of workers, built once and kept
/// (as criterion's benches keep theirs).
pub struct Hosts {
    pub gort: gort::Runtime,
    pub tokio: tokio::runtime::Runtime,
}

impl Hosts {
    pub fn new(procs: usize) -> Hosts {
        Hosts {
            gort: gort::Runtime::builder().procs(procs).build().unwrap(),
            tokio: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(procs)
                .build()
                .unwrap(),
        }
    }

    /// Runs one workload on `host` (`gort` or `tokio`) and times it; `None` if it has
    /// not finished after `HUNG_AFTER` (a lost wake-up: its tasks stay parked in the
    /// runtime, and the caller should not run that peer again).
    pub fn time(&self, host: &str, kind: &str, work: &str, cap: Option<usize>) -> Option<Duration> {
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Instant>();
        let finish = |w: Boxed| async move {
            w.await;
            let _ = done_tx.send(Instant::now());
        };
        // How the workload spawns its tasks, and how the timed task is started.
        let (spawn, start_on): (Spawn, Box<dyn FnOnce(Boxed) + '_>) = match host {
            "gort" => (
                |f| {
                    let h = gort::go(f);
                    Box::pin(async move { h.await.unwrap() })
                },
                Box::new(|t| drop(self.gort.spawn(t))),
            ),
            "tokio" => (
                |f| {
                    let h = tokio::spawn(f);
                    Box::pin(async move { h.await.unwrap() })
                },
                Box::new(|t| drop(self.tokio.spawn(t))),
            ),
            r => panic!("unknown runtime {r}"),
        };
        let w = workload(kind, work, cap, spawn);
        let start = Instant::now();
        start_on(Box::pin(finish(w)));
        let end = done_rx.recv_timeout(HUNG_AFTER).ok()?;
        Some(end - start)
    }
}

/// How long one run may take before it counts as hung.
pub const HUNG_AFTER: Duration = Duration::from_secs(20);

/// `P` from the environment: workers per runtime (2 unless set).
pub fn procs() -> usize {
    std::env::var("P")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(2)
}
