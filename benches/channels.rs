//! Channel benchmarks: gort's channels against flume, async-channel, tokio's mpsc and
//! crossbeam-channel, side by side in one criterion group per workload and capacity,
//! so each report reads as a ratio. `benches/go/chan/` measures the same workloads on
//! Go's channels (GOMAXPROCS=2).
//!
//! In each group (names are `<channel>-on-<executor>`):
//! - `gort-on-gort`: gort channels, tasks on gort's runtime (`procs(2)`);
//! - `gort-on-tokio`, `flume-on-tokio`, `async_channel-on-tokio`, `tokio_mpsc-on-tokio`:
//!   async channels on tokio's multi-thread runtime with 2 workers;
//! - `crossbeam-on-threads`, `gort_blocking-on-threads`: the blocking APIs
//!   (`send`/`recv`, `send_blocking`/`recv_blocking`) on plain OS threads.
//!
//! A peer that cannot do a combination is left out of its group: async-channel and
//! tokio's mpsc have no capacity 0, tokio's mpsc has one consumer (so no mpmc), and
//! unbounded uses tokio's `unbounded_channel`.
//!
//! Workloads (messages are `usize`; throughput is reported per message, or per round
//! trip for `ping_pong`):
//! - `spsc_<cap>`: 1 producer → 1 consumer, `MSGS` messages;
//! - `mpsc_<cap>`: 4 producers → 1 consumer, `MSGS` messages in all;
//! - `mpmc_<cap>`: 4 producers → 4 consumers, `MSGS` messages in all;
//!   consumers receive until the channel closes (the last sender dropped);
//! - `select2_cap64`: two producers, each on its own cap-64 channel, `MSGS / 2` each;
//!   one consumer receives `MSGS` values, each through a 2-way select (`gort::select!`,
//!   `tokio::select!`, `crossbeam_channel::select!`, gort's blocking `Select`);
//! - `ping_pong_<cap>`: `TRIPS` round trips over two channels, driver ↔ echo task.
//!
//! Async workloads run inside one driver task on the runtime and are timed there
//! (like Go's goroutine that runs each workload); each iteration spawns its producers
//! and consumers afresh and joins them. Thread workloads spawn scoped OS threads per
//! iteration and are timed on the bench thread. Every iteration's message count and
//! sum are checked after the timer stops; a watchdog aborts with the bench's name if
//! no iteration completes for `HANG_SECS` (a hang is a bug to report, not a number).
//!
//! Run: `cargo bench --bench channels` (filter: `cargo bench --bench channels -- mpmc`).

use criterion::measurement::WallTime;
use criterion::Throughput;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode};
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Messages per iteration in the producer/consumer and select workloads (keep equal to
/// the constants in `benches/go/chan/main.go`).
const MSGS: usize = 100_000;
/// Messages per iteration at capacity 0 and 1, where every message is a hand-off.
const MSGS_SMALL_CAP: usize = 20_000;
/// Round trips per iteration in `ping_pong`.
const TRIPS: usize = 10_000;
/// Producers (and consumers, for mpmc) in the fan-in / fan-out workloads.
const FAN: usize = 4;
/// Worker threads for both runtimes.
const WORKERS: usize = 2;
/// A bench that completes no iteration for this long is reported as hung.
const HANG_SECS: u64 = 60;

// ------------------------------------------------------------------ workloads

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cap {
    Bounded(usize),
    Unbounded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Work {
    /// `producers` → `consumers` over one channel.
    Pc {
        producers: usize,
        consumers: usize,
    },
    Select2,
    PingPong,
}

impl Work {
    /// Messages (or round trips) per iteration.
    fn msgs(self, cap: Cap) -> usize {
        match (self, cap) {
            (Work::PingPong, _) => TRIPS,
            (_, Cap::Bounded(0 | 1)) => MSGS_SMALL_CAP,
            _ => MSGS,
        }
    }
}

/// What one iteration delivered: checked against the expected count and sum outside
/// the timed loop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    count: usize,
    sum: u64,
}

impl Tally {
    fn add(&mut self, v: usize) {
        self.count += 1;
        self.sum += v as u64;
    }
    fn merge(&mut self, o: Tally) {
        self.count += o.count;
        self.sum += o.sum;
    }
    /// Values `0..n`, each once.
    fn expected(n: usize) -> Tally {
        let n64 = n as u64;
        Tally {
            count: n,
            sum: n64 * n64.saturating_sub(1) / 2,
        }
    }
}

fn check(name: &str, work: Work, cap: Cap, got: &[Tally]) {
    let want = Tally::expected(work.msgs(cap));
    for (i, t) in got.iter().enumerate() {
        assert_eq!(
            *t, want,
            "{name} {work:?} {cap:?}: iteration {i} delivered {t:?}, expected {want:?}"
        );
    }
}

// ------------------------------------------------------------------ watchdog

static HEARTBEAT: AtomicU64 = AtomicU64::new(0);
static CURRENT: Mutex<String> = Mutex::new(String::new());

fn beat() {
    HEARTBEAT.fetch_add(1, Relaxed);
}

fn watchdog(name: &str) {
    static STARTED: OnceLock<()> = OnceLock::new();
    *CURRENT.lock().unwrap() = name.to_string();
    beat();
    STARTED.get_or_init(|| {
        std::thread::Builder::new()
            .name("bench-watchdog".into())
            .spawn(|| {
                let mut last = HEARTBEAT.load(Relaxed);
                let mut since = Instant::now();
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                    let now = HEARTBEAT.load(Relaxed);
                    if now != last {
                        last = now;
                        since = Instant::now();
                    } else if since.elapsed() > Duration::from_secs(HANG_SECS) {
                        eprintln!(
                            "\nHANG: `{}` completed no iteration for {HANG_SECS}s; aborting",
                            CURRENT.lock().unwrap()
                        );
                        std::process::abort();
                    }
                }
            })
            .expect("spawn watchdog");
    });
}

