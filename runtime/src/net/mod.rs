//! Networking on the netpoller: TCP and UDP sockets whose waits park only the G.
//!
//! `poller.rs` is the netpoller itself (one `mio::Poll` per runtime, polled by Ms
//! looking for work and blocked in by the timer sleeper); `registration.rs` ties a
//! socket to it and runs each operation's try / wait-for-readiness loop; `tcp.rs` and
//! `udp.rs` are the public types. Sockets must be created inside a gort runtime (a
//! task, or `block_on`), whose netpoller they stay registered with until dropped.

pub(crate) mod poller;
mod registration;
mod tcp;
mod udp;

pub use tcp::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
pub use udp::UdpSocket;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// `addr`'s addresses. A host name means a DNS lookup, which blocks: it runs as a
/// `gort::blocking` call, so the P moves on if it takes long.
fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    crate::blocking(|| addr.to_socket_addrs().map(Iterator::collect))
}

fn no_address() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}
