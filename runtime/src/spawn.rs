//! Spawning from inside a runtime: `gort::go`, `yield_now`, and the named-task
//! `task::Builder`.

use crate::sched::{context, Shared};
use crate::task::JoinHandle;
use crate::Runtime;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Spawns on the current runtime, or panics saying there is none.
#[track_caller]
fn spawn_current<F>(what: &str, future: F, name: Option<Arc<str>>) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::with_current(|h| match h {
        Some(h) => Shared::spawn(h, future, name),
        None => panic!(
            "{what} called outside a gort runtime: there is no gort runtime on this thread \
             (call it from a task, inside Runtime::block_on / gort::run, or use \
             Runtime::spawn)"
        ),
    })
}

/// Starts `future` as a new goroutine on the current runtime, as Go's `go` statement.
///
/// ```
/// gort::run(async {
///     let handles: Vec<_> = (0..10).map(|i| gort::go(async move { i * i })).collect();
///     let mut sum = 0;
///     for h in handles {
///         sum += h.await.unwrap();
///     }
///     assert_eq!(sum, 285);
/// });
/// ```
///
/// # Panics
/// On a thread with no gort runtime.
#[track_caller]
pub fn go<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_current("gort::go", future, None)
}

/// Lets other tasks run: the current task goes to the back of its P's queue (Go's
/// `runtime.Gosched`).
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        if !crate::task::request_yield(cx.waker()) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// Spawns tasks with options, as `std::thread::Builder` does for threads.
///
/// ```
/// gort::run(async {
///     let h = gort::task::Builder::new().name("worker-1").spawn(async { 5 });
///     assert_eq!(h.await.unwrap(), 5);
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<Arc<str>>,
}

impl Builder {
    /// A builder with no options set.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task: the name shows in panic reports, `JoinError`s and schedtrace
    /// detail lines.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(Arc::from(name.into()));
        self
    }

    /// Spawns on the current runtime.
    ///
    /// # Panics
    /// On a thread with no gort runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_current("gort::task::Builder::spawn", future, self.name)
    }

    /// Spawns on `rt`, from any thread.
    pub fn spawn_on<F>(self, future: F, rt: &Runtime) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        rt.shared().spawn(future, self.name)
    }
}
