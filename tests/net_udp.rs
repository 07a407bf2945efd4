//! UDP on the netpoller: `send_to`/`recv_from` both ways, `connect` + `send`/`recv`,
//! several tasks receiving on one socket (each datagram to exactly one, no waiter left
//! asleep), truncation, and a connected socket after an ICMP error.
//!
//! Loopback UDP drops datagrams when the receive buffer is full, so every test that
//! counts datagrams keeps only a small window of them in flight.

mod support;

use gort::net::UdpSocket;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use support::Watchdog;

fn runtime(procs: usize) -> gort::Runtime {
    gort::Runtime::builder().procs(procs).build().unwrap()
}

#[test]
fn send_to_and_recv_from_both_ways() {
    let _wd = Watchdog::new("send_to_and_recv_from_both_ways", Duration::from_secs(20));
    runtime(2).block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        // b answers every datagram to its sender, reversed, from its own task.
        let echo = gort::go(async move {
            let mut buf = [0u8; 64];
            for _ in 0..100 {
                let (n, from) = b.recv_from(&mut buf).await.unwrap();
                assert_eq!(from, a_addr, "the datagram names its sender");
                buf[..n].reverse();
                assert_eq!(b.send_to(&buf[..n], from).await.unwrap(), n);
            }
        });
        let mut buf = [0u8; 64];
        for i in 0..100u32 {
            let msg = format!("datagram {i}");
            assert_eq!(a.send_to(msg.as_bytes(), b_addr).await.unwrap(), msg.len());
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, b_addr);
            let back: String = msg.chars().rev().collect();
            assert_eq!(&buf[..n], back.as_bytes());
        }
        echo.await.unwrap();
    });
}

#[test]
fn connect_then_send_and_recv() {
    let _wd = Watchdog::new("connect_then_send_and_recv", Duration::from_secs(20));
    runtime(2).block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        a.connect(b_addr).await.unwrap();
        b.connect(a_addr).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        assert_eq!(b.peer_addr().unwrap(), a_addr);

        // A connected socket only receives from its peer: the stranger's datagram,
        // sent first, is filtered out by the kernel and `recv` gets b's.
        stranger.send_to(b"from a stranger", a_addr).await.unwrap();
        let mut buf = [0u8; 32];
        for i in 0..50u8 {
            assert_eq!(b.send(&[i; 5]).await.unwrap(), 5);
            let n = a.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i; 5]);
            assert_eq!(a.send(&[i, i]).await.unwrap(), 2);
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i, i]);
        }
    });
}

#[test]
fn truncation_when_the_buffer_is_smaller_than_the_datagram() {
    let _wd = Watchdog::new(
        "truncation_when_the_buffer_is_smaller_than_the_datagram",
        Duration::from_secs(20),
    );
    runtime(1).block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b_addr = b.local_addr().unwrap();
        let big: Vec<u8> = (0..100u8).collect();
        a.send_to(&big, b_addr).await.unwrap();
        a.send_to(b"next", b_addr).await.unwrap();
        let mut small = [0u8; 10];
        let (n, from) = b.recv_from(&mut small).await.unwrap();
        assert_eq!(from, a.local_addr().unwrap());
        assert_eq!(n, 10, "recv_from fills the buffer and drops the rest");
        assert_eq!(&small[..], &big[..10]);
        // The rest of the first datagram is gone: the next receive is the next one.
        let mut buf = [0u8; 100];
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"next");

        // The same through a connected socket's `recv`.
        b.connect(a.local_addr().unwrap()).await.unwrap();
        a.send_to(&big, b_addr).await.unwrap();
        let n = b.recv(&mut small[..7]).await.unwrap();
        assert_eq!(n, 7);
        assert_eq!(&small[..7], &big[..7]);
    });
}

/// Two tasks receive on one `Arc<UdpSocket>` while datagrams arrive one or two at a
/// time: every datagram is received exactly once, and neither receiver is left asleep
/// (a poll that wakes only one of two waiters strands the other: its datagram, or its
/// stop message, would never be received, and the watchdog fires).
fn two_receivers_on_one_socket(procs: usize) {
    const DATAGRAMS: u32 = 3000;
    let rt = runtime(procs);
    rt.block_on(async {
        let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let to = sock.local_addr().unwrap();
        let (got_tx, got_rx) = gort::chan::unbounded::<(usize, u32)>();
        let receivers: Vec<_> = (0..2)
            .map(|who| {
                let sock = sock.clone();
                let got_tx = got_tx.clone();
                gort::go(async move {
                    let mut buf = [0u8; 8];
                    loop {
                        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
                        if n == 1 {
                            return; // a stop message: one for each receiver
                        }
                        assert_eq!(n, 4);
                        let seq = u32::from_le_bytes(buf[..4].try_into().unwrap());
                        got_tx.send((who, seq)).await.unwrap();
                    }
                })
            })
            .collect();
        drop(got_tx);

        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut seen = vec![0u32; DATAGRAMS as usize];
        let mut by = [0usize; 2];
        let mut seq = 0;
        while seq < DATAGRAMS {
            // A window of one or two datagrams, then wait until both are received.
            let window = 1 + seq % 2;
            let end = (seq + window).min(DATAGRAMS);
            for s in seq..end {
                sender.send_to(&s.to_le_bytes(), to).await.unwrap();
            }
            for _ in seq..end {
                let (who, s) = got_rx.recv().await.expect("a receiver ended early");
                seen[s as usize] += 1;
                by[who] += 1;
            }
            seq = end;
        }
        // Both receivers must be waiting or about to: each takes one stop message.
        sender.send_to(&[0], to).await.unwrap();
        sender.send_to(&[0], to).await.unwrap();
        for r in receivers {
            r.await.unwrap();
        }
        assert!(
            got_rx.recv().await.is_none(),
            "a datagram received after the count"
        );
        let wrong: Vec<_> = seen
            .iter()
            .enumerate()
            .filter(|(_, &n)| n != 1)
            .take(10)
            .collect();
        assert!(
            wrong.is_empty(),
            "datagrams not received exactly once (seq, times): {wrong:?}"
        );
        assert_eq!(by[0] + by[1], DATAGRAMS as usize);
    });
}

