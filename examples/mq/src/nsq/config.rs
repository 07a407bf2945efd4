//! The broker's options and their command line, spelled as nsqd's flags so that the
//! binary drops in where nsqd runs.
//!
//! Go's `flag` package accepts `-name value`, `-name=value`, `--name value` and
//! `--name=value`; so does [`Config::from_args`]. Durations are Go's
//! (`time.ParseDuration`): `60s`, `1m30s`, `250ms`, `1h`. Flags nsqd has and this
//! broker does not honour (TLS, lookupd, statsd, auth) are refused with a clear
//! message rather than silently ignored.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the broker can be told.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the TCP protocol listens (`--tcp-address`).
    pub tcp_address: String,
    /// Where the HTTP API listens (`--http-address`); `None` for no HTTP listener.
    pub http_address: Option<String>,
    /// Where disk queues and metadata live (`--data-path`).
    pub data_path: PathBuf,
    /// Messages each topic and channel keeps in memory before spilling to disk
    /// (`--mem-queue-size`).
    pub mem_queue_size: usize,
    /// Largest message body (`--max-msg-size`).
    pub max_msg_size: usize,
    /// Largest command body: an `MPUB` or `IDENTIFY` (`--max-body-size`).
    pub max_body_size: usize,
    /// Default time a message stays in flight before it is requeued (`--msg-timeout`).
    pub msg_timeout: Duration,
    /// Largest `msg_timeout` a client may IDENTIFY with, and a TOUCHed message's
    /// longest life in flight (`--max-msg-timeout`).
    pub max_msg_timeout: Duration,
    /// Largest `REQ`/`DPUB` delay (`--max-req-timeout`).
    pub max_req_timeout: Duration,
    /// Largest `RDY` (`--max-rdy-count`).
    pub max_rdy_count: u64,
    /// Default heartbeat interval (nsqd's is fixed at 30s).
    pub heartbeat_interval: Duration,
    /// Largest heartbeat interval a client may IDENTIFY with
    /// (`--max-heartbeat-interval`).
    pub max_heartbeat_interval: Duration,
    /// Largest `output_buffer_size` a client may ask for (`--max-output-buffer-size`).
    pub max_output_buffer_size: u64,
    /// Largest `output_buffer_timeout` (`--max-output-buffer-timeout`).
    pub max_output_buffer_timeout: Duration,
    /// Size at which a disk queue starts a new file (`--max-bytes-per-file`).
    pub max_bytes_per_file: u64,
    /// Disk-queue writes between metadata syncs (`--sync-every`).
    pub sync_every: u64,
    /// Longest time between metadata syncs of a busy disk queue (`--sync-timeout`).
    pub sync_timeout: Duration,
    /// How often channels look for timed-out and due deferred messages
    /// (`--queue-scan-interval`).
    pub queue_scan_interval: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            tcp_address: "127.0.0.1:4150".into(),
            http_address: Some("127.0.0.1:4151".into()),
            data_path: PathBuf::from("."),
            mem_queue_size: 10_000,
            max_msg_size: 1_048_576,
            max_body_size: 5_242_880,
            msg_timeout: Duration::from_secs(60),
            max_msg_timeout: Duration::from_secs(15 * 60),
            max_req_timeout: Duration::from_secs(60 * 60),
            max_rdy_count: 2500,
            heartbeat_interval: Duration::from_secs(30),
            max_heartbeat_interval: Duration::from_secs(60),
            max_output_buffer_size: 65_536,
            max_output_buffer_timeout: Duration::from_secs(30),
            max_bytes_per_file: 104_857_600,
            sync_every: 2500,
            sync_timeout: Duration::from_secs(2),
            queue_scan_interval: Duration::from_millis(100),
        }
    }
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Parsed {
    /// Run with this configuration.
    Run(Box<Config>),
    /// Print [`USAGE`] and exit successfully (`--help`).
    Help,
    /// Print the version and exit (`--version`).
    Version,
}