// ------------------------------------------------------------------ executors

trait Exec: 'static {
    const NAME: &'static str;
    type Rt;
    type JoinError: Debug;
    type Join<T: Send + 'static>: Future<Output = Result<T, Self::JoinError>> + Send + 'static;

    fn build() -> Self::Rt;
    /// Runs `f` as a task on `rt` (the driver) and waits for it from the bench thread.
    fn run<F>(rt: &Self::Rt, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Spawns a task from inside the runtime.
    fn go<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

enum GortRt {}

impl Exec for GortRt {
    const NAME: &'static str = "gort";
    type Rt = gort::Runtime;
    type JoinError = gort::JoinError;
    type Join<T: Send + 'static> = gort::JoinHandle<T>;

    fn build() -> gort::Runtime {
        gort::Runtime::builder()
            .procs(WORKERS)
            .build()
            .expect("build gort runtime")
    }
    fn run<F>(rt: &gort::Runtime, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        rt.block_on(rt.spawn(f)).expect("gort driver task failed")
    }
    fn go<F>(f: F) -> gort::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        gort::go(f)
    }
}

enum TokioRt {}

impl Exec for TokioRt {
    const NAME: &'static str = "tokio";
    type Rt = tokio::runtime::Runtime;
    type JoinError = tokio::task::JoinError;
    type Join<T: Send + 'static> = tokio::task::JoinHandle<T>;

    fn build() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .expect("build tokio runtime")
    }
    fn run<F>(rt: &tokio::runtime::Runtime, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        rt.block_on(rt.spawn(f)).expect("tokio driver task failed")
    }
    fn go<F>(f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(f)
    }
}

// ------------------------------------------------------------------ async channels

trait AsyncChan: 'static {
    const NAME: &'static str;
    type Tx: Clone + Send + Sync + 'static;
    type Rx: Send + Sync + 'static;

    fn supports(work: Work, cap: Cap) -> bool;
    fn new(cap: Cap) -> (Self::Tx, Self::Rx);
    /// Another consumer (only called where `supports` allows more than one).
    fn clone_rx(rx: &Self::Rx) -> Self::Rx;
    fn send(tx: &Self::Tx, v: usize) -> impl Future<Output = ()> + Send + '_;
    /// `None` once every sender is gone and the channel is drained.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<usize>> + Send + '_;
    /// Receives `n` values, each from whichever of `a`, `b` is ready (both stay open).
    fn select_loop(a: Self::Rx, b: Self::Rx, n: usize) -> impl Future<Output = Tally> + Send;
}

enum Gort {}

impl AsyncChan for Gort {
    const NAME: &'static str = "gort";
    type Tx = gort::chan::Sender<usize>;
    type Rx = gort::chan::Receiver<usize>;

