//! TCP on the netpoller, through the facade: echo round trips between tasks, end of
//! stream, a large transfer through many readiness cycles, split halves in full
//! duplex, `futures_io`, the OS's error kinds, `connect_timeout`, sockets made outside
//! a runtime, `from_std`, a task woken by a connection from a plain thread while every
//! P is idle, and a socket read by `block_on`'s own future.
//!
//! Behaviour, not timing: every wait is bounded by a `Watchdog`, never asserted on.

mod support;

use futures_io::{AsyncRead, AsyncWrite};
use gort::net::{TcpListener, TcpStream};
use std::future::poll_fn;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::mpsc;
use std::time::Duration;
use support::{eventually, panic_message, poll_now, Watchdog};

fn runtime(procs: usize) -> gort::Runtime {
    gort::Runtime::builder().procs(procs).build().unwrap()
}

/// Deterministic bytes (xorshift64*), so a transfer can be checked end to end.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// FNV-1a: a checksum that notices reordered, lost or repeated chunks.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// An address nobody listens on: a port the system handed out and that is free again.
fn dead_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Accepts `conns` connections and echoes each until its peer closes.
async fn echo_server(listener: TcpListener, conns: usize) {
    let mut handlers = Vec::new();
    for _ in 0..conns {
        let (s, peer) = listener.accept().await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), peer);
        assert_eq!(s.local_addr().unwrap(), listener.local_addr().unwrap());
        handlers.push(gort::go(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                s.write_all(&buf[..n]).await.unwrap();
            }
        }));
    }
    for h in handlers {
        h.await.unwrap();
    }
}

fn echo_round_trips(procs: usize) {
    const CLIENTS: usize = 16;
    const MESSAGES: usize = 100;
    runtime(procs).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gort::go(echo_server(listener, CLIENTS));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                gort::go(async move {
                    let s = TcpStream::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    assert!(s.nodelay().unwrap());
                    assert_eq!(s.peer_addr().unwrap(), addr);
                    let mut back = vec![0u8; 3000];
                    for m in 0..MESSAGES {
                        let len = 1 + (c * 131 + m * 71) % 3000;
                        let msg = pattern(len, (c * MESSAGES + m) as u64);
                        s.write_all(&msg).await.unwrap();
                        s.flush().await.unwrap();
                        s.read_exact(&mut back[..len]).await.unwrap();
                        assert_eq!(&back[..len], &msg[..], "client {c}, message {m}");
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        // Every client dropped its stream: every handler read 0 and ended.
        server.await.unwrap();
    });
}

#[test]
fn echo_round_trips_procs_2() {
    let _wd = Watchdog::new("echo_round_trips_procs_2", Duration::from_secs(30));
    echo_round_trips(2);
}

#[test]
fn echo_round_trips_procs_1() {
    let _wd = Watchdog::new("echo_round_trips_procs_1", Duration::from_secs(30));
    echo_round_trips(1);
}

/// Connects a pair of streams on `listener`: (client end, server end).
async fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let addr = listener.local_addr().unwrap();
    let client = gort::go(TcpStream::connect(addr));
    let (server, _) = listener.accept().await.unwrap();
    (client.await.unwrap().unwrap(), server)
}

#[test]
fn read_returns_zero_after_the_peer_drops_its_stream() {
    let _wd = Watchdog::new(
        "read_returns_zero_after_the_peer_drops_its_stream",
        Duration::from_secs(20),
    );
    runtime(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = pair(&listener).await;
        let reader = gort::go(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 16];
            loop {
                match server.read(&mut buf).await.unwrap() {
                    0 => break,
                    n => got.extend_from_slice(&buf[..n]),
                }
            }
            // End of stream stays end of stream.
            assert_eq!(server.read(&mut buf).await.unwrap(), 0);
            got
        });
        client.write_all(b"last words").await.unwrap();
        gort::yield_now().await;
        drop(client);
        assert_eq!(reader.await.unwrap(), b"last words");
    });
}

