//! End-to-end load on the NSQ broker: one publisher and one consumer, 100-byte
//! messages; reports messages per second and p50/p99 publish-to-handle latency.
//!
//! ```sh
//! cargo run --release --example nsq_bench                          # in-process broker
//! cargo run --release --example nsq_bench -- --addr 127.0.0.1:4150 # a running nsqd
//! cargo run --release --example nsq_bench -- --messages 500000 --window 512
//! ```
//!
//! The publisher pipelines `PUB`s, keeping up to `--window` unanswered (a goroutine
//! reads the `OK`s and returns credit over a channel), as go-nsq's `PublishAsync`
//! does; the consumer sets `RDY 2500`, and FINs in batches: every FIN for the frames
//! it has read so far goes out in one write. Each body starts with its publish time
//! (ns since the epoch), so the consumer measures publish-to-handle latency.

use gort::chan::bounded;
use gort::net::TcpStream;
use gort_mq::nsq::conn_io::ConnReader;
use gort_mq::nsq::message::now_nanos;
use gort_mq::nsq::protocol::{decode_frame, Command, Frame, MAGIC_V2};
use gort_mq::nsq::{Broker, Config};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const BODY_LEN: usize = 100;

fn main() -> io::Result<()> {
    let mut addr: Option<String> = None;
    let mut messages = 200_000usize;
    let mut window = 256usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("flag needs a value");
        match a.as_str() {
            "--addr" => addr = Some(val()),
            "--messages" => messages = val().parse().expect("a number"),
            "--window" => window = val().parse().expect("a number"),
            _ => panic!("unknown flag {a} (--addr, --messages, --window)"),
        }
    }
    gort::run(async move {
        let (target, broker, data) = match addr {
            Some(a) => (a.parse::<SocketAddr>().expect("HOST:PORT"), None, None),
            None => {
                let data = std::env::temp_dir().join(format!("nsq-bench-{}", std::process::id()));
                let cfg = Config {
                    tcp_address: "127.0.0.1:0".into(),
                    http_address: None,
                    data_path: data.clone(),
                    ..Config::default()
                };
                let b = Broker::start(cfg).await?;
                (b.tcp_addr(), Some(b), Some(data))
            }
        };
        let topic = format!("bench_{}", now_nanos());
        let r = bench(target, &topic, messages, window).await;
        if let Some(b) = broker {
            b.shutdown().await?;
        }
        if let Some(d) = data {
            let _ = std::fs::remove_dir_all(d);
        }
        let (elapsed, mut lat) = r?;
        lat.sort_unstable();
        let pct =
            |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1000.0;
        println!(
            "{{\"messages\": {}, \"seconds\": {:.3}, \"msgs_per_sec\": {:.0}, \"p50_us\": {:.0}, \"p99_us\": {:.0}}}",
            lat.len(),
            elapsed.as_secs_f64(),
            lat.len() as f64 / elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99)
        );
        Ok(())
    })
}

async fn connect(addr: SocketAddr) -> io::Result<(ConnReader, gort::net::OwnedWriteHalf)> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    s.write_all(MAGIC_V2).await?;
    let (rd, wr) = s.into_split();
    Ok((ConnReader::new(rd, None, gort::chan::never()), wr))
}

async fn read_frame(r: &mut ConnReader) -> io::Result<Frame> {
    let size = r.read_i32().await? as usize;
    decode_frame(&r.read_exact(size).await?)
}

async fn bench(
    addr: SocketAddr,
    topic: &str,
    n: usize,
    window: usize,
) -> io::Result<(Duration, Vec<u64>)> {
    // Consumer first, so that nothing waits in the topic.
    let (mut crd, cwr) = connect(addr).await?;
    let mut buf = Vec::new();
    Command::Sub {
        topic: topic.into(),
        channel: "c".into(),
    }
    .encode(&mut buf);
    Command::Rdy(2500).encode(&mut buf);
    cwr.write_all(&buf).await?;
    match read_frame(&mut crd).await? {
        Frame::Response(r) if r == b"OK" => {}
        f => panic!("SUB: {f:?}"),
    }
    let consumer = gort::go(async move {
        let mut lat = Vec::with_capacity(n);
        let mut fins = Vec::new();
        while lat.len() < n {
            match read_frame(&mut crd).await? {
                Frame::Message(m) => {
                    let sent: i64 = std::str::from_utf8(&m.body[..20])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    lat.push((now_nanos() - sent).max(0) as u64);
                    Command::Fin(m.id).encode(&mut fins);
                }
                f if f.is_heartbeat() => Command::Nop.encode(&mut fins),
                f => panic!("consumer got {f:?}"),
            }
            // FIN in batches: flush when a good number are pending, or every 100.
            if fins.len() >= 26 * 100 || lat.len() == n {
                cwr.write_all(&fins).await?;
                fins.clear();
            }
        }
        io::Result::Ok(lat)
    });

    let (mut prd, pwr) = connect(addr).await?;
    let (credit_tx, credit_rx) = bounded::<()>(window);
    for _ in 0..window {
        credit_tx.send(()).await.expect("own channel");
    }
    let acks = gort::go(async move {
        for _ in 0..n {
            match read_frame(&mut prd).await? {
                Frame::Response(r) if r == b"OK" => {}
                f if f.is_heartbeat() => {}
                f => panic!("publisher got {f:?}"),
            }
            let _ = credit_tx.try_send(());
        }
        io::Result::Ok(())
    });
    let start = Instant::now();
    let mut out = Vec::with_capacity(64 * 1024);
    let mut sent = 0;
    while sent < n {
        // Take one credit (waiting if need be), then every other available one.
        let _ = credit_rx.recv().await;
        let mut batch = 1;
        while batch < 64 && credit_rx.try_recv().is_ok() {
            batch += 1;
        }
        for _ in 0..batch.min(n - sent) {
            let mut body = format!("{:020}", now_nanos()).into_bytes();
            body.resize(BODY_LEN, b'x');
            Command::Pub {
                topic: topic.into(),
                body,
            }
            .encode(&mut out);
            sent += 1;
        }
        pwr.write_all(&out).await?;
        out.clear();
    }
    acks.await.expect("ack reader")?;
    let lat = consumer.await.expect("consumer")?;
    Ok((start.elapsed(), lat))
}
