//! The channel itself (Go's `hchan`): one lock over the buffer, the wait queues and the
//! closed flag.
//!
//! Invariants (under the lock):
//! 1. Receivers wait only when nothing is buffered; senders wait only when the buffer
//!    is full (or, unbuffered, no receiver waits). So `recvq` and `buf` are never both
//!    non-empty, nor are `sendq` and free room.
//! 2. A value moves at most once, under this lock, and only after the claim of the
//!    waiting side's token: a sender hands it to a claimed receiver's slot, a receiver
//!    takes it from a claimed sender's slot, or the buffer holds it.
//! 3. An entry whose token cannot be claimed is stale (its select completed another
//!    case, or gave up); whoever meets it drops it. Its owner's slot keeps any value.
//! 4. The version changes with every change to the channel, so a select can tell that
//!    none of its channels moved between two looks (select.rs, "one instant"). It is
//!    the lock's own counter (bumped when a hold of the lock changed anything) plus,
//!    for a buffered channel, the sum of its buffer's positions (which every push and
//!    pop moves forward).
//!
//! A buffered channel's buffer (buffer.rs: a ring if bounded, a block list if not)
//! is used by senders and receivers without this lock while the channel is *open*:
//! nobody waits, nothing is reserved or put back, not closed. Taking the lock freezes
//! the buffer, so the holder sees a buffer nobody else changes and the invariants
//! above hold as if the lock covered it; the holder thaws it on unlock if the channel
//! is open again. So the common case, a channel that neither waits nor fills, costs a
//! CAS per operation and no lock, and everything else is Go's single-lock protocol,
//! which keeps select's guarantees easy to state and check.

use crate::buffer::{Buffer, Popped};
use crate::loom::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use crate::loom::{Arc, Mutex, MutexGuard};
use crate::slot::{RecvSlot, SendSlot};
use crate::spare::Spare;
use crate::token::{Signal, Token};
use crate::TrySendError;
use std::collections::VecDeque;

pub(crate) struct Chan<T> {
    state: Mutex<State<T>>,
    /// A buffered channel's buffer, used without the lock while open.
    buffer: Option<Buffer<T>>,
    /// The lock's share of the version (invariant 4): written only under the lock.
    version: AtomicU64,
    /// Buffer capacity: 0 unbuffered; `usize::MAX` unbounded.
    pub(crate) cap: usize,
    /// `never()`: no operation is ever ready.
    pub(crate) never: bool,
    /// Live `Sender`s / `Receiver`s. The last one of either kind takes the lock to
    /// close or disconnect.
    pub(crate) senders: AtomicUsize,
    pub(crate) receivers: AtomicUsize,
    /// The memory of the last entries that waited here, for the next (spare.rs).
    spare_recv: Spare<Arc<Entry<RecvSlot<T>>>>,
    spare_send: Spare<Arc<Entry<SendSlot<T>>>>,
}

/// A waiting operation's place in a queue: its token and slot in one allocation. A lone
/// `send`/`recv` owns its token; the cases of a select share theirs.
pub(crate) struct Entry<S> {
    token: EntryToken,
    pub(crate) slot: S,
}

enum EntryToken {
    Own(Token),
    Shared(Arc<Token>),
}

impl<S> Entry<S> {
    /// A lone operation's entry.
    pub(crate) fn lone(token: Token, slot: S) -> Entry<S> {
        Entry {
            token: EntryToken::Own(token),
            slot,
        }
    }

    /// A blank, kept only for its memory (spare.rs).
    pub(crate) fn spent(slot: S) -> Entry<S> {
        Entry::lone(Token::new(Signal::Spent), slot)
    }

    /// One case of a select.
    pub(crate) fn of_select(token: Arc<Token>, slot: S) -> Entry<S> {
        Entry {
            token: EntryToken::Shared(token),
            slot,
        }
    }

    pub(crate) fn token(&self) -> &Token {
        match &self.token {
            EntryToken::Own(t) => t,
            EntryToken::Shared(t) => t,
        }
    }
}

pub(crate) struct Waiter<S> {
    pub(crate) entry: Arc<Entry<S>>,
    pub(crate) case: usize,
}

impl<S> Waiter<S> {
    fn token(&self) -> &Token {
        self.entry.token()
    }

