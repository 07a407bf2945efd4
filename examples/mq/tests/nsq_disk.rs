//! Disk spill and recovery: past `--mem-queue-size` messages go to the disk queue
//! (so memory holds at most that many per queue), segments roll and are deleted once
//! read, a graceful restart brings every queued message back, and after a crash the
//! records that reached the file are recovered and a torn tail is cut off.

mod nsq_support;

use gort_mq::nsq::protocol::Command;
use nsq_support::{temp_dir, test_config, Client, TestBroker};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

fn segment_files(dir: &Path, queue: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let n = e.as_ref().unwrap().file_name().into_string().unwrap();
            n.starts_with(&format!("{queue}.diskqueue.0")) && n.ends_with(".dat")
        })
        .count()
}

/// Consumes `n` messages from `topic`/`channel` and returns their bodies.
fn consume(b: &TestBroker, topic: &str, channel: &str, n: usize) -> Vec<Vec<u8>> {
    let mut c = Client::subscriber(b.tcp, topic, channel, 100);
    let mut got = Vec::new();
    for _ in 0..n {
        let m = c.expect_message();
        c.send(&Command::Fin(m.id));
        got.push(m.body.to_vec());
    }
    b.wait_channel(topic, channel, "all finished", |s| {
        s["finish_count"] == n as u64 && s["depth"] == 0 && s["in_flight_count"] == 0
    });
    got
}

fn bodies(prefix: &str, n: usize) -> HashSet<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}-{i:05}").into_bytes())
        .collect()
}

#[test]
fn spill_to_disk_and_recover_after_restart() {
    let data = temp_dir("spill");
    let mut cfg = test_config(&data);
    cfg.mem_queue_size = 10;
    cfg.max_bytes_per_file = 8192; // many segments
    let b = TestBroker::start(cfg.clone());
    // The channel exists (a consumer with RDY 0), so messages reach it and wait there;
    // a second topic has no channel at all, so its messages wait in the topic.
    let idle = Client::subscriber(b.tcp, "t", "c", 0);
    let mut p = Client::connect(b.tcp);
    let n = 2000;
    for chunk in bodies("m", n).into_iter().collect::<Vec<_>>().chunks(50) {
        p.send(&Command::Mpub {
            topic: "t".into(),
            bodies: chunk.to_vec(),
        });
        p.expect_ok();
    }
    for body in bodies("orphan", 300) {
        p.publish("nochan", &body);
    }
    b.wait_channel("t", "c", "all queued", |s| s["depth"] == n as u64);
    let s = b.channel_stats("t", "c");
    let in_memory = s["depth"].as_u64().unwrap() - s["backend_depth"].as_u64().unwrap();
    assert!(
        in_memory <= 10,
        "memory holds {in_memory} > mem-queue-size: {s}"
    );
    assert!(segment_files(&data, "t:c") > 2, "segments did not roll");
    drop(idle);
    drop(p);
    b.shutdown();

    // Restart: everything is still there.
    let b = TestBroker::start(cfg.clone());
    assert_eq!(b.channel_stats("t", "c")["depth"], n as u64);
    let got = consume(&b, "t", "c", n);
    assert_eq!(got.len(), n);
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), bodies("m", n));
    // Read segments are deleted.
    assert!(
        segment_files(&data, "t:c") <= 1,
        "read segments left behind"
    );
    // The channel-less topic's messages reach its first channel.
    let got = consume(&b, "nochan", "late", 300);
    assert_eq!(
        got.into_iter().collect::<HashSet<_>>(),
        bodies("orphan", 300)
    );
    b.shutdown();

    // And once consumed they stay consumed.
    let b = TestBroker::start(cfg);
    assert_eq!(b.channel_stats("t", "c")["depth"], 0);
    assert_eq!(b.channel_stats("nochan", "late")["depth"], 0);
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn in_flight_and_deferred_survive_a_graceful_restart() {
    let data = temp_dir("inflight");
    let cfg = test_config(&data);
    let b = TestBroker::start(cfg.clone());
    let mut c = Client::subscriber(b.tcp, "t", "c", 10);
    let mut p = Client::connect(b.tcp);
    p.publish("t", b"in-flight");
    p.send(&Command::Dpub {
        topic: "t".into(),
        delay_ms: 3_600_000,
        body: b"deferred".to_vec(),
    });
    p.expect_ok();
    let m = c.expect_message();
    assert_eq!(&*m.body, b"in-flight");
    b.wait_channel("t", "c", "one deferred", |s| s["deferred_count"] == 1);
    // Shut down with one message in flight (never FINed) and one deferred.
    b.shutdown();
    let b = TestBroker::start(cfg);
    let got: HashSet<_> = consume(&b, "t", "c", 2).into_iter().collect();
    assert_eq!(
        got,
        [b"in-flight".to_vec(), b"deferred".to_vec()]
            .into_iter()
            .collect()
    );
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn crash_recovery_adopts_written_records_and_cuts_a_torn_tail() {
    let data = temp_dir("crash");
    let mut cfg = test_config(&data);
    cfg.mem_queue_size = 0; // every message straight to disk
    cfg.sync_every = 1_000_000; // and no metadata sync before the "crash"
    cfg.sync_timeout = std::time::Duration::from_secs(3600);
    let b = TestBroker::start(cfg.clone());
    let mut p = Client::connect(b.tcp);
    let n = 300;
    for body in bodies("c", n) {
        p.publish("t", &body);
    }
    // Crash: the runtime goes away with every goroutine, no shutdown, no sync.
    let TestBroker { rt, broker, .. } = b;
    drop(rt);
    drop(broker);
    drop(p);
    let meta = std::fs::read_to_string(data.join("t.diskqueue.meta.dat")).unwrap();
    assert!(
        meta.starts_with("0\n"),
        "metadata was synced after all: {meta:?}"
    );
    // A record torn half way by the crash.
    let seg = data.join("t.diskqueue.000000.dat");
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[0, 0, 0, 200, 1, 2, 3]).unwrap();
    drop(f);

    let b = TestBroker::start(cfg);
    let got = consume(&b, "t", "c", n);
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), bodies("c", n));
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}
