//! `GORT_SCHEDTRACE=<ms>`: a line about the scheduler every <ms>, as Go's
//! `GODEBUG=schedtrace=<ms>`; `GORT_SCHEDDETAIL=1` adds a line per P.
//!
//! ```text
//! SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=2 spinningthreads=0 idlethreads=0 runqueue=12 [31 0] steals=4 tasks=45
//!   P0: runq=31 running=G17 'consumer-2'
//! ```

use super::Shared;
use crate::loom::atomic::Ordering::Relaxed;
use crate::metrics::Metrics;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) period: Duration,
    pub(crate) detail: bool,
}

impl Settings {
    pub(crate) fn from_env() -> io::Result<Option<Settings>> {
        let Ok(v) = std::env::var("GORT_SCHEDTRACE") else {
            return Ok(None);
        };
        let ms: u64 = v.trim().parse().ok().filter(|&ms| ms > 0).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("gort: GORT_SCHEDTRACE={v:?} is not a positive number of milliseconds"),
            )
        })?;
        let detail = std::env::var("GORT_SCHEDDETAIL").is_ok_and(|d| d.trim() == "1");
        Ok(Some(Settings {
            period: Duration::from_millis(ms),
            detail,
        }))
    }
}

pub(crate) struct Tracer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: std::thread::JoinHandle<()>,
}

impl Tracer {
    pub(crate) fn start(handle: Arc<Shared>, settings: Settings) -> io::Result<Tracer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("gort-schedtrace".into())
            .spawn(move || run(&handle, settings, &stop2))?;
        Ok(Tracer { stop, thread })
    }

    pub(crate) fn stop(self) {
        *self.stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.stop.1.notify_all();
        let _ = self.thread.join();
    }
}

fn run(handle: &Shared, settings: Settings, stop: &(Mutex<bool>, Condvar)) {
    let start = Instant::now();
    let mut next = start + settings.period;
    let mut stopped = stop.0.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        // Checked before every wait: a stop that came before we first took the lock
        // has already notified, and would not be seen by a wait.
        if *stopped {
            return;
        }
        let now = Instant::now();
        if now < next {
            stopped = stop
                .1
                .wait_timeout(stopped, next - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            continue;
        }
        // From now, not from the missed tick: a late wake-up prints one line, not a
        // burst of stale ones (as Go's `lasttrace = now`).
        next = now + settings.period;
        let text = render(handle, start.elapsed(), settings.detail);
        let _ = io::stderr().write_all(text.as_bytes());
    }
}

/// One trace record: the SCHED line and, with `detail`, a line per P.
pub(crate) fn render(h: &Shared, since_start: Duration, detail: bool) -> String {
    let m = Metrics::snapshot(h);
    let mut out = format!(
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} idlethreads={} runqueue={} [",
        since_start.as_millis(),
        m.procs,
        m.idle_procs,
        m.threads,
        m.spinning_threads,
        m.idle_threads,
        m.global_queue_len,
    );
    for (i, len) in m.local_queue_lens.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{len}");
    }
    let _ = writeln!(
        out,
        "] steals={} handoffs={} retakes={} preemptions={} tasks={} timers={}",
        m.steals, m.hand_offs, m.retakes, m.preemptions, m.alive_tasks, m.timers
    );
    if detail {
        let names = h.names.lock();
        for (i, r) in h.remotes.iter().enumerate() {
            let cur = r.current.load(Relaxed);
            let _ = write!(out, "  P{i}: runq={}", r.steal.len());
            if cur == 0 {
                out.push_str(" running=none");
            } else {
                let _ = write!(out, " running=G{cur}");
                if let Some(n) = names.get(&cur) {
                    let _ = write!(out, " '{n}'");
                }
            }
            out.push('\n');
        }
    }
    out
}