    fn slot(&self) -> &S {
        &self.entry.slot
    }

    fn is(&self, own: Option<&Token>) -> bool {
        own.is_some_and(|o| std::ptr::eq(o, self.token()))
    }
}

/// A waiter to notify after the unlock (its entry keeps its token alive).
pub(crate) enum Claimed<T> {
    Recv(Arc<Entry<RecvSlot<T>>>),
    Send(Arc<Entry<SendSlot<T>>>),
}

impl<T> Claimed<T> {
    fn token(&self) -> &Token {
        match self {
            Claimed::Recv(e) => e.token(),
            Claimed::Send(e) => e.token(),
        }
    }
}

impl<T> From<Waiter<RecvSlot<T>>> for Claimed<T> {
    fn from(w: Waiter<RecvSlot<T>>) -> Self {
        Claimed::Recv(w.entry)
    }
}

impl<T> From<Waiter<SendSlot<T>>> for Claimed<T> {
    fn from(w: Waiter<SendSlot<T>>) -> Self {
        Claimed::Send(w.entry)
    }
}

pub(crate) struct State<T> {
    /// Values put back (`put_back`), which come before the buffer's (the buffer stays
    /// frozen while there are any).
    buf: VecDeque<T>,
    closed: bool,
    /// Receivers gone: sends fail at once.
    disconnected: bool,
    /// Buffer places promised to chosen deferred sends (`Select::send`).
    reserved: usize,
    recvq: VecDeque<Waiter<RecvSlot<T>>>,
    sendq: VecDeque<Waiter<SendSlot<T>>>,
    /// Deferred sends (`Select::send`) in `sendq`, stale ones included: while there
    /// are none, `nudge_senders` has nothing to look for and skips the scan.
    deferred_sends: usize,
    /// Run once when the last receiver goes (a timer channel cancels its timer).
    on_disconnect: Option<Box<dyn FnOnce() + Send>>,
}

/// Waiters to notify once the lock is released.
pub(crate) struct Wakes<T> {
    /// The usual case: one claimed waiter (no allocation).
    claimed: Option<Claimed<T>>,
    /// The rest, after a close or for deferred sends: `true` to nudge, not notify.
    more: Vec<(Claimed<T>, bool)>,
}

impl<T> Default for Wakes<T> {
    fn default() -> Self {
        Wakes {
            claimed: None,
            more: Vec::new(),
        }
    }
}

impl<T> Wakes<T> {
    fn claimed(&mut self, w: impl Into<Claimed<T>>) {
        match self.claimed {
            None => self.claimed = Some(w.into()),
            Some(_) => self.more.push((w.into(), false)),
        }
    }

    fn nudged(&mut self, w: impl Into<Claimed<T>>) {
        self.more.push((w.into(), true));
    }

    #[inline]
    fn run(&mut self) {
        if let Some(w) = self.claimed.take() {
            w.token().notify();
        }
        if !self.more.is_empty() {
            self.run_more();
        }
    }

    #[cold]
    fn run_more(&mut self) {
        for (w, nudge) in std::mem::take(&mut self.more) {
            if nudge {
                w.token().nudge();
            } else {
                w.token().notify();
            }
        }
    }
}

/// The lock guard, taken out first when a `Locked` drops so that wakes run unlocked.
struct Guard<'a, T>(Option<MutexGuard<'a, State<T>>>);

impl<T> std::ops::Deref for Guard<'_, T> {
    type Target = State<T>;
    fn deref(&self) -> &State<T> {
        self.0.as_ref().expect("held until drop")
    }
}

impl<T> std::ops::DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut State<T> {
        self.0.as_mut().expect("held until drop")
    }
}

