//! An NSQ consumer on gort: connects to one or more nsqd, prints each message's body,
//! and FINs it; stops gracefully on SIGINT or SIGTERM (running handlers finish, the
//! rest stays queued in the broker). Everything lives in `gort_mq::nsq::consumer`.
//!
//! ```sh
//! cargo run --release --example nsq_consumer -- --nsqd-tcp-address 127.0.0.1:4150 \
//!     --topic test --channel print --max-in-flight 100 --concurrency 4
//! ```

use gort::signal::Signal;
use gort_mq::nsq::consumer::{run, ConsumerConfig, HandlerResult};
use std::io::Write;

const USAGE: &str = "usage: nsq_consumer --nsqd-tcp-address HOST:PORT [--nsqd-tcp-address ...] \
--topic T --channel C [--max-in-flight N] [--concurrency N] [--max-attempts N]";

fn main() {
    let mut cfg = ConsumerConfig::new("", "", &[]);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let flag = flag.trim_start_matches('-').to_string();
        let Some(v) = args.next() else {
            eprintln!("nsq_consumer: -{flag} needs a value\n{USAGE}");
            std::process::exit(2);
        };
        let num = |v: &str| -> u64 {
            v.parse().unwrap_or_else(|_| {
                eprintln!("nsq_consumer: -{flag}: not a number: {v}\n{USAGE}");
                std::process::exit(2)
            })
        };
        match flag.as_str() {
            "nsqd-tcp-address" => cfg.nsqd_tcp_addresses.push(v),
            "topic" => cfg.topic = v,
            "channel" => cfg.channel = v,
            "max-in-flight" => cfg.max_in_flight = num(&v),
            "concurrency" => cfg.concurrency = num(&v) as usize,
            "max-attempts" => cfg.max_attempts = num(&v) as u16,
            _ => {
                eprintln!("nsq_consumer: unknown flag -{flag}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    if cfg.topic.is_empty() || cfg.channel.is_empty() || cfg.nsqd_tcp_addresses.is_empty() {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let code = gort::run(async move {
        let signals = match gort::signal::notify(&[Signal::Interrupt, Signal::Terminate]) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("nsq_consumer: signals: {e}");
                return 1;
            }
        };
        let (ctx, cancel) = gort::context::background().with_cancel();
        let stopper = gort::go(async move {
            if let Some(sig) = signals.recv().await {
                eprintln!("nsq_consumer: caught {sig}: finishing running handlers");
            }
            cancel.cancel();
        });
        let handler = |m: gort_mq::nsq::message::Message| async move {
            let mut out = std::io::stdout().lock();
            out.write_all(&m.body)?;
            out.write_all(b"\n")?;
            HandlerResult::Ok(())
        };
        let r = run(cfg, handler, ctx).await;
        stopper.abort();
        match r {
            Ok(stats) => {
                eprintln!("nsq_consumer: {stats:?}");
                0
            }
            Err(e) => {
                eprintln!("nsq_consumer: {e}");
                1
            }
        }
    });
    std::process::exit(code);
}
