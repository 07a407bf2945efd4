//! The gort NSQ consumer library against the gort broker: everything consumed once
//! over several connections with a handler pool, failures requeued and retried with
//! backoff, `max_attempts` giving up, TOUCH keeping a long handler's message, and a
//! graceful shutdown that lets running handlers finish and loses nothing; RDY spread
//! so that it adds up to max-in-flight, and with fewer max-in-flight than connections,
//! RDY rotated so every nsqd is drained without exceeding the bound.

mod nsq_support;

use gort_mq::nsq::consumer::{run, ConsumerConfig, HandlerResult};
use nsq_support::{temp_dir, test_config, TestBroker, WAIT};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `conns` connections to `b`.
fn config(b: &TestBroker, topic: &str, conns: usize) -> ConsumerConfig {
    config_on(&vec![b; conns], topic)
}

/// One connection to each of `brokers`.
fn config_on(brokers: &[&TestBroker], topic: &str) -> ConsumerConfig {
    let addrs: Vec<String> = brokers.iter().map(|b| b.tcp.to_string()).collect();
    let addrs: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let mut c = ConsumerConfig::new(topic, "c", &addrs);
    c.max_in_flight = 40;
    c.concurrency = 8;
    c.requeue_delay = Duration::from_millis(10);
    c.backoff = Duration::from_millis(20);
    c.max_backoff = Duration::from_millis(100);
    c.shutdown_timeout = WAIT;
    c
}

/// What a consumer run did: its stats, the attempts each body was handled at, and
/// the most handlers that ever ran at once.
struct Consumed {
    stats: gort_mq::nsq::consumer::ConsumerStats,
    seen: HashMap<String, Vec<u16>>,
    peak_running: usize,
}

/// Runs a consumer on a runtime of its own until `stop(&seen)` says so.
fn consume(
    cfg: ConsumerConfig,
    handler_fails: impl Fn(&str, u16) -> bool + Send + Sync + 'static,
    handler_sleep: Duration,
    stop: impl Fn(&HashMap<String, Vec<u16>>) -> bool + Send + 'static,
) -> Consumed {
    let seen: Arc<Mutex<HashMap<String, Vec<u16>>>> = Arc::default();
    let s2 = seen.clone();
    let fails = Arc::new(handler_fails);
    // Handlers running now, and the most ever.
    let running: Arc<(AtomicUsize, AtomicUsize)> = Arc::default();
    let r2 = running.clone();
    let stats = gort::run(async move {
        let (ctx, cancel) = gort::context::background().with_cancel();
        let s3 = s2.clone();
        let watcher = gort::go(async move {
            let start = std::time::Instant::now();
            while !stop(&s3.lock().unwrap()) && start.elapsed() < WAIT {
                gort::time::sleep(Duration::from_millis(10)).await;
            }
            cancel.cancel();
        });
        let stats = run(
            cfg,
            move |m| {
                let (seen, fails, running) = (s2.clone(), fails.clone(), r2.clone());
                async move {
                    let now = running.0.fetch_add(1, Ordering::SeqCst) + 1;
                    running.1.fetch_max(now, Ordering::SeqCst);
                    let body = String::from_utf8(m.body.to_vec()).unwrap();
                    if !handler_sleep.is_zero() {
                        gort::time::sleep(handler_sleep).await;
                    }
                    let fail = fails(&body, m.attempts);
                    seen.lock()
                        .unwrap()
                        .entry(body.clone())
                        .or_default()
                        .push(m.attempts);
                    running.0.fetch_sub(1, Ordering::SeqCst);
                    let r: HandlerResult = if fail {
                        Err("handler failed".into())
                    } else {
                        Ok(())
                    };
                    r
                }
            },
            ctx,
        )
        .await
        .unwrap();
        watcher.await.unwrap();
        stats
    });
    let seen = seen.lock().unwrap().clone();
    Consumed {
        stats,
        seen,
        peak_running: running.1.load(Ordering::SeqCst),
    }
}

