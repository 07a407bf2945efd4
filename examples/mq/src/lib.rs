//! Message-queue samples built on gort's scheduler, channels, select, context, timers
//! and netpoller: an NSQ-compatible broker and consumer ([`nsq`]) and a Kafka-style
//! partitioned log with producers and consumer groups ([`kafka`]).
//!
//! The runnable programs are thin mains in the repository's `examples/` directory
//! (`nsqd`, `nsq_consumer`, `consumer_group`); everything they do lives here so that it
//! can be tested.
#![forbid(unsafe_code)]

pub mod kafka;
pub mod nsq;
