//! The Kafka-style guarantee under churn: 1,000,000 keyed messages, consumers joining,
//! leaving and crashing while they are consumed. Checks, per partition:
//! - at-least-once: every offset in the log was handled;
//! - order: offsets handled for the first time come in increasing order (so each key,
//!   which lives on one partition, is handled in the order it was produced), and the
//!   log itself holds each key's sequence in order;
//! - duplicates only where a crash explains them: a handling of an offset that is not
//!   the last one was done by a member that later crashed, and at the moment of that
//!   crash the group's committed offset for the partition was at or below it.

mod kafka_common;

use gort_mq::kafka::*;
use kafka_common::{eventually, run, TempDir};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MESSAGES: u64 = 1_000_000;
const PARTITIONS: u32 = 8;
const KEYS: u32 = 1000;

/// One handling: offset, member index.
type Handled = Arc<Vec<Mutex<Vec<(u64, usize)>>>>;

fn config() -> ConsumerConfig {
    ConsumerConfig {
        group: GroupConfig {
            strategy: Strategy::RoundRobin,
            session_timeout: Duration::from_millis(1500),
            heartbeat_interval: Duration::from_millis(50),
            rebalance_timeout: Duration::from_secs(1),
        },
        auto_commit_interval: Duration::from_millis(200),
        ..ConsumerConfig::default()
    }
}

fn member(broker: &Broker, handled: &Handled, idx: usize) -> Consumer {
    let handled = Arc::clone(handled);
    let h = AutoMark(move |m: Message| {
        handled[m.partition as usize]
            .lock()
            .unwrap()
            .push((m.offset, idx));
        std::future::ready(())
    });
    Consumer::start(
        broker,
        &gort::context::background(),
        "churn",
        &["t"],
        config(),
        h,
    )
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Join,
    Leave,
    Crash,
}