/// The `--help` text.
pub const USAGE: &str = "\
usage: nsqd [flags]   (an NSQ-compatible broker on gort)

  --tcp-address ADDR             TCP clients (default 127.0.0.1:4150)
  --http-address ADDR            HTTP clients (default 127.0.0.1:4151; \"\" for none)
  --data-path DIR                disk queues and metadata (default .)
  --mem-queue-size N             messages kept in memory per topic/channel (default 10000)
  --max-msg-size BYTES           largest message (default 1048576)
  --max-body-size BYTES          largest command body (default 5242880)
  --msg-timeout DUR              time in flight before requeue (default 60s)
  --max-msg-timeout DUR          largest client msg_timeout (default 15m)
  --max-req-timeout DUR          largest REQ/DPUB delay (default 1h)
  --max-rdy-count N              largest RDY (default 2500)
  --max-heartbeat-interval DUR   largest client heartbeat interval (default 60s)
  --max-output-buffer-size BYTES largest client output_buffer_size (default 65536)
  --max-output-buffer-timeout DUR largest client output_buffer_timeout (default 30s)
  --max-bytes-per-file BYTES     disk queue file size (default 104857600)
  --sync-every N                 disk queue writes between syncs (default 2500)
  --sync-timeout DUR             longest time between syncs (default 2s)
  --queue-scan-interval DUR      in-flight/deferred scan period (default 100ms)
  --help, --version
";

impl Config {
    /// Parses nsqd-style flags (without the program name).
    pub fn from_args<I, S>(args: I) -> Result<Parsed, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut c = Config::default();
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (flag.to_string(), None),
            };
            match name.as_str() {
                "help" | "h" => return Ok(Parsed::Help),
                "version" => return Ok(Parsed::Version),
                _ => {}
            }
            let value = match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| format!("flag needs an argument: -{name}"))?,
            };
            c.set(&name, &value)?;
        }
        Ok(Parsed::Run(Box::new(c)))
    }

    fn set(&mut self, name: &str, v: &str) -> Result<(), String> {
        let bad = |what: &str| format!("invalid value {v:?} for flag -{name}: {what}");
        let num = || v.parse::<u64>().map_err(|e| bad(&e.to_string()));
        let dur =
            || parse_duration(v).ok_or_else(|| bad("not a duration (e.g. 60s, 1m30s, 250ms)"));
        match name {
            "tcp-address" => {
                check_addr(v).map_err(|e| bad(&e))?;
                self.tcp_address = v.into()
            }
            "http-address" if v.is_empty() => self.http_address = None,
            "http-address" => {
                check_addr(v).map_err(|e| bad(&e))?;
                self.http_address = Some(v.into())
            }
            "data-path" => self.data_path = PathBuf::from(v),
            "mem-queue-size" => self.mem_queue_size = num()? as usize,
            "max-msg-size" => self.max_msg_size = positive(num()?).map_err(&bad)? as usize,
            "max-body-size" => self.max_body_size = positive(num()?).map_err(&bad)? as usize,
            "msg-timeout" => self.msg_timeout = dur()?,
            "max-msg-timeout" => self.max_msg_timeout = dur()?,
            "max-req-timeout" => self.max_req_timeout = dur()?,
            "max-rdy-count" => self.max_rdy_count = num()?,
            "max-heartbeat-interval" => self.max_heartbeat_interval = dur()?,
            "max-output-buffer-size" => self.max_output_buffer_size = num()?,
            "max-output-buffer-timeout" => self.max_output_buffer_timeout = dur()?,
            "max-bytes-per-file" => self.max_bytes_per_file = positive(num()?).map_err(&bad)?,
            "sync-every" => self.sync_every = positive(num()?).map_err(&bad)?,
            "sync-timeout" => self.sync_timeout = dur()?,
            "queue-scan-interval" => {
                self.queue_scan_interval = dur()?;
                if self.queue_scan_interval.is_zero() {
                    return Err(bad("must be above zero"));
                }
            }
            "tls-cert"
            | "tls-key"
            | "tls-root-ca-file"
            | "tls-client-auth-policy"
            | "tls-required"
            | "lookupd-tcp-address"
            | "auth-http-address"
            | "statsd-address"
            | "https-address"
            | "snappy"
            | "deflate" => return Err(format!("flag -{name} is not supported by this broker")),
            _ => return Err(format!("flag provided but not defined: -{name}")),
        }
        Ok(())
    }
}

fn positive(n: u64) -> Result<u64, &'static str> {
    if n == 0 {
        Err("must be above zero")
    } else {
        Ok(n)
    }
}

fn check_addr(v: &str) -> Result<(), String> {
    v.parse::<SocketAddr>()
        .map(drop)
        .or_else(|_| match v.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
            _ => Err("want HOST:PORT".to_string()),
        })
}

/// Parses a Go duration: a sequence of decimal numbers (fractions allowed) each with a
/// unit, `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`; `0` alone is zero.
pub fn parse_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * nanos_per;
    }
    Some(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        for bad in ["", "10", "1x", "s", "1.2.3s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn flags_in_go_spellings() {
        let Parsed::Run(c) = Config::from_args([
            "--tcp-address",
            "127.0.0.1:0",
            "-http-address=",
            "--mem-queue-size=5",
            "-msg-timeout",
            "2s",
        ])
        .unwrap() else {
            panic!("not a run")
        };
        assert_eq!(c.tcp_address, "127.0.0.1:0");
        assert_eq!(c.http_address, None);
        assert_eq!(c.mem_queue_size, 5);
        assert_eq!(c.msg_timeout, Duration::from_secs(2));
        assert!(Config::from_args(["--nope", "1"]).is_err());
        assert!(Config::from_args(["--msg-timeout", "soon"]).is_err());
        assert!(Config::from_args(["--tcp-address"]).is_err());
        assert!(matches!(Config::from_args(["-h"]), Ok(Parsed::Help)));
    }
}
