//! `/stats`: the broker's topics, channels and clients, in nsqd's JSON shape (so
//! `nsqadmin`-style tools and scripts read it) or as text.

use super::broker::Inner;
use super::channel::Channel;
use super::client::{state, ClientShared};
use super::commands::VERSION;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

fn client_json(c: &ClientShared) -> Value {
    let info = c.info.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // nsqd's numbering: stateInit 0, stateSubscribed 3, stateClosing 4.
    let st = match c.state.load(Ordering::Relaxed) {
        state::INIT => 0,
        state::SUBSCRIBED => 3,
        _ => 4,
    };
    json!({
        "client_id": info.client_id,
        "hostname": info.hostname,
        "version": "V2",
        "remote_address": c.remote_address,
        "state": st,
        "ready_count": c.ready_count.load(Ordering::Relaxed),
        "in_flight_count": c.in_flight.load(Ordering::Relaxed),
        "message_count": c.message_count.load(Ordering::Relaxed),
        "finish_count": c.finish_count.load(Ordering::Relaxed),
        "requeue_count": c.requeue_count.load(Ordering::Relaxed),
        "connect_ts": c.connect_ts,
        "sample_rate": 0,
        "deflate": false,
        "snappy": false,
        "tls": false,
        "user_agent": info.user_agent,
        "heartbeat_interval": info.heartbeat_interval_ms,
    })
}

fn channel_json(c: &Channel) -> Value {
    let clients: Vec<Value> = c.clients().iter().map(|c| client_json(c)).collect();
    json!({
        "channel_name": c.name,
        "depth": c.queue.depth(),
        "backend_depth": c.queue.backend_depth(),
        "in_flight_count": c.in_flight_count(),
        "deferred_count": c.deferred_count(),
        "message_count": c.counters.message_count.load(Ordering::Relaxed),
        "requeue_count": c.counters.requeue_count.load(Ordering::Relaxed),
        "timeout_count": c.counters.timeout_count.load(Ordering::Relaxed),
        "finish_count": c.counters.finish_count.load(Ordering::Relaxed),
        "client_count": clients.len(),
        "clients": clients,
        "paused": false,
        "e2e_processing_latency": {"count": 0, "percentiles": null},
    })
}

/// The stats document, optionally narrowed to one topic and one channel (nsqd's
/// `topic=` and `channel=` parameters).
pub fn stats_json(inner: &Inner, topic: Option<&str>, channel: Option<&str>) -> Value {
    let topics: Vec<Value> = inner
        .topic_list()
        .into_iter()
        .filter(|t| topic.map_or(true, |n| n == t.name))
        .map(|t| {
            let channels: Vec<Value> = t
                .channel_list()
                .iter()
                .filter(|c| channel.map_or(true, |n| n == c.name))
                .map(|c| channel_json(c))
                .collect();
            json!({
                "topic_name": t.name,
                "channels": channels,
                "depth": t.queue.depth(),
                "backend_depth": t.queue.backend_depth(),
                "message_count": t.message_count.load(Ordering::Relaxed),
                "paused": false,
                "e2e_processing_latency": {"count": 0, "percentiles": null},
            })
        })
        .collect();
    json!({
        "version": VERSION,
        "health": "OK",
        "start_time": inner.start_time,
        "client_count": inner.client_count(),
        "topics": topics,
        "producers": [],
    })
}

/// The same, as nsqd's text report.
pub fn stats_text(inner: &Inner, topic: Option<&str>, channel: Option<&str>) -> String {
    let doc = stats_json(inner, topic, channel);
    let mut s = format!(
        "nsqd v{VERSION} (gort)\nstart_time {}\n\nHealth: OK\n",
        inner.start_time
    );
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    for t in doc["topics"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "\n[{:<15}] depth: {:<5} be-depth: {:<5} msgs: {:<8}",
            t["topic_name"].as_str().unwrap_or(""),
            n(t, "depth"),
            n(t, "backend_depth"),
            n(t, "message_count"),
        );
        for c in t["channels"].as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "    [{:<25}] depth: {:<5} be-depth: {:<5} inflt: {:<4} def: {:<4} re-q: {:<5} timeout: {:<5} msgs: {:<8} fin: {:<8} clients: {}",
                c["channel_name"].as_str().unwrap_or(""),
                n(c, "depth"),
                n(c, "backend_depth"),
                n(c, "in_flight_count"),
                n(c, "deferred_count"),
                n(c, "requeue_count"),
                n(c, "timeout_count"),
                n(c, "message_count"),
                n(c, "finish_count"),
                n(c, "client_count"),
            );
        }
    }
    s
}
