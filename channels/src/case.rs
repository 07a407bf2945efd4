//! The cases a select is made of (a lone `send`/`recv` is a select of one): each knows
//! how to try its operation now, how to wait on its channel, and how to collect or
//! undo the outcome. `select.rs` drives them through `dyn Case`, whatever their `T`.

use crate::chan::{Chan, Entry, Reservation, Waiter};
use crate::lone::LoneCase;
use crate::loom::Arc;
use crate::slot::{RecvOutcome, RecvSlot, SendOutcome, SendSlot};
use crate::token::Token;
use crate::{Receiver, SendError, Sender, TrySendError};

/// What a claimed case found when it went to collect its outcome.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub enum Collected {
    Done,
    /// Select again from the start (a deferred send gave up on this case).
    Retry,
    /// The value is still on its way (a deferred send chose this case).
    Pending,
}

#[doc(hidden)]
pub trait Case {
    /// Tries the operation now. `Err(version)`: not ready, with the channel's version
    /// (invariant 4 of chan.rs). `verdict`: the select has a `default`, so "not ready"
    /// must be certain and the version exact (select.rs, "one instant"); otherwise it
    /// may be a hint read without the lock, since registering looks again under it.
    #[doc(hidden)]
    fn try_now(&mut self, verdict: bool) -> Result<(), u64>;
    /// The channel's version now.
    #[doc(hidden)]
    fn version(&self) -> u64;
    /// Queues an entry for `token`, unless the channel is ready now for someone else's
    /// entries than ours: then it queues nothing and returns true (the select tries
    /// again).
    #[doc(hidden)]
    fn register(&mut self, token: &Arc<Token>, index: usize) -> bool;
    /// Removes this select's entries from the channel.
    #[doc(hidden)]
    fn unregister(&mut self, token: &Arc<Token>);
    /// After an abort (nothing chosen): takes back a value left in a send slot, so
    /// the select can try again.
    #[doc(hidden)]
    fn withdraw(&mut self) {}
    /// After a claim for this case: takes the outcome from the slot.
    #[doc(hidden)]
    fn collect(&mut self) -> Collected;
    /// The select is dropped after choosing this case, before anyone used the outcome:
    /// put a received value back.
    #[doc(hidden)]
    fn abandon(&mut self);
    /// Marks this case as the chosen one.
    #[doc(hidden)]
    fn choose(&mut self);
}

/// `recv(rx) -> msg`.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct RecvCase<'a, T> {
    chan: &'a Chan<T>,
    entry: Option<Arc<Entry<RecvSlot<T>>>>,
    output: Option<Option<T>>,
    chosen: bool,
}

impl<'a, T> RecvCase<'a, T> {
    #[doc(hidden)]
    pub fn new(rx: &'a Receiver<T>) -> Self {
        RecvCase {
            chan: rx.chan(),
            entry: None,
            output: None,
            chosen: false,
        }
    }

    /// Rebuilds a case kept apart from its channel between polls (a `Receiver`'s
    /// stream state cannot borrow the receiver that holds it).
    pub(crate) fn from_parts(chan: &'a Chan<T>, parts: RecvParts<T>) -> Self {
        RecvCase {
            chan,
            entry: parts.entry,
            output: parts.output,
            chosen: false,
        }
    }

    pub(crate) fn into_parts(self) -> RecvParts<T> {
        RecvParts {
            entry: self.entry,
            output: self.output,
        }
    }

    pub(crate) fn take_output(&mut self) -> Option<T> {
        self.output.take().expect("a completed recv has an output")
    }

    pub(crate) fn try_take_output(&mut self) -> Option<Option<T>> {
        self.output.take()
    }

    /// Ready for another round of a reused `Select`.
    pub(crate) fn reset(&mut self) {
        self.release_entry();
        self.output = None;
        self.chosen = false;
    }

    /// Done with the entry: its memory goes back to the channel (spare.rs).
    pub(crate) fn release_entry(&mut self) {
        if let Some(entry) = self.entry.take() {
            self.chan.release_recv_entry(entry);
        }
    }

    #[doc(hidden)]
    pub fn is_chosen(&self) -> bool {
        self.chosen
    }

