//! The TCP protocol's error paths, one case per malformed input or out-of-order
//! command, each answered with nsqd's error frame (closing the connection when nsqd
//! does), while a subscriber and a publisher on other connections carry on
//! undisturbed. Also: IDENTIFY negotiation, heartbeats, and closing a client that
//! misses two of them.

mod nsq_support;

use gort_mq::nsq::message::MessageId;
use gort_mq::nsq::protocol::{Command, Frame};
use nsq_support::{temp_dir, test_config, Client, TestBroker};
use serde_json::Value;
use std::io::Write;

fn body(verb_line: &str, body: &[u8]) -> Vec<u8> {
    let mut v = verb_line.as_bytes().to_vec();
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn mpub_body(bodies: &[&[u8]]) -> Vec<u8> {
    let mut v = (bodies.len() as u32).to_be_bytes().to_vec();
    for b in bodies {
        v.extend_from_slice(&(b.len() as u32).to_be_bytes());
        v.extend_from_slice(b);
    }
    v
}

/// How a case sets its connection up before the bad input.
#[derive(Clone, Copy)]
enum Setup {
    Fresh,
    Subscribed,
}

struct Case {
    name: &'static str,
    setup: Setup,
    input: Vec<u8>,
    code: &'static str,
    fatal: bool,
}

fn case(name: &'static str, setup: Setup, input: Vec<u8>, code: &'static str, fatal: bool) -> Case {
    Case {
        name,
        setup,
        input,
        code,
        fatal,
    }
}

fn cases() -> Vec<Case> {
    use Setup::*;
    let id = "0000000000000001";
    let big = vec![b'x'; 2048]; // max-msg-size is 1024 in this broker
    let mut too_many = 100_000u32.to_be_bytes().to_vec();
    too_many.extend_from_slice(&[0; 8]);
    vec![
        case(
            "unknown command",
            Fresh,
            b"BOGUS\n".to_vec(),
            "E_INVALID",
            true,
        ),
        case("empty line", Fresh, b"\n".to_vec(), "E_INVALID", true),
        case(
            "line too long",
            Fresh,
            vec![b'A'; 20_000],
            "E_INVALID",
            true,
        ),
        case(
            "SUB bad topic",
            Fresh,
            b"SUB bad!topic ch\n".to_vec(),
            "E_BAD_TOPIC",
            true,
        ),
        case(
            "SUB long topic",
            Fresh,
            format!("SUB {} ch\n", "t".repeat(65)).into_bytes(),
            "E_BAD_TOPIC",
            true,
        ),
        case(
            "SUB bad channel",
            Fresh,
            b"SUB t ch#bad\n".to_vec(),
            "E_BAD_CHANNEL",
            true,
        ),
        case(
            "SUB missing channel",
            Fresh,
            b"SUB t\n".to_vec(),
            "E_INVALID",
            true,
        ),
        case(
            "SUB twice",
            Subscribed,
            b"SUB t c2\n".to_vec(),
            "E_INVALID",
            true,
        ),
        case(
            "PUB bad topic",
            Fresh,
            body("PUB a/b\n", b"x"),
            "E_BAD_TOPIC",
            true,
        ),
        case("PUB no topic", Fresh, b"PUB\n".to_vec(), "E_INVALID", true),
        case(
            "PUB oversized",
            Fresh,
            body("PUB t\n", &big),
            "E_BAD_MESSAGE",
            true,
        ),
        case(
            "PUB empty body",
            Fresh,
            body("PUB t\n", b""),
            "E_BAD_MESSAGE",
            true,
        ),
        case(
            "PUB negative size",
            Fresh,
            b"PUB t\n\xff\xff\xff\xff".to_vec(),
            "E_BAD_MESSAGE",
            true,
        ),
        case(
            "MPUB bad topic",
            Fresh,
            body("MPUB -?\n", &mpub_body(&[b"a"])),
            "E_BAD_TOPIC",
            true,
        ),
        case(
            "MPUB zero count",
            Fresh,
            body("MPUB t\n", &0u32.to_be_bytes()),
            "E_BAD_BODY",
            true,
        ),
        case(
            "MPUB count beyond body",
            Fresh,
            body("MPUB t\n", &too_many),
            "E_BAD_BODY",
            true,
        ),
        case(
            "MPUB body over max-body-size",
            Fresh,
            body("MPUB t\n", &vec![0; 5000]),
            "E_BAD_BODY",
            true,
        ),
        case(
            "MPUB oversized message",
            Fresh,
            body("MPUB t\n", &mpub_body(&[b"ok", &big])),
            "E_BAD_MESSAGE",
            true,
        ),
        case(
            "MPUB truncated message",
            Fresh,
            body("MPUB t\n", &mpub_body(&[b"ok", b"abc"])[..16]),
            "E_BAD_MESSAGE",
            true,
        ),
        case(
            "DPUB unparsable delay",
            Fresh,
            body("DPUB t soon\n", b"x"),
            "E_INVALID",
            true,
        ),
        case(
            "DPUB delay over max",
            Fresh,
            body("DPUB t 999999999\n", b"x"),
            "E_INVALID",
            true,
        ),
        case(
            "DPUB oversized",
            Fresh,
            body("DPUB t 10\n", &big),
            "E_BAD_MESSAGE",
            true,
        ),
        case(
            "RDY before SUB",
            Fresh,
            b"RDY 1\n".to_vec(),
            "E_INVALID",
            true,
        ),
        case(
            "RDY over max",
            Subscribed,
            b"RDY 2501\n".to_vec(),
            "E_INVALID",
            true,
        ),
        case(
            "RDY unparsable",
            Subscribed,
            b"RDY -1\n".to_vec(),
            "E_INVALID",
            true,
        ),
        case(
            "FIN before SUB",
            Fresh,
            format!("FIN {id}\n").into_bytes(),
            "E_INVALID",
            true,
        ),
        case(
            "FIN short ID",
            Subscribed,
            b"FIN 123\n".to_vec(),
            "E_INVALID",
            true,
        ),
        case(
            "FIN not in flight",
            Subscribed,
            format!("FIN {id}\n").into_bytes(),
            "E_FIN_FAILED",
            false,
        ),
        case(
            "REQ not in flight",
            Subscribed,
            format!("REQ {id} 0\n").into_bytes(),
            "E_REQ_FAILED",
            false,
        ),
        case(
            "REQ bad delay",
            Subscribed,
            format!("REQ {id} x\n").into_bytes(),
            "E_INVALID",
            true,
        ),
        case(
            "REQ missing delay",
            Subscribed,
            format!("REQ {id}\n").into_bytes(),
            "E_INVALID",
            true,
        ),
        case(
            "TOUCH not in flight",
            Subscribed,
            format!("TOUCH {id}\n").into_bytes(),
            "E_TOUCH_FAILED",
            false,
        ),
        case(
            "TOUCH before SUB",
            Fresh,
            format!("TOUCH {id}\n").into_bytes(),
            "E_INVALID",
            true,
        ),
        case(
            "CLS before SUB",
            Fresh,
            b"CLS\n".to_vec(),
            "E_INVALID",
            true,
        ),
        case(
            "IDENTIFY bad JSON",
            Fresh,
            body("IDENTIFY\n", b"{nope"),
            "E_BAD_BODY",
            true,
        ),
        case(
            "IDENTIFY not an object",
            Fresh,
            body("IDENTIFY\n", b"[1]"),
            "E_BAD_BODY",
            true,
        ),
        case(
            "IDENTIFY empty",
            Fresh,
            body("IDENTIFY\n", b""),
            "E_BAD_BODY",
            true,
        ),
        case(
            "IDENTIFY heartbeat too short",
            Fresh,
            body("IDENTIFY\n", br#"{"heartbeat_interval":10}"#),
            "E_BAD_BODY",
            true,
        ),
        case(
            "IDENTIFY heartbeat too long",
            Fresh,
            body("IDENTIFY\n", br#"{"heartbeat_interval":600000}"#),
            "E_BAD_BODY",
            true,
        ),
        case(
            "IDENTIFY msg_timeout too short",
            Fresh,
            body("IDENTIFY\n", br#"{"msg_timeout":5}"#),
            "E_BAD_BODY",
            true,
        ),
        case(
            "IDENTIFY output buffer",
            Fresh,
            body("IDENTIFY\n", br#"{"output_buffer_size":3}"#),
            "E_BAD_BODY",
            true,
        ),
        case(
            "IDENTIFY sample rate",
            Fresh,
            body("IDENTIFY\n", br#"{"sample_rate":50}"#),
            "E_BAD_BODY",
            true,
        ),
        case(
            "IDENTIFY wrong type",
            Fresh,
            body("IDENTIFY\n", br#"{"heartbeat_interval":"fast"}"#),
            "E_BAD_BODY",
            true,
        ),
        case(
            "IDENTIFY after SUB",
            Subscribed,
            body("IDENTIFY\n", b"{}"),
            "E_INVALID",
            true,
        ),
        case(
            "AUTH",
            Fresh,
            body("AUTH\n", b"secret"),
            "E_AUTH_DISABLED",
            true,
        ),
    ]
}

#[test]
fn every_error_case_gets_its_frame_and_others_carry_on() {
    let data = temp_dir("proto");
    let mut cfg = test_config(&data);
    cfg.max_msg_size = 1024;
    cfg.max_body_size = 4096;
    let b = TestBroker::start(cfg);

    // The bystanders: a subscriber with room for everything, and a publisher.
    let mut sub = Client::subscriber(b.tcp, "steady", "ch", 100);
    let mut publisher = Client::connect(b.tcp);
    let mut sent = 0u32;

    for c in cases() {
        let mut conn = match c.setup {
            Setup::Fresh => Client::connect(b.tcp),
            Setup::Subscribed => Client::subscriber(b.tcp, "t", "c", 0),
        };
        conn.send_raw(&c.input);
        let text = conn.expect_error(c.code);
        if c.fatal {
            conn.expect_closed();
        } else {
            // The connection goes on: a NOP is ignored and a PUB answered.
            conn.send(&Command::Nop);
            conn.ping();
        }
        eprintln!("ok: {}: {text}", c.name);

        // Others are unaffected: the publisher's next message reaches the subscriber.
        let payload = format!("after {}", c.name);
        publisher.publish("steady", payload.as_bytes());
        let m = sub.expect_message();
        assert_eq!(&*m.body, payload.as_bytes(), "case {}", c.name);
        sub.send(&Command::Fin(m.id));
        sent += 1;
    }
    b.wait_channel("steady", "ch", "every bystander message finished", |c| {
        c["finish_count"] == sent && c["in_flight_count"] == 0
    });
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn bad_magic_is_refused() {
    let data = temp_dir("magic");
    let b = TestBroker::start(test_config(&data));
    let mut s = std::net::TcpStream::connect(b.tcp).unwrap();
    s.set_read_timeout(Some(nsq_support::WAIT)).unwrap();
    s.write_all(b"  V1").unwrap();
    let mut c = Client { s };
    c.expect_error("E_BAD_PROTOCOL");
    c.expect_closed();
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn identify_negotiates_and_declines_tls_and_compression() {
    let data = temp_dir("identify");
    let b = TestBroker::start(test_config(&data));
    let mut c = Client::connect(b.tcp);
    let resp = c.identify(
        r#"{"client_id":"t1","hostname":"h","feature_negotiation":true,"heartbeat_interval":5000,
            "msg_timeout":30000,"tls_v1":true,"snappy":true,"deflate":true,"deflate_level":6,
            "output_buffer_size":16384,"output_buffer_timeout":250,"sample_rate":0,"user_agent":"test/1"}"#,
    );
    let Frame::Response(json) = resp else {
        panic!("{resp:?}")
    };
    let v: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["tls_v1"], false);
    assert_eq!(v["snappy"], false);
    assert_eq!(v["deflate"], false);
    assert_eq!(v["auth_required"], false);
    assert_eq!(v["msg_timeout"], 30000);
    assert_eq!(v["max_rdy_count"], 2500);
    // Still usable, uncompressed.
    c.send(&Command::Sub {
        topic: "t".into(),
        channel: "c".into(),
    });
    c.expect_ok();
    let clients = &b.channel_stats("t", "c")["clients"];
    assert_eq!(clients[0]["client_id"], "t1");
    assert_eq!(clients[0]["user_agent"], "test/1");

    // Without feature negotiation the answer is a plain OK.
    let mut plain = Client::connect(b.tcp);
    assert_eq!(
        plain.identify(r#"{"client_id":"x"}"#),
        Frame::Response(b"OK".to_vec())
    );
    plain.ping();
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn heartbeats_are_sent_and_a_silent_client_is_closed() {
    let data = temp_dir("heartbeat");
    let b = TestBroker::start(test_config(&data));

    // A client that answers heartbeats stays; one that does not is closed after two
    // intervals. Both negotiate the shortest interval, 1 s.
    let mut live = Client::connect(b.tcp);
    assert_eq!(
        live.identify(r#"{"heartbeat_interval":1000}"#),
        Frame::Response(b"OK".to_vec())
    );
    let mut silent = Client::connect(b.tcp);
    assert_eq!(
        silent.identify(r#"{"heartbeat_interval":1000}"#),
        Frame::Response(b"OK".to_vec())
    );

    let mut heartbeats = 0;
    while heartbeats < 4 {
        let f = live.frame_raw().expect("the live client stays connected");
        assert!(f.is_heartbeat(), "{f:?}");
        live.send(&Command::Nop);
        heartbeats += 1;
    }
    // The silent one saw heartbeats, never answered, and was closed.
    let mut seen = 0;
    loop {
        match silent.frame_raw() {
            Some(f) if f.is_heartbeat() => seen += 1,
            Some(f) => panic!("{f:?}"),
            None => break,
        }
    }
    assert!(
        seen >= 1,
        "the silent client got no heartbeat before being closed"
    );
    live.ping();

    // Heartbeats disabled (-1) cannot SUB.
    let mut nohb = Client::connect(b.tcp);
    assert_eq!(
        nohb.identify(r#"{"heartbeat_interval":-1}"#),
        Frame::Response(b"OK".to_vec())
    );
    nohb.send(&Command::Sub {
        topic: "t".into(),
        channel: "c".into(),
    });
    nohb.expect_error("E_INVALID");
    nohb.expect_closed();
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn fin_of_another_clients_message_fails_without_closing() {
    let data = temp_dir("owner");
    let b = TestBroker::start(test_config(&data));
    let mut a = Client::subscriber(b.tcp, "t", "c", 1);
    let mut other = Client::subscriber(b.tcp, "t", "c", 0);
    Client::connect(b.tcp).publish("t", b"m");
    let m = a.expect_message();
    other.send(&Command::Fin(m.id));
    let e = other.expect_error("E_FIN_FAILED");
    assert!(e.contains("client does not own message"), "{e}");
    other.send(&Command::Req(m.id, 0));
    other.expect_error("E_REQ_FAILED");
    other.send(&Command::Touch(MessageId::from_u64(42)));
    other.expect_error("E_TOUCH_FAILED");
    // The owner's FIN works, and a second FIN fails.
    a.send(&Command::Fin(m.id));
    a.send(&Command::Fin(m.id));
    let e = a.expect_error("E_FIN_FAILED");
    assert!(e.contains("not in flight"), "{e}");
    b.wait_channel("t", "c", "one finish", |c| c["finish_count"] == 1);
    b.shutdown();
    let _ = std::fs::remove_dir_all(data);
}
