//! Netpoller stress: descriptors are not leaked over 10,000 connections; no wake-up is
//! lost between a socket becoming ready and the Ms going to sleep; readiness racing
//! with Gs that move between Ps.
//!
//! Each test is bounded by a `Watchdog`: a lost wake-up shows as a hang, which the
//! watchdog turns into a failure naming the test. (sysmon polls the network when
//! nobody has for 10 ms, so a wake-up lost only by the poller is repaired late rather
//! than never; the rounds' latencies are printed, not asserted, to make that visible.)

mod support;

use gort::net::{TcpListener, TcpStream};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::Watchdog;

fn runtime(procs: usize) -> gort::Runtime {
    gort::Runtime::builder().procs(procs).build().unwrap()
}

/// Entries of /proc/self/fd (the directory handle itself counts the same each time).
fn count_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// The fewest descriptors seen over a few looks: a leak stays, while a file some
/// runtime thread has open for a moment (sysmon reads /proc when it watches a long
/// poll) does not.
fn open_fds() -> usize {
    (0..5)
        .map(|i| {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            count_fds()
        })
        .min()
        .unwrap()
}

/// xorshift64: reproducible "random" delays without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// (a) 10,000 connections, 100 at a time, each one round trip; the server closes
/// first (its side takes the TIME_WAIT, so client ports are not used up across runs).
/// Once all are closed the process holds exactly the descriptors it held before; once
/// the listener and the runtime are dropped, exactly those it held before either.
///
/// 100, not more: `TcpListener::bind` listens with mio's backlog of 128, and a burst of
/// connects larger than that overflows the accept queue before the accepting task
/// runs; the kernel then drops SYNs, which the clients resend only after 1 s.
///
/// Counting /proc/self/fd needs a process of its own (under `cargo test` other tests'
/// sockets come and go in the same process): the work runs in a child re-run of this
/// binary (under nextest, `fd_leak_child` on its own returns at once).
#[test]
fn ten_thousand_connections_leak_no_descriptor() {
    let _wd = Watchdog::new(
        "ten_thousand_connections_leak_no_descriptor",
        Duration::from_secs(120),
    );
    support::run_child("fd_leak_child", &[]);
}

#[test]
fn fd_leak_child() {
    if !support::is_child("fd_leak_child") {
        return;
    }
    const TOTAL: usize = 10_000;
    const BATCH: usize = 100;
    let _wd = Watchdog::new("fd_leak_child", Duration::from_secs(110));
    let fds_before_runtime = open_fds();
    let rt = runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (done_tx, done_rx) = gort::chan::unbounded::<()>();
        // Quiescent: the runtime, its poller and the listener exist; no connection.
        let fds_before = open_fds();
        let server = gort::go(async move {
            for _ in 0..TOTAL {
                let (s, _) = listener.accept().await.unwrap();
                let done_tx = done_tx.clone();
                let _detached = gort::go(async move {
                    let mut b = [0u8; 8];
                    s.read_exact(&mut b).await.unwrap();
                    s.write_all(&b).await.unwrap();
                    drop(s);
                    done_tx.send(()).await.unwrap();
                });
            }
            listener
        });
        for batch in 0..TOTAL / BATCH {
            let clients: Vec<_> = (0..BATCH)
                .map(|i| {
                    let id = (batch * BATCH + i) as u64;
                    gort::go(async move {
                        let s = TcpStream::connect(addr).await.unwrap();
                        s.write_all(&id.to_le_bytes()).await.unwrap();
                        let mut b = [0u8; 8];
                        s.read_exact(&mut b).await.unwrap();
                        assert_eq!(u64::from_le_bytes(b), id);
                        assert_eq!(s.read(&mut b).await.unwrap(), 0, "no EOF from server");
                        drop(s);
                    })
                })
                .collect();
            for c in clients {
                c.await.unwrap();
            }
        }
        for _ in 0..TOTAL {
            done_rx.recv().await.unwrap();
        }
        let listener = server.await.unwrap();
        // Every stream, client and server side, is dropped; the listener is not.
        let fds_after = open_fds();
        assert_eq!(
            fds_after, fds_before,
            "descriptors leaked over {TOTAL} connections"
        );
        drop(listener);
        assert_eq!(open_fds(), fds_before - 1, "the listener's descriptor");
    });
    drop(rt);
    assert_eq!(
        open_fds(),
        fds_before_runtime,
        "descriptors left behind by a dropped runtime (its poller)"
    );
}

