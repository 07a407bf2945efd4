//! An NSQ consumer on gort: connects to one or more nsqd, prints each message's body,
//! and FINs it; stops gracefully on SIGINT or SIGTERM (running handlers finish, the
//! rest stays queued in the broker). The program is `gort_mq::nsq::consumer_cli`, the
//! consumer `gort_mq::nsq::consumer`; this is the thin main.
//!
//! ```sh
//! cargo run --release --example nsq_consumer -- --nsqd-tcp-address 127.0.0.1:4150 \
//!     --topic test --channel print --max-in-flight 100 --concurrency 4
//! ```

fn main() {
    std::process::exit(gort_mq::nsq::consumer_cli::main(std::env::args().skip(1)));
}