    fn supports(_: Work, _: Cap) -> bool {
        true
    }
    fn new(cap: Cap) -> (Self::Tx, Self::Rx) {
        match cap {
            Cap::Bounded(n) => gort::chan::bounded(n),
            Cap::Unbounded => gort::chan::unbounded(),
        }
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send(v).await.expect("gort send: channel closed")
    }
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<usize>> + Send + '_ {
        rx.recv()
    }
    async fn select_loop(a: Self::Rx, b: Self::Rx, n: usize) -> Tally {
        let (a, b) = (&a, &b);
        let mut t = Tally::default();
        for _ in 0..n {
            t.add(gort::select! {
                recv(*a) -> v => v.expect("gort select: closed"),
                recv(*b) -> v => v.expect("gort select: closed"),
            });
        }
        t
    }
}

enum Flume {}

impl AsyncChan for Flume {
    const NAME: &'static str = "flume";
    type Tx = flume::Sender<usize>;
    type Rx = flume::Receiver<usize>;

    fn supports(_: Work, _: Cap) -> bool {
        true
    }
    fn new(cap: Cap) -> (Self::Tx, Self::Rx) {
        match cap {
            Cap::Bounded(n) => flume::bounded(n),
            Cap::Unbounded => flume::unbounded(),
        }
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send_async(v).await.expect("flume send")
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv_async().await.ok()
    }
    async fn select_loop(mut a: Self::Rx, mut b: Self::Rx, n: usize) -> Tally {
        let (a, b) = (&mut a, &mut b);
        let mut t = Tally::default();
        for _ in 0..n {
            t.add(tokio::select! {
                v = a.recv_async() => v.expect("flume select"),
                v = b.recv_async() => v.expect("flume select"),
            });
        }
        t
    }
}

enum AsyncChannel {}

impl AsyncChan for AsyncChannel {
    const NAME: &'static str = "async_channel";
    type Tx = async_channel::Sender<usize>;
    type Rx = async_channel::Receiver<usize>;

    fn supports(_: Work, cap: Cap) -> bool {
        cap != Cap::Bounded(0)
    }
    fn new(cap: Cap) -> (Self::Tx, Self::Rx) {
        match cap {
            Cap::Bounded(n) => async_channel::bounded(n),
            Cap::Unbounded => async_channel::unbounded(),
        }
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send(v).await.expect("async-channel send")
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv().await.ok()
    }
    async fn select_loop(mut a: Self::Rx, mut b: Self::Rx, n: usize) -> Tally {
        let (a, b) = (&mut a, &mut b);
        let mut t = Tally::default();
        for _ in 0..n {
            t.add(tokio::select! {
                v = a.recv() => v.expect("async-channel select"),
                v = b.recv() => v.expect("async-channel select"),
            });
        }
        t
    }
}

enum TokioMpsc {}

#[derive(Clone)]
enum MpscTx {
    Bounded(tokio::sync::mpsc::Sender<usize>),
    Unbounded(tokio::sync::mpsc::UnboundedSender<usize>),
}

enum MpscRx {
    Bounded(tokio::sync::mpsc::Receiver<usize>),
    Unbounded(tokio::sync::mpsc::UnboundedReceiver<usize>),
}

impl MpscRx {
    async fn recv(&mut self) -> Option<usize> {
        match self {
            MpscRx::Bounded(r) => r.recv().await,
            MpscRx::Unbounded(r) => r.recv().await,
        }
    }
}

impl AsyncChan for TokioMpsc {
    const NAME: &'static str = "tokio_mpsc";
    type Tx = MpscTx;
    type Rx = MpscRx;

