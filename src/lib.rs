#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use gort_runtime::{
    go, run, yield_now, Builder, JoinError, JoinHandle, Metrics, Runtime, TaskPanic, YieldNow,
};

/// Tasks: ids, names and the spawning `Builder`.
pub mod task {
    pub use gort_runtime::task::{id, Builder, Id, JoinError, JoinHandle};
}

/// Time: `sleep`, `sleep_until`, `timeout`.
pub mod time {
    pub use gort_runtime::time::{
        sleep, sleep_until, timeout, timeout_at, Elapsed, Instant, Sleep, Timeout,
    };
}
