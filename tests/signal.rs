//! `gort::signal::notify`: each receiver gets the signals it asked for and only those,
//! with or without a runtime; a full receiver loses signals instead of stalling the
//! others; a dropped one stops being delivered to without breaking the rest.
//!
//! Every test sends signals to its own process with `kill(getpid(), ..)`, after a
//! `notify` has caught them. Under nextest each test is a process of its own; under
//! `cargo test` they share one, so they take turns (`serial`) and each waits for
//! what it sends. Absence is never judged by waiting alone: a later, wanted signal
//! must come out first, which slow delivery cannot fake.

mod support;

use gort::chan::{Receiver, RecvTimeoutError, TryRecvError};
use gort::signal::{notify, Signal};
use gort::time::after;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;
use support::Watchdog;

/// For what must arrive: generous, since only a failure waits it out.
const ARRIVES: Duration = Duration::from_secs(10);
/// For what must not arrive; the ordering checks carry the proof, this only adds a look.
const ABSENT: Duration = Duration::from_millis(100);
const WATCHDOG: Duration = Duration::from_secs(60);

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends `sig` to this process.
fn kill_self(sig: libc::c_int) {
    // SAFETY: `getpid` and `kill` take no pointers and touch no memory of ours; every
    // signal a test sends has been caught by `notify` first, so it cannot kill the
    // test process.
    let rc = unsafe { libc::kill(libc::getpid(), sig) };
    assert_eq!(rc, 0, "kill(getpid(), {sig}) failed");
}

/// The next signal on `rx`, failing the test if none comes within `ARRIVES`.
fn next(rx: &Receiver<Signal>, what: &str) -> Signal {
    rx.recv_timeout(ARRIVES)
        .unwrap_or_else(|e| panic!("{what}: no signal within {ARRIVES:?} ({e:?})"))
}

#[test]
fn interrupt_and_terminate_async() {
    let _serial = serial();
    let _wd = Watchdog::new("interrupt_and_terminate_async", WATCHDOG);
    let sigs = notify(&[Signal::Interrupt, Signal::Terminate]).unwrap();
    gort::run(async move {
        kill_self(libc::SIGINT);
        let got = gort::select! {
            recv(sigs) -> sig => sig,
            recv(after(ARRIVES)) -> _ => panic!("SIGINT not delivered within {ARRIVES:?}"),
        };
        assert_eq!(got, Some(Signal::Interrupt));

        kill_self(libc::SIGTERM);
        assert_eq!(sigs.recv().await, Some(Signal::Terminate));
    });
}

/// No runtime anywhere in the process: the receiver waits on a plain thread.
#[test]
fn interrupt_and_terminate_blocking() {
    let _serial = serial();
    let _wd = Watchdog::new("interrupt_and_terminate_blocking", WATCHDOG);
    let sigs = notify(&[Signal::Terminate, Signal::Interrupt]).unwrap();
    let (took_first, first_taken) = std::sync::mpsc::channel();
    let waiter = thread::spawn(move || {
        let first = sigs.recv_blocking();
        took_first.send(()).unwrap();
        let second = sigs.recv_blocking();
        (first, second)
    });
    kill_self(libc::SIGTERM);
    // The second is sent only once the first is taken: two signals pending together
    // come out in number order (SIGINT first), not in the order sent.
    first_taken
        .recv_timeout(ARRIVES)
        .expect("SIGTERM not delivered");
    kill_self(libc::SIGINT);
    let (first, second) = waiter.join().unwrap();
    assert_eq!(first, Some(Signal::Terminate));
    assert_eq!(second, Some(Signal::Interrupt));
}

