//! Helpers shared by gort-channels' integration tests (`mod support;` in each file).
//!
//! gort-channels depends on no scheduler, so neither do its tests: plain threads,
//! a one-future `block_on` that parks its thread, and `Pool`, a tiny multi-threaded
//! executor standing in for goroutines where a test needs thousands of them.

#![allow(dead_code)] // each test file uses a different subset

use std::collections::VecDeque;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------
// Wakers and executors.

/// Wakes a parked thread.
pub struct ThreadWaker(pub thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

pub fn thread_waker() -> Waker {
    Waker::from(Arc::new(ThreadWaker(thread::current())))
}

/// Runs a future to completion on this thread, parking it while the future waits.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

/// A waker that counts its wakes (and does nothing else).
#[derive(Default)]
pub struct CountingWaker(pub AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl CountingWaker {
    pub fn new() -> (Arc<CountingWaker>, Waker) {
        let c = Arc::new(CountingWaker::default());
        (c.clone(), Waker::from(c))
    }
    pub fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

pub fn noop_waker() -> Waker {
    Waker::from(Arc::new(NoopWake))
}

/// Polls `fut` once with a waker that does nothing.
pub fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(&noop_waker()))
}

/// Polls with the given waker.
pub fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// Goroutines for tests: `threads` OS threads running spawned futures from one queue.
/// Dropping the pool stops the threads; futures still pending are leaked (a test that
/// leaves some pending on purpose is checking that they never complete).
pub struct Pool {
    inner: Arc<PoolInner>,
    threads: Vec<thread::JoinHandle<()>>,
}

struct PoolInner {
    queue: Mutex<VecDeque<Arc<Task>>>,
    cv: Condvar,
    shutdown: AtomicBool,
}

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;

struct Task {
    fut: Mutex<Option<BoxFut>>,
    queued: AtomicBool,
    pool: Arc<PoolInner>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, SeqCst) {
            self.pool.push(self.clone());
        }
    }
}

impl PoolInner {
    fn push(&self, t: Arc<Task>) {
        self.queue.lock().unwrap().push_back(t);
        self.cv.notify_one();
    }
}

/// The handle of a future spawned on a `Pool`.
pub struct Handle<T>(mpsc::Receiver<thread::Result<T>>);

impl<T> Handle<T> {
    /// Waits for the output; panics if the future panicked.
    pub fn join(self) -> T {
        match self.0.recv().expect("the pool dropped the task") {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }

    /// `None` if the future did not complete within `d`.
    pub fn join_timeout(&self, d: Duration) -> Option<T> {
        match self.0.recv_timeout(d) {
            Ok(Ok(v)) => Some(v),
            Ok(Err(p)) => std::panic::resume_unwind(p),
            Err(_) => None,
        }
    }

    pub fn is_finished(&self) -> Option<T> {
        self.join_timeout(Duration::ZERO)
    }
}

impl Pool {
    pub fn new(threads: usize) -> Pool {
        let inner = Arc::new(PoolInner {
            queue: Mutex::new(VecDeque::new()),
            cv: Condvar::new(),
            shutdown: AtomicBool::new(false),
        });
        let threads = (0..threads)
            .map(|i| {
                let inner = inner.clone();
                thread::Builder::new()
                    .name(format!("pool-{i}"))
                    .spawn(move || worker(inner))
                    .unwrap()
            })
            .collect();
        Pool { inner, threads }
    }

    pub fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Handle<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        let fut = async move {
            let out = CatchUnwind(Box::pin(fut)).await;
            let _ = tx.send(out);
        };
        let task = Arc::new(Task {
            fut: Mutex::new(Some(Box::pin(fut))),
            queued: AtomicBool::new(true),
            pool: self.inner.clone(),
        });
        self.inner.push(task);
        Handle(rx)
    }
}

fn worker(inner: Arc<PoolInner>) {
    loop {
        let task = {
            let mut q = inner.queue.lock().unwrap();
            loop {
                if inner.shutdown.load(SeqCst) {
                    return;
                }
                if let Some(t) = q.pop_front() {
                    break t;
                }
                q = inner.cv.wait(q).unwrap();
            }
        };
        task.queued.store(false, SeqCst);
        let waker = Waker::from(task.clone());
        let mut slot = task.fut.lock().unwrap();
        if let Some(f) = slot.as_mut() {
            if f.as_mut().poll(&mut Context::from_waker(&waker)).is_ready() {
                *slot = None;
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.inner.shutdown.store(true, SeqCst);
        self.inner.cv.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Break the task <-> pool cycles of the tasks still queued.
        self.inner.queue.lock().unwrap().clear();
    }
}

struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = thread::Result<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let f = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => Poll::Ready(Err(p)),
        }
    }
}

/// Yields once to the executor (Go's `runtime.Gosched()`).
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

// ---------------------------------------------------------------------------------
// Outcome checks.

/// Runs `f` on a new thread; `Some(result)` if it returned within `d`, `None` if it is
/// still blocked (the thread is then left behind, blocked: the test is proving that
/// it blocks).
pub fn finishes_within<T: Send + 'static>(
    d: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(d) {
        Ok(Ok(v)) => Some(v),
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => None,
    }
}

/// Waits on this thread until `cond` holds, up to `limit`. True if it held.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Aborts the process if not dropped within `limit`: a hang fails the test binary
/// with a message naming the test, instead of hanging CI.
pub struct Watchdog {
    done: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn new(what: &'static str, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name("test-watchdog".into())
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                    eprintln!(
                        "WATCHDOG: test `{what}` did not finish within {limit:?}: \
                         it hangs (a lost wake-up or a deadlock); aborting the test process"
                    );
                    std::process::abort();
                }
            })
            .expect("start the watchdog thread");
        Watchdog {
            done: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Debug builds are much slower; stress sizes shrink there.
pub fn scaled(release: usize, debug: usize) -> usize {
    if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}

// ---------------------------------------------------------------------------------
// Values that count their drops.

/// One drop count per id: proves that every value made is dropped exactly once
/// (never lost inside a channel, never duplicated).
#[derive(Clone)]
pub struct Ledger(Arc<Vec<AtomicUsize>>);

impl Ledger {
    pub fn new(n: usize) -> Ledger {
        Ledger(Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()))
    }

    pub fn item(&self, id: usize) -> Item {
        Item {
            id,
            ledger: self.clone(),
        }
    }

    pub fn drops(&self, id: usize) -> usize {
        self.0[id].load(SeqCst)
    }

    pub fn total_drops(&self) -> usize {
        self.0.iter().map(|c| c.load(SeqCst)).sum()
    }

    /// Ids dropped other than exactly once.
    pub fn not_dropped_once(&self) -> Vec<(usize, usize)> {
        self.0
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.load(SeqCst)))
            .filter(|&(_, c)| c != 1)
            .collect()
    }
}

/// A value with an id whose drop is counted in its `Ledger`. Not `Debug` on purpose.
pub struct Item {
    pub id: usize,
    ledger: Ledger,
}

impl Drop for Item {
    fn drop(&mut self) {
        self.ledger.0[self.id].fetch_add(1, SeqCst);
    }
}

/// A small xorshift generator for tests' random choices.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}
