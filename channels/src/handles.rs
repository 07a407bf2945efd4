//! `Sender` and `Receiver`: the two ends, their constructors, and every operation
//! (async, non-blocking, blocking), each a lone case (`lone.rs`).

use crate::case::{RecvCase, RecvParts, SendCase};
use crate::chan::Chan;
use crate::lone::Lone;
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;
use crate::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The queries both ends answer alike.
macro_rules! end_common {
    ($end:ident) => {
        /// True once closed (or, for a sender, once every receiver is gone; for a
        /// receiver, once every sender is).
        pub fn is_closed(&self) -> bool {
            self.chan.is_closed()
        }

        /// Values buffered now.
        pub fn len(&self) -> usize {
            self.chan.len()
        }

        /// True when nothing is buffered.
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }

        /// `Some(n)` for `bounded(n)`, `None` for unbounded.
        pub fn capacity(&self) -> Option<usize> {
            (self.chan.cap != usize::MAX).then_some(self.chan.cap)
        }

        /// True when both ends are of the same channel.
        pub fn same_channel(&self, other: &$end<T>) -> bool {
            Arc::ptr_eq(&self.chan, &other.chan)
        }
    };
}

/// The sending end of a channel. Clone it for more senders; when the last one is
/// dropped the channel closes.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving end of a channel. Clone it for more receivers (each value goes to
/// one of them); when the last one is dropped, sends fail.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
    stream: Option<Box<StreamState<T>>>,
}

/// A channel with a buffer of `cap` values; `cap == 0` is unbuffered (Go's `make(chan
/// T)`): a send completes only when a receiver takes the value.
///
/// ```
/// let (tx, rx) = gort_channels::bounded(1);
/// tx.send_blocking(1).unwrap();
/// assert_eq!(rx.recv_blocking(), Some(1));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    make(Chan::new(cap, false))
}

/// A channel whose buffer grows as needed: sends never wait.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    make(Chan::new(usize::MAX, false))
}

/// A receiver that is never ready (Go's nil channel): a `recv` on it waits forever,
/// and a select case on it is never chosen.
pub fn never<T>() -> Receiver<T> {
    // No Sender exists, so nothing ever closes it.
    let chan = Chan::new(0, true);
    chan.senders.store(0, Relaxed);
    Receiver {
        chan: Arc::new(chan),
        stream: None,
    }
}

fn make<T>(chan: Chan<T>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(chan);
    (
        Sender { chan: chan.clone() },
        Receiver { chan, stream: None },
    )
}

impl<T> Sender<T> {
    pub(crate) fn chan(&self) -> &Chan<T> {
        &self.chan
    }

    /// Sends `value`, waiting for room (or, unbuffered, for a receiver to take it).
    /// `Err` gives the value back when the channel is closed or has no receivers.
    /// Dropping the future before it completes sends nothing.
    pub fn send(&self, value: T) -> SendFut<'_, T> {
        SendFut {
            case: SendCase::new(self, value),
            lone: Lone::default(),
        }
    }

    /// Sends only if it can at once.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.chan.try_send_open(value) {
            Ok(()) => Ok(()),
            Err(value) => self.chan.lock().try_send(value, None),
        }
    }

    /// Sends from a plain thread, blocking it while it waits.
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        let mut case = SendCase::new(self, value);
        let _ = Lone::default().block(&mut case, None);
        case.into_output()
    }

    /// `send_blocking` that gives up at `timeout`.
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let mut case = SendCase::new(self, value);
        let deadline = Instant::now().checked_add(timeout);
        match Lone::default().block(&mut case, deadline) {
            Ok(()) => case
                .into_output()
                .map_err(|e| SendTimeoutError::Closed(e.0)),
            Err(()) => Err(SendTimeoutError::Timeout(case.into_value())),
        }
    }

    /// Closes the channel: blocked senders get their values back in `Err`, receivers
    /// drain what is buffered and then get `None`. Closing twice is harmless.
    pub fn close(&self) {
        self.chan.lock().close();
    }

    end_common!(Sender);

    /// Runs `hook` once when the last receiver is dropped (at once if that already
    /// happened). For channels fed by something that must stop when nobody listens,
    /// such as a timer.
    pub fn on_receivers_dropped(&self, hook: impl FnOnce() + Send + 'static) {
        let run_now = self.chan.lock().on_disconnect(Box::new(hook));
        if let Some(hook) = run_now {
            hook();
        }
    }
}

impl<T> Receiver<T> {
    pub(crate) fn chan(&self) -> &Chan<T> {
        &self.chan
    }

