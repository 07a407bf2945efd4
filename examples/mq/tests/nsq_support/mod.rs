//! Shared by the `nsq_*` tests: a broker on a runtime of its own (port 0, a fresh
//! data directory), and a raw protocol client on plain blocking sockets, so the tests
//! drive the broker exactly as a foreign client would. Every read has a timeout, so a
//! broken broker fails a test instead of hanging it.
#![allow(dead_code)] // each test file uses a different part

use gort_mq::nsq::protocol::{decode_frame, Command, Frame, MAGIC_V2};
use gort_mq::nsq::{Broker, Config};
use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Longest wait for anything the broker should do promptly.
pub const WAIT: Duration = Duration::from_secs(20);

/// A fresh, empty directory under the system's temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "gort-nsq-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A config for tests: ephemeral ports, the given data directory.
pub fn test_config(data: &Path) -> Config {
    Config {
        tcp_address: "127.0.0.1:0".into(),
        http_address: Some("127.0.0.1:0".into()),
        data_path: data.to_path_buf(),
        ..Config::default()
    }
}

/// A broker and the runtime it runs on.
pub struct TestBroker {
    pub rt: gort::Runtime,
    pub broker: Option<Broker>,
    pub tcp: SocketAddr,
    pub http: SocketAddr,
}

impl TestBroker {
    pub fn start(cfg: Config) -> TestBroker {
        let rt = gort::Runtime::builder().procs(2).build().unwrap();
        let broker = rt.block_on(Broker::start(cfg)).expect("broker starts");
        let tcp = broker.tcp_addr();
        let http = broker.http_addr().expect("http listener");
        TestBroker {
            rt,
            broker: Some(broker),
            tcp,
            http,
        }
    }

    /// `/stats?format=json`, taken directly.
    pub fn stats(&self) -> Value {
        self.broker.as_ref().unwrap().stats()
    }

    /// The stats of `topic`/`channel`.
    pub fn channel_stats(&self, topic: &str, channel: &str) -> Value {
        let s = self.stats();
        for t in s["topics"].as_array().unwrap() {
            if t["topic_name"] == topic {
                for c in t["channels"].as_array().unwrap() {
                    if c["channel_name"] == channel {
                        return c.clone();
                    }
                }
            }
        }
        panic!("no channel {topic}/{channel} in {s}")
    }

    /// Waits until `f(stats of topic/channel)` holds.
    pub fn wait_channel(&self, topic: &str, channel: &str, what: &str, f: impl Fn(&Value) -> bool) {
        let start = Instant::now();
        loop {
            let c = self.channel_stats(topic, channel);
            if f(&c) {
                return;
            }
            assert!(start.elapsed() < WAIT, "timed out waiting for {what}: {c}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Publishes `{tag}0` … `{tag}{n-1}` to `topic`, a hundred to an MPUB.
    pub fn publish_n(&self, topic: &str, tag: &str, n: usize) {
        let mut p = Client::connect(self.tcp);
        for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
            let bodies = chunk
                .iter()
                .map(|i| format!("{tag}{i}").into_bytes())
                .collect();
            p.send(&Command::Mpub {
                topic: topic.into(),
                bodies,
            });
            p.expect_ok();
        }
    }

    /// Graceful shutdown.
    pub fn shutdown(mut self) {
        let b = self.broker.take().unwrap();
        let r = self
            .rt
            .block_on(async { gort::time::timeout(WAIT, b.shutdown()).await });
        r.expect("shutdown finishes in time")
            .expect("shutdown succeeds");
    }
}

/// A protocol client on a blocking socket.
pub struct Client {
    pub s: TcpStream,
}

impl Client {
    /// Connects and sends the magic.
    pub fn connect(addr: SocketAddr) -> Client {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.set_nodelay(true).unwrap();
        s.write_all(MAGIC_V2).unwrap();
        Client { s }
    }

    pub fn send(&mut self, c: &Command) {
        self.s.write_all(&c.to_bytes()).unwrap();
    }

    pub fn send_raw(&mut self, b: &[u8]) {
        // The broker may already have closed on an earlier error; the read that
        // follows tells.
        let _ = self.s.write_all(b);
    }

    /// The next frame, answering heartbeats with NOP.
    pub fn frame(&mut self) -> Frame {
        loop {
            let f = self.frame_raw().expect("a frame");
            if f.is_heartbeat() {
                self.send(&Command::Nop);
                continue;
            }
            return f;
        }
    }

    /// The next frame as it comes; `None` at end of stream.
    pub fn frame_raw(&mut self) -> Option<Frame> {
        let mut size = [0u8; 4];
        match self.s.read_exact(&mut size) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
                ) =>
            {
                return None
            }
            Err(e) => panic!("reading a frame: {e}"),
        }
        let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
        self.s.read_exact(&mut body).unwrap();
        Some(decode_frame(&body).unwrap())
    }

    pub fn expect_ok(&mut self) {
        match self.frame() {
            Frame::Response(r) if r == b"OK" => {}
            f => panic!("wanted OK, got {f:?}"),
        }
    }

    /// Expects an error frame with `code`; returns its text.
    pub fn expect_error(&mut self, code: &str) -> String {
        match self.frame() {
            Frame::Error(e) => {
                let e = String::from_utf8(e).unwrap();
                assert!(
                    e.starts_with(&format!("{code} ")),
                    "wanted {code}, got {e:?}"
                );
                e
            }
            f => panic!("wanted {code}, got {f:?}"),
        }
    }

    /// Expects the broker to close the connection (nothing but heartbeats before).
    pub fn expect_closed(&mut self) {
        loop {
            match self.frame_raw() {
                None => return,
                Some(f) if f.is_heartbeat() => continue,
                Some(f) => panic!("wanted the connection closed, got {f:?}"),
            }
        }
    }

    pub fn expect_message(&mut self) -> gort_mq::nsq::message::Message {
        match self.frame() {
            Frame::Message(m) => m,
            f => panic!("wanted a message, got {f:?}"),
        }
    }

    pub fn identify(&mut self, json: &str) -> Frame {
        self.send(&Command::Identify(json.as_bytes().to_vec()));
        self.frame()
    }

    pub fn publish(&mut self, topic: &str, body: &[u8]) {
        self.send(&Command::Pub {
            topic: topic.into(),
            body: body.to_vec(),
        });
        self.expect_ok();
    }

    /// Connects, subscribes, and sets RDY.
    pub fn subscriber(addr: SocketAddr, topic: &str, channel: &str, rdy: u64) -> Client {
        let mut c = Client::connect(addr);
        c.send(&Command::Sub {
            topic: topic.into(),
            channel: channel.into(),
        });
        c.expect_ok();
        if rdy > 0 {
            c.send(&Command::Rdy(rdy));
        }
        c
    }

    /// A round trip that proves the connection is alive and in order: a PUB to a
    /// scratch topic answered with OK.
    pub fn ping(&mut self) {
        self.publish("scratch", b"ping");
    }
}
