//! The HTTP API, enough of nsqd's for curl, scripts and monitoring: `/ping`,
//! `/info`, `/pub`, `/mpub`, `/stats`, `/topic/create`, `/channel/create`.
//!
//! A small HTTP/1.1 server on gort's netpoller: one goroutine per connection, requests
//! read with [`ConnReader`] (so an idle or stalled client is dropped after a while and
//! every wait stops at shutdown), keep-alive as HTTP/1.1 has it, bodies only by
//! `Content-Length` (a chunked body is refused with 411, as there is no need for one
//! here). Errors answer as nsqd's v1 API does: a status and `{"message":"CODE"}`.

use super::broker::Inner;
use super::conn_io::{or_done, ConnReader};
use super::message::Message;
use super::protocol::is_valid_name;
use super::stats::{stats_json, stats_text};
use gort::context::Context;
use gort::net::{OwnedWriteHalf, TcpStream};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// How long a connection may sit idle between requests (or stall within one).
const IDLE: Duration = Duration::from_secs(60);
/// Longest request line or header line.
const MAX_LINE: usize = 8 * 1024;
/// Most header lines accepted.
const MAX_HEADERS: usize = 100;

/// A parsed request.
#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    body: Vec<u8>,
    keep_alive: bool,
}

impl Request {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response to write.
struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    fn json(status: u16, v: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: "application/json; charset=utf-8",
            body: v.to_string().into_bytes(),
        }
    }

    fn error(status: u16, code: &str) -> Response {
        Response::json(status, &json!({ "message": code }))
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Request Entity Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// Serves HTTP requests on one connection until it closes or `ctx` is cancelled.
pub async fn serve(inner: Arc<Inner>, stream: TcpStream, ctx: Context) {
    let done = ctx.done();
    let (rd, wr) = stream.into_split();
    let mut reader = ConnReader::new(rd, Some(IDLE), done.clone());
    loop {
        let (resp, keep_alive) = match read_request(&mut reader, &inner).await {
            Ok(Some(req)) => {
                let keep = req.keep_alive;
                (route(&inner, &req).await, keep)
            }
            Ok(None) => return,
            Err(resp) => (resp, false),
        };
        if !write_response(&wr, &resp, keep_alive, &done).await || !keep_alive {
            return;
        }
    }
}

/// `Ok(None)`: the connection ended between requests. `Err`: a response that ends it.
async fn read_request(reader: &mut ConnReader, inner: &Inner) -> Result<Option<Request>, Response> {
    let line = match reader.read_line(MAX_LINE).await {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(Response::error(431, "REQUEST_LINE_TOO_LONG"))
        }
        Err(_) => return Ok(None),
    };
    let line = String::from_utf8_lossy(&line).into_owned();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Response::error(400, "BAD_REQUEST"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Response::error(400, "BAD_REQUEST"));
    }
    let mut keep_alive = version == "HTTP/1.1";
    let mut content_length = 0usize;
    for i in 0.. {
        let h = reader
            .read_line(MAX_LINE)
            .await
            .map_err(|_| Response::error(400, "BAD_REQUEST"))?;
        if h.is_empty() {
            break;
        }
        if i >= MAX_HEADERS {
            return Err(Response::error(431, "TOO_MANY_HEADERS"));
        }
        let h = String::from_utf8_lossy(&h);
        let Some((name, value)) = h.split_once(':') else {
            return Err(Response::error(400, "BAD_REQUEST"));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                content_length = value
                    .parse()
                    .map_err(|_| Response::error(400, "BAD_REQUEST"))?
            }
            "transfer-encoding" => return Err(Response::error(411, "LENGTH_REQUIRED")),
            "connection" if value.eq_ignore_ascii_case("close") => keep_alive = false,
            "connection" if value.eq_ignore_ascii_case("keep-alive") => keep_alive = true,
            _ => {}
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let max = if path == "/pub" {
        inner.cfg.max_msg_size
    } else {
        inner.cfg.max_body_size
    };
    if content_length > max {
        // The body is left unread, so the connection cannot go on.
        let code = if path == "/pub" {
            "MSG_TOO_BIG"
        } else {
            "BODY_TOO_BIG"
        };
        return Err(Response::error(413, code));
    }
    let body = reader
        .read_exact(content_length)
        .await
        .map_err(|_| Response::error(400, "BAD_REQUEST"))?;
    Ok(Some(Request {
        method: method.to_string(),
        path: percent_decode(path),
        query: parse_query(query),
        body,
        keep_alive,
    }))
}

async fn write_response(
    wr: &OwnedWriteHalf,
    resp: &Response,
    keep_alive: bool,
    done: &gort::chan::Receiver<()>,
) -> bool {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nX-Nsq-Content-Type: nsq; version=1.0\r\n{}\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len(),
        if keep_alive { "" } else { "Connection: close\r\n" },
    )
    .into_bytes();
    out.extend_from_slice(&resp.body);
    matches!(or_done(wr.write_all(&out), done).await, Some(Ok(())))
}

