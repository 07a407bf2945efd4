//! The `consumer_group` example's logic, here so that tests can run it: async
//! producers writing keyed messages, a group of consumers, a live line of throughput
//! and lag, and a graceful stop when the root context is cancelled (SIGINT/SIGTERM in
//! [`main`]). `--bench` measures throughput, produce-to-handle latency and peak RSS.
//!
//! Each message's value carries the nanoseconds since the run's start at which it was
//! produced, so a handler can compute its produce-to-handle latency into a shared
//! log-scale histogram (atomics only: the handler path takes no lock).

use super::broker::Broker;
use super::consumer::{AutoMark, Consumer, ConsumerConfig};
use super::error::Result;
use super::group::GroupConfig;
use super::partition::LogConfig;
use super::producer::{AsyncProducer, ProducerConfig, ProducerMessage};
use gort::context::Context;
use gort::signal::Signal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the demo runs.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Where the broker keeps its files.
    pub dir: PathBuf,
    /// Topic name.
    pub topic: String,
    /// Partitions of the topic (when it is created).
    pub partitions: u32,
    /// Producer goroutines (each with its own async producer).
    pub producers: usize,
    /// Consumers in the group.
    pub consumers: usize,
    /// Messages to produce in all; `None`: until stopped.
    pub messages: Option<u64>,
    /// Distinct keys.
    pub keys: u64,
    /// Period of the status line; `None`: silent.
    pub status_every: Option<Duration>,
    /// Start consumers only after every message is produced (a backlog).
    pub backlog_first: bool,
    /// The producers' linger time.
    pub linger: Duration,
}

