//! Consumer groups: range and round-robin assignment, rebalance when partitions are
//! added (the new ones get consumed), a graceful close commits, a restarted group
//! resumes from its committed offsets, and rebalance notifications.

mod kafka_common;

use gort_mq::kafka::*;
use kafka_common::{eventually, run, TempDir};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn tps(v: &[(&str, u32)]) -> Vec<TopicPartition> {
    v.iter().map(|(t, p)| TopicPartition::new(*t, *p)).collect()
}

/// Members and the topics each subscribes to.
fn members(v: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    v.iter()
        .map(|(m, t)| (m.to_string(), t.iter().map(|t| t.to_string()).collect()))
        .collect()
}

/// Topics and their partition counts.
fn topics(v: &[(&str, u32)]) -> BTreeMap<String, u32> {
    v.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

#[test]
fn range_assignment() {
    let a = Strategy::Range.assign(
        &members(&[("a", &["t1", "t2"]), ("b", &["t1", "t2"]), ("c", &["t1"])]),
        &topics(&[("t1", 7), ("t2", 3)]),
    );
    assert_eq!(
        a["a"],
        tps(&[("t1", 0), ("t1", 1), ("t1", 2), ("t2", 0), ("t2", 1)])
    );
    assert_eq!(a["b"], tps(&[("t1", 3), ("t1", 4), ("t2", 2)]));
    assert_eq!(a["c"], tps(&[("t1", 5), ("t1", 6)]));
}

#[test]
fn round_robin_assignment() {
    let a = Strategy::RoundRobin.assign(
        &members(&[("a", &["t1", "t2"]), ("b", &["t1", "t2"]), ("c", &["t2"])]),
        &topics(&[("t1", 3), ("t2", 4)]),
    );
    // t1 dealt a,b,(c skipped)a; t2 continues at b: b,c,a,b.
    assert_eq!(a["a"], tps(&[("t1", 0), ("t1", 2), ("t2", 2)]));
    assert_eq!(a["b"], tps(&[("t1", 1), ("t2", 0), ("t2", 3)]));
    assert_eq!(a["c"], tps(&[("t2", 1)]));
    // Every partition exactly once, for both strategies and many shapes.
    for strategy in [Strategy::Range, Strategy::RoundRobin] {
        for m in 1..6 {
            for n in 0..13 {
                let members: BTreeMap<String, Vec<String>> = (0..m)
                    .map(|i| (format!("m{i}"), vec!["t".to_string()]))
                    .collect();
                let a = strategy.assign(&members, &topics(&[("t", n)]));
                let all: Vec<_> = a.values().flatten().cloned().collect();
                let set: BTreeSet<_> = all.iter().cloned().collect();
                assert_eq!(all.len(), n as usize);
                assert_eq!(set.len(), n as usize);
                let sizes: Vec<usize> = a.values().map(Vec::len).collect();
                assert!(
                    sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
                    "balanced"
                );
            }
        }
    }
}

fn fast_group() -> ConsumerConfig {
    ConsumerConfig {
        group: GroupConfig {
            session_timeout: Duration::from_millis(1000),
            heartbeat_interval: Duration::from_millis(50),
            rebalance_timeout: Duration::from_millis(500),
            ..GroupConfig::default()
        },
        auto_commit_interval: Duration::from_millis(100),
        return_notifications: true,
        ..ConsumerConfig::default()
    }
}

type Seen = Arc<Mutex<Vec<(u32, u64)>>>;

fn recorder(seen: &Seen) -> impl Handler {
    let seen = Arc::clone(seen);
    AutoMark(move |m: Message| {
        seen.lock().unwrap().push((m.partition, m.offset));
        std::future::ready(())
    })
}

/// Sends `values` to topic "t", round-robin over its partitions.
async fn produce(b: &Broker, values: impl IntoIterator<Item = Vec<u8>>) {
    let p = SyncProducer::new(b.clone(), Arc::new(RoundRobinPartitioner::new()));
    for v in values {
        p.send(ProducerMessage::new("t", None, v)).await.unwrap();
    }
}

/// Starts a member of group "g" on topic "t" that records what it handles.
fn start_recording(b: &Broker, cfg: ConsumerConfig) -> (Consumer, Seen) {
    let seen: Seen = Arc::default();
    let ctx = gort::context::background();
    let c = Consumer::start(b, &ctx, "g", &["t"], cfg, recorder(&seen));
    (c, seen)
}

/// Produces one message per value, round-robin, then starts a recording member of
/// group "g" and waits until it has handled as many.
async fn produce_then_consume(b: &Broker, values: std::ops::Range<u32>) -> (Consumer, Seen) {
    let n = values.len();
    produce(b, values.map(|i| i.to_be_bytes().to_vec())).await;
    let (c, seen) = start_recording(b, fast_group());
    eventually(Duration::from_secs(10), &format!("{n} consumed"), || {
        seen.lock().unwrap().len() >= n
    })
    .await;
    (c, seen)
}

#[test]
fn added_partitions_rebalance_the_group() {
    let dir = TempDir::new("grp-add");
    let b = Broker::open(&dir.0, LogConfig::default()).unwrap();
    b.create_topic("t", 2).unwrap();
    let b2 = b.clone();
    run(LIMIT, async move {
        let seen: Seen = Arc::default();
        let ctx = gort::context::background();
        let c1 = Consumer::start(&b2, &ctx, "g", &["t"], fast_group(), recorder(&seen));
        let c2 = Consumer::start(&b2, &ctx, "g", &["t"], fast_group(), recorder(&seen));
        let coord = b2.coordinator("g", &fast_group().group);
        eventually(Duration::from_secs(10), "two members, stable", || {
            coord.members().len() == 2 && !coord.is_rebalancing()
        })
        .await;
        let gen = coord.generation();
        gort::blocking(|| b2.add_partitions("t", 2)).unwrap();
        produce(&b2, (0..40u8).map(|i| vec![i])).await;
        eventually(Duration::from_secs(10), "all 40 consumed", || {
            seen.lock().unwrap().len() >= 40
        })
        .await;
        assert!(
            coord.generation() > gen,
            "a rebalance for the new partitions"
        );
        let owned: BTreeSet<u32> = coord
            .assignment()
            .values()
            .flatten()
            .map(|tp| tp.partition)
            .collect();
        assert_eq!(owned, (0..4).collect(), "all four partitions assigned");
        let got: BTreeSet<u32> = seen.lock().unwrap().iter().map(|x| x.0).collect();
        assert_eq!(got, (0..4).collect(), "new partitions consumed");
        // Notifications: each member saw at least one claim.
        let n1 = c1.notifications().try_recv().expect("a notification");
        assert_eq!(n1.kind, NotificationKind::RebalanceOk);
        c1.close().await;
        c2.close().await;
        assert_eq!(
            seen.lock().unwrap().len(),
            40,
            "no duplicates on graceful rebalances"
        );
    });
}

#[test]
fn restarted_group_resumes_from_committed_offsets() {
    let dir = TempDir::new("grp-resume");
    {
        let b = Broker::open(&dir.0, LogConfig::default()).unwrap();
        b.create_topic("t", 3).unwrap();
        let b2 = b.clone();
        run(LIMIT, async move {
            let (c, seen) = produce_then_consume(&b2, 0..300).await;
            c.close().await; // commits
            assert_eq!(seen.lock().unwrap().len(), 300);
        });
    }
    // "Restart": a new broker over the same directory, 150 more messages.
    let b = Broker::open(&dir.0, LogConfig::default()).unwrap();
    let b2 = b.clone();
    run(LIMIT, async move {
        for tp in 0..3 {
            assert_eq!(
                b2.offsets()
                    .committed("g", &TopicPartition::new("t", tp))
                    .unwrap(),
                Some(100),
                "committed on close"
            );
        }
        let (c, seen) = produce_then_consume(&b2, 300..450).await;
        // Give it a moment to (wrongly) re-read anything old.
        gort::time::sleep(Duration::from_millis(200)).await;
        c.close().await;
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 150, "only the new messages");
        assert!(seen.iter().all(|&(_, off)| off >= 100));
    });
}

