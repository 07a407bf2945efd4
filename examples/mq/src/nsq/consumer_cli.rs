//! The `nsq_consumer` program: flags in, a [`consumer`](super::consumer) printing each
//! body until SIGINT or SIGTERM, a graceful stop. The example binary is one call to
//! [`main`]; tests run it in a child process of their own to send it real signals.

use super::consumer::{run, ConsumerConfig, HandlerResult};
use super::message::Message;
use gort::signal::Signal;
use std::io::{self, Write};

/// The `nsq_consumer` program's usage line.
pub const USAGE: &str = "usage: nsq_consumer --nsqd-tcp-address HOST:PORT \
[--nsqd-tcp-address ...] --topic T --channel C [--max-in-flight N] [--concurrency N] \
[--max-attempts N]";

/// The `nsq_consumer` program: prints each message's body to stdout and FINs it until
/// SIGINT or SIGTERM, then stops gracefully (running handlers finish, the rest stays
/// queued in the broker). Returns the exit status: 0 after a clean stop, 1 if no nsqd
/// could be reached, 2 for a bad command line. The example binary is one call to
/// this; tests call it in a child process of their own to send it real signals.
pub fn main<I, S>(args: I) -> i32
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let cfg = match config_from_args(args) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("nsq_consumer: {e}\n{USAGE}");
            return 2;
        }
    };
    gort::run(async move {
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
        let handler = |m: Message| async move {
            let mut out = io::stdout().lock();
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
    })
}

/// The program's flags (`-flag value` or `--flag value`, as Go's `flag` package).
fn config_from_args<I, S>(args: I) -> Result<ConsumerConfig, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut cfg = ConsumerConfig::new("", "", &[]);
    let mut args = args.into_iter().map(Into::into);
    while let Some(flag) = args.next() {
        let flag = flag.trim_start_matches('-').to_string();
        let v = args.next().ok_or(format!("-{flag} needs a value"))?;
        let num = |v: &str| -> Result<u64, String> {
            v.parse().map_err(|_| format!("-{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "nsqd-tcp-address" => cfg.nsqd_tcp_addresses.push(v),
            "topic" => cfg.topic = v,
            "channel" => cfg.channel = v,
            "max-in-flight" => cfg.max_in_flight = num(&v)?,
            "concurrency" => cfg.concurrency = num(&v)? as usize,
            "max-attempts" => cfg.max_attempts = num(&v)? as u16,
            _ => return Err(format!("unknown flag -{flag}")),
        }
    }
    if cfg.topic.is_empty() || cfg.channel.is_empty() || cfg.nsqd_tcp_addresses.is_empty() {
        return Err("-topic, -channel and -nsqd-tcp-address are required".into());
    }
    Ok(cfg)
}
