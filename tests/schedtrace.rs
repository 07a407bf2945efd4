//! schedtrace: with `GORT_SCHEDTRACE=<ms>` (+ `GORT_SCHEDDETAIL=1`) or
//! `Builder::schedtrace`, the runtime prints Go-style `SCHED` lines to stderr, and a
//! line per P naming the G it runs.
//!
//! stderr of the runtime's trace thread cannot be captured in-process, so each check
//! re-runs this test binary as a child with only a helper test selected (the helpers
//! do nothing in a normal run) and reads the child's stderr.

mod support;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{busy_for, is_child, run_child, Watchdog};

const TASK_NAME: &str = "trace-me-worker";

/// Runs named busy tasks on both Ps for `for_how_long`, so that detail lines have
/// something to show.
fn busy_named_tasks(rt: &gort::Runtime, for_how_long: Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            gort::task::Builder::new().name(TASK_NAME).spawn_on(
                async move {
                    while !stop.load(SeqCst) {
                        busy_for(Duration::from_millis(2));
                        gort::yield_now().await;
                    }
                },
                rt,
            )
        })
        .collect();
    let start = Instant::now();
    while start.elapsed() < for_how_long {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, SeqCst);
    for h in handles {
        rt.block_on(h).unwrap();
    }
}

fn check_trace(stderr: &str, expect_detail: bool) {
    let sched: Vec<&str> = stderr.lines().filter(|l| l.starts_with("SCHED ")).collect();
    assert!(
        sched.len() >= 3,
        "expected several SCHED lines in 200 ms at a 20 ms period, got {}:\n{stderr}",
        sched.len()
    );
    for line in &sched {
        for field in [
            "gomaxprocs=2",
            "idleprocs=",
            "threads=",
            "spinningthreads=",
            "runqueue=",
        ] {
            assert!(line.contains(field), "no {field:?} in {line:?}");
        }
        // "SCHED <n>ms: ..."
        let t = line["SCHED ".len()..].split("ms:").next().unwrap();
        assert!(t.parse::<u64>().is_ok(), "bad time in {line:?}");
    }
    let p_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with('P') && l.contains(':'))
        .filter(|l| {
            let t = l.trim_start();
            t[1..]
                .split(':')
                .next()
                .is_some_and(|n| n.parse::<usize>().is_ok())
        })
        .collect();
    if !expect_detail {
        assert!(p_lines.is_empty(), "detail lines without detail:\n{stderr}");
        return;
    }
    assert!(
        p_lines.iter().any(|l| l.trim_start().starts_with("P0:")),
        "no P0: detail line:\n{stderr}"
    );
    assert!(
        p_lines.iter().any(|l| l.trim_start().starts_with("P1:")),
        "no P1: detail line:\n{stderr}"
    );
    assert!(
        p_lines.iter().any(|l| l.contains(TASK_NAME)),
        "no detail line names the running task {TASK_NAME:?}:\n{stderr}"
    );
}

#[test]
fn schedtrace_from_env() {
    let _wd = Watchdog::new("schedtrace_from_env", Duration::from_secs(60));
    let out = run_child(
        "schedtrace_child_env",
        &[("GORT_SCHEDTRACE", "20"), ("GORT_SCHEDDETAIL", "1")],
    );
    check_trace(&String::from_utf8_lossy(&out.stderr), true);
}

#[test]
fn schedtrace_from_env_without_detail() {
    let _wd = Watchdog::new(
        "schedtrace_from_env_without_detail",
        Duration::from_secs(60),
    );
    let out = run_child("schedtrace_child_env", &[("GORT_SCHEDTRACE", "20")]);
    check_trace(&String::from_utf8_lossy(&out.stderr), false);
}

#[test]
fn schedtrace_from_builder() {
    let _wd = Watchdog::new("schedtrace_from_builder", Duration::from_secs(60));
    let out = run_child("schedtrace_child_builder", &[]);
    check_trace(&String::from_utf8_lossy(&out.stderr), true);
}

#[test]
fn schedtrace_off_by_default() {
    let _wd = Watchdog::new("schedtrace_off_by_default", Duration::from_secs(60));
    let out = run_child("schedtrace_child_env", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.lines().any(|l| l.starts_with("SCHED ")),
        "SCHED lines without GORT_SCHEDTRACE:\n{stderr}"
    );
}

/// Helper for the tests above (runs only in a child process).
#[test]
fn schedtrace_child_env() {
    if !is_child("schedtrace_child_env") {
        return;
    }
    // Settings come from the environment the parent gave us.
    let rt = gort::Runtime::builder().procs(2).build().unwrap();
    busy_named_tasks(&rt, Duration::from_millis(200));
}

/// Helper for `schedtrace_from_builder` (runs only in a child process).
#[test]
fn schedtrace_child_builder() {
    if !is_child("schedtrace_child_builder") {
        return;
    }
    let rt = gort::Runtime::builder()
        .procs(2)
        .schedtrace(Duration::from_millis(20), true)
        .build()
        .unwrap();
    busy_named_tasks(&rt, Duration::from_millis(200));
}

#[test]
fn schedtrace_runtime_drop_is_prompt() {
    let _wd = Watchdog::new(
        "schedtrace_runtime_drop_is_prompt",
        Duration::from_secs(120),
    );
    // A long trace period must not delay shutdown: stopping the trace thread wakes it,
    // whatever it is doing (including not having started waiting yet). Each drop runs
    // on a helper thread so that a hang is reported instead of blocking forever.
    for round in 0..200 {
        let rt = gort::Runtime::builder()
            .procs(1)
            .schedtrace(Duration::from_secs(3600), false)
            .build()
            .unwrap();
        if round % 2 == 0 {
            rt.block_on(async { gort::go(async {}).await.unwrap() });
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let start = Instant::now();
            drop(rt);
            let _ = tx.send(start.elapsed());
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(took) => assert!(
                took < Duration::from_secs(5),
                "round {round}: drop took {took:?}"
            ),
            Err(_) => panic!(
                "round {round}: dropping a Runtime built with .schedtrace(1 h) did not return \
                 within 10 s (the trace thread was not woken by stop)"
            ),
        }
    }
}