/// A locked channel: the operations of the protocol.
pub(crate) struct Locked<'a, T> {
    chan: &'a Chan<T>,
    s: Guard<'a, T>,
    changed: bool,
    pub(crate) wakes: Wakes<T>,
}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize, never: bool) -> Chan<T> {
        let buffer = (!never && cap != 0).then(|| Buffer::new(cap));
        Chan {
            state: Mutex::new(State {
                buf: VecDeque::new(),
                closed: false,
                disconnected: false,
                reserved: 0,
                recvq: VecDeque::new(),
                sendq: VecDeque::new(),
                deferred_sends: 0,
                on_disconnect: None,
            }),
            buffer,
            version: AtomicU64::new(0),
            cap,
            never,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            spare_recv: Spare::new(),
            spare_send: Spare::new(),
        }
    }

    /// Done with `entry`: its memory is kept for the next one if nobody else holds it.
    pub(crate) fn release_recv_entry(&self, entry: Arc<Entry<RecvSlot<T>>>) {
        self.spare_recv
            .keep(entry, || Entry::spent(RecvSlot::new()));
    }

    pub(crate) fn release_send_entry(&self, entry: Arc<Entry<SendSlot<T>>>) {
        self.spare_send
            .keep(entry, || Entry::spent(SendSlot::deferred()));
    }

    pub(crate) fn lock(&self) -> Locked<'_, T> {
        let s = Guard(Some(self.state.lock()));
        if let Some(buffer) = &self.buffer {
            buffer.freeze();
        }
        Locked {
            chan: self,
            s,
            changed: false,
            wakes: Wakes::default(),
        }
    }

    /// The version now (invariant 4). An open buffer's positions are read first: a
    /// hold of the lock that changed something bumped the counter before it thawed
    /// the buffer, so positions read open come with every bump before them.
    pub(crate) fn version(&self) -> u64 {
        if let Some(sum) = self.buffer.as_ref().and_then(Buffer::open_positions) {
            // Acquire: pairs with the bump's Release store in `Locked::drop`.
            return self.version.load(Acquire).wrapping_add(sum as u64);
        }
        self.lock().version()
    }

    /// Sends without the lock if the buffer is open and has room; else the value comes
    /// back, for the locked protocol.
    #[inline]
    pub(crate) fn try_send_open(&self, value: T) -> Result<(), T> {
        match &self.buffer {
            Some(buffer) => buffer.push_open(value),
            None => Err(value),
        }
    }

    /// Receives without the lock if the buffer is open. `Err(Some(version))`: open and
    /// empty, so not ready (the version read before the look, so that anything after
    /// it moves the version); `Err(None)`: ask under the lock. `verdict: false` when
    /// "empty" may be a hint: `Err(Some(0))` then, read without a fence.
    #[inline]
    pub(crate) fn try_recv_open(&self, verdict: bool) -> Result<T, Option<u64>> {
        let Some(buffer) = &self.buffer else {
            return Err(None);
        };
        // Acquire: pairs with the bump's Release store, as in `version`.
        let before = if verdict {
            self.version.load(Acquire)
        } else {
            0
        };
        match buffer.pop_open(verdict) {
            Popped::Value(v) => Ok(v),
            Popped::Empty(sum) => Err(Some(before.wrapping_add(sum as u64))),
            Popped::AskLock => Err(None),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().buf_len()
    }

    pub(crate) fn id(&self) -> usize {
        self as *const Chan<T> as usize
    }

    pub(crate) fn is_closed(&self) -> bool {
        let s = self.state.lock();
        s.closed || s.disconnected
    }
}

impl<T> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        if self.changed {
            // Relaxed load: only lock holders write it. Release store: pairs with the
            // Acquire loads of lock-free version reads (`Chan::version`).
            let v = self.chan.version.load(Relaxed);
            self.chan.version.store(v.wrapping_add(1), Release);
        }
        if let Some(buffer) = &self.chan.buffer {
            let s = &*self.s;
            let open = !s.closed
                && !s.disconnected
                && s.reserved == 0
                && s.buf.is_empty()
                && s.recvq.is_empty()
                && s.sendq.is_empty();
            if open {
                buffer.thaw();
            }
        }
        // Wakes run after the unlock: the woken side's first act is to lock again.
        drop(self.s.0.take());
        self.wakes.run();
    }
}

fn pop_claimable<S>(q: &mut VecDeque<Waiter<S>>, own: Option<&Token>) -> Option<Waiter<S>> {
    // Stale entries at the front are dropped (invariant 3); our own are skipped.
    let mut i = 0;
    while i < q.len() {
        let w = &q[i];
        if w.is(own) {
            i += 1;
            continue;
        }
        let w = remove_at(q, i);
        if w.token().try_claim(w.case) {
            return Some(w);
        }
    }
    None
}

