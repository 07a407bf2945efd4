//! SIGINT stops the `consumer_group` example cleanly: the test re-runs its own binary
//! as the example (`GORT_KAFKA_SIGINT_CHILD` set: this test then runs
//! `demo::main`), waits for the child's first status line, sends it SIGINT, and
//! expects exit status 0 within a bound, with the clean-stop line printed and the
//! group's offsets committed.

mod kafka_common;

use kafka_common::TempDir;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHILD: &str = "GORT_KAFKA_SIGINT_CHILD";

#[test]
fn consumer_group_example_exits_cleanly_on_sigint() {
    if let Some(dir) = std::env::var_os(CHILD) {
        // The child: the example itself (its `main` is just this call).
        let args: Vec<String> = ["--dir", dir.to_str().unwrap(), "--consumers", "2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        gort_mq::kafka::demo::main(&args).expect("the example ran");
        return;
    }
    let dir = TempDir::new("sigint");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "consumer_group_example_exits_cleanly_on_sigint",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &dir.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Wait for the live line showing messages consumed.
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                let consuming =
                    l.contains("consumer_group: produced") && !l.contains("consumed 0 ");
                lines.push(l);
                if consuming {
                    break;
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("no status line from the child: {lines:?}");
            }
        }
    }
    // SIGINT, as Ctrl-C would (via kill(1): no unsafe in this crate's tests either).
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let stop_deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > stop_deadline {
            let _ = child.kill();
            panic!("the example did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(2)) {
        lines.push(l);
    }
    assert!(status.success(), "exit status {status:?}; output {lines:?}");
    assert!(lines.iter().any(|l| l.contains("caught")), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("stopped cleanly")),
        "{lines:?}"
    );
    // The group committed on the way out.
    let broker = gort_mq::kafka::Broker::open(&dir.0, Default::default()).unwrap();
    let committed = broker.offsets().snapshot("consumer-group-demo").unwrap();
    assert!(!committed.is_empty(), "offsets committed at shutdown");
}