    /// Receives a value, waiting for one. `None` once the channel is closed and
    /// drained. Dropping the future before it completes loses no value.
    pub fn recv(&self) -> RecvFut<'_, T> {
        RecvFut {
            case: RecvCase::new(self),
            lone: Lone::default(),
        }
    }

    /// Receives only if a value is there at once.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.chan.try_recv_open(true) {
            Ok(v) => return Ok(v),
            // Open: nobody closed it.
            Err(Some(_)) => return Err(TryRecvError::Empty),
            Err(None) => {}
        }
        match self.chan.lock().try_recv(None) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(TryRecvError::Closed),
            Err(()) => Err(TryRecvError::Empty),
        }
    }

    /// Receives on a plain thread, blocking it while it waits.
    pub fn recv_blocking(&self) -> Option<T> {
        let mut case = RecvCase::new(self);
        let _ = Lone::default().block(&mut case, None);
        case.into_output()
    }

    /// `recv_blocking` that gives up at `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let mut case = RecvCase::new(self);
        let deadline = Instant::now().checked_add(timeout);
        match Lone::default().block(&mut case, deadline) {
            Ok(()) => case.into_output().ok_or(RecvTimeoutError::Closed),
            Err(()) => Err(RecvTimeoutError::Timeout),
        }
    }

    /// A blocking iterator: each `next` is a `recv_blocking`, until closed and drained.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values available now, without waiting.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    end_common!(Receiver);
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        // Relaxed: a new handle is made from a live one (as `Arc::clone`).
        self.chan.senders.fetch_add(1, Relaxed);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.receivers.fetch_add(1, Relaxed);
        Receiver {
            chan: self.chan.clone(),
            stream: None,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // AcqRel: the last dropper must see every other handle's use (as `Arc`).
        if self.chan.senders.fetch_sub(1, AcqRel) == 1 {
            self.chan.lock().close();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(mut st) = self.stream.take() {
            let mut case = RecvCase::from_parts(&self.chan, st.parts);
            st.lone.cancel(&mut case);
        }
        if self.chan.receivers.fetch_sub(1, AcqRel) == 1 {
            let buffered = self.chan.lock().disconnect_receivers();
            drop(buffered); // outside the lock: destructors may do anything
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Sender::send`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SendFut<'a, T> {
    case: SendCase<'a, T>,
    lone: Lone,
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RecvFut<'a, T> {
    case: RecvCase<'a, T>,
    lone: Lone,
}

// Neither future holds self-references: the case and its state are plain data.
impl<T> Unpin for SendFut<'_, T> {}
impl<T> Unpin for RecvFut<'_, T> {}

impl<T> Future for SendFut<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        std::task::ready!(this.lone.poll(&mut this.case, cx));
        Poll::Ready(this.case.take_output())
    }
}

impl<T> Future for RecvFut<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        std::task::ready!(this.lone.poll(&mut this.case, cx));
        Poll::Ready(this.case.take_output())
    }
}

impl<T> Drop for SendFut<'_, T> {
    fn drop(&mut self) {
        self.lone.cancel(&mut self.case);
    }
}

impl<T> Drop for RecvFut<'_, T> {
    fn drop(&mut self) {
        self.lone.cancel(&mut self.case);
    }
}

impl<T> fmt::Debug for SendFut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFut").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for RecvFut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFut").finish_non_exhaustive()
    }
}

/// A `Receiver`'s pending `poll_next`, kept between polls.
struct StreamState<T> {
    parts: RecvParts<T>,
    lone: Lone,
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        // State is boxed only while a receive waits: a ready one allocates nothing.
        let (parts, mut lone) = match this.stream.as_mut() {
            Some(st) => (std::mem::take(&mut st.parts), std::mem::take(&mut st.lone)),
            None => (RecvParts::default(), Lone::default()),
        };
        let mut case = RecvCase::from_parts(&this.chan, parts);
        match lone.poll(&mut case, cx) {
            Poll::Ready(()) => {
                this.stream = None;
                Poll::Ready(case.into_output())
            }
            Poll::Pending => {
                let parts = case.into_parts();
                match this.stream.as_mut() {
                    Some(st) => {
                        st.parts = parts;
                        st.lone = lone;
                    }
                    None => this.stream = Some(Box::new(StreamState { parts, lone })),
                }
                Poll::Pending
            }
        }
    }
}

/// The blocking iterator of [`Receiver::iter`].
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking()
    }
}

/// The non-blocking iterator of [`Receiver::try_iter`].
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// A blocking iterator that owns its receiver.
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("rx", self.rx).finish()
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryIter").field("rx", self.rx).finish()
    }
}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter").field("rx", &self.rx).finish()
    }
}
