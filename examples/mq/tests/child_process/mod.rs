//! Shared by the `*_sigint` tests: the program under test (an example's `main`, which
//! lives in the library) runs in a child process, to be stopped with a real SIGINT.
//! The child is this same test binary re-executed with one test selected and the
//! program's arguments in an environment variable, so it works on a clean clone under
//! `cargo nextest run` without locating example binaries. Every wait has a bound, so a
//! stuck child fails the test instead of hanging it; a child still running when its
//! handle drops is killed.
#![allow(dead_code)] // each test file uses a different part

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process and its stdout, line by line.
pub struct Child {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Child {
    /// Re-runs this test binary with only `test` selected (ignored or not) and
    /// `var=value` in its environment.
    pub fn spawn(test: &str, var: &str, value: impl AsRef<OsStr>) -> Child {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                test,
                "--exact",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(var, value)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // Read by a thread, so that every wait below has a bound.
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Child {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `f` (waiting at most `limit` in all) and
    /// returns it; fails the test if none does.
    pub fn wait_line(&mut self, limit: Duration, mut f: impl FnMut(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if f(&l) {
                        return l;
                    }
                }
                Err(e) => panic!("no such line from the child ({e}); got {:?}", self.seen),
            }
        }
    }

    /// Sends SIGINT, as Ctrl-C would (via kill(1): no unsafe in the tests either).
    pub fn interrupt(&self) {
        let st = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "kill -INT failed");
    }

    /// Waits at most `limit` for the child to exit, then reads the rest of its
    /// stdout into `seen`; fails the test if it does not exit in time.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < limit,
                "the child did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // Its stdout ends with it (bounded: a grandchild could hold the pipe open).
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        status
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
