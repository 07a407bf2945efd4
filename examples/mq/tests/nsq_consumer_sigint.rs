//! The `nsq_consumer` program stops cleanly on SIGINT: started against a broker with
//! a deep queue, interrupted once it has printed some messages, it exits 0 promptly
//! and loses nothing — every message it printed was FINed, and every other one is
//! still queued in the broker, once each.
//!
//! The program under test is `gort_mq::nsq::consumer_cli::main` — all the example binary
//! calls — run in a child process (see `child_process`), with the ignored test
//! `child_nsq_consumer` selected and the flags in an environment variable.

mod child_process;
mod nsq_support;

use child_process::Child;
use gort_mq::nsq::protocol::Command;
use nsq_support::{temp_dir, test_config, Client, TestBroker, WAIT};
use std::collections::HashSet;

const ARGS_VAR: &str = "GORT_NSQ_CONSUMER_CHILD_ARGS";

/// The child: runs nsq_consumer with the flags the parent gave, exits with its status.
#[test]
#[ignore = "run only as the child process of sigint_stops_cleanly_and_loses_nothing"]
fn child_nsq_consumer() {
    let args = std::env::var(ARGS_VAR).expect("started by sigint_stops_cleanly_and_loses_nothing");
    std::process::exit(gort_mq::nsq::consumer_cli::main(args.split('\u{1f}')));
}

#[test]
fn sigint_stops_cleanly_and_loses_nothing() {
    let data = temp_dir("consumer-sigint");
    let b = TestBroker::start(test_config(&data));
    let n = 20_000;
    b.publish_n("t", "msg-", n);
    let tcp = b.tcp.to_string();
    let args = [
        "--nsqd-tcp-address",
        &tcp,
        "--topic",
        "t",
        "--channel",
        "c",
        "--max-in-flight",
        "4",
        "--concurrency",
        "2",
    ]
    .join("\u{1f}");
    let mut child = Child::spawn("child_nsq_consumer", ARGS_VAR, args);
    // libtest may print "test child_nsq_consumer ... " on the first line.
    let body = |l: &str| l.find("msg-").map(|i| l[i..].to_string());
    let mut printed = 0;
    child.wait_line(WAIT, |l| {
        printed += usize::from(body(l).is_some());
        printed >= 100
    });
    child.interrupt();
    let status = child.wait_exit(WAIT);
    assert!(status.success(), "nsq_consumer exited with {status}");

    let printed: Vec<String> = child.seen.iter().filter_map(|l| body(l)).collect();
    let done: HashSet<String> = printed.iter().cloned().collect();
    assert_eq!(done.len(), printed.len(), "a message handled twice");
    // Every message it printed was FINed; what the broker had sent it and it did not
    // handle went back. (Wait for the topic to hand the channel all it holds, too.)
    b.wait_channel("t", "c", "the consumer gone", |s| {
        s["client_count"] == 0 && s["in_flight_count"] == 0 && s["message_count"] == n as u64
    });
    let s = b.channel_stats("t", "c");
    assert_eq!(s["finish_count"], done.len() as u64, "{s}");
    assert_eq!(s["depth"], (n - done.len()) as u64, "{s}");
    // The rest is queued, exactly the messages it did not print.
    let mut c = Client::subscriber(b.tcp, "t", "c", 100);
    let mut rest = HashSet::new();
    for _ in done.len()..n {
        let m = c.expect_message();
        c.send(&Command::Fin(m.id));
        let m = String::from_utf8(m.body.to_vec()).unwrap();
        assert!(!done.contains(&m), "{m} printed and still queued");
        assert!(rest.insert(m), "queued twice");
    }
    assert_eq!(rest.len() + done.len(), n);
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}