#[test]
fn shutdown_write_gives_the_peer_eof_and_keeps_the_read_side() {
    let _wd = Watchdog::new(
        "shutdown_write_gives_the_peer_eof_and_keeps_the_read_side",
        Duration::from_secs(20),
    );
    runtime(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = pair(&listener).await;
        client.write_all(b"request").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let server = gort::go(async move {
            let mut req = Vec::new();
            let mut buf = [0u8; 64];
            loop {
                match server.read(&mut buf).await.unwrap() {
                    0 => break,
                    n => req.extend_from_slice(&buf[..n]),
                }
            }
            assert_eq!(req, b"request");
            server.write_all(b"response").await.unwrap();
        });
        let mut resp = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match client.read(&mut buf).await.unwrap() {
                0 => break,
                n => resp.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(resp, b"response");
        server.await.unwrap();
    });
}

#[test]
fn read_exact_gives_unexpected_eof_when_the_peer_closes_early() {
    let _wd = Watchdog::new(
        "read_exact_gives_unexpected_eof_when_the_peer_closes_early",
        Duration::from_secs(20),
    );
    runtime(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = pair(&listener).await;
        let reader = gort::go(async move {
            let mut buf = [0u8; 10];
            server.read_exact(&mut buf).await
        });
        client.write_all(b"abc").await.unwrap();
        drop(client);
        let err = reader.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err:?}");
    });
}

/// 8 MiB one way: far more than the socket buffers hold, so the writer meets
/// `WouldBlock` and waits for writability again and again, and the reader (who starts
/// late, to let the buffers fill) drains faster than data comes and waits for
/// readability. The bytes arrive intact, in order, once.
fn large_transfer(procs: usize) {
    const LEN: usize = 8 << 20;
    runtime(procs).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = pair(&listener).await;
        let data = pattern(LEN, 42);
        let sum = fnv1a(&data);
        let writer = gort::go(async move {
            client.write_all(&data).await.unwrap();
            // Dropped here: the reader then sees end of stream after the last byte.
        });
        let reader = gort::go(async move {
            gort::time::sleep(Duration::from_millis(20)).await;
            let mut got = vec![0u8; LEN / 2];
            server.read_exact(&mut got).await.unwrap();
            let mut buf = vec![0u8; 64 << 10];
            loop {
                match server.read(&mut buf).await.unwrap() {
                    0 => break,
                    n => got.extend_from_slice(&buf[..n]),
                }
            }
            got
        });
        writer.await.unwrap();
        let got = reader.await.unwrap();
        assert_eq!(got.len(), LEN, "bytes lost or added");
        assert_eq!(fnv1a(&got), sum, "bytes arrived corrupted or out of order");
    });
}

#[test]
fn write_all_read_exact_8_mib_procs_2() {
    let _wd = Watchdog::new(
        "write_all_read_exact_8_mib_procs_2",
        Duration::from_secs(30),
    );
    large_transfer(2);
}

#[test]
fn write_all_read_exact_8_mib_procs_1() {
    let _wd = Watchdog::new(
        "write_all_read_exact_8_mib_procs_1",
        Duration::from_secs(30),
    );
    large_transfer(1);
}