/// (b) Rounds of: the reader asks for a byte and waits; every P goes idle; a plain
/// thread writes the byte after a random 0–200 µs (spinning or sleeping), so that it
/// lands at every point of the Ms' way to sleep (spinning, releasing the P, becoming
/// the timer sleeper, blocked in epoll). Every round must complete.
fn no_lost_wakeup(procs: usize, reader_in_block_on: bool, seed: u64) {
    const ROUNDS: usize = 2000;
    let rt = runtime(procs);
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = std_listener.local_addr().unwrap();
    let mut writer = std::net::TcpStream::connect(addr).unwrap();
    writer.set_nodelay(true).unwrap();
    let (accepted, _) = std_listener.accept().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel::<usize>();

    let reader = async move {
        let s = TcpStream::from_std(accepted).unwrap();
        let mut b = [0u8; 1];
        for round in 0..ROUNDS {
            ready_tx.send(round).unwrap();
            s.read_exact(&mut b).await.unwrap();
            assert_eq!(b[0], round as u8, "round {round}");
        }
        // The writer's drop: end of stream.
        assert_eq!(s.read(&mut b).await.unwrap(), 0);
    };

    let writer_thread = std::thread::spawn(move || {
        let mut rng = Rng(seed);
        let mut slow = 0;
        let mut worst = Duration::ZERO;
        let mut last_sent: Option<Instant> = None;
        for round in 0..ROUNDS {
            let asked = ready_rx
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("round {round}: the reader never asked"));
            assert_eq!(asked, round);
            // The latency of the last wake-up: from the write to the next ask.
            if let Some(sent) = last_sent {
                let took = sent.elapsed();
                worst = worst.max(took);
                if took > Duration::from_millis(5) {
                    slow += 1;
                }
            }
            let r = rng.next();
            let delay = Duration::from_micros(r % 201);
            match (r >> 32) % 3 {
                0 => {}
                1 => {
                    let end = Instant::now() + delay;
                    while Instant::now() < end {
                        std::hint::spin_loop();
                    }
                }
                _ => std::thread::sleep(delay),
            }
            last_sent = Some(Instant::now());
            writer.write_all(&[round as u8]).unwrap();
        }
        drop(writer); // end of stream for the reader's last read
        (slow, worst)
    });

    if reader_in_block_on {
        rt.block_on(reader);
    } else {
        let task = rt.spawn(reader);
        // Not block_on: the reader runs on the runtime's own Ms only.
        while !task.is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        rt.block_on(task).unwrap();
    }
    let (slow, worst) = writer_thread.join().unwrap();
    eprintln!(
        "procs {procs}, block_on {reader_in_block_on}: {ROUNDS} rounds, \
         {slow} slower than 5 ms (worst write-to-return {worst:?}, not asserted)"
    );
}

#[test]
fn no_lost_wakeup_between_netpoll_and_park_procs_1() {
    let _wd = Watchdog::new(
        "no_lost_wakeup_between_netpoll_and_park_procs_1",
        Duration::from_secs(60),
    );
    no_lost_wakeup(1, false, 0x9e37_79b9_7f4a_7c15);
}

#[test]
fn no_lost_wakeup_between_netpoll_and_park_procs_2() {
    let _wd = Watchdog::new(
        "no_lost_wakeup_between_netpoll_and_park_procs_2",
        Duration::from_secs(60),
    );
    no_lost_wakeup(2, false, 0xbf58_476d_1ce4_e5b9);
}

#[test]
fn no_lost_wakeup_reader_in_block_on() {
    let _wd = Watchdog::new("no_lost_wakeup_reader_in_block_on", Duration::from_secs(60));
    no_lost_wakeup(2, true, 0x94d0_49bb_1331_11eb);
}

/// (c) Many connection pairs, both ends tasks, ping-ponging a counter on a `procs(2)`
/// runtime while stealing and yields move the tasks between Ps: readiness arrives for
/// a G on one P while it runs, or is queued, on another. Every pair completes every
/// round trip, with the right values in order.
#[test]
fn ping_pong_pairs_migrating_between_ps() {
    const PAIRS: usize = 64;
    const ROUND_TRIPS: u32 = 300;
    let _wd = Watchdog::new(
        "ping_pong_pairs_migrating_between_ps",
        Duration::from_secs(60),
    );
    let rt = runtime(2);
    let total: u64 = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tasks = Vec::new();
        for p in 0..PAIRS {
            let client = gort::go(TcpStream::connect(addr));
            let (server, _) = listener.accept().await.unwrap();
            let client = client.await.unwrap().unwrap();
            // The server end answers n with n + 1.
            tasks.push(gort::go(async move {
                let mut b = [0u8; 4];
                let mut handled = 0u64;
                loop {
                    match server.read(&mut b[..1]).await.unwrap() {
                        0 => return handled,
                        _ => server.read_exact(&mut b[1..]).await.unwrap(),
                    }
                    let n = u32::from_le_bytes(b);
                    server.write_all(&(n + 1).to_le_bytes()).await.unwrap();
                    handled += 1;
                    if n % 7 == 0 {
                        gort::yield_now().await;
                    }
                }
            }));
            tasks.push(gort::go(async move {
                let mut n = p as u32 * 1_000_000;
                let mut b = [0u8; 4];
                for i in 0..ROUND_TRIPS {
                    client.write_all(&n.to_le_bytes()).await.unwrap();
                    client.read_exact(&mut b).await.unwrap();
                    assert_eq!(u32::from_le_bytes(b), n + 1, "pair {p}, round trip {i}");
                    n += 2;
                    if i % 16 == 0 {
                        // A little work, so the other P has something to steal.
                        let end = Instant::now() + Duration::from_micros(20);
                        while Instant::now() < end {
                            std::hint::spin_loop();
                        }
                        gort::yield_now().await;
                    }
                }
                0
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        total
    });
    assert_eq!(total, PAIRS as u64 * u64::from(ROUND_TRIPS));
}
