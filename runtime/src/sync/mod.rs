//! Go's `sync.WaitGroup` and `errgroup.Group`, for goroutines on gort.
//!
//! `wait_group.rs` owns the counter and its zero signal; `group.rs` builds the
//! errgroup on it with a context (first error cancels) and a channel semaphore (limit).

mod group;
mod wait_group;

pub use group::Group;
pub use wait_group::WaitGroup;