/// `VecDeque::remove`, with the usual case (the front) made cheap.
fn remove_at<S>(q: &mut VecDeque<S>, i: usize) -> S {
    let w = if i == 0 { q.pop_front() } else { q.remove(i) };
    w.expect("index in range")
}

fn has_claimable<S>(q: &VecDeque<Waiter<S>>, own: Option<&Token>) -> bool {
    q.iter().any(|w| w.token().is_waiting() && !w.is(own))
}

impl<T> Locked<'_, T> {
    fn touch(&mut self) {
        self.changed = true;
    }

    /// `entry`, allocated anew or in a kept entry's memory. Under the lock, so that
    /// takers of the kept memory never race (spare.rs, `entry_under_lock`).
    pub(crate) fn recv_entry(&self, entry: Entry<RecvSlot<T>>) -> Arc<Entry<RecvSlot<T>>> {
        self.chan.spare_recv.entry_under_lock(entry)
    }

    pub(crate) fn send_entry(&self, entry: Entry<SendSlot<T>>) -> Arc<Entry<SendSlot<T>>> {
        self.chan.spare_send.entry_under_lock(entry)
    }

    /// The version as of this lock (invariant 4).
    pub(crate) fn version(&self) -> u64 {
        // Relaxed: written only under the lock we hold.
        let v = self.chan.version.load(Relaxed);
        match &self.chan.buffer {
            Some(buffer) => v.wrapping_add(buffer.frozen_sum() as u64),
            None => v,
        }
    }

    /// Values buffered: put back ones and the buffer's.
    pub(crate) fn buf_len(&self) -> usize {
        self.s.buf.len() + self.chan.buffer.as_ref().map_or(0, Buffer::len)
    }

    fn buf_push(&mut self, value: T) {
        match &self.chan.buffer {
            Some(buffer) => buffer.push_frozen(value),
            // Only a buffered channel has room.
            None => unreachable!("a push into an unbuffered channel's buffer"),
        }
    }

    fn buf_pop(&mut self) -> Option<T> {
        match self.s.buf.pop_front() {
            Some(v) => Some(v),
            None => self.chan.buffer.as_ref().and_then(Buffer::pop_frozen),
        }
    }

    fn room(&self) -> bool {
        self.chan.cap == usize::MAX || self.buf_len() + self.s.reserved < self.chan.cap
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.s.closed || self.s.disconnected
    }

    /// Would a send complete (or fail) now? `own`: entries to ignore (our select's).
    pub(crate) fn send_ready(&self, own: Option<&Token>) -> bool {
        if self.chan.never {
            return false;
        }
        self.is_closed() || self.room() || has_claimable(&self.s.recvq, own)
    }

    /// Would a receive complete now?
    pub(crate) fn recv_ready(&self, own: Option<&Token>) -> bool {
        if self.chan.never {
            return false;
        }
        self.buf_len() != 0 || self.s.closed || has_claimable_send(&self.s.sendq, own)
    }

    /// Sends now if it can: to a waiting receiver, else into the buffer.
    pub(crate) fn try_send(
        &mut self,
        value: T,
        own: Option<&Token>,
    ) -> Result<(), TrySendError<T>> {
        if self.chan.never {
            return Err(TrySendError::Full(value));
        }
        if self.is_closed() {
            return Err(TrySendError::Closed(value));
        }
        let mut value = value;
        while let Some(r) = pop_claimable(&mut self.s.recvq, own) {
            self.touch();
            match r.slot().put(Some(value)) {
                Ok(()) => {
                    self.wakes.claimed(r);
                    return Ok(());
                }
                // Claimed earlier by a deferred send, then abandoned: next one.
                Err(v) => value = v.expect("put Some gives Some back"),
            }
        }
        if self.room() {
            self.touch();
            self.buf_push(value);
            return Ok(());
        }
        Err(TrySendError::Full(value))
    }

    /// Fills a place reserved by `reserve_send` (a chosen deferred send).
    pub(crate) fn send_reserved(
        &mut self,
        r: Reservation<T>,
        value: T,
    ) -> Result<(), TrySendError<T>> {
        match r {
            Reservation::Buffer => {
                if self.chan.cap != usize::MAX {
                    self.s.reserved -= 1;
                }
                self.try_send(value, None)
            }
            Reservation::Receiver(w) => match w.slot().put(Some(value)) {
                Ok(()) => {
                    self.touch();
                    self.wakes.claimed(w);
                    Ok(())
                }
                // The receiver left after we chose it: an ordinary send now.
                Err(v) => self.try_send(v.expect("put Some gives Some back"), None),
            },
            Reservation::Closed => Err(TrySendError::Closed(value)),
        }
    }

    /// Chooses a deferred send: reserves a buffer place, or claims a waiting receiver
    /// (returned, to be given the value later). `None` when not ready.
    pub(crate) fn reserve_send(&mut self, own: Option<&Token>) -> Option<Reservation<T>> {
        if self.chan.never {
            return None;
        }
        if self.is_closed() {
            return Some(Reservation::Closed);
        }
        if let Some(r) = pop_claimable(&mut self.s.recvq, own) {
            self.touch();
            return Some(Reservation::Receiver(r));
        }
        if self.room() {
            self.touch();
            if self.chan.cap != usize::MAX {
                self.s.reserved += 1;
            }
            return Some(Reservation::Buffer);
        }
        None
    }

    /// Gives back an unused reservation.
    pub(crate) fn release(&mut self, r: Reservation<T>) {
        self.touch();
        match r {
            Reservation::Buffer if self.chan.cap != usize::MAX => {
                self.s.reserved -= 1;
                self.nudge_senders();
            }
            Reservation::Receiver(w) => {
                // Its select is committed to this case but gets no value: it selects
                // again (nothing moved, so nothing is lost or duplicated).
                w.slot().retry();
                self.wakes.claimed(w);
            }
            _ => {}
        }
    }

    /// Receives now if it can. `Ok(None)`: closed and drained.
    pub(crate) fn try_recv(&mut self, own: Option<&Token>) -> Result<Option<T>, ()> {
        if self.chan.never {
            return Err(());
        }
        if let Some(v) = self.buf_pop() {
            self.touch();
            if !self.s.sendq.is_empty() {
                self.refill_from_sender();
                self.nudge_senders();
            }
            return Ok(Some(v));
        }
        while let Some(w) = pop_claimable_send(&mut self.s.sendq, own) {
            self.touch();
            match w.slot().take() {
                Some(v) => {
                    self.wakes.claimed(w);
                    return Ok(Some(v));
                }
                None => {
                    // A deferred send: it was nudged, not claimed (see pop_claimable_send).
                    continue;
                }
            }
        }
        if self.s.closed {
            return Ok(None);
        }
        Err(())
    }

    /// Invariant 1: a receive made room; a blocked sender's value moves in.
    fn refill_from_sender(&mut self) {
        if !self.room() {
            return;
        }
        while let Some(w) = pop_claimable_send(&mut self.s.sendq, None) {
            if let Some(v) = w.slot().take() {
                self.buf_push(v);
                self.wakes.claimed(w);
                return;
            }
        }
    }

    /// Deferred senders (`Select::send` waiting) are woken to look again.
    fn nudge_senders(&mut self) {
        let s = &mut *self.s;
        if s.deferred_sends == 0 {
            return;
        }
        s.sendq.retain(|w| {
            if w.slot().is_deferred() && w.token().is_waiting() {
                s.deferred_sends -= 1;
                self.wakes.nudged(Claimed::Send(w.entry.clone()));
                false
            } else {
                true
            }
        });
    }

    pub(crate) fn push_recv_waiter(&mut self, w: Waiter<RecvSlot<T>>) {
        self.touch();
        self.s.recvq.push_back(w);
        // A waiting receiver makes an unbuffered send possible.
        if self.chan.cap == 0 {
            self.nudge_senders();
        }
    }

    pub(crate) fn push_send_waiter(&mut self, w: Waiter<SendSlot<T>>) {
        self.touch();
        if w.slot().is_deferred() {
            self.s.deferred_sends += 1;
        }
        self.s.sendq.push_back(w);
    }

    pub(crate) fn remove_waiters(&mut self, token: &Token) {
        let before = self.s.recvq.len() + self.s.sendq.len();
        let s = &mut *self.s;
        s.recvq.retain(|w| !w.is(Some(token)));
        s.sendq.retain(|w| {
            let ours = w.is(Some(token));
            if ours && w.slot().is_deferred() {
                s.deferred_sends -= 1;
            }
            !ours
        });
        if self.s.recvq.len() + self.s.sendq.len() != before {
            self.touch();
        }
    }

    /// A value taken by a receive that was then dropped goes back to the front, as if
    /// never taken (or to a waiting receiver). Dropped if no receiver can take it.
    pub(crate) fn put_back(&mut self, value: T) {
        self.touch();
        if self.s.disconnected {
            return;
        }
        let mut value = value;
        while let Some(r) = pop_claimable(&mut self.s.recvq, None) {
            match r.slot().put(Some(value)) {
                Ok(()) => {
                    self.wakes.claimed(r);
                    return;
                }
                Err(v) => value = v.expect("put Some gives Some back"),
            }
        }
        self.s.buf.push_front(value);
    }

    /// Closes: every waiter is woken; receivers drain the buffer, then see `None`.
    pub(crate) fn close(&mut self) {
        if self.s.closed {
            return;
        }
        self.touch();
        self.s.closed = true;
        self.fail_waiters(true);
    }

    /// The last receiver is gone: sends fail from now on, blocked ones at once.
    /// Returns what the caller must drop (or run) after unlocking.
    pub(crate) fn disconnect_receivers(&mut self) -> Disconnected<T> {
        self.touch();
        self.s.disconnected = true;
        self.fail_waiters(false);
        let mut buffered = std::mem::take(&mut self.s.buf);
        if let Some(buffer) = &self.chan.buffer {
            buffered.extend(std::iter::from_fn(|| buffer.pop_frozen()));
        }
        Disconnected {
            _buffered: buffered,
            hook: self.s.on_disconnect.take(),
        }
    }

    /// Sets the hook run when the last receiver goes; runs it at once (returned) if
    /// they are gone already.
    pub(crate) fn on_disconnect(
        &mut self,
        hook: Box<dyn FnOnce() + Send>,
    ) -> Option<Box<dyn FnOnce() + Send>> {
        if self.s.disconnected {
            return Some(hook);
        }
        self.s.on_disconnect = Some(hook);
        None
    }

    fn fail_waiters(&mut self, receivers_too: bool) {
        self.s.deferred_sends = 0;
        for w in std::mem::take(&mut self.s.sendq) {
            if w.slot().is_deferred() {
                // A send would fail now: "ready". Its owner looks again and sees it.
                if w.token().is_waiting() {
                    self.wakes.nudged(w);
                }
            } else if w.token().try_claim(w.case) {
                w.slot().fail();
                self.wakes.claimed(w);
            }
        }
        if receivers_too {
            for w in std::mem::take(&mut self.s.recvq) {
                if w.token().try_claim(w.case) {
                    // An abandoned slot refuses; nothing to deliver either way.
                    let _ = w.slot().put(None);
                    self.wakes.claimed(w);
                }
            }
        }
    }
}

