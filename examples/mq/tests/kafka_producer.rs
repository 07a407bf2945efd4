//! Producers: each partitioner, per-key order under hash, the sync producer's
//! (partition, offset), the async producer's successes and errors, batching with
//! linger, and partitions added while producing.

mod kafka_common;

use gort_mq::kafka::partitioner::fnv1a;
use gort_mq::kafka::*;
use kafka_common::{run, TempDir};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn broker(dir: &TempDir) -> Broker {
    Broker::open(&dir.0, LogConfig::default()).unwrap()
}

fn read_partition(t: &Topic, p: u32) -> Vec<Message> {
    let part = t.partition(p).unwrap();
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        let b = part.read(next, 1 << 20, 10_000).unwrap();
        if b.is_empty() {
            return out;
        }
        next = b.last().unwrap().offset + 1;
        out.extend(b);
    }
}

#[test]
fn hash_partitioner_keeps_keys_on_one_partition_in_order() {
    let dir = TempDir::new("hash");
    let b = broker(&dir);
    let t = b.create_topic("t", 4).unwrap();
    let b2 = b.clone();
    run(LIMIT, async move {
        let p = AsyncProducer::new(b2, ProducerConfig::default());
        for i in 0..4000u32 {
            let key = format!("key-{}", i % 37).into_bytes();
            p.input()
                .send(ProducerMessage::new(
                    "t",
                    Some(key),
                    i.to_be_bytes().to_vec(),
                ))
                .await
                .unwrap();
        }
        p.close().await;
        assert!(p.errors().recv().await.is_none(), "no errors");
    });
    let mut seen_keys: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut total = 0;
    for part in 0..4 {
        let mut last: HashMap<Vec<u8>, u32> = HashMap::new();
        for m in read_partition(&t, part) {
            total += 1;
            let key = m.key.clone().unwrap();
            assert_eq!(fnv1a(&key) % 4, part, "hash of the key picks the partition");
            assert_eq!(
                *seen_keys.entry(key.clone()).or_insert(part),
                part,
                "one key, one partition"
            );
            let v = u32::from_be_bytes(m.value[..4].try_into().unwrap());
            if let Some(prev) = last.insert(key, v) {
                assert!(v > prev, "per-key order");
            }
        }
    }
    assert_eq!(total, 4000);
    assert_eq!(seen_keys.len(), 37);
}

#[test]
fn round_robin_and_random_spread() {
    let dir = TempDir::new("spread");
    let b = broker(&dir);
    let t = b.create_topic("rr", 5).unwrap();
    let r = b.create_topic("rnd", 5).unwrap();
    let b2 = b.clone();
    run(LIMIT, async move {
        let rr = SyncProducer::new(b2.clone(), Arc::new(RoundRobinPartitioner::new()));
        for i in 0..50u32 {
            let (p, _) = rr
                .send(ProducerMessage::new(
                    "rr",
                    Some(b"same".to_vec()),
                    vec![i as u8],
                ))
                .await
                .unwrap();
            assert_eq!(p, i % 5, "round robin ignores the key and takes turns");
        }
        let rnd = SyncProducer::new(b2, Arc::new(RandomPartitioner::new()));
        for _ in 0..5000 {
            rnd.send(ProducerMessage::new("rnd", None, vec![0]))
                .await
                .unwrap();
        }
    });
    for p in 0..5 {
        assert_eq!(t.partition(p).unwrap().log_end(), 10);
        let n = r.partition(p).unwrap().log_end();
        assert!(
            (700..1300).contains(&n),
            "random: partition {p} got {n} of 5000"
        );
    }
}

#[test]
fn sync_producer_returns_partition_and_offset() {
    let dir = TempDir::new("sync");
    let b = broker(&dir);
    let t = b.create_topic("t", 3).unwrap();
    let b2 = b.clone();
    let got = run(LIMIT, async move {
        let p = SyncProducer::new(b2, Arc::new(HashPartitioner::new()));
        let mut got = Vec::new();
        for i in 0..30u8 {
            got.push(
                p.send(ProducerMessage::new("t", Some(vec![i % 3]), vec![i]))
                    .await
                    .unwrap(),
            );
        }
        assert!(matches!(
            p.send(ProducerMessage::new("nope", None, vec![])).await,
            Err(Error::UnknownTopicOrPartition { .. })
        ));
        got
    });
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    for (i, (p, off)) in got.into_iter().enumerate() {
        let n = next.entry(p).or_insert(0);
        assert_eq!(off, *n, "offsets count up per partition");
        *n += 1;
        let m = &t.partition(p).unwrap().read(off, 100, 1).unwrap()[0];
        assert_eq!(m.value, vec![i as u8], "the message is where send said");
    }
}

