//! NSQ (TCP protocol V2): an nsqd-compatible broker, and the protocol codec a client
//! shares with it.
//!
//! Map of the broker, top down:
//!
//! - [`broker`]: the registry of topics and clients, listeners, start and graceful
//!   shutdown, `nsqd.dat`.
//! - [`client`]: a connection's lifecycle and its pump (the only writer of the socket);
//!   [`commands`]: its read loop, one function per command; [`conn_io`]: buffered,
//!   deadline- and context-bounded reads.
//! - [`topic`]: fan-out to channels; [`channel`]: load-balancing, the in-flight table,
//!   deferred messages and timeouts.
//! - [`queue`]: memory in front of disk; [`diskqueue`]: the segment files.
//! - [`protocol`]: frames, commands and error codes, for both ends; [`message`]: the
//!   message and its encoding.
//! - [`http`] and [`stats`]: the HTTP API. [`config`]: nsqd's flags; [`cli`]: the
//!   program.

pub mod broker;
pub mod channel;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod conn_io;
pub mod consumer;
pub mod consumer_cli;
pub mod diskqueue;
pub mod http;
pub mod message;
pub mod protocol;
pub mod queue;
pub mod stats;
pub mod topic;

pub use broker::Broker;
pub use config::Config;
