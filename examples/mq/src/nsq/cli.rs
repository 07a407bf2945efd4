//! The `nsqd` program: flags in, a broker running until SIGINT or SIGTERM, a graceful
//! shutdown, an exit status out. The example binary is one call to [`main`]; tests
//! call it in a child process of their own to send it real signals.

use super::broker::Broker;
use super::config::{Config, Parsed, USAGE};
use gort::signal::Signal;

/// Runs nsqd with `args` (without the program name); returns the exit status:
/// 0 after a clean shutdown, 1 if the broker could not start or stop cleanly, 2 for a
/// bad command line (as Go's `flag` package).
pub fn main<I, S>(args: I) -> i32
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let cfg = match Config::from_args(args) {
        Ok(Parsed::Run(cfg)) => *cfg,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return 0;
        }
        Ok(Parsed::Version) => {
            println!("nsqd v{} (gort)", super::commands::VERSION);
            return 0;
        }
        Err(e) => {
            eprintln!("nsqd: {e}\n\n{USAGE}");
            return 2;
        }
    };
    gort::run(async move {
        // Subscribed before the listeners open, so a signal sent as soon as the
        // addresses are printed is caught, not fatal.
        let signals = match gort::signal::notify(&[Signal::Interrupt, Signal::Terminate]) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("nsqd: signals: {e}");
                return 1;
            }
        };
        let broker = match Broker::start(cfg).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("nsqd: {e}");
                return 1;
            }
        };
        println!("nsqd: TCP: listening on {}", broker.tcp_addr());
        if let Some(a) = broker.http_addr() {
            println!("nsqd: HTTP: listening on {a}");
        }
        if let Some(sig) = signals.recv().await {
            println!("nsqd: caught {sig}: shutting down");
        }
        match broker.shutdown().await {
            Ok(()) => {
                println!("nsqd: bye");
                0
            }
            Err(e) => {
                eprintln!("nsqd: shutdown: {e}");
                1
            }
        }
    })
}