impl Default for DemoConfig {
    fn default() -> DemoConfig {
        DemoConfig {
            dir: std::env::temp_dir().join("gort-consumer-group"),
            topic: "events".to_string(),
            partitions: 8,
            producers: 2,
            consumers: 3,
            messages: None,
            keys: 1000,
            status_every: Some(Duration::from_secs(1)),
            backlog_first: false,
            linger: ProducerConfig::default().linger,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Messages produced.
    pub produced: u64,
    /// Messages handled (duplicates included).
    pub consumed: u64,
    /// From the first produce to the end of consumption.
    pub elapsed: Duration,
    /// Time spent producing (the backlog, in backlog mode).
    pub produce_time: Duration,
    /// Median produce-to-handle latency.
    pub p50: Duration,
    /// 99th percentile produce-to-handle latency.
    pub p99: Duration,
}

/// Log-scale latency histogram in microseconds: exact below 256 µs, then 32 buckets
/// per power of two (about 3 % resolution).
#[derive(Debug)]
struct Histogram {
    buckets: Vec<AtomicU64>,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            buckets: (0..256 + 56 * 32).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn index(us: u64) -> usize {
        if us < 256 {
            return us as usize;
        }
        let b = 63 - u64::from(us.leading_zeros());
        let sub = (us >> (b - 5)) & 31;
        (256 + (b - 8) * 32 + sub) as usize
    }

    fn lower_bound(i: usize) -> u64 {
        if i < 256 {
            return i as u64;
        }
        let b = (i - 256) as u64 / 32 + 8;
        let sub = (i - 256) as u64 % 32;
        (1 << b) | (sub << (b - 5))
    }

    fn record(&self, d: Duration) {
        let i = Self::index(d.as_micros() as u64).min(self.buckets.len() - 1);
        // Relaxed: a counter read only after every handler has stopped.
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
    }

    fn quantile(&self, q: f64) -> Duration {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let target = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= target.max(1) {
                return Duration::from_micros(Self::lower_bound(i));
            }
        }
        Duration::ZERO
    }
}

/// Runs producers and a consumer group until `ctx` is done or, with
/// `config.messages`, until every message has been handled.
pub async fn run(config: DemoConfig, ctx: Context) -> Result<Report> {
    let (ctx, cancel) = ctx.with_cancel();
    let dir = config.dir.clone();
    // Retention keeps a demo left running from filling the disk: 8 MiB segments, at
    // most 64 MiB per partition (well above a 1,000,000-message backlog).
    let log = LogConfig {
        segment_bytes: 8 << 20,
        retention_bytes: Some(64 << 20),
        ..LogConfig::default()
    };
    let broker = gort::blocking(move || Broker::open(dir, log))?;
    let topic = match broker.topic(&config.topic) {
        Ok(t) => t,
        Err(_) => broker.create_topic(&config.topic, config.partitions)?,
    };
    let start = Instant::now();
    let produced = Arc::new(AtomicU64::new(0));
    let consumed = Arc::new(AtomicU64::new(0));
    let hist = Arc::new(Histogram::new());

    // Producers: each owns an async producer and a slice of the message count.
    let mut producers = Vec::new();
    for i in 0..config.producers.max(1) {
        let quota = config.messages.map(|n| {
            n / config.producers.max(1) as u64
                + u64::from((i as u64) < n % config.producers.max(1) as u64)
        });
        let (broker, ctx, produced, topic_name) = (
            broker.clone(),
            ctx.clone(),
            Arc::clone(&produced),
            config.topic.clone(),
        );
        let keys = config.keys.max(1);
        let linger = config.linger;
        producers.push(gort::go(async move {
            let p = AsyncProducer::new(
                broker,
                ProducerConfig {
                    linger,
                    ..ProducerConfig::default()
                },
            );
            let done = ctx.done();
            let mut n = 0u64;
            while quota.map_or(true, |q| n < q) {
                let key = format!("key-{}", (n * 7919 + i as u64) % keys).into_bytes();
                let mut value = (start.elapsed().as_nanos() as u64).to_be_bytes().to_vec();
                value.extend_from_slice(&n.to_be_bytes());
                let msg = ProducerMessage::new(topic_name.clone(), Some(key), value);
                gort::select! {
                    send(p.input(), msg) -> r => if r.is_err() { break },
                    recv(done) -> _ => break,
                }
                n += 1;
                produced.fetch_add(1, Ordering::Relaxed);
            }
            p.close().await;
            while let Some(e) = p.errors().recv().await {
                eprintln!("consumer_group: produce failed: {e}");
            }
        }));
    }
    let mut produce_time = Duration::ZERO;
    if config.backlog_first {
        for p in producers.drain(..) {
            let _ = p.await;
        }
        produce_time = start.elapsed();
    }

    let cconfig = ConsumerConfig {
        group: GroupConfig {
            session_timeout: Duration::from_secs(6),
            heartbeat_interval: Duration::from_millis(500),
            ..GroupConfig::default()
        },
        ..ConsumerConfig::default()
    };
    let mut consumers = Vec::new();
    for _ in 0..config.consumers.max(1) {
        let (consumed, hist) = (Arc::clone(&consumed), Arc::clone(&hist));
        let handler = AutoMark(move |msg: super::message::Message| {
            let at = msg
                .value
                .get(..8)
                .map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8])));
            let now = start.elapsed().as_nanos() as u64;
            hist.record(Duration::from_nanos(now.saturating_sub(at)));
            consumed.fetch_add(1, Ordering::Relaxed);
            std::future::ready(())
        });
        consumers.push(Consumer::start(
            &broker,
            &ctx,
            "consumer-group-demo",
            &[config.topic.as_str()],
            cconfig.clone(),
            handler,
        ));
    }

    // The status line, and the end condition of a counted run.
    let done = ctx.done();
    let every = config.status_every.unwrap_or(Duration::from_millis(100));
    let ticker = gort::time::Ticker::new(every.min(Duration::from_millis(100)));
    let (mut last_p, mut last_c, mut last_t) = (0u64, 0u64, Instant::now());
    let coordinator = broker.coordinator("consumer-group-demo", &cconfig.group);
    loop {
        gort::select! {
            recv(done) -> _ => break,
            recv(ticker.chan()) -> _ => {},
        }
        let (p, c) = (
            produced.load(Ordering::Relaxed),
            consumed.load(Ordering::Relaxed),
        );
        if let Some(total) = config.messages {
            if c >= total {
                break;
            }
        }
        if let Some(every) = config.status_every {
            if last_t.elapsed() >= every {
                let secs = last_t.elapsed().as_secs_f64();
                let committed = coordinator.committed_all().unwrap_or_default();
                let lag: u64 = topic
                    .partitions()
                    .iter()
                    .map(|part| {
                        let tp = super::message::TopicPartition::new(&config.topic, part.id());
                        part.log_end()
                            .saturating_sub(committed.get(&tp).copied().unwrap_or(part.log_start()))
                    })
                    .sum();
                println!(
                    "consumer_group: produced {p} ({:.0}/s) consumed {c} ({:.0}/s) lag {lag} (behind commits) members {}",
                    (p - last_p) as f64 / secs,
                    (c - last_c) as f64 / secs,
                    coordinator.members().len(),
                );
                (last_p, last_c, last_t) = (p, c, Instant::now());
            }
        }
    }
    ticker.stop();
    // Stop: producers first (they flush), then consumers (they commit and leave).
    cancel.cancel();
    for p in producers {
        let _ = p.await;
    }
    for c in &consumers {
        c.close().await;
    }
    let b = broker.clone();
    gort::blocking(move || b.sync())?;
    Ok(Report {
        produced: produced.load(Ordering::Relaxed),
        consumed: consumed.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
        produce_time,
        p50: hist.quantile(0.50),
        p99: hist.quantile(0.99),
    })
}