    fn supports(work: Work, cap: Cap) -> bool {
        let one_consumer = !matches!(work, Work::Pc { consumers, .. } if consumers > 1);
        one_consumer && cap != Cap::Bounded(0)
    }
    fn new(cap: Cap) -> (Self::Tx, Self::Rx) {
        match cap {
            Cap::Bounded(n) => {
                let (t, r) = tokio::sync::mpsc::channel(n);
                (MpscTx::Bounded(t), MpscRx::Bounded(r))
            }
            Cap::Unbounded => {
                let (t, r) = tokio::sync::mpsc::unbounded_channel();
                (MpscTx::Unbounded(t), MpscRx::Unbounded(r))
            }
        }
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("tokio mpsc has a single consumer")
    }
    async fn send(tx: &Self::Tx, v: usize) {
        match tx {
            MpscTx::Bounded(t) => t.send(v).await.expect("tokio mpsc send"),
            MpscTx::Unbounded(t) => t.send(v).expect("tokio mpsc send"),
        }
    }
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<usize>> + Send + '_ {
        rx.recv()
    }
    async fn select_loop(mut a: Self::Rx, mut b: Self::Rx, n: usize) -> Tally {
        let (a, b) = (&mut a, &mut b);
        let mut t = Tally::default();
        for _ in 0..n {
            t.add(tokio::select! {
                v = a.recv() => v.expect("tokio mpsc select"),
                v = b.recv() => v.expect("tokio mpsc select"),
            });
        }
        t
    }
}

// ------------------------------------------------------------------ async workloads

/// `producers` → `consumers` over one channel of `cap`; producer `p` sends
/// `p*per .. (p+1)*per`; consumers receive until the last sender is dropped.
async fn pc_async<E: Exec, C: AsyncChan>(
    producers: usize,
    consumers: usize,
    cap: Cap,
    n: usize,
) -> Tally {
    let per = n / producers;
    let (tx, rx) = C::new(cap);
    let mut cons = Vec::with_capacity(consumers);
    let mut rx = Some(rx);
    for i in 0..consumers {
        let mut r = if i + 1 == consumers {
            rx.take().expect("last consumer")
        } else {
            C::clone_rx(rx.as_ref().expect("rx"))
        };
        cons.push(E::go(async move {
            let mut t = Tally::default();
            while let Some(v) = C::recv(&mut r).await {
                t.add(v);
            }
            t
        }));
    }
    let mut prods = Vec::with_capacity(producers);
    for p in 0..producers {
        let tx = tx.clone();
        prods.push(E::go(async move {
            for v in p * per..(p + 1) * per {
                C::send(&tx, v).await;
            }
        }));
    }
    drop(tx);
    for p in prods {
        p.await.expect("producer task");
    }
    let mut total = Tally::default();
    for c in cons {
        total.merge(c.await.expect("consumer task"));
    }
    total
}

/// Two producers on their own cap-64 channels; one consumer selects `n` times. The
/// driver keeps a sender of each alive, so neither channel closes during the select.
async fn select_async<E: Exec, C: AsyncChan>(n: usize) -> Tally {
    let half = n / 2;
    let (t1, r1) = C::new(Cap::Bounded(64));
    let (t2, r2) = C::new(Cap::Bounded(64));
    let cons = E::go(C::select_loop(r1, r2, n));
    let p1 = {
        let tx = t1.clone();
        E::go(async move {
            for v in 0..half {
                C::send(&tx, v).await;
            }
        })
    };
    let p2 = {
        let tx = t2.clone();
        E::go(async move {
            for v in half..n {
                C::send(&tx, v).await;
            }
        })
    };
    p1.await.expect("producer 1");
    p2.await.expect("producer 2");
    let t = cons.await.expect("select consumer");
    drop((t1, t2));
    t
}

/// The driver sends `i` on `a`, the echo task sends it back on `b`; `n` round trips.
async fn ping_pong_async<E: Exec, C: AsyncChan>(cap: Cap, n: usize) -> Tally {
    let (atx, mut arx) = C::new(cap);
    let (btx, mut brx) = C::new(cap);
    let echo = E::go(async move {
        let mut trips = 0usize;
        while let Some(v) = C::recv(&mut arx).await {
            C::send(&btx, v).await;
            trips += 1;
        }
        trips
    });
    let mut t = Tally::default();
    for i in 0..n {
        C::send(&atx, i).await;
        t.add(C::recv(&mut brx).await.expect("pong"));
    }
    drop(atx);
    let trips = echo.await.expect("echo task");
    assert_eq!(trips, n, "{} ping_pong: echo saw {trips} of {n}", C::NAME);
    t
}

async fn one_async<E: Exec, C: AsyncChan>(work: Work, cap: Cap) -> Tally {
    let n = work.msgs(cap);
    match work {
        Work::Pc {
            producers,
            consumers,
        } => pc_async::<E, C>(producers, consumers, cap, n).await,
        Work::Select2 => select_async::<E, C>(n).await,
        Work::PingPong => ping_pong_async::<E, C>(cap, n).await,
    }
}

