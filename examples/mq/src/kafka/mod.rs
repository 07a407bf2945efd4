//! Kafka-style partitioned log, producers and consumer groups, in-process.
