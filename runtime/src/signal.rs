//! Signals (Go's `os/signal.Notify`): [`notify`] hands out a channel that receives
//! the process signals it asked for.
//!
//! This module owns three process-wide things, made on the first `notify` and kept
//! until the process exits: signal-hook's registration (its handler and self-pipe),
//! one dispatcher thread, `gort-signal`, that reads the self-pipe, and the table of
//! subscribers, one per `notify` call, each a set of signals and the `Sender` of its
//! channel. The handler only records the signal and wakes the pipe (signal-hook's
//! async-signal-safe part); everything else runs on the dispatcher thread, which
//! belongs to no runtime, so signals arrive whether a gort runtime is running or not,
//! and whichever executor (or plain thread) waits on the receiver.
//!
//! Invariants:
//! 1. Every signal of a subscriber is caught before `notify` returns: its handler is
//!    installed, then the subscriber is inserted, both under the table's lock.
//! 2. A signal once caught stays caught for the life of the process: its default
//!    action (SIGINT, SIGTERM, SIGHUP killing the process…) never comes back, even
//!    when every receiver is gone. Go behaves the same until `signal.Stop`/`Reset`,
//!    which gort does not have.
//! 3. Delivery never waits: the dispatcher only `try_send`s, so a receiver nobody
//!    reads loses signals (as Go drops them on a full channel) and never holds up the
//!    others.
//! 4. The dispatcher hands each signal to a snapshot of the table taken when it picks
//!    that signal up, so a `notify` racing with a delivery sees the next signal, not
//!    half of this one.
//! 5. A subscriber whose receivers are all dropped is removed, lazily: when a
//!    delivery to it fails, and on every `notify` (so churn of receivers for a signal
//!    that never comes does not grow the table).
//!
//! signal-hook keeps one pending flag per signal number, as the kernel does for
//! standard signals, so a burst of one signal arriving before the dispatcher wakes
//! reaches receivers once, and the signals of one batch come out in number order
//! rather than arrival order. Go's runtime coalesces the same way.
//!
//! Rejected: a signal-hook action per `notify` (`low_level::register`) — it needs
//! `unsafe` and runs the delivery inside the signal handler, where taking a channel
//! lock is not allowed; reading the self-pipe on a runtime's netpoller — it would
//! tie signals to one runtime and leave them unread while none is running; an
//! unbounded channel per receiver — one that is never read would grow for ever.

use gort_channels::{bounded, Receiver, Sender, TrySendError};
use parking_lot::Mutex;
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::{Handle, Signals};
use std::fmt;
use std::io;
use std::thread;

/// The buffer of each receiver's channel. Go advises a buffer of 1 for one signal;
/// one receiver here may ask for all six kinds, and coalescing (see the module doc)
/// means each kind is pending at most once per batch, so 8 holds a burst of every
/// kind with room for a few repeats, while a receiver nobody reads pins only 8 bytes.
const CAPACITY: usize = 8;

/// A process signal that [`notify`] can relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// SIGINT: Ctrl-C at a terminal.
    Interrupt,
    /// SIGTERM: a polite request to stop (what `kill` and service managers send).
    Terminate,
    /// SIGHUP: the terminal went away; daemons take it as "reload".
    Hangup,
    /// SIGQUIT: Ctrl-\ at a terminal.
    Quit,
    /// SIGUSR1: no meaning of its own; the program gives it one.
    User1,
    /// SIGUSR2: no meaning of its own; the program gives it one.
    User2,
}

impl Signal {
    /// Every kind, in the order of the enum.
    const ALL: [Signal; 6] = [
        Signal::Interrupt,
        Signal::Terminate,
        Signal::Hangup,
        Signal::Quit,
        Signal::User1,
        Signal::User2,
    ];

    /// The signal's number on this platform (`Signal::Interrupt.as_raw() == libc::SIGINT`).
    pub fn as_raw(self) -> i32 {
        match self {
            Signal::Interrupt => SIGINT,
            Signal::Terminate => SIGTERM,
            Signal::Hangup => SIGHUP,
            Signal::Quit => SIGQUIT,
            Signal::User1 => SIGUSR1,
            Signal::User2 => SIGUSR2,
        }
    }

    /// The `Signal` whose number is `raw`, if it is one of these.
    pub fn from_raw(raw: i32) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.as_raw() == raw)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Signal {
    /// Go's names (`os.Signal.String()`): "interrupt", "terminated", …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "interrupt",
            Signal::Terminate => "terminated",
            Signal::Hangup => "hangup",
            Signal::Quit => "quit",
            Signal::User1 => "user defined signal 1",
            Signal::User2 => "user defined signal 2",
        })
    }
}