fn run_async<E: Exec, C: AsyncChan>(rt: &E::Rt, work: Work, cap: Cap, iters: u64) -> Duration {
    let (elapsed, tallies) = E::run(rt, async move {
        let mut tallies = Vec::with_capacity(iters as usize);
        let start = Instant::now();
        for _ in 0..iters {
            tallies.push(one_async::<E, C>(work, cap).await);
            beat();
        }
        (start.elapsed(), tallies)
    });
    check(C::NAME, work, cap, &tallies);
    elapsed
}

fn bench_async<E: Exec, C: AsyncChan>(g: &mut BenchmarkGroup<'_, WallTime>, work: Work, cap: Cap) {
    if !C::supports(work, cap) {
        return;
    }
    let name = format!("{}-on-{}", C::NAME, E::NAME);
    let rt = E::build();
    g.bench_function(&name, |b| {
        watchdog(&format!("{name} {work:?} {cap:?}"));
        b.iter_custom(|iters| run_async::<E, C>(&rt, work, cap, iters))
    });
    drop(rt);
}

// ------------------------------------------------------------------ blocking channels

trait BlockChan: 'static {
    const NAME: &'static str;
    type Tx: Clone + Send + 'static;
    type Rx: Clone + Send + 'static;

    fn new(cap: Cap) -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, v: usize);
    fn recv(rx: &Self::Rx) -> Option<usize>;
    fn select2(a: &Self::Rx, b: &Self::Rx) -> usize;
}

enum Crossbeam {}

impl BlockChan for Crossbeam {
    const NAME: &'static str = "crossbeam";
    type Tx = crossbeam_channel::Sender<usize>;
    type Rx = crossbeam_channel::Receiver<usize>;

    fn new(cap: Cap) -> (Self::Tx, Self::Rx) {
        match cap {
            Cap::Bounded(n) => crossbeam_channel::bounded(n),
            Cap::Unbounded => crossbeam_channel::unbounded(),
        }
    }
    fn send(tx: &Self::Tx, v: usize) {
        tx.send(v).expect("crossbeam send");
    }
    fn recv(rx: &Self::Rx) -> Option<usize> {
        rx.recv().ok()
    }
    fn select2(a: &Self::Rx, b: &Self::Rx) -> usize {
        crossbeam_channel::select! {
            recv(a) -> v => v.expect("crossbeam select"),
            recv(b) -> v => v.expect("crossbeam select"),
        }
    }
}

enum GortBlocking {}

impl BlockChan for GortBlocking {
    const NAME: &'static str = "gort_blocking";
    type Tx = gort::chan::Sender<usize>;
    type Rx = gort::chan::Receiver<usize>;

    fn new(cap: Cap) -> (Self::Tx, Self::Rx) {
        Gort::new(cap)
    }
    fn send(tx: &Self::Tx, v: usize) {
        tx.send_blocking(v).expect("gort send_blocking: closed");
    }
    fn recv(rx: &Self::Rx) -> Option<usize> {
        rx.recv_blocking()
    }
    fn select2(a: &Self::Rx, b: &Self::Rx) -> usize {
        let mut sel = gort::chan::Select::new();
        let ia = sel.recv(a);
        let _ib = sel.recv(b);
        let op = sel.select_blocking();
        let v = if op.index() == ia {
            op.recv(a)
        } else {
            op.recv(b)
        };
        v.expect("gort blocking select: closed")
    }
}

// ------------------------------------------------------------------ thread workloads

fn pc_threads<C: BlockChan>(producers: usize, consumers: usize, cap: Cap, n: usize) -> Tally {
    let per = n / producers;
    let (tx, rx) = C::new(cap);
    std::thread::scope(|s| {
        let cons: Vec<_> = (0..consumers)
            .map(|_| {
                let r = rx.clone();
                s.spawn(move || {
                    let mut t = Tally::default();
                    while let Some(v) = C::recv(&r) {
                        t.add(v);
                    }
                    t
                })
            })
            .collect();
        drop(rx);
        for p in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                for v in p * per..(p + 1) * per {
                    C::send(&tx, v);
                }
            });
        }
        drop(tx);
        let mut total = Tally::default();
        for c in cons {
            total.merge(c.join().expect("consumer thread"));
        }
        total
    })
}