#[test]
fn initial_offset_newest_skips_the_backlog() {
    let dir = TempDir::new("grp-newest");
    let b = Broker::open(&dir.0, LogConfig::default()).unwrap();
    b.create_topic("t", 1).unwrap();
    let b2 = b.clone();
    run(LIMIT, async move {
        produce(&b2, std::iter::repeat(vec![1]).take(10)).await;
        let cfg = ConsumerConfig {
            initial_offset: InitialOffset::Newest,
            ..fast_group()
        };
        let (c, seen) = start_recording(&b2, cfg);
        let coord = b2.coordinator("g", &fast_group().group);
        eventually(Duration::from_secs(10), "joined", || {
            coord.generation() >= 1 && !coord.is_rebalancing()
        })
        .await;
        gort::time::sleep(Duration::from_millis(100)).await; // the partition goroutine starts
        produce(&b2, [vec![2]]).await;
        eventually(Duration::from_secs(10), "the new one", || {
            !seen.lock().unwrap().is_empty()
        })
        .await;
        c.close().await;
        assert_eq!(*seen.lock().unwrap(), vec![(0, 10)]);
    });
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Broker>();
    check::<Consumer>();
    check::<Session>();
    check::<Coordinator>();
    check::<AsyncProducer>();
    check::<SyncProducer>();
    check::<Partition>();
    check::<Topic>();
}

/// Dropping a member without `close` stops it as `close` does: it commits what it
/// handled and leaves the group at once (not after its 30 s session timeout), so a
/// member that joins next re-reads nothing.
#[test]
fn a_dropped_member_commits_and_leaves() {
    let dir = TempDir::new("grp-drop");
    let b = Broker::open(&dir.0, LogConfig::default()).unwrap();
    b.create_topic("t", 4).unwrap();
    let b2 = b.clone();
    run(LIMIT, async move {
        let config = ConsumerConfig {
            group: GroupConfig {
                // Long enough that only a leave can explain a quick rebalance.
                session_timeout: Duration::from_secs(30),
                ..fast_group().group
            },
            ..fast_group()
        };
        let (first, seen_first) = start_recording(&b2, config.clone());
        produce(&b2, (0..200u32).map(|i| i.to_be_bytes().to_vec())).await;
        eventually(Duration::from_secs(10), "200 consumed", || {
            seen_first.lock().unwrap().len() >= 200
        })
        .await;
        let coordinator = b2.coordinator("g", &config.group);
        drop(first);
        eventually(Duration::from_secs(10), "the dropped member left", || {
            coordinator.members().is_empty()
        })
        .await;
        let committed: u64 = coordinator.committed_all().unwrap().values().sum();
        assert_eq!(committed, 200, "everything handled was committed");
        let (second, seen_second) = start_recording(&b2, config);
        produce(&b2, (200..240u32).map(|i| i.to_be_bytes().to_vec())).await;
        eventually(Duration::from_secs(10), "40 more consumed", || {
            seen_second.lock().unwrap().len() >= 40
        })
        .await;
        second.close().await;
        assert_eq!(seen_second.lock().unwrap().len(), 40, "nothing re-read");
    });
}
