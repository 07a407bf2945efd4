//! The select engine: how an operation, or a choice among several, waits.
//!
//! Crossbeam's protocol, on Go's channels:
//! 1. **Try** every case in a random order (Go's `pollorder`): the first that can
//!    complete now does, under its channel's lock. With `default`, nothing ready means
//!    default, but only if no channel's version moved while we looked: then at the
//!    moment the last lock was released, none was ready ("one instant").
//! 2. **Register** an entry per case on its channel, all sharing one token. Right
//!    after queueing each, check whether that channel is already ready (a counterpart
//!    that came before our entry could not see it): if so, abort the token, remove the
//!    entries, and go back to 1.
//! 3. **Wait** until a counterpart claims the token for one case, and has moved the
//!    value (or closed the channel) under that case's lock. Remove the other entries.
//!
//! Exactly one case completes: completing one requires the token's single claim. A
//! case not chosen moves nothing: its entry is removed, and its value (a send's) stays
//! in its slot. A select dropped while waiting aborts its token; if a claim won the
//! race, the received value goes back to its channel (`Case::abandon`).

use crate::case::{Case, Collected};
use crate::loom::{thread, Arc};
use crate::token::{Signal, Token};
use std::cell::Cell;
use std::task::{Poll, Waker};
use std::time::Instant;

pub(crate) struct Engine {
    state: State,
    has_default: bool,
    order: Order,
    /// Set once it had to wait: a completion after that is not "without waiting".
    waited: bool,
    /// Tries must be certain (`Case::try_now`'s `verdict`): there is a `default`, or
    /// a channel that a try without the lock took for empty was ready when we
    /// registered. A try without certainty may read a buffer's slot before its value
    /// shows, and then try and register could take turns for as long as it does.
    certain: bool,
}

enum State {
    Start,
    Waiting { token: Arc<Token> },
    Claimed { token: Arc<Token>, case: usize },
    Done,
}

enum Step {
    Ready(Option<usize>),
    /// Wait for a notification on this token (`None`: forever, `select! {}`).
    Wait(Option<Arc<Token>>),
}

crate::loom::thread_local! {
    static RNG: Cell<u64> = Cell::new(rng_seed());
}

#[cfg(not(loom))]
fn rng_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (t ^ (&t as *const u64 as u64)) | 1
}

/// Loom replays an execution to branch from it, so every choice that is not an
/// interleaving must repeat: a fixed seed (loom's thread-locals start afresh in every
/// execution). The models are symmetric in their cases and run in every start order
/// of their threads, so one order of the cases loses nothing.
#[cfg(loom)]
fn rng_seed() -> u64 {
    0x9E37_79B9_7F4A_7C15
}

/// A value in `0..n`, for shuffling.
fn rand_below(n: usize) -> usize {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        (((x >> 32) * n as u64) >> 32) as usize
    })
}

/// Fisher-Yates: every order equally likely, so among the cases ready together each
/// is chosen with the same probability.
#[inline]
fn shuffle<T>(order: &mut [T]) {
    for i in (1..order.len()).rev() {
        order.swap(i, rand_below(i + 1));
    }
}

const INLINE: usize = 8;

/// The order cases are tried and registered in; inline for small selects, so a lone
/// `send`/`recv` allocates nothing.
#[derive(Default)]
struct Order {
    inline: [u32; INLINE],
    heap: Vec<u32>,
    len: usize,
}

impl Order {
    fn reset(&mut self, n: usize) {
        self.len = n;
        if n <= INLINE {
            for (i, v) in self.inline[..n].iter_mut().enumerate() {
                *v = i as u32;
            }
        } else {
            self.heap.clear();
            self.heap.extend(0..n as u32);
        }
    }