async fn route(inner: &Inner, req: &Request) -> Response {
    let get = matches!(req.method.as_str(), "GET" | "HEAD");
    let post = req.method == "POST";
    match req.path.as_str() {
        "/ping" if get => Response::text(200, "OK"),
        "/info" if get => Response::json(
            200,
            &json!({
                "version": super::commands::VERSION,
                "start_time": inner.start_time,
                "tcp_address": inner.cfg.tcp_address,
                "http_address": inner.cfg.http_address,
                "max_msg_size": inner.cfg.max_msg_size,
                "max_rdy_count": inner.cfg.max_rdy_count,
            }),
        ),
        "/stats" if get => {
            let (t, c) = (req.param("topic"), req.param("channel"));
            if req.param("format") == Some("json") {
                Response::json(200, &stats_json(inner, t, c))
            } else {
                Response::text(200, stats_text(inner, t, c))
            }
        }
        "/pub" if post => publish(inner, req).await,
        "/mpub" if post => mpub(inner, req).await,
        "/topic/create" if post => match topic_arg(req) {
            Ok(name) => match inner.get_topic(name) {
                Ok(_) => Response::text(200, ""),
                Err(_) => Response::error(500, "INTERNAL_ERROR"),
            },
            Err(r) => r,
        },
        "/channel/create" if post => match (topic_arg(req), req.param("channel")) {
            (Err(r), _) => r,
            (Ok(_), None) => Response::error(400, "MISSING_ARG_CHANNEL"),
            (Ok(_), Some(c)) if !is_valid_name(c) => Response::error(400, "INVALID_CHANNEL"),
            (Ok(t), Some(c)) => match inner.get_topic(t).and_then(|t| t.get_channel(c)) {
                Ok(_) => {
                    inner.persist_metadata_quietly();
                    Response::text(200, "")
                }
                Err(_) => Response::error(500, "INTERNAL_ERROR"),
            },
        },
        "/ping" | "/info" | "/stats" | "/pub" | "/mpub" | "/topic/create" | "/channel/create" => {
            Response::error(405, "METHOD_NOT_ALLOWED")
        }
        _ => Response::error(404, "NOT_FOUND"),
    }
}

fn topic_arg(req: &Request) -> Result<&str, Response> {
    match req.param("topic") {
        None => Err(Response::error(400, "MISSING_ARG_TOPIC")),
        Some(t) if !is_valid_name(t) => Err(Response::error(400, "INVALID_TOPIC")),
        Some(t) => Ok(t),
    }
}

async fn put_all(inner: &Inner, topic: &str, bodies: Vec<Vec<u8>>, delay: Duration) -> Response {
    let topic = match inner.get_topic(topic) {
        Ok(t) => t,
        Err(_) => return Response::error(500, "INTERNAL_ERROR"),
    };
    for body in bodies {
        let mut msg = Message::new(inner.ids.next(), Arc::from(body));
        msg.deferred = delay;
        if topic.put(msg).await.is_err() {
            return Response::error(503, "EXITING");
        }
    }
    Response::text(200, "OK")
}

async fn publish(inner: &Inner, req: &Request) -> Response {
    let topic = match topic_arg(req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if req.body.is_empty() {
        return Response::error(400, "MSG_EMPTY");
    }
    let delay = match req.param("defer") {
        None => Duration::ZERO,
        Some(d) => match d.parse::<u64>() {
            Ok(ms) if Duration::from_millis(ms) <= inner.cfg.max_req_timeout => {
                Duration::from_millis(ms)
            }
            _ => return Response::error(400, "INVALID_DEFER"),
        },
    };
    put_all(inner, topic, vec![req.body.clone()], delay).await
}

/// `/mpub`: newline-separated messages, or nsqd's binary MPUB body with `binary=true`.
async fn mpub(inner: &Inner, req: &Request) -> Response {
    let topic = match topic_arg(req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let bodies: Vec<Vec<u8>> = if matches!(req.param("binary"), Some("true" | "1")) {
        let mut out = Vec::new();
        let b = &req.body;
        let len_at = |i: usize| {
            b.get(i..i + 4)
                .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
        };
        let Some(n) = len_at(0) else {
            return Response::error(400, "BAD_BODY");
        };
        let mut at = 4;
        for _ in 0..n {
            let Some(size) = len_at(at) else {
                return Response::error(400, "BAD_BODY");
            };
            at += 4;
            if size == 0 || size > inner.cfg.max_msg_size {
                return Response::error(413, "MSG_TOO_BIG");
            }
            let Some(m) = b.get(at..at + size) else {
                return Response::error(400, "BAD_BODY");
            };
            out.push(m.to_vec());
            at += size;
        }
        out
    } else {
        req.body
            .split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    };
    if bodies.is_empty() {
        return Response::error(400, "MSG_EMPTY");
    }
    if bodies.iter().any(|b| b.len() > inner.cfg.max_msg_size) {
        return Response::error(413, "MSG_TOO_BIG");
    }
    put_all(inner, topic, bodies, Duration::ZERO).await
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("topic=a%2Eb&format=json&x"),
            vec![
                ("topic".into(), "a.b".into()),
                ("format".into(), "json".into()),
                ("x".into(), String::new())
            ]
        );
        assert_eq!(percent_decode("a+b%"), "a b%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
