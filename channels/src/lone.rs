//! A lone `send`/`recv`: the select protocol for one case, without the select's
//! machinery.
//!
//! The operation is tried and, if it cannot complete, queued under the same hold of its
//! channel's lock, so no counterpart can come in between and nothing needs checking
//! again (Go's `chansend`/`chanrecv`). The queued entry holds its own token and slot in
//! one allocation. The rest is the select's protocol (select.rs): a counterpart claims
//! the token and moves the value under the channel's lock, then notifies; a lone
//! operation that stops waiting removes its entry and aborts its token, and if a claim
//! won that race it completes the claimed outcome or gives a received value back.
//!
//! A lone entry is never nudged: only deferred sends (`Select::send`) are, and those
//! are always part of a select.

use crate::case::{Case, Collected};
use crate::coop;
use crate::loom::thread;
use crate::select::spin_until_selected;
use crate::token::{Signal, Token};
use std::task::{Context, Poll};
use std::time::Instant;

/// A case that can also run alone.
pub(crate) trait LoneCase: Case {
    /// Under one hold of the lock: completes now (true), or queues an entry whose token
    /// `token` makes (false).
    fn try_or_queue(&mut self, token: &dyn Fn() -> Token) -> bool;
    /// The queued entry's token.
    fn token(&self) -> &Token;
    /// Takes the queued entry out of its channel's queue, if it is still there.
    fn dequeue(&mut self);
    /// Done with the entry, which the operation no longer needs: its memory goes
    /// back to the channel (spare.rs).
    fn release_entry(&mut self);
}

/// Where a lone operation stands between polls.
#[derive(Debug, Default)]
pub(crate) struct Lone {
    /// An entry is queued (possibly claimed since).
    queued: bool,
    /// It returned `Pending` once: a completion after that is not "without waiting".
    waited: bool,
    /// The coop budget let it start.
    proceeded: bool,
}

enum Step {
    Ready,
    /// Just queued: the token holds the waker (or thread) this poll came with.
    Queued,
    Wait,
}

impl Lone {
    fn step<C: LoneCase + ?Sized>(&mut self, case: &mut C, token: &dyn Fn() -> Token) -> Step {
        loop {
            if !self.queued {
                if case.try_or_queue(token) {
                    return Step::Ready;
                }
                self.queued = true;
                return Step::Queued;
            }
            if case.token().selected().is_none() {
                return Step::Wait;
            }
            match case.collect() {
                Collected::Done => {
                    self.queued = false;
                    case.choose();
                    case.release_entry();
                    return Step::Ready;
                }
                // A deferred send chose us, then gave up: nothing moved, try again.
                Collected::Retry => self.queued = false,
                // The claimer is moving the value; its notify follows.
                Collected::Pending => return Step::Wait,
            }
        }
    }

    /// Polls from a task. As in `Engine::poll`, a waker that replaces another may have
    /// missed a notify sent to the old one, so the step runs once more after it.
    pub(crate) fn poll<C: LoneCase + ?Sized>(
        &mut self,
        case: &mut C,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if !self.proceeded {
            std::task::ready!(coop::poll_proceed(cx));
            self.proceeded = true;
        }
        let token = || Token::new(Signal::Task(cx.waker().clone()));
        let mut looked_again = false;
        loop {
            match self.step(case, &token) {
                Step::Ready => {
                    if !self.waited {
                        coop::spend();
                    }
                    return Poll::Ready(());
                }
                Step::Queued => {
                    self.waited = true;
                    return Poll::Pending;
                }
                Step::Wait => {
                    self.waited = true;
                    if case.token().set_waker(cx.waker()) && !looked_again {
                        looked_again = true;
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// Blocks this thread until the operation completes or `deadline` passes (`Err`;
    /// the case then holds its value again, for a send).
    pub(crate) fn block<C: LoneCase + ?Sized>(
        &mut self,
        case: &mut C,
        deadline: Option<Instant>,
    ) -> Result<(), ()> {
        let token = || Token::new(Signal::Thread(thread::current()));
        loop {
            match self.step(case, &token) {
                Step::Ready => return Ok(()),
                Step::Queued | Step::Wait if spin_until_selected(case.token()) => {}
                Step::Queued | Step::Wait => match deadline {
                    None => thread::park(),
                    Some(d) => {
                        let now = Instant::now();
                        if now < d {
                            thread::park_timeout(d - now);
                        } else if self.give_up(case) {
                            case.withdraw();
                            return Err(());
                        }
                    }
                },
            }
        }
    }

    /// Stops waiting: false if a claim came first (the outcome is then the claim's).
    fn give_up<C: LoneCase + ?Sized>(&mut self, case: &mut C) -> bool {
        case.dequeue();
        if case.token().abort().is_ok() {
            self.queued = false;
            return true;
        }
        false
    }

    /// The operation is dropped before it completed: leave no trace, lose nothing.
    pub(crate) fn cancel<C: LoneCase + ?Sized>(&mut self, case: &mut C) {
        if self.queued && !self.give_up(case) {
            self.queued = false;
            case.abandon();
        }
    }
}