#[test]
fn only_the_signals_asked_for() {
    let _serial = serial();
    let _wd = Watchdog::new("only_the_signals_asked_for", WATCHDOG);
    let usr1 = notify(&[Signal::User1]).unwrap();
    let usr2 = notify(&[Signal::User2]).unwrap();

    // The dispatcher finishes one signal before it picks up the next, so a SIGUSR2
    // wrongly given to `usr1` would be in its channel ahead of the SIGUSR1 sent after.
    kill_self(libc::SIGUSR2);
    assert_eq!(next(&usr2, "usr2"), Signal::User2);
    kill_self(libc::SIGUSR1);
    assert_eq!(next(&usr1, "usr1"), Signal::User1, "usr1 got a SIGUSR2");
    // And the other way round.
    kill_self(libc::SIGUSR2);
    assert_eq!(next(&usr2, "usr2"), Signal::User2, "usr2 got a SIGUSR1");

    assert_eq!(usr1.recv_timeout(ABSENT), Err(RecvTimeoutError::Timeout));
    assert_eq!(usr2.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn two_receivers_see_the_same_signal() {
    let _serial = serial();
    let _wd = Watchdog::new("two_receivers_see_the_same_signal", WATCHDOG);
    let a = notify(&[Signal::Hangup]).unwrap();
    let b = notify(&[Signal::Hangup, Signal::User1]).unwrap();
    kill_self(libc::SIGHUP);
    assert_eq!(next(&a, "a"), Signal::Hangup);
    assert_eq!(next(&b, "b"), Signal::Hangup);
}

/// The dropped receiver stands between two live ones, so removing it must not skip
/// or stall its neighbour.
#[test]
fn dropped_receiver_does_not_stop_the_others() {
    let _serial = serial();
    let _wd = Watchdog::new("dropped_receiver_does_not_stop_the_others", WATCHDOG);
    let a = notify(&[Signal::Quit]).unwrap();
    let dropped = notify(&[Signal::Quit]).unwrap();
    let c = notify(&[Signal::Quit]).unwrap();
    drop(dropped);
    for round in 0..3 {
        kill_self(libc::SIGQUIT);
        assert_eq!(next(&a, "a"), Signal::Quit, "round {round}");
        assert_eq!(next(&c, "c"), Signal::Quit, "round {round}");
    }
    // Registering again after the removal still works.
    let d = notify(&[Signal::Quit]).unwrap();
    kill_self(libc::SIGQUIT);
    for (rx, name) in [(&a, "a"), (&c, "c"), (&d, "d")] {
        assert_eq!(next(rx, name), Signal::Quit);
    }
}

/// `full` is never read. Were delivery to wait for room, it would stall there and
/// `observer`, registered after it, would stop receiving.
#[test]
fn full_channel_drops_instead_of_blocking() {
    let _serial = serial();
    let _wd = Watchdog::new("full_channel_drops_instead_of_blocking", WATCHDOG);
    let full = notify(&[Signal::User2]).unwrap();
    let observer = notify(&[Signal::User2]).unwrap();
    let cap = full.capacity().expect("a signal channel is bounded");
    assert!(cap >= 1);

    for sent in 0..cap + 3 {
        // Each one is taken before the next is sent, so none coalesce.
        kill_self(libc::SIGUSR2);
        assert_eq!(
            observer.recv_timeout(ARRIVES),
            Ok(Signal::User2),
            "delivery stalled after {sent} signals: a full receiver holds up the others"
        );
    }
    // The observer having the last signal means every earlier one was offered to
    // `full` (one signal is finished before the next is started): it has filled up
    // exactly, and the rest were dropped.
    let held: Vec<Signal> = full.try_iter().collect();
    assert_eq!(held, vec![Signal::User2; cap]);

    // Drained, it receives again.
    kill_self(libc::SIGUSR2);
    assert_eq!(next(&full, "full after draining"), Signal::User2);
    assert_eq!(next(&observer, "observer"), Signal::User2);
}

/// Go's `Notify(c)` with no signals relays every signal; here, every kind `Signal` names.
#[test]
fn empty_list_asks_for_every_signal() {
    let _serial = serial();
    let _wd = Watchdog::new("empty_list_asks_for_every_signal", WATCHDOG);
    let all = notify(&[]).unwrap();
    let kinds = [
        (libc::SIGINT, Signal::Interrupt),
        (libc::SIGTERM, Signal::Terminate),
        (libc::SIGHUP, Signal::Hangup),
        (libc::SIGQUIT, Signal::Quit),
        (libc::SIGUSR1, Signal::User1),
        (libc::SIGUSR2, Signal::User2),
    ];
    for (raw, sig) in kinds {
        kill_self(raw);
        assert_eq!(next(&all, "all"), sig);
    }
}

#[test]
fn signal_numbers_and_names() {
    fn send_sync_copy<T: Send + Sync + Copy + 'static>() {}
    send_sync_copy::<Signal>();
    fn send<T: Send>() {}
    send::<Receiver<Signal>>();

    let kinds = [
        (libc::SIGINT, Signal::Interrupt, "interrupt"),
        (libc::SIGTERM, Signal::Terminate, "terminated"),
        (libc::SIGHUP, Signal::Hangup, "hangup"),
        (libc::SIGQUIT, Signal::Quit, "quit"),
        (libc::SIGUSR1, Signal::User1, "user defined signal 1"),
        (libc::SIGUSR2, Signal::User2, "user defined signal 2"),
    ];
    for (raw, sig, name) in kinds {
        assert_eq!(sig.as_raw(), raw);
        assert_eq!(Signal::from_raw(raw), Some(sig));
        assert_eq!(sig.to_string(), name);
    }
    assert_eq!(Signal::from_raw(libc::SIGKILL), None);
}
