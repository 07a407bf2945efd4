//! Interop with the official Python client, pynsq (from PyPI): publish and consume
//! with FIN through pynsq's Writer and Reader, REQ with a delay, and a message left to
//! time out, all against the gort broker.
//!
//! The scripts live in `tests/py/`. They run in a virtualenv that the first test to
//! need it creates at `<target dir>/pynsq-venv` (or `$GORT_PYNSQ_VENV`), under a lock
//! directory so that parallel test processes do not race (`tests/py/venv.sh` makes the
//! same one from a shell, for `.ci/run` and `benches/mq/run.sh`). If it cannot be created
//! (no python3, no network to PyPI) the tests FAIL saying so: they never skip.

mod nsq_support;

use nsq_support::{temp_dir, test_config, TestBroker};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const PYNSQ: &str = "pynsq==0.9.1";

fn target_dir() -> PathBuf {
    // The test binary is <target>/<profile>/deps/nsq_pynsq-<hash>.
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .expect("target dir above the test binary")
        .to_path_buf()
}

/// The venv's python, creating the venv the first time (module doc).
fn python() -> PathBuf {
    let venv = std::env::var_os("GORT_PYNSQ_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("pynsq-venv"));
    let py = venv.join("bin").join("python");
    let ready = venv.join(".gort-ready");
    let lock = venv.with_extension("lock");
    let start = Instant::now();
    loop {
        if ready.exists() {
            return py;
        }
        match std::fs::create_dir(&lock) {
            Ok(()) => {
                let r = build_venv(&venv);
                let _ = std::fs::remove_dir(&lock);
                if let Err(e) = r {
                    panic!(
                        "cannot set up pynsq for the interop tests: {e}\n\
                         (needs python3 with venv and access to PyPI; or point \
                         GORT_PYNSQ_VENV at a virtualenv with {PYNSQ} installed)"
                    );
                }
                std::fs::write(&ready, PYNSQ).unwrap();
                return py;
            }
            Err(_) => {
                // Someone else is building it. A lock older than 10 minutes was left
                // by a process that died: take it over.
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .map(|t| SystemTime::now().duration_since(t).unwrap_or_default())
                    .is_ok_and(|age| age > Duration::from_secs(600));
                if stale {
                    let _ = std::fs::remove_dir(&lock);
                }
                assert!(
                    start.elapsed() < Duration::from_secs(900),
                    "timed out waiting for another process to build the pynsq venv"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

fn build_venv(venv: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(venv);
    let run = |cmd: &mut Command, what: &str| -> Result<(), String> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(venv),
        "python3 -m venv",
    )?;
    run(
        Command::new(venv.join("bin").join("pip")).args(["install", "--quiet", PYNSQ]),
        "pip install pynsq",
    )
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

/// Runs a script to completion (bounded), returning its stdout; fails on a non-zero
/// exit with everything it printed.
fn run_script(name: &str, args: &[&str]) -> String {
    let mut child = Command::new(python())
        .arg(script(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn pynsq_publishes_and_consumes() {
    let data = temp_dir("pynsq");
    let b = TestBroker::start(test_config(&data));
    let n = 1000;
    let out = run_script("pub_consume.py", &[&b.tcp.to_string(), &n.to_string()]);
    eprintln!("{out}");
    b.wait_channel("py", "c", "all finished", |s| {
        s["finish_count"] == n && s["in_flight_count"] == 0 && s["depth"] == 0
    });
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn pynsq_requeues_and_times_out() {
    let data = temp_dir("pynsq-req");
    let b = TestBroker::start(test_config(&data));
    let out = run_script("req_timeout.py", &[&b.tcp.to_string()]);
    eprintln!("{out}");
    b.wait_channel("pyreq", "c", "settled", |s| {
        s["finish_count"] == 3 && s["in_flight_count"] == 0
    });
    let s = b.channel_stats("pyreq", "c");
    assert!(s["timeout_count"].as_u64() >= Some(1), "{s}");
    assert!(s["requeue_count"].as_u64() >= Some(1), "{s}");
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}
