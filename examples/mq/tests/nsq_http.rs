//! The HTTP API as nsqd users call it: `/ping`, `/pub`, `/mpub`, `/stats`, `/info`,
//! `/topic/create`, `/channel/create`, with nsqd's error answers, keep-alive, and
//! messages published over HTTP reaching TCP consumers.

mod nsq_support;

use gort_mq::nsq::protocol::Command;
use nsq_support::{temp_dir, test_config, Client, TestBroker, WAIT};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

struct Resp {
    status: u16,
    body: Vec<u8>,
}

/// One request on a keep-alive connection; reads exactly one response.
fn request(r: &mut BufReader<TcpStream>, method: &str, target: &str, body: &[u8]) -> Resp {
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let s = r.get_mut();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut len = 0;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    Resp { status, body }
}

fn conn(addr: SocketAddr) -> BufReader<TcpStream> {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    BufReader::new(s)
}

fn error_code(r: &Resp) -> String {
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["message"].as_str().unwrap().to_string()
}

#[test]
fn endpoints_answer_as_nsqd() {
    let data = temp_dir("http");
    let mut cfg = test_config(&data);
    cfg.max_msg_size = 100;
    let b = TestBroker::start(cfg);
    let mut sub = Client::subscriber(b.tcp, "web", "c", 10);
    let mut h = conn(b.http);

    let r = request(&mut h, "GET", "/ping", b"");
    assert_eq!((r.status, &r.body[..]), (200, &b"OK"[..]));

    let r = request(&mut h, "POST", "/pub?topic=web", b"hello over http");
    assert_eq!((r.status, &r.body[..]), (200, &b"OK"[..]));
    let m = sub.expect_message();
    assert_eq!(&*m.body, b"hello over http");
    sub.send(&Command::Fin(m.id));

    let r = request(&mut h, "POST", "/mpub?topic=web", b"one\ntwo\nthree\n");
    assert_eq!(r.status, 200);
    let mut got = Vec::new();
    for _ in 0..3 {
        let m = sub.expect_message();
        sub.send(&Command::Fin(m.id));
        got.push(m.body.to_vec());
    }
    got.sort();
    assert_eq!(
        got,
        vec![b"one".to_vec(), b"three".to_vec(), b"two".to_vec()]
    );

    let r = request(&mut h, "POST", "/pub?topic=web&defer=200", b"later");
    assert_eq!(r.status, 200);
    assert_eq!(&*sub.expect_message().body, b"later");

    // Errors, each with nsqd's code; the connection stays usable between them.
    for (method, target, body, status, code) in [
        ("POST", "/pub", &b"x"[..], 400, "MISSING_ARG_TOPIC"),
        ("POST", "/pub?topic=no%20spaces", b"x", 400, "INVALID_TOPIC"),
        ("POST", "/pub?topic=web", b"", 400, "MSG_EMPTY"),
        (
            "POST",
            "/pub?topic=web&defer=abc",
            b"x",
            400,
            "INVALID_DEFER",
        ),
        ("GET", "/pub?topic=web", b"", 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/nowhere", b"", 404, "NOT_FOUND"),
        (
            "POST",
            "/channel/create?topic=web",
            b"",
            400,
            "MISSING_ARG_CHANNEL",
        ),
    ] {
        let r = request(&mut h, method, target, body);
        assert_eq!(
            (r.status, error_code(&r)),
            (status, code.to_string()),
            "{method} {target}"
        );
    }

    // Too big: 413, and the connection closes (the body was not read).
    let mut big = conn(b.http);
    let r = request(&mut big, "POST", "/pub?topic=web", &[b'x'; 101]);
    assert_eq!((r.status, error_code(&r)), (413, "MSG_TOO_BIG".to_string()));

    let r = request(&mut h, "POST", "/topic/create?topic=made", b"");
    assert_eq!(r.status, 200);
    let r = request(&mut h, "POST", "/channel/create?topic=made&channel=ch", b"");
    assert_eq!(r.status, 200);

    let r = request(&mut h, "GET", "/stats?format=json", b"");
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["health"], "OK");
    let topics = v["topics"].as_array().unwrap();
    let web = topics.iter().find(|t| t["topic_name"] == "web").unwrap();
    assert_eq!(web["message_count"], 5);
    assert_eq!(web["channels"][0]["channel_name"], "c");
    assert_eq!(web["channels"][0]["finish_count"], 4);
    assert_eq!(web["channels"][0]["client_count"], 1);
    assert!(topics
        .iter()
        .any(|t| t["topic_name"] == "made" && t["channels"][0]["channel_name"] == "ch"));

    let r = request(&mut h, "GET", "/stats?format=json&topic=made", b"");
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["topics"].as_array().unwrap().len(), 1);

    let r = request(&mut h, "GET", "/stats", b"");
    let text = String::from_utf8(r.body).unwrap();
    assert!(
        text.contains("[web") && text.contains("Health: OK"),
        "{text}"
    );

    let r = request(&mut h, "GET", "/info", b"");
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert!(v["version"].as_str().unwrap().starts_with("1."));

    // Garbage instead of HTTP: 400, closed.
    let mut g = conn(b.http);
    g.get_mut().write_all(b"HELLO\r\n\r\n").unwrap();
    let mut all = String::new();
    g.read_to_string(&mut all).unwrap();
    assert!(all.starts_with("HTTP/1.1 400"), "{all}");
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}