/// Both ends split; each end's halves run in two tasks, writing 4 MiB while reading
/// the peer's 4 MiB. Neither side reads before it has written everything would
/// deadlock: the transfer completes only if reads and writes really overlap.
/// Dropping a write half ends the peer's reading with end of stream.
#[test]
fn split_halves_in_two_tasks_run_full_duplex() {
    const LEN: usize = 4 << 20;
    let _wd = Watchdog::new(
        "split_halves_in_two_tasks_run_full_duplex",
        Duration::from_secs(30),
    );
    runtime(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = pair(&listener).await;
        let mut tasks = Vec::new();
        for (stream, out_seed, in_seed) in [(client, 1u64, 2u64), (server, 2, 1)] {
            let local = stream.local_addr().unwrap();
            let peer = stream.peer_addr().unwrap();
            let (rd, wr) = stream.into_split();
            assert_eq!(
                (rd.local_addr().unwrap(), rd.peer_addr().unwrap()),
                (local, peer)
            );
            assert_eq!(
                (wr.local_addr().unwrap(), wr.peer_addr().unwrap()),
                (local, peer)
            );
            tasks.push(gort::go(async move {
                let data = pattern(LEN, out_seed);
                for chunk in data.chunks(256 << 10) {
                    wr.write_all(chunk).await.unwrap();
                }
                drop(wr); // shuts the write side: the peer's reader sees EOF
            }));
            tasks.push(gort::go(async move {
                let mut got = vec![0u8; LEN];
                rd.read_exact(&mut got).await.unwrap();
                assert!(got == pattern(LEN, in_seed), "corrupted duplex stream");
                let mut buf = [0u8; 16];
                assert_eq!(
                    rd.read(&mut buf).await.unwrap(),
                    0,
                    "no end of stream after the peer's write half was dropped"
                );
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// Writes all of `buf` through `futures_io::AsyncWrite::poll_write`.
async fn fio_write_all<W: AsyncWrite + Unpin>(w: &mut W, mut buf: &[u8]) {
    while !buf.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, buf))
            .await
            .unwrap();
        assert!(n > 0);
        buf = &buf[n..];
    }
    poll_fn(|cx| Pin::new(&mut *w).poll_flush(cx))
        .await
        .unwrap();
}

/// Reads until end of stream through `futures_io::AsyncRead::poll_read`.
async fn fio_read_to_end<R: AsyncRead + Unpin>(r: &mut R) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 32 << 10];
    loop {
        match poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf))
            .await
            .unwrap()
        {
            0 => return got,
            n => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn futures_io_async_read_and_async_write() {
    const LEN: usize = 1 << 20;
    let _wd = Watchdog::new(
        "futures_io_async_read_and_async_write",
        Duration::from_secs(30),
    );
    runtime(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();

        // TcpStream by value, and &TcpStream; poll_close shuts the write side.
        let (mut client, server) = pair(&listener).await;
        let data = pattern(LEN, 7);
        let expect = data.clone();
        let reader = gort::go(async move {
            let got = fio_read_to_end(&mut &server).await;
            // The read side of `client` is still open: answer through &TcpStream.
            fio_write_all(&mut &server, b"done").await;
            got
        });
        fio_write_all(&mut client, &data).await;
        poll_fn(|cx| Pin::new(&mut client).poll_close(cx))
            .await
            .unwrap();
        assert!(
            reader.await.unwrap() == expect,
            "AsyncWrite/AsyncRead stream"
        );
        assert_eq!(fio_read_to_end(&mut client).await, b"done");

        // The owned halves.
        let (client, server) = pair(&listener).await;
        let (mut crd, mut cwr) = client.into_split();
        let (mut srd, mut swr) = server.into_split();
        let data = pattern(LEN, 8);
        let expect = data.clone();
        let echo = gort::go(async move {
            let got = fio_read_to_end(&mut srd).await;
            fio_write_all(&mut swr, &got).await;
            poll_fn(|cx| Pin::new(&mut swr).poll_close(cx))
                .await
                .unwrap();
        });
        let writer = gort::go(async move {
            fio_write_all(&mut cwr, &data).await;
            poll_fn(|cx| Pin::new(&mut cwr).poll_close(cx))
                .await
                .unwrap();
            cwr
        });
        let back = fio_read_to_end(&mut crd).await;
        assert!(back == expect, "echo through the halves' futures_io impls");
        drop(writer.await.unwrap());
        echo.await.unwrap();
    });
}

#[test]
fn connecting_to_a_port_with_no_listener_is_refused() {
    let _wd = Watchdog::new(
        "connecting_to_a_port_with_no_listener_is_refused",
        Duration::from_secs(20),
    );
    let addr = dead_addr();
    runtime(2).block_on(async move {
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err:?}");
        // From a task too, and through connect_timeout: refused, not timed out.
        let err = gort::go(TcpStream::connect_timeout(addr, Duration::from_secs(10)))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err:?}");
    });
}

#[test]
fn binding_a_port_already_bound_gives_addr_in_use() {
    let _wd = Watchdog::new(
        "binding_a_port_already_bound_gives_addr_in_use",
        Duration::from_secs(20),
    );
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = std_listener.local_addr().unwrap();
    runtime(1).block_on(async move {
        let err = TcpListener::bind(taken).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err:?}");
        // And a port a gort listener holds.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = TcpListener::bind(l.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err:?}");
    });
    drop(std_listener);
}

