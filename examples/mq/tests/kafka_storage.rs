//! Storage: segment recovery (torn tail truncated, never served), restart loses
//! nothing, retention by size and by age, on demand and periodically.

mod kafka_common;

use gort_mq::kafka::{Broker, LogConfig, Partition, Record};
use kafka_common::TempDir;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

fn rec(i: u64) -> Record {
    Record {
        key: Some(format!("k{}", i % 10).into_bytes()),
        value: format!("value-{i}").into_bytes(),
        timestamp: 1_000 + i as i64,
    }
}

fn small() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval: 256,
        ..LogConfig::default()
    }
}

fn read_all(p: &Partition) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut next = p.log_start();
    loop {
        let batch = p.read(next, 1000, 100).unwrap();
        if batch.is_empty() {
            return out;
        }
        for m in batch {
            assert_eq!(m.offset, next, "offsets are consecutive");
            next = m.offset + 1;
            out.push((m.offset, m.value));
        }
    }
}

#[test]
fn torn_tail_is_truncated_and_never_served() {
    let dir = TempDir::new("torn");
    let pdir = dir.0.join("p");
    {
        let p = Partition::open(&pdir, Arc::from("t"), 0, small()).unwrap();
        for i in 0..100 {
            p.append(&[rec(i)]).unwrap();
        }
        assert!(p.segment_count() > 1, "small segments roll");
    }
    // Tear the active segment: half a frame more at its end.
    let mut logs: Vec<_> = std::fs::read_dir(&pdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    let last = logs.last().unwrap();
    let len_before = std::fs::metadata(last).unwrap().len();
    let mut f = OpenOptions::new().append(true).open(last).unwrap();
    // A length field promising 40 bytes, then only 10 of them.
    f.write_all(&40u32.to_be_bytes()).unwrap();
    f.write_all(&[7u8; 10]).unwrap();
    drop(f);
    let p = Partition::open(&pdir, Arc::from("t"), 0, small()).unwrap();
    assert_eq!(
        p.recovery().truncated_bytes,
        14,
        "exactly the torn bytes are cut"
    );
    assert_eq!(std::fs::metadata(last).unwrap().len(), len_before);
    assert_eq!(p.log_end(), 100);
    let all = read_all(&p);
    assert_eq!(all.len(), 100);
    for (i, (off, v)) in all.iter().enumerate() {
        assert_eq!(*off, i as u64);
        assert_eq!(v, &format!("value-{i}").into_bytes());
    }
    // Appends continue at the right offset after the repair.
    assert_eq!(p.append(&[rec(100)]).unwrap(), 100);
    drop(p);

    // A torn last record (its CRC no longer matches): cut at that record.
    let len = std::fs::metadata(last).unwrap().len();
    let f = OpenOptions::new().write(true).open(last).unwrap();
    use std::os::unix::fs::FileExt;
    f.write_all_at(&[0xFF], len - 2).unwrap();
    drop(f);
    let p = Partition::open(&pdir, Arc::from("t"), 0, small()).unwrap();
    assert!(p.recovery().truncated_bytes > 0);
    assert_eq!(
        p.log_end(),
        100,
        "the corrupt record 100 is gone, 0..100 stay"
    );
    assert_eq!(read_all(&p).len(), 100);
}

#[test]
fn a_corrupt_index_is_rebuilt() {
    let dir = TempDir::new("index");
    let pdir = dir.0.join("p");
    {
        let p = Partition::open(
            &pdir,
            Arc::from("t"),
            0,
            LogConfig {
                index_interval: 64,
                ..small()
            },
        )
        .unwrap();
        for i in 0..30 {
            p.append(&[rec(i)]).unwrap();
        }
    }
    for e in std::fs::read_dir(&pdir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|e| e == "index") {
            std::fs::write(&path, [0xAB; 24]).unwrap();
        }
    }
    let p = Partition::open(&pdir, Arc::from("t"), 0, small()).unwrap();
    assert_eq!(p.log_end(), 30);
    let all = read_all(&p);
    assert_eq!(all.len(), 30);
    assert_eq!(
        p.read(17, 1, 1).unwrap()[0].offset,
        17,
        "seek by the rebuilt index"
    );
}

#[test]
fn restart_loses_nothing() {
    let dir = TempDir::new("restart");
    {
        let b = Broker::open(&dir.0, small()).unwrap();
        let t = b.create_topic("orders", 3).unwrap();
        for i in 0..3000u64 {
            t.partition((i % 3) as u32)
                .unwrap()
                .append(&[rec(i)])
                .unwrap();
        }
        b.add_partitions("orders", 1).unwrap();
        t.partition(3).unwrap().append(&[rec(9999)]).unwrap();
        b.offsets()
            .commit(
                "g",
                &[(gort_mq::kafka::TopicPartition::new("orders", 1), 42)],
            )
            .unwrap();
    }
    let b = Broker::open(&dir.0, small()).unwrap();
    assert_eq!(b.topics(), vec!["orders".to_string()]);
    let t = b.topic("orders").unwrap();
    assert_eq!(t.partition_count(), 4);
    for p in 0..3 {
        let part = t.partition(p).unwrap();
        let all = read_all(&part);
        assert_eq!(all.len(), 1000);
        for (j, (_, v)) in all.iter().enumerate() {
            assert_eq!(
                v,
                &format!("value-{}", j as u64 * 3 + p as u64).into_bytes()
            );
        }
    }
    assert_eq!(read_all(&t.partition(3).unwrap()).len(), 1);
    assert_eq!(
        b.offsets()
            .committed("g", &gort_mq::kafka::TopicPartition::new("orders", 1))
            .unwrap(),
        Some(42)
    );
}

