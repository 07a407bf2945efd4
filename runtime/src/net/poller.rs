//! The netpoller (Go's `netpoll`): one `mio::Poll` per runtime, and the readiness of
//! every socket registered with it.
//!
//! Who polls, and when:
//! - an M that found no G in its local or the global queue polls without blocking
//!   once it has tried to steal, whether or not it stole (m.rs, `find_runnable`); the
//!   Gs it wakes land on its P, behind any it stole;
//! - sysmon polls without blocking when nobody has for 10 ms, so that Ms busy with
//!   local work forever cannot leave a ready socket unseen;
//! - the timer sleeper, the one M that waits for the nearest timer when every P is
//!   idle, blocks in the poll with that timer's deadline as its timeout (park.rs),
//!   while any socket is registered (otherwise it parks on its condition variable: a
//!   futex wake-up is cheaper than an eventfd write and an epoll return, and the
//!   first registration kicks it over to the poll). A hand-off, an earlier timer or
//!   shutdown wakes it through the mio `Waker`.
//!
//! Only one thread polls at a time (the `state` lock); a non-blocking poller that
//! finds it taken skips the poll, since whoever holds it dispatches the events.
//!
//! Readiness, per socket (`ScheduledIo`): bits set by a poll and cleared by an
//! operation that met `WouldBlock`, and the wakers of the Gs waiting in each direction.
//! No wake-up is lost: a poll sets the bits *before* it takes the waiter lock to wake;
//! a G stores its waker under that lock and reads the bits again before it sleeps. An
//! event counter in the same word keeps a clear from erasing an event that came after
//! the failed operation (mio's sources are edge-triggered: such an event never comes
//! again).

// Real locks and atomics, not the loom shim's: the poller waits on the OS, which no
// model can drive. Under loom the timer sleeper parks instead of polling (park.rs).
use mio::event::Source;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use parking_lot::{Mutex, MutexGuard};
use slab::Slab;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::task::{Context, Poll as TaskPoll, Waker as TaskWaker};
use std::time::{Duration, Instant};

/// The token of the `Waker`'s own event. A socket's token is its slab index in the
/// low 32 bits and its registration's generation above: a slot reused by a new
/// socket gets a new generation, so an event the poll returned for the old socket,
/// found after it was dropped, is not taken for the new one's.
const WAKE_TOKEN: Token = Token(usize::MAX);
const KEY_BITS: u32 = 32;
const KEY_MASK: usize = (1 << KEY_BITS) - 1;
const EVENTS: usize = 1024;

pub(crate) struct Poller {
    state: Mutex<PollState>,
    registry: Registry,
    waker: Waker,
    ios: Mutex<Slab<Arc<ScheduledIo>>>,
    /// The next registration's generation (see `WAKE_TOKEN`).
    generation: AtomicUsize,
    /// Sockets registered: a poll can find nothing while this is zero.
    registered: AtomicUsize,
    /// When a poll last ran (ns since `start`), for sysmon.
    last_poll: AtomicU64,
    start: Instant,
}

