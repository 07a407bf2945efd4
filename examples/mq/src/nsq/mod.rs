//! NSQ (TCP protocol V2): broker and consumer.