/// There is no deterministic way, on loopback and without privileges, to make a
/// connect hang: a port with no listener refuses at once, and a listener with a full
/// backlog may still complete a handshake (the SYN can land in the SYN queue before
/// the accept queue fills). So: a generous timeout to a live listener succeeds, and a
/// zero timeout either completes or reports `TimedOut` (never another error, never a
/// hang), after which the listener still works.
/// Accepts until the connection whose client end is `client` (an abandoned connect
/// may have completed its handshake in the backlog before it).
async fn accept_from(listener: &TcpListener, client: &TcpStream) -> TcpStream {
    loop {
        let (srv, peer) = listener.accept().await.unwrap();
        if peer == client.local_addr().unwrap() {
            return srv;
        }
    }
}

#[test]
fn connect_timeout_to_a_live_listener() {
    let _wd = Watchdog::new(
        "connect_timeout_to_a_live_listener",
        Duration::from_secs(20),
    );
    runtime(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = TcpStream::connect_timeout(addr, Duration::from_secs(10))
            .await
            .unwrap();
        let (srv, _) = listener.accept().await.unwrap();
        s.write_all(b"x").await.unwrap();
        let mut b = [0u8; 1];
        srv.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"x");

        let mut timed_out = 0;
        for _ in 0..20 {
            match TcpStream::connect_timeout(addr, Duration::ZERO).await {
                Ok(s) => {
                    let srv = accept_from(&listener, &s).await;
                    s.write_all(b"y").await.unwrap();
                    srv.read_exact(&mut b).await.unwrap();
                    assert_eq!(&b, b"y");
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}");
                    timed_out += 1;
                }
            }
        }
        // Whatever the abandoned connects left in the backlog, new ones still work.
        let s = TcpStream::connect_timeout(addr, Duration::from_secs(10))
            .await
            .unwrap();
        let srv = accept_from(&listener, &s).await;
        s.write_all(b"z").await.unwrap();
        srv.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"z");
        eprintln!("connect_timeout(ZERO): {timed_out}/20 timed out");
    });
}

#[test]
fn sockets_made_outside_a_runtime_panic_clearly() {
    let _wd = Watchdog::new(
        "sockets_made_outside_a_runtime_panic_clearly",
        Duration::from_secs(20),
    );
    // A runtime exists, but this thread is not one of its threads nor in block_on.
    let _rt = runtime(1);
    let check = |what: &str, r: std::thread::Result<()>| {
        let payload = r.expect_err(what);
        let msg = panic_message(&*payload);
        assert!(
            msg.contains("outside a gort runtime"),
            "{what}: unexpected panic message {msg:?}"
        );
    };
    check(
        "TcpListener::bind",
        catch_unwind(|| {
            let _ = poll_now(TcpListener::bind("127.0.0.1:0"));
        }),
    );
    let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let live_addr = live.local_addr().unwrap();
    check(
        "TcpStream::connect",
        catch_unwind(|| {
            let _ = poll_now(TcpStream::connect(live_addr));
        }),
    );
    check(
        "UdpSocket::bind",
        catch_unwind(|| {
            let _ = poll_now(gort::net::UdpSocket::bind("127.0.0.1:0"));
        }),
    );
    let std_stream = std::net::TcpStream::connect(live_addr).unwrap();
    check(
        "TcpStream::from_std",
        catch_unwind(AssertUnwindSafe(|| {
            let _ = TcpStream::from_std(std_stream);
        })),
    );
    check(
        "TcpListener::from_std",
        catch_unwind(AssertUnwindSafe(|| {
            let _ = TcpListener::from_std(live);
        })),
    );
}

#[test]
fn from_std_listener_and_stream() {
    let _wd = Watchdog::new("from_std_listener_and_stream", Duration::from_secs(20));
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    // A plain thread, blocking std I/O, on the other end of both connections.
    let peer = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"from std").unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"gort");
    });
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // Connected before the runtime exists: from_std takes a live connection.
    let std_client = std::net::TcpStream::connect(other.local_addr().unwrap()).unwrap();
    let (mut std_server, _) = other.accept().unwrap();
    runtime(2).block_on(async move {
        let listener = TcpListener::from_std(std_listener).unwrap();
        assert_eq!(listener.local_addr().unwrap(), addr);
        let (s, _) = listener.accept().await.unwrap();
        let mut b = [0u8; 8];
        s.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"from std");
        s.write_all(b"gort").await.unwrap();

        let client = TcpStream::from_std(std_client).unwrap();
        let reader = std::thread::spawn(move || {
            let mut b = [0u8; 5];
            std_server.read_exact(&mut b).unwrap();
            std_server.write_all(&b).unwrap();
            b
        });
        client.write_all(b"hello").await.unwrap();
        let mut back = [0u8; 5];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"hello");
        assert_eq!(&reader.join().unwrap(), b"hello");
    });
    peer.join().unwrap();
}

