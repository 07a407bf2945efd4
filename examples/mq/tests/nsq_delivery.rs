//! Delivery as NSQ promises it: fan-out to every channel, load-balancing within one,
//! RDY bounding in-flight, requeue on timeout (attempts counted), REQ with and without
//! delay, DPUB, TOUCH, CLS, requeue when a consumer disconnects, and the whole of it
//! at once: every message FINed exactly once across consumers that connect,
//! disconnect and time out.

mod nsq_support;

use gort_mq::nsq::protocol::{Command, Frame};
use nsq_support::{temp_dir, test_config, Client, TestBroker, WAIT};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

#[test]
fn fan_out_to_channels_and_balance_within_one() {
    let data = temp_dir("fanout");
    let b = TestBroker::start(test_config(&data));
    let mut a1 = Client::subscriber(b.tcp, "t", "a", 100);
    let mut a2 = Client::subscriber(b.tcp, "t", "a", 100);
    let mut solo = Client::subscriber(b.tcp, "t", "b", 100);
    let mut p = Client::connect(b.tcp);
    let n = 200;
    for i in 0..n {
        p.publish("t", format!("m{i}").as_bytes());
    }
    // Channel b gets every message.
    let mut in_b = HashSet::new();
    for _ in 0..n {
        let m = solo.expect_message();
        assert!(in_b.insert(m.body.to_vec()), "duplicate in channel b");
        solo.send(&Command::Fin(m.id));
    }
    // Channel a's two consumers share them, each message to one of them. Which one
    // is the scheduler's business; between them they get all.
    b.wait_channel("t", "a", "all delivered in a", |c| {
        c["in_flight_count"] == n
    });
    let a1_count = b.channel_stats("t", "a")["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["in_flight_count"].as_u64().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(a1_count.iter().sum::<u64>(), n);
    let mut in_a = HashSet::new();
    for (c, k) in [(&mut a1, a1_count[0]), (&mut a2, a1_count[1])] {
        for _ in 0..k {
            let m = c.expect_message();
            assert!(in_a.insert(m.body.to_vec()), "duplicate in channel a");
            c.send(&Command::Fin(m.id));
        }
    }
    assert_eq!(in_a, in_b);
    b.wait_channel("t", "a", "a finished", |c| c["finish_count"] == n);
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn rdy_bounds_in_flight() {
    let data = temp_dir("rdy");
    let b = TestBroker::start(test_config(&data));
    let mut c = Client::subscriber(b.tcp, "t", "c", 2);
    let mut p = Client::connect(b.tcp);
    for i in 0..5 {
        p.publish("t", format!("{i}").as_bytes());
    }
    let m1 = c.expect_message();
    let _m2 = c.expect_message();
    // Two in flight, three waiting, and it stays so until one is finished.
    b.wait_channel("t", "c", "2 in flight, 3 queued", |s| {
        s["in_flight_count"] == 2 && s["depth"] == 3
    });
    std::thread::sleep(Duration::from_millis(200));
    let s = b.channel_stats("t", "c");
    assert_eq!(
        (s["in_flight_count"].as_u64(), s["depth"].as_u64()),
        (Some(2), Some(3)),
        "{s}"
    );
    c.send(&Command::Fin(m1.id));
    let _m3 = c.expect_message();
    b.wait_channel("t", "c", "2 in flight, 2 queued", |s| {
        s["in_flight_count"] == 2 && s["depth"] == 2
    });
    // RDY 0 stops delivery altogether.
    c.send(&Command::Rdy(0));
    c.send(&Command::Fin(_m2.id));
    c.send(&Command::Fin(_m3.id));
    b.wait_channel("t", "c", "nothing in flight", |s| s["in_flight_count"] == 0);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(b.channel_stats("t", "c")["depth"], 2);
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn timeout_requeues_and_counts_attempts() {
    let data = temp_dir("timeout");
    let mut cfg = test_config(&data);
    cfg.msg_timeout = Duration::from_millis(300);
    let b = TestBroker::start(cfg);
    let mut c = Client::subscriber(b.tcp, "t", "c", 1);
    Client::connect(b.tcp).publish("t", b"slow");
    let first = c.expect_message();
    assert_eq!(first.attempts, 1);
    // Not finished: it comes back, one attempt more, same ID and body.
    let again = c.expect_message();
    assert_eq!(
        (again.id, again.attempts, &*again.body),
        (first.id, 2, &b"slow"[..])
    );
    let third = c.expect_message();
    assert_eq!(third.attempts, 3);
    c.send(&Command::Fin(third.id));
    b.wait_channel("t", "c", "finished after 2 timeouts", |s| {
        s["finish_count"] == 1 && s["timeout_count"] == 2 && s["in_flight_count"] == 0
    });
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn late_fin_after_timeout_fails() {
    let data = temp_dir("latefin");
    let mut cfg = test_config(&data);
    cfg.msg_timeout = Duration::from_millis(200);
    let b = TestBroker::start(cfg);
    let mut slow = Client::subscriber(b.tcp, "t", "c", 1);
    Client::connect(b.tcp).publish("t", b"x");
    let m = slow.expect_message();
    b.wait_channel("t", "c", "timed out", |s| s["timeout_count"] == 1);
    slow.send(&Command::Rdy(0));
    // It may have been redelivered to this same client already; drain that first.
    let mut again = None;
    b.wait_channel("t", "c", "settled", |s| {
        s["in_flight_count"].as_u64() <= Some(1)
    });
    if b.channel_stats("t", "c")["in_flight_count"] == 1 {
        again = Some(slow.expect_message());
        b.wait_channel("t", "c", "timed out twice", |s| s["timeout_count"] == 2);
    }
    slow.send(&Command::Fin(m.id));
    slow.expect_error("E_FIN_FAILED");
    if let Some(a) = again {
        slow.send(&Command::Fin(a.id));
        slow.expect_error("E_FIN_FAILED");
    }
    assert_eq!(b.channel_stats("t", "c")["finish_count"], 0);
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn req_with_and_without_delay() {
    let data = temp_dir("req");
    let b = TestBroker::start(test_config(&data));
    let mut c = Client::subscriber(b.tcp, "t", "c", 10);
    let mut p = Client::connect(b.tcp);
    p.publish("t", b"now");
    let m = c.expect_message();
    c.send(&Command::Req(m.id, 0));
    let m = c.expect_message();
    assert_eq!((&*m.body, m.attempts), (&b"now"[..], 2));
    c.send(&Command::Fin(m.id));

    p.publish("t", b"later");
    let m = c.expect_message();
    let delay = Duration::from_millis(500);
    let asked = Instant::now();
    c.send(&Command::Req(m.id, delay.as_millis() as u64));
    b.wait_channel("t", "c", "deferred", |s| {
        s["deferred_count"] == 1 || s["in_flight_count"] == 1
    });
    let m2 = c.expect_message();
    assert!(
        asked.elapsed() >= delay,
        "a deferred message came back early"
    );
    assert_eq!((m2.id, m2.attempts), (m.id, 2));
    c.send(&Command::Fin(m2.id));
    b.wait_channel("t", "c", "done", |s| {
        s["finish_count"] == 2 && s["requeue_count"] == 2
    });
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn dpub_defers_delivery() {
    let data = temp_dir("dpub");
    let b = TestBroker::start(test_config(&data));
    let mut c = Client::subscriber(b.tcp, "t", "c", 10);
    let mut p = Client::connect(b.tcp);
    let published = Instant::now();
    p.send(&Command::Dpub {
        topic: "t".into(),
        delay_ms: 400,
        body: b"d".to_vec(),
    });
    p.expect_ok();
    p.publish("t", b"plain");
    // The plain one arrives first; the deferred one only after its delay.
    assert_eq!(&*c.expect_message().body, b"plain");
    let m = c.expect_message();
    assert_eq!(&*m.body, b"d");
    assert!(published.elapsed() >= Duration::from_millis(400));
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn touch_keeps_a_message_in_flight() {
    let data = temp_dir("touch");
    let b = TestBroker::start(test_config(&data));
    let mut c = Client::subscriber(b.tcp, "t", "c", 1);
    // Identify is only allowed before SUB, so use a fresh client with a 1 s timeout.
    let mut t = Client::connect(b.tcp);
    assert_eq!(
        t.identify(r#"{"msg_timeout":1000}"#),
        Frame::Response(b"OK".to_vec())
    );
    t.send(&Command::Sub {
        topic: "t".into(),
        channel: "c".into(),
    });
    t.expect_ok();
    c.send(&Command::Rdy(0));
    t.send(&Command::Rdy(1));
    Client::connect(b.tcp).publish("t", b"long job");
    let m = t.expect_message();
    // Work for 2.5 s, touching every 300 ms: never times out.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        std::thread::sleep(Duration::from_millis(300));
        t.send(&Command::Touch(m.id));
    }
    t.send(&Command::Fin(m.id));
    b.wait_channel("t", "c", "finished", |s| s["finish_count"] == 1);
    assert_eq!(b.channel_stats("t", "c")["timeout_count"], 0);
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn cls_stops_delivery_and_disconnect_requeues() {
    let data = temp_dir("cls");
    let b = TestBroker::start(test_config(&data));
    let mut c = Client::subscriber(b.tcp, "t", "c", 2);
    let mut p = Client::connect(b.tcp);
    p.publish("t", b"1");
    p.publish("t", b"2");
    let m1 = c.expect_message();
    let m2 = c.expect_message();
    c.send(&Command::Cls);
    assert_eq!(c.frame(), Frame::Response(b"CLOSE_WAIT".to_vec()));
    p.publish("t", b"3");
    // RDY is ignored once closing; FIN still works.
    c.send(&Command::Rdy(5));
    c.send(&Command::Fin(m1.id));
    b.wait_channel("t", "c", "one finished, one queued", |s| {
        s["finish_count"] == 1 && s["depth"] == 1 && s["in_flight_count"] == 1
    });
    // Disconnecting with m2 in flight puts it back at once (no timeout wait).
    drop(c);
    let mut next = Client::subscriber(b.tcp, "t", "c", 5);
    let mut got = HashMap::new();
    for _ in 0..2 {
        let m = next.expect_message();
        got.insert(m.body.to_vec(), m.attempts);
        next.send(&Command::Fin(m.id));
    }
    assert_eq!(
        got.get(&b"2"[..]),
        Some(&2),
        "m2 redelivered with its second attempt"
    );
    assert_eq!(got.get(&b"3"[..]), Some(&1));
    let _ = m2;
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

/// Every message FINed exactly once while consumers come and go: two steady
/// consumers FIN everything at once; a "stalled" consumer takes messages and never
/// FINs them (they time out); a "flaky" one takes a few and disconnects, over and
/// over. A successful FIN is one that no `E_FIN_FAILED` answers; the steady
/// consumers FIN within milliseconds of delivery, far inside the timeout.
#[test]
fn every_message_finished_exactly_once() {
    let data = temp_dir("exactly-once");
    let mut cfg = test_config(&data);
    cfg.msg_timeout = Duration::from_millis(400);
    cfg.mem_queue_size = 100; // some of it spills to disk on the way
    let b = TestBroker::start(cfg);
    let n = 3000usize;
    let tcp = b.tcp;

    let steady = |k: usize| {
        std::thread::spawn(move || {
            let mut c = Client::subscriber(tcp, "t", "c", 20);
            c.s.set_read_timeout(Some(Duration::from_millis(1500)))
                .unwrap();
            let mut fins = Vec::new();
            let mut quiet_since = Instant::now();
            loop {
                let mut size = [0u8; 4];
                use std::io::Read;
                match c.s.read_exact(&mut size) {
                    Ok(()) => {}
                    Err(_) if quiet_since.elapsed() > Duration::from_secs(4) => break,
                    Err(_) => continue,
                }
                let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
                c.s.read_exact(&mut body).unwrap();
                match gort_mq::nsq::protocol::decode_frame(&body).unwrap() {
                    Frame::Message(m) => {
                        c.send(&Command::Fin(m.id));
                        fins.push(m.body.to_vec());
                        quiet_since = Instant::now();
                    }
                    f if f.is_heartbeat() => c.send(&Command::Nop),
                    f => panic!("steady consumer {k} got {f:?}"),
                }
            }
            fins
        })
    };
    let s1 = steady(1);
    let s2 = steady(2);

    // Stalled: takes up to 50 and never answers; they time out to the others.
    let mut stalled = Client::subscriber(tcp, "t", "c", 50);
    // Flaky: connects, takes a few, disconnects; ten times.
    let flaky = std::thread::spawn(move || {
        for _ in 0..10 {
            let mut f = Client::subscriber(tcp, "t", "c", 5);
            for _ in 0..3 {
                let _ = f.expect_message();
            }
            drop(f);
        }
    });

    b.publish_n("t", "msg-", n);
    flaky.join().unwrap();
    b.wait_channel("t", "c", "all finished", |s| s["finish_count"] == n as u64);
    let mut all: Vec<Vec<u8>> = s1.join().unwrap();
    all.extend(s2.join().unwrap());
    assert_eq!(all.len(), n, "FINs sent by the steady consumers");
    let distinct: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(distinct.len(), n, "a message was finished twice");
    let want: HashSet<Vec<u8>> = (0..n).map(|i| format!("msg-{i}").into_bytes()).collect();
    assert_eq!(distinct, want);
    let s = b.channel_stats("t", "c");
    assert_eq!(
        (s["depth"].as_u64(), s["in_flight_count"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
    assert!(
        s["timeout_count"].as_u64().unwrap() > 0,
        "the stalled consumer timed nothing out: {s}"
    );
    // The stalled consumer's messages all went elsewhere; its late FINs now fail.
    stalled.s.set_read_timeout(Some(WAIT)).unwrap();
    let m = stalled.expect_message();
    stalled.send(&Command::Fin(m.id));
    loop {
        // Messages it was sent before are still in its socket buffer; skip them.
        match stalled.frame() {
            Frame::Message(_) => continue,
            Frame::Error(e) => {
                assert!(
                    e.starts_with(b"E_FIN_FAILED "),
                    "{}",
                    String::from_utf8_lossy(&e)
                );
                break;
            }
            f => panic!("{f:?}"),
        }
    }
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}
