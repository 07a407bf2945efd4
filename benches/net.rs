//! TCP echo over loopback, gort against tokio in the same run (the netpoller's benchmark).
//!
//! Workload, identical on both runtimes (2 workers each: gort `procs(2)`, tokio
//! `worker_threads(2)` with every driver enabled), server and clients on the same runtime:
//! - a listener task accepts 64 connections and starts one task per connection, which
//!   echoes: `read_exact` 64 bytes, `write_all` them back, until the client closes;
//! - 64 client tasks, one per connection, each doing N sequential round trips of 64
//!   bytes (`write_all`, then `read_exact` of the reply), timing every one;
//! - `TCP_NODELAY` on both ends. The connections are made before the clock starts; the
//!   clock stops when every client has finished.
//!
//! Reported per runtime: requests/s (64·N / wall time) and the p50/p99 of the per-request
//! latency. The runtimes alternate in R rounds (gort, tokio, gort, tokio, …), each on a
//! freshly built runtime, so both are measured under the same machine conditions; the
//! table gives the median over rounds of each figure, and the ratios: gort/tokio for
//! latency, tokio_rps/gort_rps for throughput, so that ≤ 1.0 means gort is at or ahead.
//!
//! Every echo is compared with what was sent (a wrong byte fails the run), the servers
//! must count exactly 64·N echoes, and a watchdog aborts the process if no round trip
//! completes for 120 s (a hang fails instead of waiting forever).
//!
//! Run: `cargo bench --bench net` (R = 5 rounds of the full 64 × N = 10,000 round trips
//! per runtime: about 4 s per side per round, under a minute in all on 2 cores).
//! `cargo bench --bench net -- 3` or `NET_ROUNDS=3` sets R, `NET_TRIPS=2000` sets N;
//! `NET_METRICS=1` prints gort's scheduler counters (steals, hand-offs) after each round.
//! Machine-readable lines start `net_echo `.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Connections (and client tasks) per side.
const CONNS: usize = 64;
/// Bytes per request, echoed back whole.
const MSG: usize = 64;
const WORKERS: usize = 2;
const DEFAULT_TRIPS: usize = 10_000;
const DEFAULT_ROUNDS: usize = 5;
/// The watchdog aborts after this long without a completed round trip.
const STALL: Duration = Duration::from_secs(120);
/// Clients report progress to the watchdog once per this many round trips.
const PROGRESS_EVERY: usize = 64;

/// Bumped by the clients; watched by the watchdog.
static PROGRESS: AtomicU64 = AtomicU64::new(0);

fn main() {
    let (rounds, trips) = config();
    std::thread::spawn(watchdog);
    println!(
        "# net_echo: {CONNS} connections x {trips} round trips of {MSG} B per runtime, \
         {WORKERS} workers, {rounds} interleaved rounds"
    );
    let mut gort = Vec::new();
    let mut tokio = Vec::new();
    for round in 1..=rounds {
        let g = gort_side::run(trips);
        println!("round {round} gort  {g}");
        gort.push(g);
        let t = tokio_side::run(trips);
        println!("round {round} tokio {t}");
        tokio.push(t);
    }
    let g = Summary::median(&gort);
    let t = Summary::median(&tokio);
    println!();
    println!("median over {rounds} rounds ({CONNS} x {trips} round trips each):");
    println!(
        "{:<8} {:>12} {:>9} {:>9}",
        "runtime", "req/s", "p50 us", "p99 us"
    );
    for (name, s) in [("gort", &g), ("tokio", &t)] {
        println!(
            "{name:<8} {:>12.0} {:>9.1} {:>9.1}",
            s.rps, s.p50_us, s.p99_us
        );
    }
    let (r_rps, r_p50, r_p99) = (t.rps / g.rps, g.p50_us / t.p50_us, g.p99_us / t.p99_us);
    println!(
        "{:<8} {:>12.3} {:>9.3} {:>9.3}   (tokio/gort req/s; gort/tokio latency; <= 1.0: gort at or ahead)",
        "ratio", r_rps, r_p50, r_p99
    );
    println!();
    for (name, s) in [("gort", &g), ("tokio", &t)] {
        println!(
            "net_echo {name} rps={:.0} p50_us={:.1} p99_us={:.1} conns={CONNS} trips={trips} rounds={rounds}",
            s.rps, s.p50_us, s.p99_us
        );
    }
    println!("net_echo ratio rps={r_rps:.3} p50={r_p50:.3} p99={r_p99:.3}");
}