pub(crate) struct PollState {
    poll: Poll,
    events: Events,
    /// The sockets a poll found ready; kept to reuse its allocation.
    ready: Vec<(Arc<ScheduledIo>, Ready)>,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(&registry, WAKE_TOKEN)?;
        Ok(Poller {
            state: Mutex::new(PollState {
                poll,
                events: Events::with_capacity(EVENTS),
                ready: Vec::new(),
            }),
            registry,
            waker,
            ios: Mutex::new(Slab::new()),
            generation: AtomicUsize::new(0),
            registered: AtomicUsize::new(0),
            last_poll: AtomicU64::new(0),
            start: Instant::now(),
        })
    }

    /// Registers `source` for both directions (edge-triggered).
    pub(crate) fn register(
        &self,
        source: &mut impl Source,
    ) -> io::Result<(usize, Arc<ScheduledIo>, bool)> {
        // Relaxed: a unique number is all that is needed. 31 bits, so that no token
        // can equal `WAKE_TOKEN`.
        let generation = self.generation.fetch_add(1, Relaxed) & (usize::MAX >> (KEY_BITS + 1));
        let io = Arc::new(ScheduledIo {
            generation,
            ..ScheduledIo::default()
        });
        let key = self.ios.lock().insert(io.clone());
        assert!(
            key <= KEY_MASK,
            "gort netpoller: over 2^32 sockets registered"
        );
        let token = Token(generation << KEY_BITS | key);
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.registry.register(source, token, interest) {
            self.ios.lock().remove(key);
            return Err(e);
        }
        // Relaxed: a hint for pollers; the first socket's registration is ordered
        // with the timer sleeper's look at this count by the timer driver's lock
        // (registration.rs, `PollIo::new`).
        let first = self.registered.fetch_add(1, Relaxed) == 0;
        Ok((key, io, first))
    }

    /// Deregisters `source` (before its descriptor closes) and forgets its readiness.
    pub(crate) fn deregister(&self, source: &mut impl Source, key: usize) {
        // An error here means the descriptor is already gone from the epoll set (it
        // was closed elsewhere): nothing to undo either way.
        let _ = self.registry.deregister(source);
        self.ios.lock().try_remove(key);
        self.registered.fetch_sub(1, Relaxed);
    }

    /// True when polling could find something.
    pub(crate) fn has_sockets(&self) -> bool {
        self.registered.load(Relaxed) != 0
    }

    /// Polls without blocking, unless no socket is registered or another thread is
    /// polling. Returns the number of sockets that became ready (their Gs are woken).
    pub(crate) fn poll_now(&self) -> usize {
        if !self.has_sockets() {
            return 0;
        }
        match self.state.try_lock() {
            Some(mut st) => self.poll_locked(&mut st, Some(Duration::ZERO)),
            None => 0,
        }
    }

    /// Takes the poll for a blocking wait (the timer sleeper only).
    pub(crate) fn lock(&self) -> MutexGuard<'_, PollState> {
        self.state.lock()
    }

    /// Polls with the lock held, waiting up to `timeout` (`None`: until an event or a
    /// `wake`).
    pub(crate) fn poll_locked(&self, st: &mut PollState, timeout: Option<Duration>) -> usize {
        let PollState {
            poll,
            events,
            ready,
        } = st;
        if let Err(e) = poll.poll(events, timeout) {
            // EINTR: a signal arrived; the caller looks again. Anything else means the
            // epoll descriptor itself is broken, which no retry would mend.
            assert_eq!(
                e.kind(),
                io::ErrorKind::Interrupted,
                "gort netpoller: epoll_wait failed: {e}"
            );
            return 0;
        }
        self.last_poll.store(self.elapsed_ns(), Relaxed);
        if events.is_empty() {
            return 0;
        }
        {
            let ios = self.ios.lock();
            for ev in events.iter() {
                if ev.token() == WAKE_TOKEN {
                    continue;
                }
                // A missing key, or another generation: the socket the event was for
                // was deregistered after the event came.
                let (key, generation) = (ev.token().0 & KEY_MASK, ev.token().0 >> KEY_BITS);
                if let Some(io) = ios.get(key).filter(|io| io.generation == generation) {
                    ready.push((io.clone(), Ready::from_event(ev)));
                }
            }
        }
        let n = ready.len();
        crate::sched::context::dispatching_net(|| {
            for (io, r) in ready.drain(..) {
                io.set_ready(r);
            }
        });
        n
    }

    /// Wakes the thread blocked in `poll_locked` (or the next one to block).
    pub(crate) fn wake(&self) {
        if let Err(e) = self.waker.wake() {
            // The eventfd counter cannot overflow from a few wakes; a failure means the
            // descriptor is gone, and the sleeper would then never wake.
            panic!("gort netpoller: waking the poller failed: {e}");
        }
    }

    /// Time since the last poll, for sysmon.
    pub(crate) fn since_last_poll(&self) -> Duration {
        Duration::from_nanos(
            self.elapsed_ns()
                .saturating_sub(self.last_poll.load(Relaxed)),
        )
    }

    fn elapsed_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Readiness bits, as a poll reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ready(usize);

impl Ready {
    const READABLE: usize = 1;
    const WRITABLE: usize = 2;
    /// The peer closed its side (or the socket failed).
    const READ_CLOSED: usize = 4;
    const WRITE_CLOSED: usize = 8;
    const ERROR: usize = 16;
    const ALL: usize = 31;

    fn from_event(ev: &mio::event::Event) -> Ready {
        let mut r = 0;
        if ev.is_readable() {
            r |= Ready::READABLE;
        }
        if ev.is_writable() {
            r |= Ready::WRITABLE;
        }
        if ev.is_read_closed() {
            r |= Ready::READ_CLOSED;
        }
        if ev.is_write_closed() {
            r |= Ready::WRITE_CLOSED;
        }
        if ev.is_error() {
            r |= Ready::ERROR;
        }
        Ready(r)
    }
}

