//! `Select`: a select over a number of cases known only at run time, in
//! crossbeam-channel's shape, async and blocking.
//!
//! A send case is chosen without its value (`op.send(&tx, v)` gives it): choosing it
//! reserves a buffer place, or commits a waiting receiver, which `op.send` then fills.
//!
//! Known gap (left for a later change): while a `Select` waits with a send case on an
//! unbuffered channel, that case has no value to hand over, so a *non-blocking*
//! receive (`try_recv`, or `select!` with `default`) does not see it as a waiting
//! sender, where Go's would pair with it. A blocking or async receive pairs with it
//! normally (the waiting `Select` is nudged and commits the receiver). crossbeam
//! closes the gap by having the receiver spin until the value comes; under an M:N
//! scheduler that can spin on the very thread the sender needs.
//! An operation chosen but never completed gives its reservation back when dropped
//! (a committed receiver selects again), and a received value goes back to its
//! channel: nothing is lost either way.

use crate::case::{Case, DeferredSendCase, RecvCase};
use crate::select::Engine;
use crate::{coop, Receiver, SelectTimeoutError, SendError, Sender, TrySelectError, TrySendError};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

trait DynCase: Case {
    fn chan_id(&self) -> usize;
    fn take_recv(&mut self) -> Option<Box<dyn Any>>;
    fn send_any(&mut self, value: Box<dyn Any>) -> Result<(), Box<dyn Any>>;
    fn reset(&mut self);
}

struct RecvDyn<'a, T> {
    case: RecvCase<'a, T>,
    id: usize,
}

struct SendDyn<'a, T> {
    case: DeferredSendCase<'a, T>,
    id: usize,
}

macro_rules! forward_case {
    () => {
        fn try_now(&mut self, verdict: bool) -> Result<(), u64> {
            self.case.try_now(verdict)
        }
        fn version(&self) -> u64 {
            self.case.version()
        }
        fn register(
            &mut self,
            token: &crate::loom::Arc<crate::token::Token>,
            index: usize,
        ) -> bool {
            self.case.register(token, index)
        }
        fn unregister(&mut self, token: &crate::loom::Arc<crate::token::Token>) {
            self.case.unregister(token)
        }
        fn withdraw(&mut self) {
            self.case.withdraw()
        }
        fn collect(&mut self) -> crate::case::Collected {
            self.case.collect()
        }
        fn abandon(&mut self) {
            self.case.abandon()
        }
        fn choose(&mut self) {
            self.case.choose()
        }
    };
}

impl<T> Case for RecvDyn<'_, T> {
    forward_case!();
}

impl<T> Case for SendDyn<'_, T> {
    forward_case!();
}

impl<T: 'static> DynCase for RecvDyn<'_, T> {
    fn chan_id(&self) -> usize {
        self.id
    }
    fn take_recv(&mut self) -> Option<Box<dyn Any>> {
        self.case
            .try_take_output()
            .map(|v| Box::new(v) as Box<dyn Any>)
    }
    fn send_any(&mut self, value: Box<dyn Any>) -> Result<(), Box<dyn Any>> {
        Err(value)
    }
    fn reset(&mut self) {
        self.case.abandon();
        self.case.reset();
    }
}

impl<T: 'static> DynCase for SendDyn<'_, T> {
    fn chan_id(&self) -> usize {
        self.id
    }
    fn take_recv(&mut self) -> Option<Box<dyn Any>> {
        None
    }
    fn send_any(&mut self, value: Box<dyn Any>) -> Result<(), Box<dyn Any>> {
        let value = *value.downcast::<T>()?;
        let res = match self.case.send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(v)) => Err(SendError(v)),
            // A committed receiver left between choice and value: wait for another,
            // as an ordinary blocking send would.
            Err(TrySendError::Full(v)) => self.case.send_blocking_fallback(v),
        };
        res.map_err(|e| Box::new(e) as Box<dyn Any>)
    }
    fn reset(&mut self) {
        self.case.abandon();
    }
}

/// A select whose cases are added at run time.
///
/// ```
/// use gort_channels::{bounded, Select};
/// let (tx1, rx1) = bounded::<i32>(1);
/// let (_tx2, rx2) = bounded::<i32>(1);
/// tx1.send_blocking(5).unwrap();
/// let mut sel = Select::new();
/// let a = sel.recv(&rx1);
/// let _b = sel.recv(&rx2);
/// let op = sel.select_blocking();
/// assert_eq!(op.index(), a);
/// assert_eq!(op.recv(&rx1), Some(5));
/// ```
#[derive(Default)]
pub struct Select<'a> {
    cases: Vec<Box<dyn DynCase + Send + 'a>>,
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .finish()
    }
}