    /// The received value (`None`: closed and drained).
    #[doc(hidden)]
    pub fn into_output(mut self) -> Option<T> {
        self.output
            .take()
            .expect("a chosen recv case has an output")
    }
}

impl<T> RecvCase<'_, T> {
    /// `try_now` under the lock. Apart, so that a select's lock-free try saves and
    /// restores no registers for it (6 instructions a select, callgrind). The lone
    /// operations' `try_or_queue` split the same way ran ping-pong 5% slower in
    /// alternating runs, with the same instruction count, and stays whole.
    #[inline(never)]
    fn try_locked(&mut self) -> Result<(), u64> {
        let mut ch = self.chan.lock();
        match ch.try_recv(None) {
            Ok(v) => {
                self.output = Some(v);
                Ok(())
            }
            Err(()) => Err(ch.version()),
        }
    }
}

impl<T> Case for RecvCase<'_, T> {
    fn try_now(&mut self, verdict: bool) -> Result<(), u64> {
        match self.chan.try_recv_open(verdict) {
            Ok(v) => {
                self.output = Some(Some(v));
                Ok(())
            }
            Err(Some(version)) => Err(version),
            Err(None) => self.try_locked(),
        }
    }

    fn version(&self) -> u64 {
        self.chan.version()
    }

    fn register(&mut self, token: &Arc<Token>, index: usize) -> bool {
        let mut ch = self.chan.lock();
        // Ready already (a value came after our try): don't queue, or a sender could
        // hand us its next value ahead of the buffered ones (chan.rs, invariant 1).
        if ch.recv_ready(Some(token)) {
            return true;
        }
        let entry = ch.recv_entry(Entry::of_select(token.clone(), RecvSlot::new()));
        self.entry = Some(entry.clone());
        ch.push_recv_waiter(Waiter { entry, case: index });
        false
    }

    fn unregister(&mut self, token: &Arc<Token>) {
        self.chan.lock().remove_waiters(token);
    }

    fn collect(&mut self) -> Collected {
        let entry = self
            .entry
            .as_ref()
            .expect("a claimed recv case has an entry");
        match entry.slot.take() {
            RecvOutcome::Value(v) => self.output = Some(Some(v)),
            RecvOutcome::Closed => self.output = Some(None),
            RecvOutcome::Retry => return Collected::Retry,
            RecvOutcome::Pending => return Collected::Pending,
        }
        Collected::Done
    }

    fn abandon(&mut self) {
        // Nothing taken and no slot a claimer could fill: nothing to give back. A
        // reused `Select` resets every case each round, most of them in this state.
        if self.output.is_none() && self.entry.is_none() {
            return;
        }
        // Under the channel's lock: a claimer fills the slot only under it (slot.rs,
        // rule 1), so the slot is either filled or closed to it for good.
        let mut ch = self.chan.lock();
        let value = match self.output.take() {
            Some(v) => v,
            None => self.entry.as_ref().and_then(|e| e.slot.abandon()),
        };
        if let Some(v) = value {
            ch.put_back(v);
        }
    }

    fn choose(&mut self) {
        self.chosen = true;
    }
}

impl<T> LoneCase for RecvCase<'_, T> {
    fn try_or_queue(&mut self, token: &dyn Fn() -> Token) -> bool {
        // The last entry goes before the lock: its drop runs no foreign code, but
        // nothing is freed under the lock that need not be.
        self.release_entry();
        if let Ok(v) = self.chan.try_recv_open(false) {
            self.output = Some(Some(v));
            return true;
        }
        let mut ch = self.chan.lock();
        if let Ok(v) = ch.try_recv(None) {
            self.output = Some(v);
            return true;
        }
        // Not ready, under this same lock: queueing now keeps invariant 1.
        let entry = ch.recv_entry(Entry::lone(token(), RecvSlot::new()));
        ch.push_recv_waiter(Waiter {
            entry: entry.clone(),
            case: 0,
        });
        self.entry = Some(entry);
        false
    }

    fn token(&self) -> &Token {
        self.entry
            .as_ref()
            .expect("a queued recv has an entry")
            .token()
    }

    fn dequeue(&mut self) {
        let token = self
            .entry
            .as_ref()
            .expect("a queued recv has an entry")
            .token();
        self.chan.lock().remove_waiters(token);
    }

    fn release_entry(&mut self) {
        RecvCase::release_entry(self);
    }
}

