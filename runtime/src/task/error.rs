//! `JoinError`: why awaiting a `JoinHandle` gave no value.

use super::Id;
use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};

/// The task behind a [`JoinHandle`](crate::JoinHandle) did not produce a value: it
/// panicked, or it was aborted (by [`JoinHandle::abort`](crate::JoinHandle::abort) or
/// by the runtime shutting down).
pub struct JoinError {
    repr: Repr,
    id: Id,
    name: Option<Arc<str>>,
}

enum Repr {
    Cancelled,
    // Mutex only to make the payload `Sync`; it is never contended.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled(id: Id, name: Option<Arc<str>>) -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
            id,
            name,
        }
    }

    pub(crate) fn panic(id: Id, name: Option<Arc<str>>, payload: Box<dyn Any + Send>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
            id,
            name,
        }
    }

    /// True when the task was aborted or dropped by shutdown before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True when the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The name given with [`task::Builder::name`](crate::task::Builder::name), if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The panic payload, to resume it with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the task did not panic; see [`JoinError::try_into_panic`].
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancelled task's error")
    }

    /// The panic payload, or the error back when the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(p) = &self.repr else {
            return None;
        };
        let p = p.lock().unwrap_or_else(|e| e.into_inner());
        crate::task::panic_message(&**p)
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "task '{}' ({})", name, self.id)?,
            None => write!(f, "task {}", self.id)?,
        }
        match &self.repr {
            Repr::Cancelled => f.write_str(" was cancelled"),
            Repr::Panic(_) => match self.panic_message() {
                Some(msg) => write!(f, " panicked with message {msg:?}"),
                None => f.write_str(" panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_cancelled() {
            "Cancelled"
        } else {
            "Panic"
        };
        let mut d = f.debug_struct("JoinError");
        d.field("kind", &kind).field("id", &self.id);
        if let Some(name) = &self.name {
            d.field("name", name);
        }
        if let Some(msg) = self.panic_message() {
            d.field("message", &msg);
        }
        d.finish()
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
}