/// Rounds: the first numeric argument, else `NET_ROUNDS`; round trips: `NET_TRIPS`.
/// (`cargo bench` passes `--bench` to the program: flags are ignored.)
fn config() -> (usize, usize) {
    let arg = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("argument: a number of rounds"));
    let env = |name: &str, default: usize| {
        std::env::var(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: a positive number, not {v:?}"))
        })
    };
    let rounds = arg.unwrap_or_else(|| env("NET_ROUNDS", DEFAULT_ROUNDS));
    let trips = env("NET_TRIPS", DEFAULT_TRIPS);
    assert!(rounds > 0 && trips > 0, "rounds and trips must be positive");
    (rounds, trips)
}

fn watchdog() {
    let mut seen = PROGRESS.load(Relaxed);
    let mut since = Instant::now();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = PROGRESS.load(Relaxed);
        if now != seen {
            (seen, since) = (now, Instant::now());
        } else if since.elapsed() >= STALL {
            eprintln!(
                "net_echo: no round trip completed for {STALL:?} ({now} progress ticks so \
                 far): the echo hangs; aborting"
            );
            std::process::abort();
        }
    }
}

/// The bytes of request `i` on connection `conn`: different for every request, so an
/// echo of the wrong request (or of stale bytes) cannot pass.
fn fill(buf: &mut [u8; MSG], conn: usize, i: usize) {
    buf[..8].copy_from_slice(&(conn as u64).to_le_bytes());
    buf[8..16].copy_from_slice(&(i as u64).to_le_bytes());
    for (k, b) in buf[16..].iter_mut().enumerate() {
        *b = (conn.wrapping_mul(31) ^ i.wrapping_mul(7) ^ k) as u8;
    }
}

fn check(sent: &[u8; MSG], got: &[u8; MSG], rt: &str, conn: usize, i: usize) {
    if sent != got {
        eprintln!(
            "net_echo {rt}: wrong echo on connection {conn}, request {i}:\n  sent {sent:?}\n  got  {got:?}"
        );
        std::process::exit(1);
    }
}

/// One client's bookkeeping, shared by both sides.
struct Client {
    conn: usize,
    latencies: Vec<u32>,
    sent: [u8; MSG],
    got: [u8; MSG],
}

impl Client {
    fn new(conn: usize, trips: usize) -> Client {
        Client {
            conn,
            latencies: Vec::with_capacity(trips),
            sent: [0; MSG],
            got: [0; MSG],
        }
    }

    fn record(&mut self, rt: &str, i: usize, start: Instant) {
        let ns = start.elapsed().as_nanos();
        self.latencies.push(u32::try_from(ns).unwrap_or(u32::MAX));
        check(&self.sent, &self.got, rt, self.conn, i);
        if i % PROGRESS_EVERY == 0 {
            PROGRESS.fetch_add(1, Relaxed);
        }
    }
}

/// One side's result in one round.
#[derive(Clone, Copy)]
struct Summary {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
}

impl Summary {
    fn new(wall: Duration, clients: Vec<Vec<u32>>, trips: usize) -> Summary {
        let mut all: Vec<u32> = clients.into_iter().flatten().collect();
        assert_eq!(all.len(), CONNS * trips, "a client lost latencies");
        all.sort_unstable();
        let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)] as f64 / 1e3;
        Summary {
            rps: all.len() as f64 / wall.as_secs_f64(),
            p50_us: at(0.50),
            p99_us: at(0.99),
        }
    }

    /// The median of each figure on its own.
    fn median(rounds: &[Summary]) -> Summary {
        let med = |f: fn(&Summary) -> f64| {
            let mut v: Vec<f64> = rounds.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            let n = v.len();
            if n % 2 == 1 {
                v[n / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]) / 2.0
            }
        };
        Summary {
            rps: med(|s| s.rps),
            p50_us: med(|s| s.p50_us),
            p99_us: med(|s| s.p99_us),
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rps={:.0} p50_us={:.1} p99_us={:.1}",
            self.rps, self.p50_us, self.p99_us
        )
    }
}

// The two sides are the same program written twice, line for line: gort's sockets take
// `&self` and tokio's `&mut self`, and neither runtime's socket is behind a trait both
// implement, so a generic version would measure an adapter instead.

mod gort_side {
    use super::{fill, Client, Summary, CONNS, MSG, WORKERS};
    use gort::net::{TcpListener, TcpStream};
    use std::io;
    use std::time::Instant;

    pub fn run(trips: usize) -> Summary {
        let rt = gort::Runtime::builder()
            .procs(WORKERS)
            .build()
            .expect("gort runtime");
        let driver = rt.spawn(drive(trips));
        let summary = rt.block_on(driver).expect("gort driver task failed");
        if std::env::var_os("NET_METRICS").is_some() {
            let m = rt.metrics();
            eprintln!(
                "gort metrics: threads={} steals={} hand_offs={} retakes={} preemptions={}",
                m.threads, m.steals, m.hand_offs, m.retakes, m.preemptions
            );
        }
        drop(rt);
        summary
    }

