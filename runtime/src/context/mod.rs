//! Go's `context`: cancellation, deadlines and request-scoped values, as a tree.
//!
//! A [`Context`] is an immutable layer over its parent: a cancel layer
//! (`with_cancel`, `with_cancel_cause`, `with_deadline`, `with_timeout`), a value layer
//! (`with_value`), or a `without_cancel` layer. Each cancel layer owns a node of the
//! cancellation tree (`tree.rs`), registered with the nearest cancellable ancestor;
//! other layers share their parent's node. Deadlines are timers (`timer.rs`).
//!
//! Invariants of the tree:
//! 1. Lock order: no code holds two node locks at once, nor a node lock and the timer
//!    wheel's or a shared channel's (the one exception: `done()` on a node that is done
//!    already closes its brand-new, unshared channel under the node lock). A cancel
//!    takes its node's lock, marks it done and takes its children out, releases it, then marks the children one at a time the same
//!    way; a child unregisters under its parent's lock alone; a new child registers
//!    under its parent's lock alone (the child is not shared yet).
//! 2. A node's `(err, cause)` is set at most once, under its lock, and never changes
//!    afterwards; only the cancel that sets it closes `done`, runs the after-funcs and
//!    disarms the timer, so each happens exactly once per node.
//! 3. A done node has no children and accepts none: its `children` are taken out in
//!    the critical section that sets `done`, and registration checks `done` under the
//!    same lock.
//! 4. A child created under a done parent is born done with the parent's error and
//!    cause, and is not registered.
//! 5. A registered child is in its parent's `children` until the first of: its own
//!    cancel (it removes itself, O(1) by slab key) or its parent's cancel (which took
//!    it out). So the parent's child count returns to zero once every child ended:
//!    churn keeps memory flat.
//! 6. A context's deadline is the earliest of its own and its ancestors' (fixed at
//!    creation); a node with a deadline holds a timer until it is cancelled, and the
//!    cancel frees the timer at once.
//! 7. A cancel marks its whole subtree done before it closes any done channel, and
//!    closes children's before parents': whoever sees a context's `done` close finds
//!    `err()` set on every descendant this cancel reached. (A descendant that another
//!    cancel reached first is done too, but that cancel marks the nodes below it, and
//!    may still be doing so.)
//!
//! Where Rust differs from Go:
//! - Dropping a [`CancelFn`] does not cancel (as in Go, and as DESIGN fixes). The child
//!   stays registered until it or an ancestor is cancelled or its deadline fires, so a
//!   forgotten cancel keeps the child alive as long as its parent, exactly as in Go
//!   (where `go vet` warns). `CancelFn` is `#[must_use]` to catch the common mistake.
//! - Deadlines outside a gort runtime fire from a fallback thread (see `timer.rs`), so
//!   contexts work anywhere, as Go's do.
//! - `after_func`'s `f` runs on a new goroutine (`spawn_blocking` on the runtime that
//!   is current where the cancel happens) or, with no runtime there, a new thread.
//! - Dropping an [`AfterFuncStop`] does not stop the function; only `stop()` does.
//! - Go's garbage collector frees a chain of layers; here each layer owns its parent
//!   (`Arc`), and dropping the last handle of a deep chain unrolls it in a loop, not by
//!   recursion, as does a cancel walking a deep tree (both are tested on a small stack).
//! - `CancelFn` (not a bare closure) so it can be `Send + Sync`, `Debug`, and shared;
//!   `with_cancel_cause` returns a [`CancelCauseFn`] whose `cancel` takes the cause.

mod timer;
mod tree;

use crate::loom::Arc;
use gort_channels::Receiver;
use std::any::Any;
use std::fmt;
use std::time::{Duration, Instant};
use tree::CancelNode;

/// A cancel cause (Go's `context.Cause`): any error. A context cancelled without a
/// cause reports its [`ContextError`] as the cause.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Why a context is done (Go's `context.Canceled` / `context.DeadlineExceeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// Cancelled by a `CancelFn` (its own or an ancestor's).
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

