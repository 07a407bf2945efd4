//! The broker: its registry of topics and clients, its listeners, its metadata file,
//! and its start and graceful shutdown.
//!
//! [`Broker::start`] recovers the topics and channels named in `nsqd.dat` (and their
//! disk queues), binds the TCP and HTTP listeners (port 0 is fine: the bound addresses
//! are on the handle) and runs one accept goroutine per listener and one goroutine per
//! connection, all under one [`Context`]. [`Broker::shutdown`] (or
//! [`Broker::run_until`] a context is done) stops it in this order, so that no message
//! is lost on the way out:
//!
//! 1. cancel the context: the accept loops stop, and every connection's goroutines
//!    end, each requeuing its in-flight messages into its channel;
//! 2. wait for all of them (a `WaitGroup`);
//! 3. close every topic: stop its pump, flush each channel's in-flight, deferred and
//!    in-memory messages to its disk queue, then the topic's own memory;
//! 4. write `nsqd.dat`.
//!
//! `nsqd.dat` is nsqd's JSON (`{"topics":[{"name":..,"paused":..,"channels":[..]}]}`),
//! rewritten whenever a topic or channel is created or deleted, so a crash forgets
//! none; ephemeral ones are not recorded.

use super::client::{serve, ClientShared};
use super::commands::VERSION;
use super::config::Config;
use super::conn_io::or_done;
use super::message::IdGen;
use super::protocol::is_valid_name;
use super::topic::Topic;
use gort::context::{CancelFn, Context};
use gort::net::TcpListener;
use gort::sync::WaitGroup;
use gort::JoinHandle;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The broker's shared state: what connections and the HTTP API reach.
#[derive(Debug)]
pub struct Inner {
    /// The configuration.
    pub cfg: Arc<Config>,
    /// Message IDs.
    pub ids: IdGen,
    /// When it started, seconds since the Unix epoch.
    pub start_time: i64,
    topics: Mutex<HashMap<String, Arc<Topic>>>,
    clients: Mutex<HashMap<u64, Arc<ClientShared>>>,
    next_client_id: AtomicU64,
    /// Serializes writes of `nsqd.dat`.
    meta_lock: Mutex<()>,
}

impl Inner {
    fn topics(&self) -> MutexGuard<'_, HashMap<String, Arc<Topic>>> {
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The topic `name`, created (and recorded in `nsqd.dat`) if it does not exist.
    pub fn get_topic(&self, name: &str) -> io::Result<Arc<Topic>> {
        let mut topics = self.topics();
        if let Some(t) = topics.get(name) {
            return Ok(t.clone());
        }
        let t = Topic::new(name, self.cfg.clone())?;
        topics.insert(name.to_string(), t.clone());
        drop(topics);
        self.persist_metadata_quietly();
        Ok(t)
    }

    /// The topic `name`, if it exists.
    pub fn existing_topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics().get(name).cloned()
    }

    /// Every topic, sorted by name.
    pub fn topic_list(&self) -> Vec<Arc<Topic>> {
        let mut v: Vec<_> = self.topics().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Removes and closes a topic (an ephemeral one whose last channel went).
    pub async fn delete_topic(&self, name: &str) {
        let removed = self.topics().remove(name);
        if let Some(t) = removed {
            let _ = t.close().await;
        }
    }

    /// A fresh connection ID.
    pub fn next_client_id(&self) -> u64 {
        // Relaxed: only uniqueness matters.
        self.next_client_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Records a connection, for `/stats`.
    pub fn register_client(&self, c: Arc<ClientShared>) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(c.id, c);
    }

    /// Forgets a connection.
    pub fn unregister_client(&self, id: u64) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Connections now.
    pub fn client_count(&self) -> usize {
        self.clients.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn metadata_path(&self) -> PathBuf {
        self.cfg.data_path.join("nsqd.dat")
    }

    /// Writes `nsqd.dat` (atomically: a temporary file, then a rename).
    pub fn persist_metadata(&self) -> io::Result<()> {
        let _guard = self.meta_lock.lock().unwrap_or_else(|e| e.into_inner());
        let topics: Vec<Value> = self
            .topic_list()
            .into_iter()
            .filter(|t| !t.ephemeral)
            .map(|t| {
                let channels: Vec<Value> = t
                    .channel_list()
                    .into_iter()
                    .filter(|c| !c.ephemeral)
                    .map(|c| json!({"name": c.name, "paused": false}))
                    .collect();
                json!({"name": t.name, "paused": false, "channels": channels})
            })
            .collect();
        let data = json!({"version": VERSION, "topics": topics}).to_string();
        let path = self.metadata_path();
        let tmp = path.with_extension("dat.tmp");
        gort::blocking(|| {
            std::fs::create_dir_all(&self.cfg.data_path)?;
            std::fs::write(&tmp, data.as_bytes())?;
            std::fs::rename(&tmp, &path)
        })
    }

    /// [`Inner::persist_metadata`], reporting a failure on stderr: the topic exists
    /// in memory either way, and the next successful write records it.
    pub fn persist_metadata_quietly(&self) {
        if let Err(e) = self.persist_metadata() {
            eprintln!("nsqd: writing {}: {e}", self.metadata_path().display());
        }
    }

    /// Recreates the topics and channels `nsqd.dat` names.
    fn load_metadata(&self) -> io::Result<()> {
        let text = match std::fs::read_to_string(self.metadata_path()) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("nsqd.dat: {e}")))?;
        let topics = v
            .get("topics")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for t in topics {
            let Some(name) = t.get("name").and_then(Value::as_str) else {
                continue;
            };
            if !is_valid_name(name) {
                eprintln!("nsqd: nsqd.dat: skipping invalid topic name {name:?}");
                continue;
            }
            let topic = self.get_topic(name)?;
            let chans = t
                .get("channels")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for c in chans {
                match c.get("name").and_then(Value::as_str) {
                    Some(n) if is_valid_name(n) => {
                        topic.get_channel(n)?;
                    }
                    other => eprintln!("nsqd: nsqd.dat: skipping channel {other:?}"),
                }
            }
        }
        Ok(())
    }
}