fn select_threads<C: BlockChan>(n: usize) -> Tally {
    let half = n / 2;
    let (t1, r1) = C::new(Cap::Bounded(64));
    let (t2, r2) = C::new(Cap::Bounded(64));
    let t = std::thread::scope(|s| {
        let (a, b) = (t1.clone(), t2.clone());
        s.spawn(move || (0..half).for_each(|v| C::send(&a, v)));
        s.spawn(move || (half..n).for_each(|v| C::send(&b, v)));
        let mut t = Tally::default();
        for _ in 0..n {
            t.add(C::select2(&r1, &r2));
        }
        t
    });
    drop((t1, t2));
    t
}

fn ping_pong_threads<C: BlockChan>(cap: Cap, n: usize) -> Tally {
    let (atx, arx) = C::new(cap);
    let (btx, brx) = C::new(cap);
    std::thread::scope(|s| {
        let echo = s.spawn(move || {
            let mut trips = 0usize;
            while let Some(v) = C::recv(&arx) {
                C::send(&btx, v);
                trips += 1;
            }
            trips
        });
        let mut t = Tally::default();
        for i in 0..n {
            C::send(&atx, i);
            t.add(C::recv(&brx).expect("pong"));
        }
        drop(atx);
        let trips = echo.join().expect("echo thread");
        assert_eq!(trips, n, "{} ping_pong: echo saw {trips} of {n}", C::NAME);
        t
    })
}

fn run_threads<C: BlockChan>(work: Work, cap: Cap, iters: u64) -> Duration {
    let n = work.msgs(cap);
    let mut tallies = Vec::with_capacity(iters as usize);
    let start = Instant::now();
    for _ in 0..iters {
        tallies.push(match work {
            Work::Pc {
                producers,
                consumers,
            } => pc_threads::<C>(producers, consumers, cap, n),
            Work::Select2 => select_threads::<C>(n),
            Work::PingPong => ping_pong_threads::<C>(cap, n),
        });
        beat();
    }
    let elapsed = start.elapsed();
    check(C::NAME, work, cap, &tallies);
    elapsed
}

fn bench_threads<C: BlockChan>(g: &mut BenchmarkGroup<'_, WallTime>, work: Work, cap: Cap) {
    let name = format!("{}-on-threads", C::NAME);
    g.bench_function(&name, |b| {
        watchdog(&format!("{name} {work:?} {cap:?}"));
        b.iter_custom(|iters| run_threads::<C>(work, cap, iters))
    });
}

// ------------------------------------------------------------------ groups

fn group(c: &mut Criterion, name: &str, work: Work, cap: Cap) {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .throughput(Throughput::Elements(work.msgs(cap) as u64));
    bench_async::<GortRt, Gort>(&mut g, work, cap);
    bench_async::<TokioRt, Gort>(&mut g, work, cap);
    bench_async::<TokioRt, Flume>(&mut g, work, cap);
    bench_async::<TokioRt, AsyncChannel>(&mut g, work, cap);
    bench_async::<TokioRt, TokioMpsc>(&mut g, work, cap);
    bench_threads::<Crossbeam>(&mut g, work, cap);
    bench_threads::<GortBlocking>(&mut g, work, cap);
    g.finish();
}

fn cap_name(cap: Cap) -> String {
    match cap {
        Cap::Bounded(n) => format!("cap{n}"),
        Cap::Unbounded => "unbounded".into(),
    }
}

fn channels(c: &mut Criterion) {
    let caps = [
        Cap::Bounded(0),
        Cap::Bounded(1),
        Cap::Bounded(64),
        Cap::Unbounded,
    ];
    let shapes = [("spsc", 1, 1), ("mpsc", FAN, 1), ("mpmc", FAN, FAN)];
    for (shape, producers, consumers) in shapes {
        for cap in caps {
            let work = Work::Pc {
                producers,
                consumers,
            };
            group(c, &format!("{shape}_{}", cap_name(cap)), work, cap);
        }
    }
    group(c, "select2_cap64", Work::Select2, Cap::Bounded(64));
    for cap in [Cap::Bounded(0), Cap::Bounded(1)] {
        group(
            c,
            &format!("ping_pong_{}", cap_name(cap)),
            Work::PingPong,
            cap,
        );
    }
}

criterion_group!(benches, channels);
criterion_main!(benches);
