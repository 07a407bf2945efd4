//! A socket on the netpoller: a mio source, its registration, and the loop every
//! operation runs (Go's `pollDesc` with `fd.pd.waitRead`): try the system call; on
//! `WouldBlock`, clear the readiness it acted on and park the G until the poller
//! reports the socket ready again.
//!
//! Invariant: the source is registered from `new` until `drop`, which deregisters it
//! before the descriptor closes, so no event ever names a closed (and maybe reused)
//! descriptor's slot as if it were live.

use super::poller::{Direction, ScheduledIo};
use crate::sched::{context, Shared};
use mio::event::Source;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

pub(crate) struct PollIo<E: Source> {
    /// `Some` until drop.
    io: Option<E>,
    shared: Arc<Shared>,
    sched: Arc<ScheduledIo>,
    key: usize,
}

impl<E: Source> PollIo<E> {
    /// Registers `io` with the current runtime's netpoller.
    ///
    /// # Panics
    /// Outside a gort runtime (there is no poller to register with).
    pub(crate) fn new(mut io: E, what: &str) -> io::Result<PollIo<E>> {
        let shared = current_runtime(what);
        let (key, sched, first) = shared.net.register(&mut io)?;
        if first {
            // A sleeper parked on its condition variable (no socket to poll until
            // now) moves to the poll. Kicked after the count went up, under the timer
            // lock that the sleeper took before it read the count: it sees one or the
            // other.
            shared.timers.kick_sleeper();
        }
        Ok(PollIo {
            io: Some(io),
            shared,
            sched,
            key,
        })
    }

    pub(crate) fn get(&self) -> &E {
        self.io.as_ref().expect("registered until drop")
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for readiness in `dir`
    /// between tries.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = match self.sched.poll_ready(cx, dir) {
                Poll::Ready(ev) => ev,
                Poll::Pending => {
                    someone_polls(&self.shared);
                    return Poll::Pending;
                }
            };
            match op(self.get()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.sched.clear(ev),
                r => return Poll::Ready(r),
            }
        }
    }

    /// `op` once, or `op` again after readiness: the async form of a system call.
    pub(crate) async fn io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(cx, dir, &mut op)).await
    }
}

impl<E: Source> Drop for PollIo<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            self.shared.net.deregister(&mut io, self.key);
            // `io` drops here: its descriptor closes after the deregistration.
        }
    }
}

impl<E: Source + std::fmt::Debug> std::fmt::Debug for PollIo<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PollIo").field(&self.io).finish()
    }
}

/// A G is about to wait on a socket: make sure some thread will poll. An M holding a
/// P polls before it parks, and the timer sleeper polls while every P is idle; a
/// thread without a P (`block_on`) wakes a P when there is no sleeper, so that an M
/// comes to be one.
fn someone_polls(shared: &Arc<Shared>) {
    if !context::holds_p(shared) && !shared.timers.has_sleeper() {
        shared.wake_p();
    }
}

fn current_runtime(what: &str) -> Arc<Shared> {
    match context::current() {
        Some(h) => h,
        None => panic!(
            "{what} called outside a gort runtime: sockets are registered with the \
             current runtime's netpoller (create them inside a task, or inside \
             Runtime::block_on / gort::run)"
        ),
    }
}