impl<'a> Select<'a> {
    /// An empty select.
    pub fn new() -> Select<'a> {
        Select { cases: Vec::new() }
    }

    /// Adds a receive case; returns its index (cases are numbered in the order added).
    pub fn recv<T: Send + 'static>(&mut self, rx: &'a Receiver<T>) -> usize {
        self.cases.push(Box::new(RecvDyn {
            case: RecvCase::new(rx),
            id: rx.chan().id(),
        }));
        self.cases.len() - 1
    }

    /// Adds a send case; the value is given with `SelectedOperation::send` once the
    /// case is chosen.
    pub fn send<T: Send + 'static>(&mut self, tx: &'a Sender<T>) -> usize {
        self.cases.push(Box::new(SendDyn {
            case: DeferredSendCase::new(tx.chan()),
            id: tx.chan().id(),
        }));
        self.cases.len() - 1
    }

    fn reset(&mut self) {
        self.cases.iter_mut().for_each(|c| c.reset());
    }

    fn run(&mut self, has_default: bool, deadline: Option<Instant>) -> Option<Option<usize>> {
        self.reset();
        let mut engine = Engine::new(has_default);
        let mut refs: Vec<&mut (dyn Case + Send)> = self
            .cases
            .iter_mut()
            .map(|c| &mut **c as &mut (dyn Case + Send))
            .collect();
        engine.block(&mut refs, deadline).ok()
    }

    /// Waits (blocking the thread) until a case is chosen.
    pub fn select_blocking(&mut self) -> SelectedOperation<'_, 'a> {
        let i = self
            .run(false, None)
            .flatten()
            .expect("a blocking select without a deadline returns a case");
        SelectedOperation::new(self, i)
    }

    /// Chooses a case ready now, if any (readiness judged at one instant).
    pub fn try_select(&mut self) -> Result<SelectedOperation<'_, 'a>, TrySelectError> {
        match self.run(true, None).flatten() {
            Some(i) => Ok(SelectedOperation::new(self, i)),
            None => Err(TrySelectError),
        }
    }

    /// Waits (blocking the thread) at most `timeout` for a case.
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<SelectedOperation<'_, 'a>, SelectTimeoutError> {
        let deadline = Instant::now().checked_add(timeout);
        match self.run(false, deadline).flatten() {
            Some(i) => Ok(SelectedOperation::new(self, i)),
            None => Err(SelectTimeoutError),
        }
    }

    /// Waits (asynchronously) until a case is chosen.
    pub fn select(&mut self) -> SelectFuture<'_, 'a> {
        self.reset();
        SelectFuture {
            sel: Some(self),
            engine: Engine::new(false),
            proceeded: false,
        }
    }
}

/// The future of [`Select::select`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SelectFuture<'s, 'a> {
    sel: Option<&'s mut Select<'a>>,
    engine: Engine,
    proceeded: bool,
}

impl fmt::Debug for SelectFuture<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectFuture").finish_non_exhaustive()
    }
}

impl<'s, 'a> Future for SelectFuture<'s, 'a> {
    type Output = SelectedOperation<'s, 'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if !this.proceeded {
            std::task::ready!(coop::poll_proceed(cx));
            this.proceeded = true;
        }
        let sel = this
            .sel
            .as_mut()
            .expect("SelectFuture polled after completion");
        let mut refs: Vec<&mut (dyn Case + Send)> = sel
            .cases
            .iter_mut()
            .map(|c| &mut **c as &mut (dyn Case + Send))
            .collect();
        let first = !this.engine.has_waited();
        let r = std::task::ready!(this.engine.poll(&mut refs, cx.waker()));
        drop(refs);
        if first {
            coop::spend();
        }
        let i = r.expect("a select without default returns a case");
        Poll::Ready(SelectedOperation::new(
            this.sel.take().expect("checked above"),
            i,
        ))
    }
}

impl Drop for SelectFuture<'_, '_> {
    fn drop(&mut self) {
        if let Some(sel) = self.sel.take() {
            let mut refs: Vec<&mut (dyn Case + Send)> = sel
                .cases
                .iter_mut()
                .map(|c| &mut **c as &mut (dyn Case + Send))
                .collect();
            self.engine.cancel(&mut refs);
        }
    }
}

/// The case a [`Select`] chose. Complete it with `recv` or `send` on the same
/// channel; dropping it instead puts a received value back / frees the reservation.
#[must_use = "complete the chosen operation with recv or send"]
pub struct SelectedOperation<'s, 'a> {
    sel: &'s mut Select<'a>,
    index: usize,
}

impl fmt::Debug for SelectedOperation<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectedOperation")
            .field("index", &self.index)
            .finish()
    }
}

impl<'s, 'a> SelectedOperation<'s, 'a> {
    fn new(sel: &'s mut Select<'a>, index: usize) -> Self {
        SelectedOperation { sel, index }
    }

    /// The chosen case's index.
    pub fn index(&self) -> usize {
        self.index
    }

    fn case(&mut self, id: usize, what: &str) -> &mut Box<dyn DynCase + Send + 'a> {
        let case = &mut self.sel.cases[self.index];
        assert!(
            case.chan_id() == id,
            "SelectedOperation::{what} called with a different channel than the chosen case's"
        );
        case
    }

    /// Completes a chosen receive case: the value, or `None` if closed and drained.
    ///
    /// # Panics
    /// If `rx` is not the chosen case's channel, or the case is a send.
    pub fn recv<T: 'static>(mut self, rx: &Receiver<T>) -> Option<T> {
        let v = self.case(rx.chan().id(), "recv").take_recv();
        let v = v.expect("SelectedOperation::recv called on a send case");
        *v.downcast::<Option<T>>()
            .expect("the chosen case has this channel's type")
    }

    /// Completes a chosen send case with `value`.
    ///
    /// # Panics
    /// If `tx` is not the chosen case's channel, or the case is a receive.
    pub fn send<T: 'static>(mut self, tx: &Sender<T>, value: T) -> Result<(), SendError<T>> {
        let case = self.case(tx.chan().id(), "send");
        match case.send_any(Box::new(value)) {
            Ok(()) => Ok(()),
            Err(e) => match e.downcast::<SendError<T>>() {
                Ok(e) => Err(*e),
                Err(_) => panic!("SelectedOperation::send called on a receive case"),
            },
        }
    }
}

impl Drop for SelectedOperation<'_, '_> {
    fn drop(&mut self) {
        self.sel.cases[self.index].reset();
    }
}