#[test]
fn async_producer_reports_successes_and_errors() {
    let dir = TempDir::new("async");
    let b = broker(&dir);
    let t = b.create_topic("t", 2).unwrap();
    let b2 = b.clone();
    let (ok, errs) = run(LIMIT, async move {
        let p = Arc::new(AsyncProducer::new(
            b2,
            ProducerConfig {
                return_successes: true,
                linger: Duration::from_millis(20),
                batch_size: 64,
                ..ProducerConfig::default()
            },
        ));
        // Read both channels while producing, as sarama users must.
        let (ps, pe) = (Arc::clone(&p), Arc::clone(&p));
        let succ = gort::go(async move {
            let mut v = Vec::new();
            while let Some(m) = ps.successes().recv().await {
                v.push(m);
            }
            v
        });
        let errs = gort::go(async move {
            let mut v = Vec::new();
            while let Some(e) = pe.errors().recv().await {
                v.push(e);
            }
            v
        });
        for i in 0..1000u32 {
            let topic = if i % 100 == 7 { "missing" } else { "t" };
            p.input()
                .send(ProducerMessage::new(
                    topic,
                    Some(vec![(i % 9) as u8]),
                    i.to_be_bytes().to_vec(),
                ))
                .await
                .unwrap();
        }
        // Linger: a lone message is written without waiting for a full batch.
        p.input()
            .send(ProducerMessage::new("t", None, b"lone".to_vec()))
            .await
            .unwrap();
        p.close().await;
        (succ.await.unwrap(), errs.await.unwrap())
    });
    assert_eq!(ok.len(), 991, "every good message reported once");
    assert_eq!(errs.len(), 10);
    for e in &errs {
        assert_eq!(e.msg.topic, "missing");
        assert!(matches!(e.err, Error::UnknownTopicOrPartition { .. }));
    }
    for m in &ok {
        let stored = &t
            .partition(m.partition.unwrap())
            .unwrap()
            .read(m.offset.unwrap(), 100, 1)
            .unwrap()[0];
        assert_eq!(
            stored.value, m.value,
            "success carries the real partition and offset"
        );
        assert_eq!(stored.key, m.key);
    }
    assert_eq!(
        t.partition(0).unwrap().log_end() + t.partition(1).unwrap().log_end(),
        991
    );
}

#[test]
fn async_producer_linger_flushes_without_close() {
    let dir = TempDir::new("linger");
    let b = broker(&dir);
    let t = b.create_topic("t", 1).unwrap();
    let b2 = b.clone();
    run(LIMIT, async move {
        let p = AsyncProducer::new(
            b2,
            ProducerConfig {
                return_successes: true,
                linger: Duration::from_millis(30),
                batch_size: 1_000_000,
                ..ProducerConfig::default()
            },
        );
        p.input()
            .send(ProducerMessage::new("t", None, b"x".to_vec()))
            .await
            .unwrap();
        // Bounded: the linger timer, not close, must write it.
        let m = gort::time::timeout(Duration::from_secs(10), p.successes().recv())
            .await
            .expect("written after the linger time")
            .unwrap();
        assert_eq!(m.offset, Some(0));
        p.close().await;
    });
    assert_eq!(t.partition(0).unwrap().log_end(), 1);
}

#[test]
fn producers_pick_up_added_partitions() {
    let dir = TempDir::new("addpart");
    let b = broker(&dir);
    let t = b.create_topic("t", 2).unwrap();
    let b2 = b.clone();
    run(LIMIT, async move {
        let p = AsyncProducer::new(
            b2.clone(),
            ProducerConfig {
                partitioner: Arc::new(RoundRobinPartitioner::new()),
                linger: Duration::ZERO,
                ..ProducerConfig::default()
            },
        );
        let sync = SyncProducer::new(b2.clone(), Arc::new(RoundRobinPartitioner::new()));
        for i in 0..10u8 {
            p.input()
                .send(ProducerMessage::new("t", None, vec![i]))
                .await
                .unwrap();
        }
        let changed = b2.topic("t").unwrap().changes();
        gort::blocking(|| b2.add_partitions("t", 2)).unwrap();
        assert!(
            gort::time::timeout(Duration::from_secs(5), changed.recv())
                .await
                .is_ok(),
            "a change notification"
        );
        for i in 0..40u8 {
            p.input()
                .send(ProducerMessage::new("t", None, vec![i]))
                .await
                .unwrap();
            sync.send(ProducerMessage::new("t", None, vec![i]))
                .await
                .unwrap();
        }
        p.close().await;
    });
    assert_eq!(t.partition_count(), 4);
    for part in 2..4 {
        assert!(
            t.partition(part).unwrap().log_end() >= 10,
            "new partition {part} used"
        );
    }
}