#[test]
fn churn_at_least_once_ordered_duplicates_only_after_crashes() {
    let dir = TempDir::new("churn");
    let broker = Broker::open(&dir.0, LogConfig::default()).unwrap();
    broker.create_topic("t", PARTITIONS).unwrap();
    let handled: Handled = Arc::new((0..PARTITIONS).map(|_| Mutex::new(Vec::new())).collect());
    let b = broker.clone();
    let h = Arc::clone(&handled);
    let started = Instant::now();
    let (crashes, evicted, member_ids) = run(Duration::from_secs(240), async move {
        // Producer: key k's n-th message carries (k, n).
        let producer = gort::go({
            let b = b.clone();
            async move {
                let p = AsyncProducer::new(b, ProducerConfig::default());
                let mut seq = vec![0u32; KEYS as usize];
                for i in 0..MESSAGES {
                    let k = ((i * 7919) % u64::from(KEYS)) as u32;
                    let mut v = k.to_be_bytes().to_vec();
                    v.extend_from_slice(&seq[k as usize].to_be_bytes());
                    seq[k as usize] += 1;
                    p.input()
                        .send(ProducerMessage::new(
                            "t",
                            Some(format!("key-{k}").into_bytes()),
                            v,
                        ))
                        .await
                        .unwrap();
                }
                p.close().await;
                assert!(p.errors().recv().await.is_none(), "no produce errors");
            }
        });
        let coord = b.coordinator("churn", &config().group);
        let mut live: Vec<(usize, Consumer)> = Vec::new();
        let mut ids: HashMap<usize, String> = HashMap::new();
        let mut next_idx = 0;
        for _ in 0..3 {
            live.push((next_idx, member(&b, &h, next_idx)));
            next_idx += 1;
        }
        let count = |h: &Handled| {
            h.iter()
                .map(|p| p.lock().unwrap().len() as u64)
                .sum::<u64>()
        };
        let script = [
            Event::Join,
            Event::Crash,
            Event::Join,
            Event::Leave,
            Event::Crash,
            Event::Join,
            Event::Join,
            Event::Leave,
            Event::Crash,
            Event::Join,
        ];
        // (member index, committed offsets right after it crashed)
        let mut crashes: Vec<(usize, BTreeMap<TopicPartition, u64>)> = Vec::new();
        for (i, ev) in script.iter().enumerate() {
            let at = MESSAGES * (i as u64 + 1) / (script.len() as u64 + 2);
            let hh = Arc::clone(&h);
            eventually(Duration::from_secs(120), "progress", move || {
                count(&hh) >= at
            })
            .await;
            for (idx, c) in &live {
                if let Some(id) = c.member_id() {
                    ids.insert(*idx, id);
                }
            }
            match ev {
                Event::Join => {
                    live.push((next_idx, member(&b, &h, next_idx)));
                    next_idx += 1;
                }
                Event::Leave => {
                    let (_, c) = live.remove(0);
                    c.close().await;
                }
                Event::Crash => {
                    // The newest-but-one member: it has been consuming for a while.
                    let pos = live.len().saturating_sub(2);
                    let (idx, c) = live.remove(pos);
                    c.crash().await;
                    ids.insert(idx, c.member_id().expect("an id is given before joining"));
                    crashes.push((idx, coord.committed_all().unwrap()));
                }
            }
        }
        producer.await.unwrap();
        // Wait until every offset was handled at least once.
        let hh = Arc::clone(&h);
        let bb = b.clone();
        eventually(
            Duration::from_secs(120),
            "every offset handled",
            move || {
                let t = bb.topic("t").unwrap();
                (0..PARTITIONS).all(|p| {
                    let end = t.partition(p).unwrap().log_end();
                    let v = hh[p as usize].lock().unwrap();
                    let mut seen = vec![false; end as usize];
                    v.iter().for_each(|&(o, _)| seen[o as usize] = true);
                    seen.iter().all(|&s| s)
                })
            },
        )
        .await;
        for (idx, c) in &live {
            if let Some(id) = c.member_id() {
                ids.insert(*idx, id);
            }
        }
        for (_, c) in live {
            c.close().await;
        }
        (crashes, coord.evicted(), ids)
    });
    let elapsed = started.elapsed();

    // The log: MESSAGES in all, each key's sequence in order within its partition.
    let t = broker.topic("t").unwrap();
    let mut total = 0;
    for p in 0..PARTITIONS {
        let part = t.partition(p).unwrap();
        total += part.log_end();
        let mut last: HashMap<u32, u32> = HashMap::new();
        let mut next = 0;
        loop {
            let batch = part.read(next, 1 << 20, 100_000).unwrap();
            if batch.is_empty() {
                break;
            }
            for m in batch {
                next = m.offset + 1;
                let k = u32::from_be_bytes(m.value[..4].try_into().unwrap());
                let s = u32::from_be_bytes(m.value[4..8].try_into().unwrap());
                if let Some(prev) = last.insert(k, s) {
                    assert!(s > prev, "key {k} out of order in partition {p}");
                }
            }
        }
    }
    assert_eq!(total, MESSAGES);

    // Evictions are exactly the crashes (no live member was taken for dead).
    let crashed_ids: Vec<&String> = crashes.iter().map(|(idx, _)| &member_ids[idx]).collect();
    // (The last crash may end the run before its session times out.)
    assert!(
        evicted.len() >= crashes.len() - 1,
        "evicted {evicted:?}, crashed {crashed_ids:?}"
    );
    for e in &evicted {
        assert!(crashed_ids.contains(&e), "{e} evicted without crashing");
    }

    let mut duplicates = 0u64;
    for p in 0..PARTITIONS {
        let end = t.partition(p).unwrap().log_end();
        let v = handled[p as usize].lock().unwrap();
        let mut by_offset: Vec<Vec<usize>> = vec![Vec::new(); end as usize];
        let mut max_first: Option<u64> = None;
        for &(o, idx) in v.iter() {
            if by_offset[o as usize].is_empty() {
                // First handling of `o`: must come after every earlier first handling.
                assert!(
                    max_first.map_or(true, |m| o > m),
                    "partition {p}: offset {o} handled first out of order"
                );
                max_first = Some(o);
            }
            by_offset[o as usize].push(idx);
        }
        let tp = TopicPartition::new("t", p);
        for (o, hs) in by_offset.iter().enumerate() {
            assert!(!hs.is_empty(), "partition {p} offset {o} never handled");
            for &idx in &hs[..hs.len() - 1] {
                duplicates += 1;
                // Handled again later: `idx` must have crashed with `o` uncommitted.
                let explained = crashes.iter().any(|(cidx, committed)| {
                    *cidx == idx && committed.get(&tp).map_or(true, |&c| (o as u64) >= c)
                });
                assert!(
                    explained,
                    "partition {p} offset {o}: duplicate not explained by a crash (members {hs:?})"
                );
            }
        }
    }
    println!(
        "churn: {MESSAGES} messages, {} crashes, {duplicates} duplicates, {:.1}s",
        crashes.len(),
        elapsed.as_secs_f64()
    );
}