/// The example's `main`: parses `args`, cancels the root context on SIGINT/SIGTERM,
/// runs [`run`] (or the benchmark with `--bench`), prints the outcome.
///
/// Flags: `--dir PATH`, `--partitions N`, `--producers N`, `--consumers N`,
/// `--messages N`, `--bench`.
pub fn main(args: &[String]) -> Result<()> {
    let mut config = DemoConfig::default();
    let mut bench = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match a.as_str() {
            "--bench" => bench = true,
            "--partitions" => config.partitions = num("--partitions") as u32,
            "--producers" => config.producers = num("--producers") as usize,
            "--consumers" => config.consumers = num("--consumers") as usize,
            "--messages" => config.messages = Some(num("--messages")),
            "--dir" => config.dir = PathBuf::from(it.next().expect("--dir needs a path")),
            other => panic!("unknown flag {other}"),
        }
    }
    gort::run(async move {
        let signals = gort::signal::notify(&[Signal::Interrupt, Signal::Terminate])?;
        let (root, cancel) = gort::context::background().with_cancel();
        // SIGINT cancels the root; everything below stops through the context tree.
        let watcher = gort::go(async move {
            if let Some(sig) = signals.recv().await {
                println!("consumer_group: caught {sig}: shutting down");
                cancel.cancel();
            }
        });
        let result = if bench {
            bench_run(config, root).await
        } else {
            println!(
                "consumer_group: running in {} (Ctrl-C to stop)",
                config.dir.display()
            );
            let r = run(config, root).await?;
            println!(
                "consumer_group: stopped cleanly: produced {} consumed {} in {:.1}s",
                r.produced,
                r.consumed,
                r.elapsed.as_secs_f64()
            );
            Ok(())
        };
        watcher.abort();
        result
    })
}

/// `--bench`: end-to-end throughput and latency over 1,000,000 messages, then peak RSS
/// while a 1,000,000-message backlog is produced and drained.
async fn bench_run(config: DemoConfig, root: Context) -> Result<()> {
    let n = config.messages.unwrap_or(1_000_000);
    let base = config.dir.clone();
    // The backlog first, so the process's peak RSS read right after it is its own.
    let backlog = run(
        DemoConfig {
            dir: base.join("backlog"),
            messages: Some(n),
            status_every: None,
            backlog_first: true,
            ..config.clone()
        },
        root.clone(),
    )
    .await?;
    let drain = backlog.elapsed.saturating_sub(backlog.produce_time);
    println!(
        "bench: backlog of {} produced in {:.2}s ({:.0} msgs/s), then drained in {:.2}s ({:.0} msgs/s); peak RSS {} MiB",
        backlog.produced,
        backlog.produce_time.as_secs_f64(),
        backlog.produced as f64 / backlog.produce_time.as_secs_f64(),
        drain.as_secs_f64(),
        backlog.consumed as f64 / drain.as_secs_f64(),
        peak_rss_kib().map_or("?".to_string(), |k| (k / 1024).to_string()),
    );
    for linger in [config.linger, Duration::ZERO] {
        let e2e = run(
            DemoConfig {
                dir: base.join(format!("e2e-{}", linger.as_micros())),
                messages: Some(n),
                status_every: None,
                linger,
                ..config.clone()
            },
            root.clone(),
        )
        .await?;
        println!(
            "bench: end-to-end (linger {linger:?}) {} msgs in {:.2}s = {:.0} msgs/s; produce-to-handle p50 {:?} p99 {:?}",
            e2e.consumed,
            e2e.elapsed.as_secs_f64(),
            e2e.consumed as f64 / e2e.elapsed.as_secs_f64(),
            e2e.p50,
            e2e.p99
        );
    }
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}

/// `VmHWM` (peak resident set) of this process, in KiB (Linux).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