/// A task blocked in `accept`, every P idle (so the only thread that can see the
/// connection is the M blocked in the netpoller, or sysmon), is woken by a
/// connection made from a plain thread.
fn accept_woken_from_a_plain_thread(procs: usize) {
    let rt = runtime(procs);
    let (addr_tx, addr_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let task = rt.spawn(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addr_tx.send(listener.local_addr().unwrap()).unwrap();
        for round in 0..20u8 {
            let (s, _) = listener.accept().await.unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            assert_eq!(b[0], round);
            done_tx.send(round).unwrap();
        }
    });
    let addr: SocketAddr = addr_rx.recv().unwrap();
    for round in 0..20u8 {
        // Wait until the task sits in accept with nothing else to run anywhere.
        assert!(
            eventually(Duration::from_secs(10), || {
                rt.metrics().idle_procs == procs
            }),
            "the Ps never all went idle: {:?}",
            rt.metrics()
        );
        assert!(!task.is_finished());
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(&[round]).unwrap();
        assert_eq!(
            done_rx.recv_timeout(Duration::from_secs(10)),
            Ok(round),
            "the task in accept was not woken (round {round})"
        );
    }
    rt.block_on(task).unwrap();
}

#[test]
fn accept_woken_by_a_plain_thread_while_every_p_is_idle_procs_1() {
    let _wd = Watchdog::new(
        "accept_woken_by_a_plain_thread_while_every_p_is_idle_procs_1",
        Duration::from_secs(60),
    );
    accept_woken_from_a_plain_thread(1);
}

#[test]
fn accept_woken_by_a_plain_thread_while_every_p_is_idle_procs_2() {
    let _wd = Watchdog::new(
        "accept_woken_by_a_plain_thread_while_every_p_is_idle_procs_2",
        Duration::from_secs(60),
    );
    accept_woken_from_a_plain_thread(2);
}

/// `block_on`'s future reads sockets itself: its thread holds no P, so some M must
/// poll for it. The peer is first a plain thread, then a task.
fn block_on_reads_a_socket(procs: usize) {
    let rt = runtime(procs);
    let out: io::Result<()> = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let peer = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            for i in 0..50u8 {
                std::thread::sleep(Duration::from_micros(200));
                s.write_all(&[i]).unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).unwrap();
                assert_eq!(b[0], i.wrapping_mul(3));
            }
        });
        let (s, _) = listener.accept().await?;
        let mut b = [0u8; 1];
        for i in 0..50u8 {
            s.read_exact(&mut b).await?;
            assert_eq!(b[0], i);
            s.write_all(&[i.wrapping_mul(3)]).await?;
        }
        peer.join().unwrap();

        let task_peer = gort::go(async move {
            let s = TcpStream::connect(addr).await.unwrap();
            for i in 0..50u8 {
                gort::time::sleep(Duration::from_micros(200)).await;
                s.write_all(&[i]).await.unwrap();
            }
        });
        let (s, _) = listener.accept().await?;
        for i in 0..50u8 {
            s.read_exact(&mut b).await?;
            assert_eq!(b[0], i);
        }
        assert_eq!(s.read(&mut b).await?, 0);
        task_peer.await.unwrap();
        Ok(())
    });
    out.unwrap();
}

#[test]
fn block_on_future_reading_a_socket_completes_procs_1() {
    let _wd = Watchdog::new(
        "block_on_future_reading_a_socket_completes_procs_1",
        Duration::from_secs(30),
    );
    block_on_reads_a_socket(1);
}

#[test]
fn block_on_future_reading_a_socket_completes_procs_2() {
    let _wd = Watchdog::new(
        "block_on_future_reading_a_socket_completes_procs_2",
        Duration::from_secs(30),
    );
    block_on_reads_a_socket(2);
}
