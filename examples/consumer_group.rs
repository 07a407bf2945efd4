//! Producers and a consumer group on gort's Kafka-style log, with a live line of
//! throughput and lag, stopped by SIGINT (Ctrl-C) or SIGTERM through the context tree:
//! producers flush, consumers commit their offsets and leave, and the process exits 0.
//!
//! ```sh
//! cargo run --release --example consumer_group                    # until Ctrl-C
//! cargo run --release --example consumer_group -- --messages 100000 --consumers 4
//! cargo run --release --example consumer_group -- --bench        # msgs/s, p50/p99, peak RSS
//! ```
//!
//! Everything it does is `gort_mq::kafka::demo`, so the tests can run it too.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = gort_mq::kafka::demo::main(&args) {
        eprintln!("consumer_group: {e}");
        std::process::exit(1);
    }
}
