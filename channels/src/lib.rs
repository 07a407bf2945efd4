//! gort-channels: Go's channels and `select` for Rust, on any executor or none.
//!
//! - [`bounded`]`(n)` (`n == 0`: unbuffered rendezvous), [`unbounded`], [`never`].
//! - async `send`/`recv`, `try_send`/`try_recv`, blocking `send_blocking`/
//!   `recv_blocking` for plain threads, `close`, and a `Stream` receiver.
//! - [`select!`] and the dynamic [`Select`]: exactly one case completes, chosen
//!   uniformly at random among those ready; a case not chosen leaves no trace.
//!
//! The crate depends on no scheduler: wake-ups go through `std::task::Waker` (or
//! thread parking for the blocking calls). `coop` holds the cooperative budget that a
//! scheduler (gort's) may set around each task poll.
//!
//! Layout: `chan.rs` the channel and its lock-held protocol, `buffer.rs` a buffered
//! channel's buffer (lock-free while nobody waits: `ring.rs` bounded, `list.rs`
//! unbounded), `slot.rs` where a blocked
//! value waits, `token.rs` the selection token, `case.rs` the cases, `select.rs` the
//! engine a select waits with, `lone.rs` a lone operation's shorter way, `handles.rs` the ends and their operations,
//! `select_macro.rs` and `dynamic.rs` the two selects, `err.rs` the errors; `loom.rs`
//! the door to atomics, locks and parking that the loom models (`tests/`) swap.

#![warn(missing_docs, missing_debug_implementations)]
// `unsafe` only where allowed by name: the slots' cells (slot.rs), the buffers'
// (ring.rs, list.rs), the kept entries' raw pointers (spare.rs) and the tokens'
// signal lock (token.rs).
#![deny(unsafe_code)]

mod buffer;
mod case;
mod chan;
pub mod coop;
mod dynamic;
mod err;
mod handles;
mod list;
mod lone;
mod loom;
mod ring;
mod select;
mod select_macro;
mod slot;
mod spare;
mod token;

#[cfg(all(test, loom))]
mod tests;

pub use dynamic::{Select, SelectedOperation};
pub use err::{
    RecvTimeoutError, SelectTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySelectError, TrySendError,
};
pub use handles::{
    bounded, never, unbounded, IntoIter, Iter, Receiver, RecvFut, SendFut, Sender, TryIter,
};

#[doc(hidden)]
pub mod __private {
    pub use crate::case::{Case, RecvCase, SendCase};
    pub use crate::select_macro::{select, ChanArg};
}