#[test]
fn retention_by_size() {
    let dir = TempDir::new("ret-size");
    let cfg = LogConfig {
        retention_bytes: Some(10_000),
        ..small()
    };
    let p = Partition::open(&dir.0, Arc::from("t"), 0, cfg).unwrap();
    for i in 0..2000 {
        p.append(&[rec(i)]).unwrap();
    }
    p.enforce_retention().unwrap();
    assert!(
        p.size_bytes() <= 10_000,
        "size {} over the limit",
        p.size_bytes()
    );
    assert!(p.log_start() > 0, "old segments went");
    assert_eq!(p.log_end(), 2000, "the end never moves back");
    assert!(matches!(
        p.read(0, 100, 1),
        Err(gort_mq::kafka::Error::OffsetOutOfRange { .. })
    ));
    let kept = read_all(&p);
    assert_eq!(kept.len() as u64, 2000 - p.log_start());
    assert_eq!(kept.last().unwrap().0, 1999);
}

#[test]
fn retention_by_age() {
    let dir = TempDir::new("ret-age");
    let cfg = LogConfig {
        retention: Some(Duration::from_secs(3600)),
        ..small()
    };
    let p = Partition::open(&dir.0, Arc::from("t"), 0, cfg).unwrap();
    let now = gort_mq::kafka::message::now_ms();
    // Two hours old, then fresh.
    for i in 0..500 {
        p.append(&[Record {
            timestamp: now - 7_200_000,
            ..rec(i)
        }])
        .unwrap();
    }
    p.roll().unwrap();
    let old_end = p.log_end();
    for i in 500..600 {
        p.append(&[Record {
            timestamp: now,
            ..rec(i)
        }])
        .unwrap();
    }
    p.roll().unwrap(); // the fresh records' segment is no longer active either
    p.append(&[Record {
        timestamp: now,
        ..rec(600)
    }])
    .unwrap();
    p.enforce_retention().unwrap();
    assert_eq!(p.log_start(), old_end, "exactly the old segments went");
    assert_eq!(read_all(&p).len(), 101);
}

/// A partition nobody writes to any more still ages out: the expired active segment is
/// rolled and deleted, the end stays where it was, and appends go on from it.
#[test]
fn retention_by_age_takes_an_expired_active_segment_too() {
    let dir = TempDir::new("ret-age-active");
    let cfg = LogConfig {
        retention: Some(Duration::from_secs(3600)),
        ..small()
    };
    let p = Partition::open(&dir.0, Arc::from("t"), 0, cfg).unwrap();
    let two_hours_ago = gort_mq::kafka::message::now_ms() - 7_200_000;
    for i in 0..10 {
        p.append(&[Record {
            timestamp: two_hours_ago,
            ..rec(i)
        }])
        .unwrap();
    }
    assert_eq!(p.segment_count(), 1, "all in the active segment");
    assert_eq!(p.enforce_retention().unwrap(), 1);
    assert_eq!((p.log_start(), p.log_end()), (10, 10));
    assert_eq!(p.segment_count(), 1, "a new, empty active segment");
    assert!(read_all(&p).is_empty());
    assert_eq!(p.append(&[rec(10)]).unwrap(), 10, "offsets go on");
    // Nothing left to expire but what was just written (timestamp 1970: expired too).
    assert_eq!(p.enforce_retention().unwrap(), 1);
    assert_eq!((p.log_start(), p.log_end()), (11, 11));
}

/// `Broker::retain_every` applies retention on its own, and stops with its context.
#[test]
fn broker_applies_retention_periodically() {
    let dir = TempDir::new("ret-periodic");
    let cfg = LogConfig {
        retention: Some(Duration::from_secs(3600)),
        ..small()
    };
    let b = Broker::open(&dir.0, cfg).unwrap();
    let t = b.create_topic("t", 2).unwrap();
    let two_hours_ago = gort_mq::kafka::message::now_ms() - 7_200_000;
    for p in t.partitions() {
        for i in 0..100 {
            p.append(&[Record {
                timestamp: two_hours_ago,
                ..rec(i)
            }])
            .unwrap();
        }
    }
    kafka_common::run(Duration::from_secs(30), async move {
        let (ctx, cancel) = gort::context::background().with_cancel();
        let retainer = b.retain_every(&ctx, Duration::from_millis(20));
        kafka_common::eventually(Duration::from_secs(10), "both partitions emptied", || {
            t.partitions().iter().all(|p| p.log_start() == 100)
        })
        .await;
        cancel.cancel();
        retainer
            .await
            .expect("the retention goroutine ends with its context");
        for p in t.partitions() {
            assert_eq!(p.log_end(), 100, "the end never moves back");
        }
    });
}
