//! Reading a connection: a buffered reader of lines and sized bodies whose every
//! socket read is bounded by a deadline and abandoned when the connection is told to
//! stop, and [`or_done`], the race between any future and a context's `done()`.
//!
//! A read cannot sit in a `select!` (select takes channels), so the connection's
//! reader races each read against the `done` receiver here instead; a read dropped
//! half way loses only bytes of a connection that is closing anyway.

use gort::chan::Receiver;
use gort::net::OwnedReadHalf;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// Runs `fut` until it completes (`Some`) or `done` is closed or sent on (`None`).
pub async fn or_done<F: Future>(fut: F, done: &Receiver<()>) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut stop = pin!(done.recv());
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// Why a read ended early.
pub fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "connection stopped")
}

/// A buffered reader over a connection's read half.
#[derive(Debug)]
pub struct ConnReader {
    rd: OwnedReadHalf,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Longest wait for the peer's next bytes; `None` for no limit.
    pub deadline: Option<Duration>,
    done: Receiver<()>,
}

impl ConnReader {
    /// A reader that gives up when `done` closes.
    pub fn new(rd: OwnedReadHalf, deadline: Option<Duration>, done: Receiver<()>) -> ConnReader {
        ConnReader {
            rd,
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            deadline,
            done,
        }
    }

    /// One socket read into `buf`, bounded by the deadline and by `done`.
    async fn read_some(
        rd: &OwnedReadHalf,
        buf: &mut [u8],
        deadline: Option<Duration>,
        done: &Receiver<()>,
    ) -> io::Result<usize> {
        let read = async {
            match deadline {
                Some(d) => gort::time::timeout(d, rd.read(buf))
                    .await
                    .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
                None => rd.read(buf).await,
            }
        };
        match or_done(read, done).await {
            Some(Ok(0)) => Err(io::ErrorKind::UnexpectedEof.into()),
            Some(r) => r,
            None => Err(stopped()),
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = Self::read_some(
            &self.rd,
            &mut self.buf[self.end..],
            self.deadline,
            &self.done,
        )
        .await?;
        self.end += n;
        Ok(())
    }

    /// The next line without its `\n` (and a `\r` before it). A line longer than
    /// `max` is an `InvalidData` error. End of stream before a whole line is
    /// `UnexpectedEof`.
    pub async fn read_line(&mut self, max: usize) -> io::Result<Vec<u8>> {
        let mut scanned = 0;
        loop {
            let avail = &self.buf[self.start..self.end];
            if let Some(i) = avail[scanned..].iter().position(|&b| b == b'\n') {
                let i = scanned + i;
                let mut line = &avail[..i];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                let line = line.to_vec();
                self.start += i + 1;
                return Ok(line);
            }
            scanned = avail.len();
            if scanned > max {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
            }
            self.fill().await?;
        }
    }

    /// Exactly `n` bytes.
    pub async fn read_exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let avail = self.end - self.start;
        if avail >= n {
            let v = self.buf[self.start..self.start + n].to_vec();
            self.start += n;
            return Ok(v);
        }
        let mut v = vec![0u8; n];
        v[..avail].copy_from_slice(&self.buf[self.start..self.end]);
        self.start = 0;
        self.end = 0;
        let mut got = avail;
        while got < n {
            got += Self::read_some(&self.rd, &mut v[got..], self.deadline, &self.done).await?;
        }
        Ok(v)
    }

    /// A 4-byte big-endian size, signed as nsqd reads it.
    pub async fn read_i32(&mut self) -> io::Result<i32> {
        let b = self.read_exact(4).await?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}