/// A running broker.
#[derive(Debug)]
pub struct Broker {
    inner: Arc<Inner>,
    tcp_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    cancel: CancelFn,
    acceptors: Vec<JoinHandle<()>>,
    conns: WaitGroup,
}

impl Broker {
    /// Recovers state from `--data-path`, binds the listeners and starts serving.
    /// Must run inside a gort runtime.
    pub async fn start(cfg: Config) -> io::Result<Broker> {
        let inner = Arc::new(Inner {
            cfg: Arc::new(cfg),
            ids: IdGen::new(),
            start_time: super::message::now_nanos() / 1_000_000_000,
            topics: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            next_client_id: AtomicU64::new(0),
            meta_lock: Mutex::new(()),
        });
        gort::blocking(|| std::fs::create_dir_all(&inner.cfg.data_path))?;
        inner.load_metadata()?;
        let (ctx, cancel) = gort::context::background().with_cancel();
        let conns = WaitGroup::new();
        let tcp = TcpListener::bind(inner.cfg.tcp_address.as_str()).await?;
        let tcp_addr = tcp.local_addr()?;
        let mut acceptors = vec![gort::go(accept_loop(
            tcp,
            inner.clone(),
            ctx.clone(),
            conns.clone(),
            Protocol::Tcp,
        ))];
        let mut http_addr = None;
        if let Some(addr) = &inner.cfg.http_address {
            let http = TcpListener::bind(addr.as_str()).await?;
            http_addr = Some(http.local_addr()?);
            acceptors.push(gort::go(accept_loop(
                http,
                inner.clone(),
                ctx.clone(),
                conns.clone(),
                Protocol::Http,
            )));
        }
        Ok(Broker {
            inner,
            tcp_addr,
            http_addr,
            cancel,
            acceptors,
            conns,
        })
    }

    /// Where the TCP protocol listens.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// Where the HTTP API listens, if it does.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The shared state (topics, clients), e.g. for statistics.
    pub fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// `/stats?format=json`'s document.
    pub fn stats(&self) -> Value {
        super::stats::stats_json(&self.inner, None, None)
    }

    /// Serves until `ctx` is done, then shuts down gracefully.
    pub async fn run_until(self, ctx: &Context) -> io::Result<()> {
        let _ = ctx.done().recv().await;
        self.shutdown().await
    }

    /// Stops gracefully (module doc), persisting every queued message.
    pub async fn shutdown(self) -> io::Result<()> {
        self.cancel.cancel();
        for a in self.acceptors {
            let _ = a.await;
        }
        self.conns.wait().await;
        let mut result = Ok(());
        for t in self.inner.topic_list() {
            if let Err(e) = t.close().await {
                eprintln!("nsqd: closing topic {}: {e}", t.name);
                result = Err(e);
            }
        }
        result.and(self.inner.persist_metadata())
    }
}

#[derive(Clone, Copy)]
enum Protocol {
    Tcp,
    Http,
}

async fn accept_loop(
    listener: TcpListener,
    inner: Arc<Inner>,
    ctx: Context,
    conns: WaitGroup,
    proto: Protocol,
) {
    let done = ctx.done();
    loop {
        let (stream, _) = match or_done(listener.accept(), &done).await {
            None => return,
            Some(Ok(conn)) => conn,
            Some(Err(e)) => {
                eprintln!("nsqd: accept: {e}");
                // Out of descriptors and the like: give the system a moment.
                gort::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        conns.add(1);
        let (inner, ctx) = (inner.clone(), ctx.clone());
        let guard = DoneOnDrop(conns.clone());
        // Detached: it ends with its connection, and the WaitGroup tracks it.
        drop(gort::go(async move {
            // Dropped however the connection ends, a panic included, so shutdown
            // never waits for a connection that is gone.
            let _guard = guard;
            match proto {
                Protocol::Tcp => serve(inner, stream, ctx).await,
                Protocol::Http => super::http::serve(inner, stream, ctx).await,
            }
        }));
    }
}

struct DoneOnDrop(WaitGroup);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.0.done();
    }
}