/// A `RecvCase` without its channel borrow.
pub(crate) struct RecvParts<T> {
    entry: Option<Arc<Entry<RecvSlot<T>>>>,
    output: Option<Option<T>>,
}

impl<T> Default for RecvParts<T> {
    fn default() -> Self {
        RecvParts {
            entry: None,
            output: None,
        }
    }
}

/// `send(tx, v) -> res`: the value is given up front and delivered only if chosen.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct SendCase<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
    entry: Option<Arc<Entry<SendSlot<T>>>>,
    output: Option<Result<(), SendError<T>>>,
    chosen: bool,
}

impl<'a, T> SendCase<'a, T> {
    #[doc(hidden)]
    pub fn new(tx: &'a Sender<T>, value: T) -> Self {
        Self::on(tx.chan(), value)
    }

    pub(crate) fn on(chan: &'a Chan<T>, value: T) -> Self {
        SendCase {
            chan,
            value: Some(value),
            entry: None,
            output: None,
            chosen: false,
        }
    }

    #[doc(hidden)]
    pub fn is_chosen(&self) -> bool {
        self.chosen
    }

    #[doc(hidden)]
    pub fn into_output(mut self) -> Result<(), SendError<T>> {
        self.take_output()
    }

    pub(crate) fn take_output(&mut self) -> Result<(), SendError<T>> {
        self.output.take().expect("a completed send has an output")
    }

    /// The value, when the send gave up (timed out) without sending.
    pub(crate) fn into_value(mut self) -> T {
        self.value.take().expect("an unsent send keeps its value")
    }

    /// Done with the entry: its memory goes back to the channel (spare.rs).
    pub(crate) fn release_entry(&mut self) {
        if let Some(entry) = self.entry.take() {
            self.chan.release_send_entry(entry);
        }
    }
}

impl<T> Case for SendCase<'_, T> {
    fn try_now(&mut self, _verdict: bool) -> Result<(), u64> {
        let value = self.value.take().expect("a send case tries with its value");
        let Err(value) = self.chan.try_send_open(value) else {
            self.output = Some(Ok(()));
            return Ok(());
        };
        let mut ch = self.chan.lock();
        match ch.try_send(value, None) {
            Ok(()) => {
                self.output = Some(Ok(()));
                Ok(())
            }
            Err(TrySendError::Closed(v)) => {
                self.output = Some(Err(SendError(v)));
                Ok(())
            }
            Err(TrySendError::Full(v)) => {
                self.value = Some(v);
                Err(ch.version())
            }
        }
    }

    fn version(&self) -> u64 {
        self.chan.version()
    }

    fn register(&mut self, token: &Arc<Token>, index: usize) -> bool {
        let value = &mut self.value;
        self.entry = queue_send(self.chan, token, index, || {
            SendSlot::with_value(value.take().expect("a send case registers with its value"))
        });
        self.entry.is_none()
    }

    fn unregister(&mut self, token: &Arc<Token>) {
        self.chan.lock().remove_waiters(token);
    }

    fn withdraw(&mut self) {
        if let Some(entry) = self.entry.take() {
            match entry.slot.outcome() {
                SendOutcome::NotSent(v) => self.value = Some(v),
                _ => unreachable!("an aborted select's send was completed"),
            }
        }
    }

    fn collect(&mut self) -> Collected {
        let entry = self
            .entry
            .as_ref()
            .expect("a claimed send case has an entry");
        // The claim comes first and the hand-off right after, both under the channel
        // lock: a look in between finds the value still here; the claimer's notify
        // follows its unlock.
        let Some(outcome) = entry.slot.finished() else {
            return Collected::Pending;
        };
        self.release_entry();
        self.output = Some(outcome.map_err(SendError));
        Collected::Done
    }

    fn abandon(&mut self) {}

    fn choose(&mut self) {
        self.chosen = true;
    }
}

