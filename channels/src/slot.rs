//! Where a value waits while its operation is blocked: a receiver's slot (a claimed
//! sender fills it) and a sender's slot (a claimed receiver empties it).
//!
//! A slot is shared (`Arc`) between the blocked operation and its entry in the
//! channel's queue, so either side may finish with it after the other has gone.

use crate::loom::Mutex;

pub(crate) struct RecvSlot<T>(Mutex<RecvState<T>>);

enum RecvState<T> {
    Empty,
    Value(T),
    Closed,
    /// The claim was for a deferred send that was then given up: select again.
    Retry,
    /// The receiver went away after the claim, before the value came.
    Abandoned,
}

/// What a claimed receiver finds in its slot.
pub(crate) enum RecvOutcome<T> {
    Value(T),
    Closed,
    Retry,
    /// Claimed by a deferred send whose value is still to come.
    Pending,
}

impl<T> RecvSlot<T> {
    pub(crate) fn new() -> RecvSlot<T> {
        RecvSlot(Mutex::new(RecvState::Empty))
    }

    /// Fills the slot (`None`: the channel closed). Gives the value back if the
    /// receiver has gone.
    pub(crate) fn put(&self, value: Option<T>) -> Result<(), Option<T>> {
        let mut s = self.0.lock();
        if matches!(*s, RecvState::Abandoned) {
            return Err(value);
        }
        *s = match value {
            Some(v) => RecvState::Value(v),
            None => RecvState::Closed,
        };
        Ok(())
    }

    pub(crate) fn retry(&self) {
        let mut s = self.0.lock();
        if matches!(*s, RecvState::Empty) {
            *s = RecvState::Retry;
        }
    }

    pub(crate) fn take(&self) -> RecvOutcome<T> {
        let mut s = self.0.lock();
        match std::mem::replace(&mut *s, RecvState::Empty) {
            RecvState::Value(v) => RecvOutcome::Value(v),
            RecvState::Closed => RecvOutcome::Closed,
            RecvState::Retry => RecvOutcome::Retry,
            RecvState::Empty => RecvOutcome::Pending,
            RecvState::Abandoned => {
                *s = RecvState::Abandoned;
                RecvOutcome::Pending
            }
        }
    }

    /// The receiver is going away after its claim: returns a value that arrived, to
    /// be put back into the channel; otherwise marks the slot so none arrives.
    pub(crate) fn abandon(&self) -> Option<T> {
        let mut s = self.0.lock();
        match std::mem::replace(&mut *s, RecvState::Abandoned) {
            RecvState::Value(v) => Some(v),
            _ => None,
        }
    }
}

pub(crate) struct SendSlot<T> {
    state: Mutex<SendState<T>>,
    /// A `Select::send` case: no value until chosen; never claimed, only nudged.
    deferred: bool,
}

enum SendState<T> {
    Value(T),
    Taken,
    /// The channel closed (or lost its receivers): the value comes back.
    Failed(T),
    Deferred,
}

/// How a blocked send ended.
pub(crate) enum SendOutcome<T> {
    Sent,
    Failed(T),
    /// Not completed: the value is still ours.
    NotSent(T),
    Deferred,
}

impl<T> SendSlot<T> {
    pub(crate) fn with_value(value: T) -> SendSlot<T> {
        SendSlot {
            state: Mutex::new(SendState::Value(value)),
            deferred: false,
        }
    }

    pub(crate) fn deferred() -> SendSlot<T> {
        SendSlot {
            state: Mutex::new(SendState::Deferred),
            deferred: true,
        }
    }

    pub(crate) fn is_deferred(&self) -> bool {
        self.deferred
    }

    /// A claimed receiver takes the value.
    pub(crate) fn take(&self) -> Option<T> {
        let mut s = self.state.lock();
        match std::mem::replace(&mut *s, SendState::Taken) {
            SendState::Value(v) => Some(v),
            other => {
                *s = other;
                None
            }
        }
    }

    /// The channel closed under a claimed sender.
    pub(crate) fn fail(&self) {
        let mut s = self.state.lock();
        if let SendState::Value(v) = std::mem::replace(&mut *s, SendState::Taken) {
            *s = SendState::Failed(v);
        }
    }

    /// The outcome once a claimer has finished with the slot: `None` while the value
    /// is still there (the claimer holds the channel lock and is about to take it).
    pub(crate) fn finished(&self) -> Option<Result<(), T>> {
        let mut s = self.state.lock();
        match std::mem::replace(&mut *s, SendState::Taken) {
            SendState::Taken => Some(Ok(())),
            SendState::Failed(v) => Some(Err(v)),
            other => {
                *s = other;
                None
            }
        }
    }

    /// The owner collects the outcome (and the value, unless it was sent).
    pub(crate) fn outcome(&self) -> SendOutcome<T> {
        let mut s = self.state.lock();
        match std::mem::replace(&mut *s, SendState::Taken) {
            SendState::Taken => SendOutcome::Sent,
            SendState::Failed(v) => SendOutcome::Failed(v),
            SendState::Value(v) => SendOutcome::NotSent(v),
            SendState::Deferred => {
                *s = SendState::Deferred;
                SendOutcome::Deferred
            }
        }
    }
}