    fn as_ref(&self) -> &[u32] {
        if self.len <= INLINE {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }

    fn as_mut(&mut self) -> &mut [u32] {
        if self.len <= INLINE {
            &mut self.inline[..self.len]
        } else {
            &mut self.heap
        }
    }
}

/// Before a blocked thread parks: a counterpart running on another CPU often claims
/// the token within microseconds, and a futex sleep and wake-up costs ten or more.
/// Spins with growing pauses, then yields a few times (crossbeam's `Backoff`); true
/// if the token was claimed meanwhile. Under loom, no spinning: the models explore
/// the park.
pub(crate) fn spin_until_selected(token: &Token) -> bool {
    if cfg!(loom) {
        return false;
    }
    for step in 0..10u32 {
        if token.selected().is_some() {
            return true;
        }
        if step < 6 {
            for _ in 0..1u32 << step {
                std::hint::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
    }
    token.selected().is_some()
}

impl Engine {
    pub(crate) fn new(has_default: bool) -> Engine {
        Engine {
            state: State::Start,
            has_default,
            order: Order::default(),
            waited: false,
            certain: has_default,
        }
    }

    fn shuffle(&mut self, n: usize) {
        self.order.reset(n);
        shuffle(self.order.as_mut());
    }

    fn unregister_all<C: Case + ?Sized>(
        &self,
        cases: &mut [&mut C],
        token: &Arc<Token>,
        registered: usize,
    ) {
        for &i in &self.order.as_ref()[..registered] {
            cases[i as usize].unregister(token);
        }
    }

    fn step<C: Case + ?Sized>(
        &mut self,
        cases: &mut [&mut C],
        signal: &dyn Fn() -> Signal,
    ) -> Step {
        let n = cases.len();
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Start => {
                    if n == 0 {
                        if self.has_default {
                            return Step::Ready(None);
                        }
                        self.state = State::Start;
                        return Step::Wait(None);
                    }
                    if let Some(ready) = self.try_all(cases) {
                        return Step::Ready(ready);
                    }
                    let token = Arc::new(Token::new(signal()));
                    let mut ready_at = None;
                    for k in 0..n {
                        let i = self.order.as_ref()[k] as usize;
                        if cases[i].register(&token, i) {
                            ready_at = Some(k + 1);
                            self.certain = true;
                            break;
                        }
                    }
                    let Some(registered) = ready_at else {
                        self.state = State::Waiting { token };
                        continue;
                    };
                    self.unregister_all(cases, &token, registered);
                    match token.abort() {
                        Ok(()) => {
                            for &i in &self.order.as_ref()[..registered] {
                                cases[i as usize].withdraw();
                            }
                            self.state = State::Start;
                        }
                        Err(case) => self.state = State::Claimed { token, case },
                    }
                }
                State::Waiting { token } => {
                    if let Some(case) = token.selected() {
                        // The claimer already took the chosen case's entry out; only
                        // the other cases' entries remain (none for a lone operation).
                        for &i in self.order.as_ref() {
                            if i as usize != case {
                                cases[i as usize].unregister(&token);
                            }
                        }
                        self.state = State::Claimed { token, case };
                        continue;
                    }
                    if token.take_nudge() {
                        self.unregister_all(cases, &token, n);
                        match token.abort() {
                            Ok(()) => {
                                cases.iter_mut().for_each(|c| c.withdraw());
                                self.state = State::Start;
                            }
                            Err(case) => self.state = State::Claimed { token, case },
                        }
                        continue;
                    }
                    self.state = State::Waiting {
                        token: token.clone(),
                    };
                    return Step::Wait(Some(token));
                }
                State::Claimed { token, case } => match cases[case].collect() {
                    Collected::Done => {
                        cases[case].choose();
                        return Step::Ready(Some(case));
                    }
                    Collected::Retry => self.state = State::Start,
                    Collected::Pending => {
                        self.state = State::Claimed {
                            token: token.clone(),
                            case,
                        };
                        return Step::Wait(Some(token));
                    }
                },
                State::Done => panic!("a select was polled after it completed"),
            }
        }
    }

    /// Pass 1. `Some(Some(i))`: case i completed; `Some(None)`: default.
    fn try_all<C: Case + ?Sized>(&mut self, cases: &mut [&mut C]) -> Option<Option<usize>> {
        let n = cases.len();
        self.shuffle(n);
        let mut versions: Vec<u64> = Vec::new();
        let mut inline = [0u64; INLINE];
        loop {
            let seen: &mut [u64] = if n <= INLINE {
                &mut inline[..n]
            } else {
                versions.resize(n, 0);
                &mut versions
            };
            for (slot, &i) in seen.iter_mut().zip(self.order.as_ref()) {
                let i = i as usize;
                match cases[i].try_now(self.certain) {
                    Ok(()) => {
                        cases[i].choose();
                        return Some(Some(i));
                    }
                    Err(v) => *slot = v,
                }
            }
            if !self.has_default {
                return None;
            }
            let order = self.order.as_ref();
            if (0..n).all(|k| cases[order[k] as usize].version() == seen[k]) {
                return Some(None);
            }
        }
    }

    /// The common case of a select without `default`, before any of the protocol's
    /// state: one look at every case in a random order, each a try without certainty
    /// as pass 1's would be. `None`: nothing ready (or there is a `default`); the
    /// protocol then starts from its own pass 1.
    // Always: it is the whole of the common case, and left to itself the compiler
    // made it a call (22 more instructions a select, callgrind).
    #[inline(always)]
    fn first_look<C: Case + ?Sized>(&mut self, cases: &mut [&mut C]) -> Option<usize> {
        let n = cases.len();
        if self.has_default || !matches!(self.state, State::Start) || n == 0 || n > INLINE {
            return None;
        }
        let mut order = [0u8; INLINE];
        for (i, v) in order[..n].iter_mut().enumerate() {
            *v = i as u8;
        }
        shuffle(&mut order[..n]);
        for &i in &order[..n] {
            let i = usize::from(i);
            if cases[i].try_now(false).is_ok() {
                cases[i].choose();
                self.state = State::Done;
                return Some(i);
            }
        }
        None
    }

    /// Polls from a task: `Ready(Some(i))` case i, `Ready(None)` default.
    ///
    /// A counterpart that claims or nudges the token notifies whatever waker it finds
    /// there, after its hand-off. So when this poll's waker replaces another, a
    /// counterpart may already have woken the old one: the step runs once more, now
    /// that any later notify reaches this waker, and sees what it did. Otherwise
    /// `Pending` needs no wake of its own, even for a case claimed whose value is not
    /// there yet (a hand-off in progress, or a deferred send's value still to come):
    /// the claimer's notify follows the value. A self-wake there would make the task
    /// spin until the claimer got round to it, for as long as a `SelectedOperation`
    /// holds its choice before sending; loom found that spin (`tests/loom_*.rs`).
    pub(crate) fn poll<C: Case + ?Sized>(
        &mut self,
        cases: &mut [&mut C],
        waker: &Waker,
    ) -> Poll<Option<usize>> {
        if let Some(i) = self.first_look(cases) {
            return Poll::Ready(Some(i));
        }
        let mut looked_again = false;
        loop {
            match self.step(cases, &|| Signal::Task(waker.clone())) {
                Step::Ready(r) => {
                    self.state = State::Done;
                    return Poll::Ready(r);
                }
                Step::Wait(Some(token)) => {
                    self.waited = true;
                    // Once is enough: the second step ran with a clone of `waker`
                    // stored already (a waker whose clones fail `will_wake` would
                    // otherwise keep this loop going).
                    if token.set_waker(waker) && !looked_again {
                        looked_again = true;
                        continue;
                    }
                    return Poll::Pending;
                }
                Step::Wait(None) => {
                    self.waited = true;
                    return Poll::Pending;
                }
            }
        }
    }

    /// Blocks this thread until a case completes or `deadline` passes (`Err(())`).
    pub(crate) fn block<C: Case + ?Sized>(
        &mut self,
        cases: &mut [&mut C],
        deadline: Option<Instant>,
    ) -> Result<Option<usize>, ()> {
        if let Some(i) = self.first_look(cases) {
            return Ok(Some(i));
        }
        let signal = || Signal::Thread(thread::current());
        loop {
            match self.step(cases, &signal) {
                Step::Ready(r) => {
                    self.state = State::Done;
                    return Ok(r);
                }
                Step::Wait(token) => match deadline {
                    _ if token.as_deref().is_some_and(spin_until_selected) => {}
                    None => thread::park(),
                    Some(d) => {
                        let now = Instant::now();
                        if now >= d {
                            if self.timed_out(cases, token) {
                                return Err(());
                            }
                            continue;
                        }
                        thread::park_timeout(d - now);
                    }
                },
            }
        }
    }

    /// The deadline passed: abort, unless a claim won (then the loop collects it).
    fn timed_out<C: Case + ?Sized>(
        &mut self,
        cases: &mut [&mut C],
        token: Option<Arc<Token>>,
    ) -> bool {
        let Some(token) = token else { return true };
        if let State::Waiting { .. } = self.state {
            match token.abort() {
                Ok(()) => {
                    self.unregister_all(cases, &token, cases.len());
                    cases.iter_mut().for_each(|c| c.withdraw());
                    self.state = State::Done;
                    true
                }
                Err(_) => false,
            }
        } else {
            false
        }
    }

    /// The select is being dropped before it completed: leave no trace, lose nothing.
    #[inline]
    pub(crate) fn cancel<C: Case + ?Sized>(&mut self, cases: &mut [&mut C]) {
        if !matches!(self.state, State::Done) {
            self.cancel_started(cases);
        }
    }

    fn cancel_started<C: Case + ?Sized>(&mut self, cases: &mut [&mut C]) {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Waiting { token } => {
                self.unregister_all(cases, &token, cases.len());
                if let Err(case) = token.abort() {
                    cases[case].abandon();
                }
            }
            State::Claimed { case, .. } => cases[case].abandon(),
            State::Start | State::Done => {}
        }
    }

    pub(crate) fn has_waited(&self) -> bool {
        self.waited
    }
}
