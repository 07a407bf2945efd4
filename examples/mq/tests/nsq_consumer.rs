//! The gort NSQ consumer library against the gort broker: everything consumed once
//! over several connections with a handler pool, failures requeued and retried with
//! backoff, `max_attempts` giving up, TOUCH keeping a long handler's message, and a
//! graceful shutdown that lets running handlers finish and loses nothing.

mod nsq_support;

use gort_mq::nsq::consumer::{run, ConsumerConfig, HandlerResult};
use gort_mq::nsq::protocol::Command;
use nsq_support::{temp_dir, test_config, Client, TestBroker, WAIT};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn publish(b: &TestBroker, topic: &str, n: usize) {
    let mut p = Client::connect(b.tcp);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let bodies = chunk.iter().map(|i| format!("m{i}").into_bytes()).collect();
        p.send(&Command::Mpub {
            topic: topic.into(),
            bodies,
        });
        p.expect_ok();
    }
}

fn config(b: &TestBroker, topic: &str, conns: usize) -> ConsumerConfig {
    let addr = b.tcp.to_string();
    let addrs: Vec<&str> = (0..conns).map(|_| addr.as_str()).collect();
    let mut c = ConsumerConfig::new(topic, "c", &addrs);
    c.max_in_flight = 40;
    c.concurrency = 8;
    c.requeue_delay = Duration::from_millis(10);
    c.backoff = Duration::from_millis(20);
    c.max_backoff = Duration::from_millis(100);
    c.shutdown_timeout = WAIT;
    c
}

/// Runs a consumer on a runtime of its own until `stop(&seen)` says so.
fn consume(
    cfg: ConsumerConfig,
    handler_fails: impl Fn(&str, u16) -> bool + Send + Sync + 'static,
    handler_sleep: Duration,
    stop: impl Fn(&HashMap<String, Vec<u16>>) -> bool + Send + 'static,
) -> (
    gort_mq::nsq::consumer::ConsumerStats,
    HashMap<String, Vec<u16>>,
) {
    let seen: Arc<Mutex<HashMap<String, Vec<u16>>>> = Arc::default();
    let s2 = seen.clone();
    let fails = Arc::new(handler_fails);
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
                let (seen, fails) = (s2.clone(), fails.clone());
                async move {
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
    (stats, seen)
}

#[test]
fn consumes_everything_once_over_several_connections() {
    let data = temp_dir("consumer");
    let b = TestBroker::start(test_config(&data));
    let n = 2000;
    publish(&b, "t", n);
    let (stats, seen) = consume(
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
    publish(&b, "t", n);
    // Every message fails on its first attempt.
    let (stats, seen) = consume(
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
    publish(&b, "t", 1);
    let mut cfg = config(&b, "t", 1);
    cfg.max_attempts = 3;
    let (stats, seen) = consume(
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
    publish(&b, "t", 1);
    let mut cfg = config(&b, "t", 1);
    cfg.msg_timeout = Some(Duration::from_millis(1000));
    let (stats, seen) = consume(
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
    publish(&b, "t", n);
    // Slow handlers, stopped after the first few: those running finish and FIN.
    let (stats, seen) = consume(
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