/// The two directions a G waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The bits that let an operation in this direction make progress.
    fn mask(self) -> usize {
        match self {
            Direction::Read => Ready::READABLE | Ready::READ_CLOSED | Ready::ERROR,
            Direction::Write => Ready::WRITABLE | Ready::WRITE_CLOSED | Ready::ERROR,
        }
    }

    /// The bits a `WouldBlock` in this direction clears: all of them. An error is
    /// reported once, by the first operation after it (`SO_ERROR` is consumed, as an
    /// ICMP "port unreachable" on a connected UDP socket is, which epoll also reports
    /// as a hang-up); and a side that is really closed never says `WouldBlock`
    /// (reads return end-of-stream, writes an error). So a `WouldBlock` proves the
    /// readiness stale, whatever its bits said.
    fn clearable(self) -> usize {
        self.mask()
    }
}

/// A readiness seen by `poll_ready`, to clear if the operation would block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    tick: usize,
    dir: Direction,
}

/// Low bits: `Ready`; the rest: a count of events received.
const TICK_SHIFT: u32 = 5;

/// One socket's readiness and waiters.
#[derive(Default)]
pub(crate) struct ScheduledIo {
    /// Of its registration (see `WAKE_TOKEN`).
    generation: usize,
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

/// Several Gs may wait in one direction (a socket shared through an `Arc`): all are
/// woken, and those that lose the race for the data wait again.
#[derive(Default)]
struct Waiters {
    reader: DirWaiters,
    writer: DirWaiters,
}

/// One direction's waiters: the usual single one inline, so that a readiness event
/// allocates nothing; any others in `more`.
#[derive(Default)]
struct DirWaiters {
    first: Option<TaskWaker>,
    more: Vec<TaskWaker>,
}

impl DirWaiters {
    fn add(&mut self, waker: &TaskWaker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(w) if w.will_wake(waker) => {}
            Some(_) if self.more.iter().any(|w| w.will_wake(waker)) => {}
            Some(_) => self.more.push(waker.clone()),
        }
    }

    fn take(&mut self) -> DirWaiters {
        std::mem::take(self)
    }

    fn wake(self) {
        if let Some(w) = self.first {
            w.wake();
        }
        for w in self.more {
            w.wake();
        }
    }
}

impl ScheduledIo {
    fn set_ready(&self, r: Ready) {
        let mut cur = self.readiness.load(Relaxed);
        loop {
            let tick = (cur >> TICK_SHIFT).wrapping_add(1);
            let new = (tick << TICK_SHIFT) | (cur & Ready::ALL) | r.0;
            // Release: a G that reads these bits (Acquire in `poll_ready`) goes on to
            // the socket operation after the event that set them.
            match self
                .readiness
                .compare_exchange_weak(cur, new, Release, Relaxed)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        // Taken under the lock, woken after it: a wake may drop a task, and with it
        // anything, even another socket.
        let (readers, writers) = {
            let mut w = self.waiters.lock();
            let readers = (r.0 & Direction::Read.mask() != 0).then(|| w.reader.take());
            let writers = (r.0 & Direction::Write.mask() != 0).then(|| w.writer.take());
            (readers, writers)
        };
        readers
            .into_iter()
            .chain(writers)
            .for_each(DirWaiters::wake);
    }

    /// Ready to try an operation in `dir`, or `Pending` with the waker stored.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> TaskPoll<ReadyEvent> {
        // Acquire: pairs with the Release in `set_ready`.
        let cur = self.readiness.load(Acquire);
        if cur & dir.mask() != 0 {
            return TaskPoll::Ready(ReadyEvent {
                tick: cur >> TICK_SHIFT,
                dir,
            });
        }
        let mut w = self.waiters.lock();
        // Again under the lock: a poll that set the bits after our first look takes
        // this lock after it, to wake, and so finds the waker stored below.
        let cur = self.readiness.load(Acquire);
        if cur & dir.mask() != 0 {
            return TaskPoll::Ready(ReadyEvent {
                tick: cur >> TICK_SHIFT,
                dir,
            });
        }
        match dir {
            Direction::Read => w.reader.add(cx.waker()),
            Direction::Write => w.writer.add(cx.waker()),
        }
        TaskPoll::Pending
    }

    /// The operation met `WouldBlock`: clear the readiness it acted on, unless a newer
    /// event has come since (then the operation should simply be tried again).
    pub(crate) fn clear(&self, ev: ReadyEvent) {
        let mut cur = self.readiness.load(Relaxed);
        while cur >> TICK_SHIFT == ev.tick {
            let new = cur & !ev.dir.clearable();
            // Relaxed: nothing is published by a clear; a racing `set_ready` changes
            // the tick and makes this CAS fail.
            match self
                .readiness
                .compare_exchange_weak(cur, new, Relaxed, Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }
}
