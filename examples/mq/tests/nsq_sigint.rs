//! The `nsqd` program shuts down cleanly on SIGINT: it exits 0 promptly, with a
//! client still connected and a message in flight, and a broker started afterwards
//! on the same data path finds every message it held.
//!
//! The program under test is `gort_mq::nsq::cli::main` — all the example binary
//! calls — run in a child process (see `child_process`), with the ignored test
//! `child_nsqd` selected and the flags in an environment variable.

mod child_process;
mod nsq_support;

use child_process::Child;
use gort_mq::nsq::protocol::Command;
use nsq_support::{temp_dir, test_config, Client, TestBroker, WAIT};
use std::collections::HashSet;

const ARGS_VAR: &str = "GORT_NSQD_CHILD_ARGS";

/// The child: runs nsqd with the flags the parent gave and exits with its status.
#[test]
#[ignore = "run only as the child process of sigint_shuts_down_cleanly"]
fn child_nsqd() {
    let args = std::env::var(ARGS_VAR).expect("started by sigint_shuts_down_cleanly");
    let code = gort_mq::nsq::cli::main(args.split('\u{1f}'));
    std::process::exit(code);
}

#[test]
fn sigint_shuts_down_cleanly() {
    let data = temp_dir("sigint");
    let args = [
        "--tcp-address",
        "127.0.0.1:0",
        "--http-address",
        "127.0.0.1:0",
        "--data-path",
        data.to_str().unwrap(),
        "--mem-queue-size",
        "5",
    ]
    .join("\u{1f}");
    let mut child = Child::spawn("child_nsqd", ARGS_VAR, args);
    // libtest may print "test child_nsqd ... " on the same line first.
    const MARK: &str = "nsqd: TCP: listening on ";
    let line = child.wait_line(WAIT, |l| l.contains(MARK));
    let i = line.find(MARK).unwrap();
    let tcp = line[i + MARK.len()..].trim().parse().unwrap();

    let mut p = Client::connect(tcp);
    let n = 50;
    for i in 0..n {
        p.publish("t", format!("m{i}").as_bytes());
    }
    let mut c = Client::subscriber(tcp, "t", "c", 1);
    let held = c.expect_message(); // in flight, never finished

    child.interrupt();
    let exit = child.wait_exit(WAIT);
    assert!(exit.success(), "nsqd exited with {exit}");
    assert!(
        child.seen.iter().any(|l| l.contains("caught interrupt")),
        "{:?}",
        child.seen
    );
    // The connected clients were closed, not left hanging.
    c.expect_closed();

    // Everything it held, the in-flight message included, is on disk.
    let b = TestBroker::start(test_config(&data));
    let mut s = Client::subscriber(b.tcp, "t", "c", 100);
    let mut got = HashSet::new();
    for _ in 0..n {
        let m = s.expect_message();
        s.send(&Command::Fin(m.id));
        got.insert(m.body.to_vec());
    }
    assert_eq!(got, (0..n).map(|i| format!("m{i}").into_bytes()).collect());
    assert!(got.contains(&held.body.to_vec()));
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}