/// The cause recorded when none is given: the error itself, shared (one allocation per
/// process, not per cancel).
fn default_cause(err: ContextError) -> Cause {
    static CANCELED: std::sync::OnceLock<Cause> = std::sync::OnceLock::new();
    static DEADLINE: std::sync::OnceLock<Cause> = std::sync::OnceLock::new();
    let cell = match err {
        ContextError::Canceled => &CANCELED,
        ContextError::DeadlineExceeded => &DEADLINE,
    };
    cell.get_or_init(|| std::sync::Arc::new(err)).clone()
}

/// A cancellation signal, an optional deadline and values, passed down a call tree.
/// Cheap to clone (one `Arc`); `Send + Sync`.
///
/// ```
/// use gort::context;
/// gort::run(async {
///     let (ctx, cancel) = context::background().with_cancel();
///     let worker = gort::go({
///         let ctx = ctx.clone();
///         async move {
///             ctx.done().recv().await; // waits until cancelled
///             ctx.err()
///         }
///     });
///     cancel.cancel();
///     assert_eq!(worker.await.unwrap(), Some(context::ContextError::Canceled));
/// });
/// ```
#[derive(Clone)]
pub struct Context(Arc<Node>);

struct Node {
    kind: Kind,
    /// The layer below, for value lookups (`None` for the roots).
    parent: Option<Context>,
    /// Only in value layers.
    value: Option<Box<dyn Any + Send + Sync>>,
    /// The nearest cancel node at or above this layer (`None`: never done).
    cancel: Option<Arc<CancelNode>>,
    deadline: Option<Instant>,
}