    async fn drive(trips: usize) -> Summary {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let server = gort::go(serve(listener));
        let mut conns = Vec::with_capacity(CONNS);
        for _ in 0..CONNS {
            let s = TcpStream::connect(addr).await.expect("connect");
            s.set_nodelay(true).unwrap();
            conns.push(s);
        }
        let start = Instant::now();
        let clients: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(conn, s)| gort::go(client(s, conn, trips)))
            .collect();
        let mut latencies = Vec::with_capacity(CONNS);
        for c in clients {
            latencies.push(c.await.expect("gort client task failed"));
        }
        let wall = start.elapsed();
        let echoed = server.await.expect("gort server task failed");
        assert_eq!(echoed, CONNS * trips, "gort server echo count");
        Summary::new(wall, latencies, trips)
    }

    /// Accepts `CONNS` connections, echoes on each in a task of its own, and returns the
    /// number of messages echoed once every client has closed.
    async fn serve(listener: TcpListener) -> usize {
        let mut conns = Vec::with_capacity(CONNS);
        for _ in 0..CONNS {
            let (s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).unwrap();
            conns.push(gort::go(echo(s)));
        }
        let mut echoed = 0;
        for c in conns {
            echoed += c.await.expect("gort echo task failed");
        }
        echoed
    }

    async fn echo(s: TcpStream) -> usize {
        let mut buf = [0; MSG];
        let mut n = 0;
        loop {
            match s.read_exact(&mut buf).await {
                Ok(()) => {}
                // The client closed after its last request.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return n,
                Err(e) => panic!("gort echo: read: {e}"),
            }
            s.write_all(&buf).await.expect("gort echo: write");
            n += 1;
        }
    }

    async fn client(s: TcpStream, conn: usize, trips: usize) -> Vec<u32> {
        let mut c = Client::new(conn, trips);
        for i in 0..trips {
            fill(&mut c.sent, conn, i);
            let start = Instant::now();
            s.write_all(&c.sent).await.expect("gort client: write");
            s.read_exact(&mut c.got).await.expect("gort client: read");
            c.record("gort", i, start);
        }
        c.latencies
    }
}

mod tokio_side {
    use super::{fill, Client, Summary, CONNS, MSG, WORKERS};
    use std::io;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub fn run(trips: usize) -> Summary {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let driver = rt.spawn(drive(trips));
        let summary = rt.block_on(driver).expect("tokio driver task failed");
        drop(rt);
        summary
    }

    async fn drive(trips: usize) -> Summary {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener));
        let mut conns = Vec::with_capacity(CONNS);
        for _ in 0..CONNS {
            let s = TcpStream::connect(addr).await.expect("connect");
            s.set_nodelay(true).unwrap();
            conns.push(s);
        }
        let start = Instant::now();
        let clients: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(conn, s)| tokio::spawn(client(s, conn, trips)))
            .collect();
        let mut latencies = Vec::with_capacity(CONNS);
        for c in clients {
            latencies.push(c.await.expect("tokio client task failed"));
        }
        let wall = start.elapsed();
        let echoed = server.await.expect("tokio server task failed");
        assert_eq!(echoed, CONNS * trips, "tokio server echo count");
        Summary::new(wall, latencies, trips)
    }

    /// As gort's `serve`.
    async fn serve(listener: TcpListener) -> usize {
        let mut conns = Vec::with_capacity(CONNS);
        for _ in 0..CONNS {
            let (s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).unwrap();
            conns.push(tokio::spawn(echo(s)));
        }
        let mut echoed = 0;
        for c in conns {
            echoed += c.await.expect("tokio echo task failed");
        }
        echoed
    }

    async fn echo(mut s: TcpStream) -> usize {
        let mut buf = [0; MSG];
        let mut n = 0;
        loop {
            match s.read_exact(&mut buf).await {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return n,
                Err(e) => panic!("tokio echo: read: {e}"),
            }
            s.write_all(&buf).await.expect("tokio echo: write");
            n += 1;
        }
    }

    async fn client(mut s: TcpStream, conn: usize, trips: usize) -> Vec<u32> {
        let mut c = Client::new(conn, trips);
        for i in 0..trips {
            fill(&mut c.sent, conn, i);
            let start = Instant::now();
            s.write_all(&c.sent).await.expect("tokio client: write");
            s.read_exact(&mut c.got).await.expect("tokio client: read");
            c.record("tokio", i, start);
        }
        c.latencies
    }
}
