#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use gort_runtime::{
    blocking, go, run, spawn_blocking, yield_now, Builder, JoinError, JoinHandle, Metrics, Runtime,
    TaskPanic, YieldNow,
};

/// Go's `select` statement over channels; see [`gort_channels::select!`].
pub use gort_channels::select;

/// Channels (CSP): `bounded`, `unbounded`, `never`, and the dynamic `Select`.
pub mod chan {
    pub use gort_channels::{
        bounded, never, unbounded, IntoIter, Iter, Receiver, RecvFut, RecvTimeoutError, Select,
        SelectTimeoutError, SelectedOperation, SendError, SendFut, SendTimeoutError, Sender,
        TryIter, TryRecvError, TrySelectError, TrySendError,
    };
}

/// Go's `context`: cancellation trees, deadlines and request-scoped values.
pub mod context {
    pub use gort_runtime::context::{
        background, todo, AfterFuncStop, CancelCauseFn, CancelFn, Cause, Context, ContextError,
    };
}

/// Go's `sync.WaitGroup` and errgroup's `Group`.
pub mod sync {
    pub use gort_runtime::sync::{Group, WaitGroup};
}

/// Tasks: ids, names and the spawning `Builder`.
pub mod task {
    pub use gort_runtime::task::{id, Builder, Id, JoinError, JoinHandle};
}

/// Time: `sleep`, `sleep_until`, `timeout`, and the timer channels `after`, `tick`, `Ticker`.
pub mod time {
    pub use gort_runtime::time::{
        after, sleep, sleep_until, tick, timeout, timeout_at, Elapsed, Instant, Sleep, Ticker,
        Timeout,
    };
}

/// Networking on the netpoller: a socket wait parks only the task, never its thread.
pub mod net {
    pub use gort_runtime::net::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream, UdpSocket};
}

/// Signals (Go's `signal.Notify`): `notify` relays the process signals it names to a channel.
#[cfg(unix)]
pub mod signal {
    pub use gort_runtime::signal::{notify, Signal};
}
