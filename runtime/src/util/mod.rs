//! Small building blocks shared by the scheduler and the task machinery.

pub(crate) mod atomic_waker;
pub(crate) mod rand;
