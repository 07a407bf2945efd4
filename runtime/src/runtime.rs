//! `Runtime` and its `Builder`: GOMAXPROCS, the thread limit, `block_on`, `spawn` and
//! shutdown.
//!
//! Shutdown (dropping the `Runtime`), in order:
//! 1. set the shutdown flag under the sched lock and wake every parked M;
//! 2. join every M (each stops at its next scheduling point and drops its P);
//! 3. close the owned list: every remaining G (queued, parked or never polled) has its
//!    future dropped, exactly once, on the dropping thread;
//! 4. empty the global queue and the timers, which breaks the task → runtime cycles.

use crate::metrics::Metrics;
use crate::net::poller::Poller;
use crate::sched::sysmon::Sysmon;
use crate::sched::{context, trace, Config, Shared, TaskPanic};
use crate::task::JoinHandle;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

/// Go's default limit on OS threads (`debug.SetMaxThreads`).
const DEFAULT_MAX_THREADS: usize = 10_000;

/// A gort runtime: `procs` Ps run Gs on a pool of Ms (OS threads).
///
/// ```
/// let rt = gort::Runtime::builder().procs(2).build().unwrap();
/// let h = rt.spawn(async { 6 * 7 });
/// assert_eq!(rt.block_on(h).unwrap(), 42);
/// ```
pub struct Runtime {
    handle: Arc<Shared>,
    trace: Option<trace::Tracer>,
    sysmon: Option<Sysmon>,
}

/// Configures a [`Runtime`]; see [`Runtime::builder`].
#[derive(Debug, Clone)]
pub struct Builder {
    procs: Option<usize>,
    max_threads: usize,
    on_task_panic: TaskPanic,
    thread_name: String,
    stack_size: Option<usize>,
    schedtrace: Option<trace::Settings>,
    keep_alive: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            procs: None,
            max_threads: DEFAULT_MAX_THREADS,
            on_task_panic: TaskPanic::default(),
            thread_name: "gort-m".into(),
            stack_size: None,
            schedtrace: None,
            keep_alive: Duration::from_secs(10),
        }
    }
}

impl Builder {
    /// The number of Ps (GOMAXPROCS): how many Gs run in parallel. Default: the
    /// `GORT_MAXPROCS` environment variable, else the available parallelism.
    pub fn procs(mut self, n: usize) -> Self {
        self.procs = Some(n);
        self
    }

    /// The most OS threads the runtime may start (default 10,000, as Go's).
    pub fn max_threads(mut self, n: usize) -> Self {
        self.max_threads = n;
        self
    }

    /// What a panicking task does; see [`TaskPanic`].
    pub fn on_task_panic(mut self, policy: TaskPanic) -> Self {
        self.on_task_panic = policy;
        self
    }

    /// Prefix of the Ms' thread names (default `gort-m`; threads are `gort-m-1`, …).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// How long a thread beyond `procs` (left over from blocking calls) may stay idle
    /// before it ends (default 10 s, as tokio's blocking pool).
    pub fn thread_keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Stack size of the Ms' threads.
    pub fn thread_stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Prints a scheduler line every `period`, as `GORT_SCHEDTRACE=<ms>` does; with
    /// `detail`, one more line per P with its queue and the G it runs (as Go's
    /// `scheddetail=1`).
    pub fn schedtrace(mut self, period: std::time::Duration, detail: bool) -> Self {
        self.schedtrace = Some(trace::Settings { period, detail });
        self
    }

    /// Builds the runtime. Ms start lazily, as work arrives.
    ///
    /// # Errors
    /// `InvalidInput` when `procs` is 0, `GORT_MAXPROCS` is not a positive number, or
    /// `max_threads` is below `procs`.
    pub fn build(self) -> io::Result<Runtime> {
        let procs = match self.procs {
            Some(n) => n,
            None => procs_from_env()?,
        };
        if procs == 0 {
            return Err(invalid("gort: procs must be at least 1"));
        }
        if self.max_threads < procs {
            return Err(invalid(&format!(
                "gort: max_threads ({}) is below procs ({procs}): every P needs an M",
                self.max_threads
            )));
        }
        crate::panic_report::install();
        let (handle, cores) = Shared::new(
            Config {
                procs,
                keep_alive: self.keep_alive,
                max_threads: self.max_threads,
                on_task_panic: self.on_task_panic,
                thread_name: self.thread_name,
                stack_size: self.stack_size,
            },
            Poller::new()?,
        );
        {
            let mut s = handle.sched.lock();
            for p in cores {
                handle.put_idle_p(&mut s, p);
            }
        }
        let settings = match self.schedtrace {
            Some(s) => Some(s),
            None => trace::Settings::from_env()?,
        };
        let trace = settings
            .map(|s| trace::Tracer::start(handle.clone(), s))
            .transpose()?;
        let sysmon = Some(Sysmon::start(&handle)?);
        Ok(Runtime {
            handle,
            trace,
            sysmon,
        })
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

fn procs_from_env() -> io::Result<usize> {
    match std::env::var("GORT_MAXPROCS") {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(invalid(&format!(
                "gort: GORT_MAXPROCS={v:?} is not a positive whole number"
            ))),
        },
        Err(_) => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

impl Runtime {
    /// A runtime with the default settings (see [`Builder::procs`]).
    pub fn new() -> io::Result<Runtime> {
        Builder::default().build()
    }

    /// A [`Builder`] to configure one.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Runs `future` to completion on this thread, with this runtime current (so
    /// `gort::go` and timers work inside it). Spawned tasks run on the runtime's Ms.
    ///
    /// # Panics
    /// On a thread that is already running a gort runtime (inside a task, or inside
    /// another `block_on`).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(&self.handle);
        let notify = Arc::new(ThreadNotify {
            thread: std::thread::current(),
            notified: AtomicBool::new(false),
        });
        let waker = Waker::from(notify.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            // Acquire: pairs with the Release in `wake`; spurious unparks loop again.
            while !notify.notified.swap(false, Ordering::Acquire) {
                std::thread::park();
            }
        }
    }

    /// Spawns `future` as a new task (G) on this runtime, from any thread.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future, None)
    }

    /// A snapshot of the scheduler's state and counters.
    pub fn metrics(&self) -> Metrics {
        Metrics::snapshot(&self.handle)
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.handle
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if context::current().is_some_and(|h| Arc::ptr_eq(&h, &self.handle)) {
            // Joining our own M would deadlock; leave the runtime running rather than
            // hang (the panic of tokio's equivalent would abort inside a destructor).
            eprintln!(
                "gort: a Runtime was dropped from inside itself (a task or block_on); \
                 it cannot join its own threads, so it is leaked"
            );
            return;
        }
        if let Some(s) = self.sysmon.take() {
            s.stop();
        }
        self.handle.begin_shutdown();
        if let Some(t) = self.trace.take() {
            t.stop();
        }
        self.handle.finish_shutdown();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("procs", &self.handle.config.procs)
            .finish_non_exhaustive()
    }
}

struct ThreadNotify {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for ThreadNotify {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Release: pairs with the Acquire swap in `block_on`.
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

/// Runs `future` on a new default runtime and returns its output (Go's `main`
/// goroutine). The runtime is dropped, with every task it still has, on return.
///
/// ```
/// let v = gort::run(async { gort::go(async { 1 + 1 }).await.unwrap() });
/// assert_eq!(v, 2);
/// ```
///
/// # Panics
/// If the runtime cannot be built (see [`Builder::build`]) or on a thread already
/// running a gort runtime.
pub fn run<F: Future>(future: F) -> F::Output {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("gort::run: cannot build the runtime: {e}"));
    rt.block_on(future)
}