impl<T> LoneCase for SendCase<'_, T> {
    fn try_or_queue(&mut self, token: &dyn Fn() -> Token) -> bool {
        let value = self.value.take().expect("a send tries with its value");
        let Err(value) = self.chan.try_send_open(value) else {
            self.output = Some(Ok(()));
            return true;
        };
        let mut ch = self.chan.lock();
        match ch.try_send(value, None) {
            Ok(()) => self.output = Some(Ok(())),
            Err(TrySendError::Closed(v)) => self.output = Some(Err(SendError(v))),
            Err(TrySendError::Full(v)) => {
                // Not ready, under this same lock: queueing now keeps invariant 1.
                let entry = ch.send_entry(Entry::lone(token(), SendSlot::with_value(v)));
                ch.push_send_waiter(Waiter {
                    entry: entry.clone(),
                    case: 0,
                });
                self.entry = Some(entry);
                return false;
            }
        }
        true
    }

    fn token(&self) -> &Token {
        self.entry
            .as_ref()
            .expect("a queued send has an entry")
            .token()
    }

    fn dequeue(&mut self) {
        let token = self
            .entry
            .as_ref()
            .expect("a queued send has an entry")
            .token();
        self.chan.lock().remove_waiters(token);
    }

    fn release_entry(&mut self) {
        SendCase::release_entry(self);
    }
}

/// Queues a send waiter for `token` unless the channel is ready now for someone
/// else's entries than ours (chan.rs, invariant 1): `None` then, and the select tries
/// again. `slot` is made only when the waiter is queued.
fn queue_send<T>(
    chan: &Chan<T>,
    token: &Arc<Token>,
    index: usize,
    slot: impl FnOnce() -> SendSlot<T>,
) -> Option<Arc<Entry<SendSlot<T>>>> {
    let mut ch = chan.lock();
    if ch.send_ready(Some(token)) {
        return None;
    }
    let entry = ch.send_entry(Entry::of_select(token.clone(), slot()));
    ch.push_send_waiter(Waiter {
        entry: entry.clone(),
        case: index,
    });
    Some(entry)
}

/// `Select::send(&tx)`: chosen without a value, which `SelectedOperation::send` gives.
pub(crate) struct DeferredSendCase<'a, T> {
    chan: &'a Chan<T>,
    entry: Option<Arc<Entry<SendSlot<T>>>>,
    pub(crate) reservation: Option<Reservation<T>>,
}

impl<'a, T> DeferredSendCase<'a, T> {
    pub(crate) fn new(chan: &'a Chan<T>) -> Self {
        DeferredSendCase {
            chan,
            entry: None,
            reservation: None,
        }
    }

    /// Gives the value to the chosen case.
    pub(crate) fn send(&mut self, value: T) -> Result<(), TrySendError<T>> {
        let r = self
            .reservation
            .take()
            .expect("a chosen send case has a reservation");
        self.chan.lock().send_reserved(r, value)
    }

    /// An ordinary blocking send on the same channel.
    pub(crate) fn send_blocking_fallback(&mut self, value: T) -> Result<(), SendError<T>> {
        let mut case = SendCase::on(self.chan, value);
        let _ = crate::lone::Lone::default().block(&mut case, None);
        case.into_output()
    }
}

impl<T> Case for DeferredSendCase<'_, T> {
    fn try_now(&mut self, _verdict: bool) -> Result<(), u64> {
        let mut ch = self.chan.lock();
        match ch.reserve_send(None) {
            Some(r) => {
                self.reservation = Some(r);
                Ok(())
            }
            None => Err(ch.version()),
        }
    }

    fn version(&self) -> u64 {
        self.chan.version()
    }

    fn register(&mut self, token: &Arc<Token>, index: usize) -> bool {
        self.entry = queue_send(self.chan, token, index, SendSlot::deferred);
        self.entry.is_none()
    }

    fn unregister(&mut self, token: &Arc<Token>) {
        self.chan.lock().remove_waiters(token);
        self.entry = None;
    }

    fn collect(&mut self) -> Collected {
        // Deferred entries are nudged, never claimed.
        Collected::Retry
    }

    fn abandon(&mut self) {
        if let Some(r) = self.reservation.take() {
            self.chan.lock().release(r);
        }
    }

    fn choose(&mut self) {}
}

impl<T> Drop for DeferredSendCase<'_, T> {
    fn drop(&mut self) {
        self.abandon();
    }
}
