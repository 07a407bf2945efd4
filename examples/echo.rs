//! A TCP echo server: one goroutine per connection, and a graceful shutdown on SIGINT
//! (Ctrl-C) or SIGTERM through a channel, as a Go service does with `signal.Notify`.
//!
//! ```sh
//! cargo run --release --example echo               # listens on 127.0.0.1:7878
//! cargo run --release --example echo -- 0.0.0.0:9000
//! nc 127.0.0.1 7878                                # type lines; they come back
//! ```
//!
//! On a signal the server stops accepting, tells every connection to finish (each
//! goroutine selects between its next read and the shutdown channel), waits for them
//! all, and exits. `GORT_ECHO_SELFTEST=1` makes it connect to itself, check an echo,
//! and send itself SIGINT, so the whole path runs unattended.

use gort::chan::{bounded, Receiver};
use gort::net::{TcpListener, TcpStream};
use gort::signal::Signal;
use std::io;
use std::net::SocketAddr;

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".to_string());
    gort::run(serve(addr))
}

async fn serve(addr: String) -> io::Result<()> {
    let signals = gort::signal::notify(&[Signal::Interrupt, Signal::Terminate])?;
    let listener = TcpListener::bind(addr.as_str()).await?;
    let local = listener.local_addr()?;
    println!("echo: listening on {local} (Ctrl-C to stop)");

    // Closed (never sent on) to tell every connection to stop: a closed channel is
    // ready for every receiver at once, as Go's `close(done)`.
    let (stop_tx, stop_rx) = bounded::<()>(0);
    // The accept loop is a goroutine of its own that hands connections over a
    // channel, so that this one waits for "a connection or a signal" in one select.
    let (conn_tx, conn_rx) = bounded::<(TcpStream, SocketAddr)>(0);
    let acceptor = gort::go(async move {
        loop {
            match listener.accept().await {
                Ok(conn) => {
                    if conn_tx.send(conn).await.is_err() {
                        return;
                    }
                }
                Err(e) => eprintln!("echo: accept: {e}"),
            }
        }
    });
    let mut conns = Vec::new();
    if std::env::var_os("GORT_ECHO_SELFTEST").is_some() {
        conns.push(gort::go(self_test(local)));
    }
    loop {
        gort::select! {
            recv(signals) -> sig => {
                if let Some(sig) = sig {
                    println!("echo: caught {sig}: shutting down");
                }
                break;
            }
            recv(conn_rx) -> conn => {
                let Some((stream, peer)) = conn else { break };
                let stop = stop_rx.clone();
                conns.push(gort::go(async move {
                    if let Err(e) = handle(stream, stop).await {
                        eprintln!("echo: {peer}: {e}");
                    }
                }));
            }
        }
    }
    // Stop accepting (the listener closes with the acceptor's future), then ask
    // every connection to finish and wait for them.
    acceptor.abort();
    let _ = acceptor.await;
    stop_tx.close();
    let n = conns.len();
    for c in conns {
        let _ = c.await;
    }
    println!("echo: {n} goroutine(s) finished; bye");
    Ok(())
}

/// Echoes until the peer closes or the server stops.
async fn handle(stream: TcpStream, stop: Receiver<()>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (rd, wr) = stream.into_split();
    // The reader runs in its own goroutine and hands each chunk over a channel, so
    // that this one can wait on "data or stop" in one select.
    let (data_tx, data_rx) = bounded::<io::Result<Vec<u8>>>(1);
    let reader = gort::go(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let r = rd.read(&mut buf).await.map(|n| buf[..n].to_vec());
            let end = !matches!(&r, Ok(v) if !v.is_empty());
            if data_tx.send(r).await.is_err() || end {
                return;
            }
        }
    });
    loop {
        gort::select! {
            recv(data_rx) -> chunk => match chunk {
                Some(Ok(bytes)) if !bytes.is_empty() => wr.write_all(&bytes).await?,
                Some(Err(e)) => return Err(e),
                _ => break, // end of stream
            },
            recv(stop) -> _ => break,
        }
    }
    drop(data_rx); // the reader's next send fails, and it returns
    drop(wr);
    reader.abort();
    Ok(())
}

/// Connects, checks one echo, then asks the server to stop as Ctrl-C would.
async fn self_test(addr: SocketAddr) {
    let s = TcpStream::connect(addr).await.expect("self-test connect");
    s.write_all(b"hello, gort\n")
        .await
        .expect("self-test write");
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).await.expect("self-test read");
    assert_eq!(&buf, b"hello, gort\n", "the echo came back changed");
    println!("echo: self-test echo ok");
    drop(s);
    // SAFETY: kill(2) on our own pid with a signal this process has a handler for
    // (notify installed it before the listener was bound): no memory is involved.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGINT);
    }
}