impl Drop for Node {
    fn drop(&mut self) {
        // Unrolls a chain whose layers this was the last owner of: a chain of many
        // thousand layers would otherwise drop recursively and overflow the stack.
        let mut next = self.parent.take();
        while let Some(Context(arc)) = next {
            match Arc::try_unwrap(arc) {
                Ok(mut node) => next = node.parent.take(),
                Err(_) => break,
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Background,
    Todo,
    Cancel,
    Deadline,
    Value,
    WithoutCancel,
}

/// The root context: never cancelled, no deadline, no values (Go's
/// `context.Background()`). Its `done()` is never ready.
pub fn background() -> Context {
    root(Kind::Background)
}

/// Like [`background`], marking code that has not decided which context to use yet
/// (Go's `context.TODO()`).
pub fn todo() -> Context {
    root(Kind::Todo)
}

fn root(kind: Kind) -> Context {
    Context(Arc::new(Node {
        kind,
        parent: None,
        value: None,
        cancel: None,
        deadline: None,
    }))
}

impl Context {
    fn layer(
        &self,
        kind: Kind,
        cancel: Option<Arc<CancelNode>>,
        deadline: Option<Instant>,
    ) -> Context {
        Context(Arc::new(Node {
            kind,
            parent: Some(self.clone()),
            value: None,
            cancel,
            deadline,
        }))
    }

    /// A child cancelled by the returned [`CancelFn`] or when this context is. If this
    /// context is done already, the child is born done with its error and cause.
    pub fn with_cancel(&self) -> (Context, CancelFn) {
        let node = CancelNode::new(self.0.cancel.as_ref());
        let ctx = self.layer(Kind::Cancel, Some(node.clone()), self.0.deadline);
        (ctx, CancelFn(node))
    }

    /// As [`with_cancel`](Self::with_cancel), with a cancel function that records a
    /// cause, reported by [`cause`](Self::cause) (Go's `WithCancelCause`).
    ///
    /// ```
    /// use gort::context::{background, ContextError};
    /// let (ctx, cancel) = background().with_cancel_cause();
    /// cancel.cancel(std::io::Error::other("shutting down"));
    /// assert_eq!(ctx.err(), Some(ContextError::Canceled));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "shutting down");
    /// ```
    pub fn with_cancel_cause(&self) -> (Context, CancelCauseFn) {
        let (ctx, cancel) = self.with_cancel();
        (ctx, CancelCauseFn(cancel.0))
    }

    /// A child done at `deadline` (with [`ContextError::DeadlineExceeded`]), when the
    /// returned [`CancelFn`] is called, or when this context is done. Its deadline is
    /// the earlier of `deadline` and this context's. Cancelling it frees its timer at
    /// once.
    ///
    /// Inside a gort runtime the deadline is a timer of that runtime; elsewhere it is
    /// kept by a process-wide timer thread.
    pub fn with_deadline(&self, deadline: Instant) -> (Context, CancelFn) {
        if self.0.deadline.is_some_and(|d| d <= deadline) {
            // The parent ends first anyway (Go returns `WithCancel(parent)` here).
            return self.with_cancel();
        }
        let node = CancelNode::new(self.0.cancel.as_ref());
        let ctx = self.layer(Kind::Deadline, Some(node.clone()), Some(deadline));
        timer::start(&node, deadline);
        (ctx, CancelFn(node))
    }

    /// `with_deadline(now + timeout)`.
    ///
    /// ```
    /// use gort::context::{background, ContextError};
    /// use std::time::Duration;
    /// gort::run(async {
    ///     let (ctx, _cancel) = background().with_timeout(Duration::from_millis(5));
    ///     ctx.done().recv().await;
    ///     assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// });
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> (Context, CancelFn) {
        let now = Instant::now();
        // An overflowing timeout is "never", which is what the caller meant.
        match now.checked_add(timeout) {
            Some(deadline) => self.with_deadline(deadline),
            None => self.with_cancel(),
        }
    }

    /// A child carrying `value`, found by [`value::<T>()`](Self::value) on it and its
    /// descendants; a nearer value of the same type shadows it.
    ///
    /// ```
    /// #[derive(Debug, PartialEq)]
    /// struct RequestId(u64);
    /// let ctx = gort::context::background().with_value(RequestId(7));
    /// let (child, _cancel) = ctx.with_cancel();
    /// assert_eq!(child.value::<RequestId>(), Some(&RequestId(7)));
    /// assert_eq!(child.value::<String>(), None);
    /// ```
    pub fn with_value<T: Send + Sync + 'static>(&self, value: T) -> Context {
        Context(Arc::new(Node {
            kind: Kind::Value,
            parent: Some(self.clone()),
            value: Some(Box::new(value)),
            cancel: self.0.cancel.clone(),
            deadline: self.0.deadline,
        }))
    }

    /// A child that keeps this context's values but is never cancelled and has no
    /// deadline (Go's `WithoutCancel`).
    pub fn without_cancel(&self) -> Context {
        self.layer(Kind::WithoutCancel, None, None)
    }

    /// The nearest value of type `T` up the chain.
    pub fn value<T: Send + Sync + 'static>(&self) -> Option<&T> {
        let mut node: &Node = &self.0;
        loop {
            if let Some(v) = node.value.as_ref().and_then(|v| v.downcast_ref::<T>()) {
                return Some(v);
            }
            node = &node.parent.as_ref()?.0;
        }
    }

    /// A receiver that becomes ready (closed) when this context is done; use it in
    /// `select!` or with `recv().await` / `recv_blocking()`. A new handle per call.
    /// Never ready for a context that cannot be cancelled.
    pub fn done(&self) -> Receiver<()> {
        match &self.0.cancel {
            Some(node) => node.done_chan(),
            None => gort_channels::never(),
        }
    }

    /// `None` until done; then why, and never changes again.
    pub fn err(&self) -> Option<ContextError> {
        self.0.cancel.as_ref()?.done().map(|(e, _)| e)
    }

    /// `None` until done; then the cause given to [`CancelCauseFn::cancel`], else the
    /// error itself (Go's `context.Cause`).
    pub fn cause(&self) -> Option<Cause> {
        self.0.cancel.as_ref()?.done().map(|(_, c)| c)
    }

    /// The instant this context is done at the latest: the earliest deadline of the
    /// chain; `None` if there is none.
    pub fn deadline(&self) -> Option<Instant> {
        self.0.deadline
    }

    /// Runs `f` once, on its own goroutine (or thread, outside a runtime), when this
    /// context is done; at once if it is already (Go's `context.AfterFunc`). Never for a
    /// context that cannot be cancelled.
    ///
    /// ```
    /// let (ctx, cancel) = gort::context::background().with_cancel();
    /// let (tx, rx) = gort::chan::bounded(1);
    /// let _stop = ctx.after_func(move || { tx.send_blocking("cleaned up").unwrap(); });
    /// cancel.cancel();
    /// assert_eq!(rx.recv_blocking(), Some("cleaned up"));
    /// ```
    pub fn after_func<F: FnOnce() + Send + 'static>(&self, f: F) -> AfterFuncStop {
        let Some(node) = &self.0.cancel else {
            return AfterFuncStop { reg: Reg::Never };
        };
        match node.after_func(Box::new(f)) {
            Ok((key, id)) => AfterFuncStop {
                reg: Reg::Node(node.clone(), key, id),
            },
            Err(f) => {
                tree::run_after(f);
                AfterFuncStop { reg: Reg::Spent }
            }
        }
    }

