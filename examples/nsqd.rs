//! An NSQ-compatible broker on gort: nsqd's TCP protocol V2, its HTTP API and its
//! flags, topics and channels in memory with disk spill, graceful shutdown on SIGINT
//! or SIGTERM. Everything lives in `gort_mq::nsq`; this is the thin main.
//!
//! ```sh
//! cargo run --release --example nsqd -- --tcp-address 127.0.0.1:4150
//! curl -d hello 'http://127.0.0.1:4151/pub?topic=test'
//! curl 'http://127.0.0.1:4151/stats?format=json'
//! ```

fn main() {
    std::process::exit(gort_mq::nsq::cli::main(std::env::args().skip(1)));
}