#[test]
fn two_receivers_on_one_socket_procs_1() {
    let _wd = Watchdog::new(
        "two_receivers_on_one_socket_procs_1",
        Duration::from_secs(30),
    );
    two_receivers_on_one_socket(1);
}

#[test]
fn two_receivers_on_one_socket_procs_2() {
    let _wd = Watchdog::new(
        "two_receivers_on_one_socket_procs_2",
        Duration::from_secs(30),
    );
    two_receivers_on_one_socket(2);
}

/// Two receivers parked at once, then exactly one datagram: one of them takes it, the
/// other must go back to waiting and take the next one, however long that takes.
#[test]
fn a_waiter_that_loses_the_race_waits_again() {
    let _wd = Watchdog::new(
        "a_waiter_that_loses_the_race_waits_again",
        Duration::from_secs(30),
    );
    let rt = runtime(2);
    rt.block_on(async {
        let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let to = sock.local_addr().unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for round in 0..200u8 {
            let started = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let sock = sock.clone();
                    let started = started.clone();
                    gort::go(async move {
                        started.fetch_add(1, SeqCst);
                        let mut buf = [0u8; 4];
                        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
                        buf[..n].to_vec()
                    })
                })
                .collect();
            while started.load(SeqCst) < 2 {
                gort::yield_now().await;
            }
            sender.send_to(&[round, 1], to).await.unwrap();
            // Give the loser every chance to miss the second datagram's wake-up.
            for _ in 0..(round % 4) {
                gort::yield_now().await;
            }
            sender.send_to(&[round, 2], to).await.unwrap();
            let mut got = Vec::new();
            for t in tasks {
                got.push(t.await.unwrap());
            }
            got.sort();
            assert_eq!(got, vec![vec![round, 1], vec![round, 2]]);
        }
    });
}

/// A connected UDP socket whose peer is gone gets an ICMP "port unreachable": `recv`
/// reports `ConnectionRefused` once. After that the socket must behave as before:
/// a `recv` with nothing to receive waits (here, until a timeout) instead of
/// spinning. The poller's `ERROR` readiness bit must not make every later read look
/// ready forever.
#[test]
fn connected_udp_after_icmp_error_waits_again() {
    let _wd = Watchdog::new(
        "connected_udp_after_icmp_error_waits_again",
        Duration::from_secs(60),
    );
    let dead: SocketAddr = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    }; // dropped: nobody listens on that port now
    let rt = runtime(2);
    let (done_tx, done_rx) = mpsc::channel();
    let task = rt.spawn(async move {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(dead).await.unwrap();
        let mut buf = [0u8; 16];
        let mut refused = false;
        // The ICMP error comes back asynchronously; a few sends make sure one does.
        for _ in 0..50 {
            a.send(b"anyone?").await.unwrap();
            match gort::time::timeout(Duration::from_millis(50), a.recv(&mut buf)).await {
                Err(_elapsed) => continue,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    refused = true;
                    break;
                }
                Ok(other) => panic!("unexpected result from recv: {other:?}"),
            }
        }
        assert!(refused, "no ConnectionRefused from a dead UDP peer");
        // Nothing more will come: this recv must wait (and time out), not spin inside
        // one poll, where no timer can ever end it.
        let r = gort::time::timeout(Duration::from_millis(20), a.recv(&mut buf)).await;
        done_tx.send(()).unwrap();
        assert!(r.is_err(), "recv returned {r:?} with nothing to receive");
    });
    match done_rx.recv_timeout(Duration::from_secs(10)) {
        // Disconnected: the task panicked before the last recv; show why.
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => rt.block_on(task).unwrap(),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // The task spins inside one poll: dropping the runtime would join that
            // thread forever. Leak it; the process ends with the test.
            std::mem::forget(rt);
            panic!(
                "recv on a connected UDP socket after ConnectionRefused never returned \
                 to its timeout: the poll spins (sticky ERROR readiness, WouldBlock retried)"
            );
        }
    }
}
