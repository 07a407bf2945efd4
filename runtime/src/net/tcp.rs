//! TCP on the netpoller: `TcpListener`, `TcpStream` and a stream's owned halves.
//!
//! Every operation is the system call itself, tried at once; only a `WouldBlock`
//! parks the G (never the M) until the poller reports the socket ready
//! (registration.rs). Operations take `&self`, as Go's `net.Conn` methods may be
//! called from several goroutines: a reader and a writer can share one stream through
//! an `Arc`, or `into_split` gives each its own half.

use super::poller::Direction;
use super::registration::PollIo;
use super::{no_address, resolve};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// A TCP socket server, listening for connections.
///
/// ```
/// use gort::net::{TcpListener, TcpStream};
///
/// gort::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = gort::go(async move {
///         let s = TcpStream::connect(addr).await.unwrap();
///         s.write_all(b"ping").await.unwrap();
///     });
///     let (s, _) = listener.accept().await.unwrap();
///     let mut buf = [0; 4];
///     s.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"ping");
///     client.await.unwrap();
/// });
/// ```
pub struct TcpListener {
    io: PollIo<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to the first of `addr`'s addresses that accepts (the port may be 0: the
    /// system picks one; see `local_addr`).
    ///
    /// # Panics
    /// Outside a gort runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last = None;
        for a in resolve(addr)? {
            match listen(a) {
                Ok(l) => {
                    return Ok(TcpListener {
                        io: PollIo::new(l, "TcpListener::bind")?,
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    /// Turns a bound std listener into a gort one (it is made non-blocking).
    ///
    /// # Panics
    /// Outside a gort runtime.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: PollIo::new(
                mio::net::TcpListener::from_std(listener),
                "TcpListener::from_std",
            )?,
        })
    }

    /// Waits for the next connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, addr) = self.io.io(Direction::Read, |l| l.accept()).await?;
        Ok((TcpStream::from_mio(s, "TcpListener::accept")?, addr))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// Connections the kernel may hold for `accept` (tokio's figure; the kernel caps it
/// at `net.core.somaxconn`). std's and mio's 128 overflow under a burst of connects,
/// and an overflowed connect waits a second for its SYN to be sent again.
const BACKLOG: i32 = 1024;

/// A non-blocking listening socket on `addr`, with `SO_REUSEADDR` as std and Go set
/// it (a restarted server can bind while old connections linger in TIME_WAIT).
fn listen(addr: SocketAddr) -> io::Result<mio::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}

/// A TCP connection.
pub struct TcpStream {
    io: PollIo<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to the first of `addr`'s addresses that accepts.
    ///
    /// # Panics
    /// Outside a gort runtime.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for a in resolve(addr)? {
            match TcpStream::connect_one(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    /// `connect` that gives up with `ErrorKind::TimedOut` after `timeout`.
    pub async fn connect_timeout(
        addr: impl ToSocketAddrs,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        match crate::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TcpStream::connect_timeout: timed out",
            )),
        }
    }

    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        // Starts a non-blocking connect; writable readiness reports its end.
        let s = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?, "TcpStream::connect")?;
        s.io.io(Direction::Write, |s| {
            if let Some(e) = s.take_error()? {
                return Err(e);
            }
            match s.peer_addr() {
                Ok(_) => Ok(()),
                // Not yet: a readiness that came before the connect ended.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        })
        .await?;
        Ok(s)
    }

    /// Turns a connected std stream into a gort one (it is made non-blocking).
    ///
    /// # Panics
    /// Outside a gort runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream), "TcpStream::from_std")
    }

    fn from_mio(s: mio::net::TcpStream, what: &str) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollIo::new(s, what)?,
        })
    }

    /// Reads what is there (at least one byte, unless the peer closed: `Ok(0)`).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Direction::Read, |mut s| s.read(buf)).await
    }

    /// Reads exactly `buf.len()` bytes; `ErrorKind::UnexpectedEof` if the peer closes
    /// first.
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            match self.read(&mut buf[done..]).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => done += n,
            }
        }
        Ok(())
    }

    /// Writes some of `buf` (at least one byte), returning how much.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.io(Direction::Write, |mut s| s.write(buf)).await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            match self.write(&buf[done..]).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => done += n,
            }
        }
        Ok(())
    }

    /// Nothing is buffered in user space: succeeds at once.
    pub async fn flush(&self) -> io::Result<()> {
        Ok(())
    }

    /// Shuts down the read side, the write side (the peer reads end-of-stream), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get().nodelay()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Splits into a read half and a write half that can move to different tasks.
    /// Dropping the write half shuts the write side down (the peer reads
    /// end-of-stream); the socket closes when both halves are gone.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let s = Arc::new(self);
        (OwnedReadHalf(s.clone()), OwnedWriteHalf(s))
    }

    fn poll_read_buf(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |mut s| s.read(buf))
    }

    fn poll_write_buf(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |mut s| s.write(buf))
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

/// The read half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf(Arc<TcpStream>);

/// The write half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedWriteHalf(Arc<TcpStream>);

impl OwnedReadHalf {
    /// As [`TcpStream::read`].
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).await
    }

    /// As [`TcpStream::read_exact`].
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_exact(buf).await
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl OwnedWriteHalf {
    /// As [`TcpStream::write`].
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).await
    }

    /// As [`TcpStream::write_all`].
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).await
    }

    /// Shuts the write side down now (as dropping the half does).
    pub fn shutdown(&self) -> io::Result<()> {
        self.0.shutdown(Shutdown::Write)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        // NotConnected: the peer reset the connection already; nothing to shut.
        let _ = self.0.shutdown(Shutdown::Write);
    }
}

/// `futures_io` for a stream and its halves: the same system calls, polled.
macro_rules! async_io {
    (read $t:ty, $s:ident => $stream:expr) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $stream.poll_read_buf(cx, buf)
            }
        }
    };
    (write $t:ty, $s:ident => $stream:expr) => {
        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $stream.poll_write_buf(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                Poll::Ready($stream.shutdown(Shutdown::Write))
            }
        }
    };
}

async_io!(read TcpStream, s => s);
async_io!(write TcpStream, s => s);
async_io!(read &TcpStream, s => *s);
async_io!(write &TcpStream, s => *s);
async_io!(read OwnedReadHalf, s => s.0);
async_io!(write OwnedWriteHalf, s => s.0);
