//! SIGINT stops the `consumer_group` example cleanly: the test re-runs its own binary
//! as the example (`GORT_KAFKA_SIGINT_CHILD` set: this test then runs
//! `demo::main`), waits for the child's first status line, sends it SIGINT, and
//! expects exit status 0 within a bound, with the clean-stop line printed and the
//! group's offsets committed.

mod child_process;
mod kafka_common;

use child_process::Child;
use kafka_common::TempDir;
use std::time::Duration;

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
    let mut child = Child::spawn(
        "consumer_group_example_exits_cleanly_on_sigint",
        CHILD,
        &dir.0,
    );
    // Wait for the live line showing messages consumed.
    child.wait_line(Duration::from_secs(60), |l| {
        l.contains("consumer_group: produced") && !l.contains("consumed 0 ")
    });
    child.interrupt();
    let status = child.wait_exit(Duration::from_secs(30));
    let lines = &child.seen;
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