/// Relays the process signals in `signals` to the returned channel (Go's
/// `signal.Notify`, with the channel made for you).
///
/// Call it as often as you like: every receiver gets each signal it asked for, and
/// only those. An empty `signals` asks for every kind [`Signal`] names, as Go's
/// `Notify(c)` with no signals does. The receiver is an ordinary gort channel: use it
/// in `select!`, with `recv().await`, or with `recv_blocking()` on a plain thread, with
/// or without a gort runtime. A clone of it shares its signals (each goes to one of the
/// clones), as with any channel.
///
/// Delivery never waits for a receiver: each channel holds a few signals, and when
/// it is full, further signals are dropped for that receiver (as Go drops them on a
/// full channel); the same signal arriving several times before it is delivered may
/// also come through once. Drop the receiver to stop its deliveries.
///
/// # Catching replaces the default action
/// From the first `notify` that names a signal, that signal is caught for the whole
/// process and for the rest of its life: SIGINT (Ctrl-C) and SIGTERM no longer kill
/// it, SIGQUIT no longer dumps core, even after every receiver is dropped. The program
/// decides what they mean, typically a graceful shutdown.
///
/// # Errors
/// The OS's error if the signal handler or the dispatcher thread cannot be set up.
///
/// # Example
/// Shut down on Ctrl-C or SIGTERM:
/// ```
/// use gort::signal::{notify, Signal};
/// use std::time::Duration;
///
/// let stop = notify(&[Signal::Interrupt, Signal::Terminate])?;
/// # // Stands in for the user pressing Ctrl-C.
/// # signal_hook::low_level::raise(Signal::Interrupt.as_raw())?;
/// gort::run(async move {
///     let tick = gort::time::tick(Duration::from_millis(10));
///     loop {
///         gort::select! {
///             recv(stop) -> sig => {
///                 println!("got {}, shutting down", sig.unwrap());
///                 break;
///             }
///             recv(tick) -> _ => { /* a unit of work */ }
///         }
///     }
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn notify(signals: &[Signal]) -> io::Result<Receiver<Signal>> {
    let wants = match signals {
        [] => Signal::ALL.iter(),
        _ => signals.iter(),
    }
    .fold(0, |mask, s| mask | s.bit());

    let (tx, rx) = bounded(CAPACITY);
    let mut table = TABLE.lock();
    let handle = match &table.handle {
        Some(handle) => handle.clone(),
        None => {
            let handle = start_dispatcher()?;
            table.handle.insert(handle).clone()
        }
    };
    // Invariant 1: the handlers go in before the subscriber. A failure leaves the
    // signals already added caught (invariant 2) and this subscriber out.
    for s in Signal::ALL.into_iter().filter(|s| wants & s.bit() != 0) {
        handle.add_signal(s.as_raw())?;
    }
    table.subscribers.retain(|sub| !sub.tx.is_closed());
    table.subscribers.push(Subscriber { wants, tx });
    Ok(rx)
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    handle: None,
    subscribers: Vec::new(),
});

struct Table {
    /// Adds signals to signal-hook's registration; `None` until the first `notify`.
    handle: Option<Handle>,
    subscribers: Vec<Subscriber>,
}

struct Subscriber {
    /// One bit per `Signal` (`Signal::bit`).
    wants: u8,
    tx: Sender<Signal>,
}

/// Registers with signal-hook (no signals yet: `notify` adds them) and starts the
/// thread that reads what the handler records.
fn start_dispatcher() -> io::Result<Handle> {
    let mut signals = Signals::new(std::iter::empty::<i32>())?;
    let handle = signals.handle();
    thread::Builder::new()
        .name("gort-signal".into())
        .spawn(move || {
            // Ends only if the handle is closed, which nothing does: the registration
            // lives as long as the process (invariant 2).
            for raw in signals.forever() {
                if let Some(sig) = Signal::from_raw(raw) {
                    deliver(sig);
                }
            }
        })?;
    Ok(handle)
}

/// Offers `sig` to every subscriber that asked for it (invariants 3 to 5).
fn deliver(sig: Signal) {
    // The sends happen outside the table's lock: a send wakes the receiver's waker,
    // which is foreign code that might call `notify` itself.
    let targets: Vec<Sender<Signal>> = TABLE
        .lock()
        .subscribers
        .iter()
        .filter(|sub| sub.wants & sig.bit() != 0)
        .map(|sub| sub.tx.clone())
        .collect();
    let mut saw_closed = false;
    for tx in &targets {
        match tx.try_send(sig) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Closed(_)) => saw_closed = true,
        }
    }
    if saw_closed {
        TABLE.lock().subscribers.retain(|sub| !sub.tx.is_closed());
    }
}
