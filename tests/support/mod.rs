//! Helpers shared by the integration tests: each test file pulls them in with
//! `mod support;`. Nothing here knows gort's internals; they are plain std tools
//! (drop counters, a gate, a watchdog, a child-process runner).

#![allow(dead_code)] // each test file uses a different subset

use std::future::Future;
use std::pin::{pin, Pin};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// Counts drops: hand an `OnDrop` to a future, read the count from the test.
#[derive(Clone, Default)]
pub struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    pub fn new() -> DropCounter {
        DropCounter::default()
    }

    /// A guard that adds one to this counter when dropped.
    pub fn guard(&self) -> OnDrop {
        OnDrop(self.0.clone())
    }

    pub fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

pub struct OnDrop(Arc<AtomicUsize>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A future that is never woken and never completes; its guard counts when the
/// future is dropped (whether or not it was ever polled).
pub async fn parked_forever(guard: OnDrop) {
    let _guard = guard;
    std::future::pending::<()>().await;
}

/// A one-shot latch that tasks can await: `open` wakes every waiter.
#[derive(Clone, Default)]
pub struct Gate(Arc<GateInner>);

#[derive(Default)]
pub struct GateInner {
    open: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    pub fn open(&self) {
        self.0.open.store(true, SeqCst);
        let wakers = std::mem::take(&mut *self.0.wakers.lock().unwrap());
        for w in wakers {
            w.wake();
        }
    }

    pub fn is_open(&self) -> bool {
        self.0.open.load(SeqCst)
    }

    /// Completes once the gate is open.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = self.0.clone();
        std::future::poll_fn(move |cx| {
            if inner.open.load(SeqCst) {
                return Poll::Ready(());
            }
            inner.wakers.lock().unwrap().push(cx.waker().clone());
            // Re-check after registering: `open` may have run in between.
            if inner.open.load(SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
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
pub fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let waker = noop_waker();
    fut.poll(&mut Context::from_waker(&waker))
}

/// Polls an owned future once (for futures that must be Ready at once).
pub fn poll_now<F: Future>(fut: F) -> Poll<F::Output> {
    let fut = pin!(fut);
    poll_once(fut)
}

/// Spins on the CPU (no sleep, no yield) for `d`: a task doing real work.
pub fn busy_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Waits (on this OS thread) until `cond` holds, up to `limit`. True if it held.
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

/// Aborts the process if not dropped within `limit`: a hung runtime then fails the
/// test binary with a message naming the test, instead of hanging CI.
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
                         the runtime hangs; aborting the test process"
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
        drop(self.done.take()); // disconnects: the watchdog returns
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Debug builds are ~20x slower; stress sizes shrink there.
pub fn scaled(release: usize, debug: usize) -> usize {
    if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}

/// The environment variable that tells a re-run of this test binary which helper
/// test it is there to run.
pub const CHILD_ENV: &str = "GORT_TESTS_CHILD";

/// True when this process is a child started by `run_child(test, ..)`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).as_deref() == Ok(test)
}

/// Re-runs this test binary with only the test `test` selected, with `envs` set (and
/// gort's own variables cleared otherwise), and returns its output. Works under both
/// `cargo test` and `cargo nextest run`: the binary is a libtest harness either way.
pub fn run_child(test: &str, envs: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test);
    for var in ["GORT_MAXPROCS", "GORT_SCHEDTRACE", "GORT_SCHEDDETAIL"] {
        cmd.env_remove(var);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the test binary as a child");
    assert!(
        out.status.success(),
        "child `{test}` failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The helper must really have run (and not been filtered out).
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 passed"),
        "child `{test}` did not run exactly one test:\n{stdout}"
    );
    out
}

/// OS threads of this process (Linux: entries of /proc/self/task).
#[cfg(target_os = "linux")]
pub fn os_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .count()
}

/// Names of this process's OS threads (Linux: /proc/self/task/*/comm).
#[cfg(target_os = "linux")]
pub fn os_thread_names() -> Vec<String> {
    let mut names = Vec::new();
    for e in std::fs::read_dir("/proc/self/task").expect("read /proc/self/task") {
        let Ok(e) = e else { continue };
        if let Ok(n) = std::fs::read_to_string(e.path().join("comm")) {
            names.push(n.trim_end().to_string());
        }
    }
    names
}

/// The message of a panic payload (`&str` or `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}