#[test]
fn consumes_everything_once_over_several_connections() {
    let data = temp_dir("consumer");
    let b = TestBroker::start(test_config(&data));
    let n = 2000;
    b.publish_n("t", "m", n);
    let Consumed { stats, seen, .. } = consume(
        config(&b, "t", 3),
        |_, _| false,
        Duration::ZERO,
        move |s| s.len() == n,
    );
    assert_eq!(seen.len(), n);
    assert!(
        seen.values().all(|a| a == &vec![1]),
        "a message handled twice"
    );
    assert_eq!(stats.finished, n as u64);
    b.wait_channel("t", "c", "all finished", |s| {
        s["finish_count"] == n as u64 && s["in_flight_count"] == 0
    });
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn failures_are_requeued_with_backoff_and_retried() {
    let data = temp_dir("consumer-fail");
    let b = TestBroker::start(test_config(&data));
    let n = 50;
    b.publish_n("t", "m", n);
    // Every message fails on its first attempt.
    let Consumed { stats, seen, .. } = consume(
        config(&b, "t", 2),
        |_, attempts| attempts == 1,
        Duration::ZERO,
        move |s| s.len() == n && s.values().all(|a| a.len() >= 2),
    );
    assert!(seen.values().all(|a| a[..2] == [1, 2]), "{seen:?}");
    assert_eq!((stats.finished, stats.requeued), (n as u64, n as u64));
    b.wait_channel("t", "c", "all finished", |s| {
        s["finish_count"] == n as u64 && s["requeue_count"] == n as u64
    });
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn max_attempts_gives_up() {
    let data = temp_dir("consumer-giveup");
    let b = TestBroker::start(test_config(&data));
    b.publish_n("t", "m", 1);
    let mut cfg = config(&b, "t", 1);
    cfg.max_attempts = 3;
    let Consumed { stats, seen, .. } = consume(
        cfg,
        |_, _| true,
        Duration::ZERO,
        |s| s.get("m0").is_some_and(|a| a.len() == 3),
    );
    assert_eq!(seen["m0"], vec![1, 2, 3]);
    assert_eq!((stats.gave_up, stats.requeued), (1, 2));
    b.wait_channel("t", "c", "given up", |s| {
        s["finish_count"] == 1 && s["depth"] == 0
    });
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn touch_keeps_a_long_handler_s_message() {
    let data = temp_dir("consumer-touch");
    let b = TestBroker::start(test_config(&data));
    b.publish_n("t", "m", 1);
    let mut cfg = config(&b, "t", 1);
    cfg.msg_timeout = Some(Duration::from_millis(1000));
    let Consumed { stats, seen, .. } = consume(
        cfg,
        |_, _| false,
        Duration::from_millis(2500),
        |s| s.len() == 1,
    );
    assert_eq!(seen["m0"], vec![1]);
    assert_eq!(stats.finished, 1);
    b.wait_channel("t", "c", "finished", |s| s["finish_count"] == 1);
    assert_eq!(b.channel_stats("t", "c")["timeout_count"], 0);
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn shutdown_lets_running_handlers_finish_and_loses_nothing() {
    let data = temp_dir("consumer-stop");
    let b = TestBroker::start(test_config(&data));
    let n = 500;
    b.publish_n("t", "m", n);
    // Slow handlers, stopped after the first few: those running finish and FIN.
    let Consumed { stats, seen, .. } = consume(
        config(&b, "t", 2),
        |_, _| false,
        Duration::from_millis(50),
        |s| s.len() >= 10,
    );
    assert_eq!(stats.finished as usize, seen.len());
    b.wait_channel("t", "c", "settled", |s| {
        s["in_flight_count"] == 0 && s["client_count"] == 0
    });
    let s = b.channel_stats("t", "c");
    assert_eq!(
        s["finish_count"].as_u64().unwrap() as usize,
        seen.len(),
        "{s}"
    );
    assert_eq!(s["depth"].as_u64().unwrap() as usize, n - seen.len(), "{s}");
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn max_in_flight_below_connections_drains_every_broker_within_the_bound() {
    let data: Vec<_> = (0..3).map(|_| temp_dir("consumer-rotate")).collect();
    let brokers: Vec<TestBroker> = data
        .iter()
        .map(|d| TestBroker::start(test_config(d)))
        .collect();
    let per_broker = 30;
    for (i, b) in brokers.iter().enumerate() {
        b.publish_n("t", &format!("b{i}-"), per_broker);
    }
    let mut cfg = config_on(&brokers.iter().collect::<Vec<_>>(), "t");
    // More handlers than max-in-flight: only RDY can keep them to one at a time.
    cfg.max_in_flight = 1;
    cfg.concurrency = 4;
    cfg.rdy_redistribute_interval = Duration::from_millis(50);
    let n = 3 * per_broker;
    let Consumed {
        stats,
        seen,
        peak_running,
    } = consume(
        cfg,
        |_, _| false,
        Duration::from_millis(2),
        move |s| s.len() == n,
    );
    assert_eq!(peak_running, 1, "handlers ran concurrently");
    assert_eq!(seen.len(), n, "not every broker was drained");
    assert!(seen.values().all(|a| a == &vec![1]), "{seen:?}");
    assert_eq!(stats.finished, n as u64);
    for b in brokers {
        b.wait_channel("t", "c", "all finished", |s| {
            s["finish_count"] == per_broker as u64 && s["depth"] == 0
        });
        b.shutdown();
    }
    for d in data {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Each client's `ready_count` in the broker's stats of `t`/`c`, by remote address
/// (none before the first SUB).
fn ready_counts(b: &TestBroker) -> HashMap<String, u64> {
    let s = b.stats();
    let channels = s["topics"].as_array().unwrap().iter().flat_map(|t| {
        t["channels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(move |c| t["topic_name"] == "t" && c["channel_name"] == "c")
    });
    channels
        .flat_map(|c| c["clients"].as_array().unwrap())
        .map(|c| {
            let addr = c["remote_address"].as_str().unwrap().to_string();
            (addr, c["ready_count"].as_u64().unwrap())
        })
        .collect()
}

/// Runs an idle consumer (nothing published) on `conns` connections to `b` until
/// `done(ready counts)` holds, checked from the broker's stats.
fn watch_rdy(
    b: &TestBroker,
    mut cfg: ConsumerConfig,
    what: &str,
    mut done: impl FnMut(&HashMap<String, u64>) -> bool,
) {
    cfg.rdy_redistribute_interval = Duration::from_millis(20);
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let consumer = std::thread::spawn(move || {
        consume(
            cfg,
            |_, _| false,
            Duration::ZERO,
            move |_| stop2.load(Ordering::SeqCst),
        )
    });
    let start = std::time::Instant::now();
    loop {
        let counts = ready_counts(b);
        if done(&counts) {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}: {counts:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::SeqCst);
    consumer.join().unwrap();
}

#[test]
fn rdy_adds_up_to_max_in_flight() {
    let data = temp_dir("consumer-rdy-sum");
    let b = TestBroker::start(test_config(&data));
    let mut cfg = config(&b, "t", 3);
    cfg.max_in_flight = 5;
    watch_rdy(&b, cfg, "RDY 2+2+1", |counts| {
        let mut rdy: Vec<u64> = counts.values().copied().collect();
        rdy.sort_unstable();
        rdy == [1, 2, 2]
    });
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn rdy_rotates_over_idle_connections() {
    let data = temp_dir("consumer-rdy-rotate");
    let b = TestBroker::start(test_config(&data));
    let mut cfg = config(&b, "t", 3);
    cfg.max_in_flight = 1;
    // Every connection is idle, so the one RDY moves on at each rotation, to a random
    // one at 0: each holds it sooner or later.
    let mut held = HashSet::new();
    watch_rdy(&b, cfg, "RDY on each connection in turn", |counts| {
        held.extend(
            counts
                .iter()
                .filter(|(_, &r)| r > 0)
                .map(|(a, _)| a.clone()),
        );
        counts.len() == 3 && held.len() == 3
    });
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}