/// A deferred send (no value yet) is never claimed by a receiver: it is nudged, and
/// its owner chooses it by reserving (`reserve_send`).
fn pop_claimable_send<T>(
    q: &mut VecDeque<Waiter<SendSlot<T>>>,
    own: Option<&Token>,
) -> Option<Waiter<SendSlot<T>>> {
    let mut i = 0;
    while i < q.len() {
        let w = &q[i];
        if w.slot().is_deferred() || w.is(own) {
            i += 1;
            continue;
        }
        let w = remove_at(q, i);
        if w.token().try_claim(w.case) {
            return Some(w);
        }
    }
    None
}

fn has_claimable_send<T>(q: &VecDeque<Waiter<SendSlot<T>>>, own: Option<&Token>) -> bool {
    q.iter()
        .any(|w| !w.slot().is_deferred() && w.token().is_waiting() && !w.is(own))
}

/// Left over by the last receiver: dropped (and the hook run) outside the lock.
pub(crate) struct Disconnected<T> {
    _buffered: VecDeque<T>,
    hook: Option<Box<dyn FnOnce() + Send>>,
}

impl<T> Drop for Disconnected<T> {
    fn drop(&mut self) {
        if let Some(hook) = self.hook.take() {
            hook();
        }
    }
}

/// What a chosen deferred send holds until its value is given.
pub(crate) enum Reservation<T> {
    Buffer,
    Receiver(Waiter<RecvSlot<T>>),
    Closed,
}