    /// How many children are registered with this context's cancel node (0 for a
    /// context that cannot be cancelled). For tests of the tree's bookkeeping.
    #[doc(hidden)]
    pub fn child_count(&self) -> usize {
        self.0.cancel.as_ref().map_or(0, |n| n.children_len())
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("kind", &self.0.kind)
            .field("err", &self.err())
            .field("deadline", &self.0.deadline)
            .finish_non_exhaustive()
    }
}

/// Cancels its context (and every descendant) when called; idempotent. Dropping it
/// does not cancel (see the module docs).
#[must_use = "a context whose CancelFn is dropped stays registered with its parent until the \
              parent ends; call `cancel()` when the work is done"]
pub struct CancelFn(Arc<CancelNode>);

impl CancelFn {
    /// Cancels with [`ContextError::Canceled`]. When it returns, every descendant is
    /// done. Later calls do nothing.
    pub fn cancel(&self) {
        CancelNode::cancel(
            &self.0,
            ContextError::Canceled,
            default_cause(ContextError::Canceled),
        );
    }
}

impl fmt::Debug for CancelFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CancelFn").field(&self.0).finish()
    }
}

/// The cancel function of [`Context::with_cancel_cause`].
#[must_use = "a context whose cancel function is dropped stays registered with its parent \
              until the parent ends"]
pub struct CancelCauseFn(Arc<CancelNode>);

impl CancelCauseFn {
    /// Cancels with [`ContextError::Canceled`], recording `cause` (only the first
    /// cancel counts).
    pub fn cancel<E: std::error::Error + Send + Sync + 'static>(&self, cause: E) {
        CancelNode::cancel(&self.0, ContextError::Canceled, std::sync::Arc::new(cause));
    }

    /// Cancels with a cause that is already shared.
    pub fn cancel_with(&self, cause: Cause) {
        CancelNode::cancel(&self.0, ContextError::Canceled, cause);
    }
}

impl fmt::Debug for CancelCauseFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CancelCauseFn").field(&self.0).finish()
    }
}

/// The handle [`Context::after_func`] returns.
pub struct AfterFuncStop {
    reg: Reg,
}

enum Reg {
    /// Registered with this node under this key and id.
    Node(Arc<CancelNode>, usize, u64),
    /// The context can never be done: the function can never run.
    Never,
    /// Stopped, or started already.
    Spent,
}

impl AfterFuncStop {
    /// Unregisters the function; true when that prevented its call (false when it has
    /// been started already, or `stop` ran before). A function that can never run
    /// (its context cannot be cancelled) reports true on the first stop.
    pub fn stop(&mut self) -> bool {
        match std::mem::replace(&mut self.reg, Reg::Spent) {
            Reg::Node(node, key, id) => node.stop_after(key, id),
            Reg::Never => true,
            Reg::Spent => false,
        }
    }
}

impl fmt::Debug for AfterFuncStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterFuncStop")
            .field("registered", &matches!(self.reg, Reg::Node(..)))
            .finish()
    }
}
