//! The group coordinator: membership, generations, heartbeats, rebalances and fenced
//! offset commits for one consumer group — Kafka's eager rebalance protocol, in-process.
//!
//! Protocol (what a member does is in [`super::consumer`]):
//! 1. A member `join`s. A new member, a `leave`, a member whose heartbeats stopped for
//!    `session_timeout` (evicted: a crash), or a partition added to a subscribed topic
//!    starts a rebalance: the group becomes *rebalancing* and every member must rejoin.
//! 2. Members learn of it from their next `heartbeat` (`RebalanceInProgress`). Each
//!    stops its partition goroutines, commits what they marked (its generation is
//!    still current, so the commit is accepted), and rejoins.
//! 3. When every member still in the group has rejoined, the coordinator assigns the
//!    partitions with the group's [`Strategy`], bumps the generation, and wakes the
//!    joiners (a channel closed as a broadcast), each of which gets its share.
//!
//! So a partition is handed to a new owner only after its old owner stopped and
//! committed (or was evicted, having stopped heartbeating). Commits are fenced: only a
//! known member with the current generation may commit, so a member evicted as dead
//! can never overwrite what the partition's next owner commits.
//!
//! Eviction is checked lazily, on every call of any member (live members heartbeat
//! every `heartbeat_interval`, and joiners waiting for a rebalance wake at that pace
//! too), so no extra goroutine is needed and a group with no live member has no one to
//! tell anyway.
//!
//! Invariants:
//! 1. `generation` grows by one per completed rebalance; `assignment` is the one made
//!    for it and covers each subscribed partition exactly once.
//! 2. While rebalancing, no member is handed partitions; the rebalance completes only
//!    when every member in `members` has `joined` since it began.
//! 3. Offsets are committed under the state lock, so a commit and a generation change
//!    never interleave. Lock order: `state`, then the offset store's lock.

use super::assignor::{Assignment, Strategy};
use super::broker::Broker;
use super::error::{Error, Result};
use super::message::TopicPartition;
use gort::chan::{bounded, Receiver, Sender};
use gort::context::Context;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How a group's members are tracked and assigned.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// Range or round-robin assignment.
    pub strategy: Strategy,
    /// A member silent this long is evicted (taken for crashed).
    pub session_timeout: Duration,
    /// How often members heartbeat (and waiting joiners re-check).
    pub heartbeat_interval: Duration,
    /// How long a member waits for its partition goroutines to stop at a rebalance
    /// before aborting them (what they marked is committed either way).
    pub rebalance_timeout: Duration,
}

impl Default for GroupConfig {
    fn default() -> GroupConfig {
        GroupConfig {
            strategy: Strategy::Range,
            session_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(3),
            rebalance_timeout: Duration::from_secs(5),
        }
    }
}

/// What a completed join hands a member.
#[derive(Debug, Clone)]
pub struct JoinResult {
    /// The member's id (assigned at its first join).
    pub member_id: String,
    /// The generation this assignment belongs to.
    pub generation: u64,
    /// The member's partitions.
    pub assignment: Vec<TopicPartition>,
}

/// The coordinator of one group.
#[derive(Debug)]
pub struct Coordinator {
    group: String,
    broker: Broker,
    config: GroupConfig,
    state: Mutex<State>,
    /// Source of member ids. Relaxed: only uniqueness matters.
    next_member: AtomicU64,
}

#[derive(Debug)]
struct State {
    generation: u64,
    rebalancing: bool,
    members: BTreeMap<String, Member>,
    assignment: Assignment,
    /// Partition counts the current assignment was made with.
    counts: BTreeMap<String, u32>,
    /// Closed (and replaced) when a rebalance completes.
    done: (Sender<()>, Receiver<()>),
    /// Members evicted by session timeout, in order (tests and logs read it).
    evicted: Vec<String>,
    rebalances: u64,
}

#[derive(Debug)]
struct Member {
    topics: Vec<String>,
    last_seen: Instant,
    /// Rejoined since the current rebalance began.
    joined: bool,
}

impl Coordinator {
    /// A coordinator for `group` (see [`Broker::coordinator`]).
    pub fn new(group: String, broker: Broker, config: GroupConfig) -> Coordinator {
        Coordinator {
            group,
            broker,
            config,
            state: Mutex::new(State {
                generation: 0,
                rebalancing: false,
                members: BTreeMap::new(),
                assignment: Assignment::new(),
                counts: BTreeMap::new(),
                done: bounded(1),
                evicted: Vec::new(),
                rebalances: 0,
            }),
            next_member: AtomicU64::new(1),
        }
    }

    /// The group's name.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The configuration the group runs with.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// Joins (or rejoins) the group and waits for the rebalance to complete; returns
    /// this member's share. `Err(Closed)` if `ctx` is done first (the member is still
    /// in the group then: call [`leave`](Coordinator::leave), or let it time out).
    pub async fn join(
        &self,
        member_id: Option<&str>,
        topics: &[String],
        ctx: &Context,
    ) -> Result<JoinResult> {
        let id = match member_id {
            Some(id) => id.to_string(),
            None => self.new_member_id(),
        };
        {
            let mut st = self.lock();
            let now = Instant::now();
            self.expire(&mut st, now);
            if !st.members.contains_key(&id) || !st.rebalancing {
                // A newcomer, or a member rejoining a stable group (it lost its
                // place): either way the partitions must be dealt again.
                st.members.insert(
                    id.clone(),
                    Member {
                        topics: topics.to_vec(),
                        last_seen: now,
                        joined: false,
                    },
                );
                Self::start_rebalance(&mut st);
            }
        }
        let done = ctx.done();
        loop {
            let wait = {
                let mut st = self.lock();
                let now = Instant::now();
                let Some(m) = st.members.get_mut(&id) else {
                    return Err(Error::UnknownMemberId(id));
                };
                m.last_seen = now;
                m.joined = true; // also after a rebalance that began while we waited
                self.expire(&mut st, now);
                self.try_complete(&mut st);
                if !st.rebalancing {
                    return Ok(JoinResult {
                        assignment: st.assignment.get(&id).cloned().unwrap_or_default(),
                        member_id: id,
                        generation: st.generation,
                    });
                }
                st.done.1.clone()
            };
            let tick = gort::time::after(self.config.heartbeat_interval);
            gort::select! {
                recv(wait) -> _ => {},
                recv(tick) -> _ => {},
                // The caller decides whether to leave: a crash must not.
                recv(done) -> _ => return Err(Error::Closed),
            }
        }
    }

    /// A fresh member id, for a member that wants to know its id before its first
    /// `join` completes (an unknown id joins as a new member).
    pub fn new_member_id(&self) -> String {
        format!(
            "{}-member-{}",
            self.group,
            self.next_member.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A member's heartbeat for `generation`: `Ok` while the group is stable at that
    /// generation; `RebalanceInProgress` when it must stop, commit and rejoin.
    pub fn heartbeat(&self, member_id: &str, generation: u64) -> Result<()> {
        let mut st = self.lock();
        let now = Instant::now();
        self.expire(&mut st, now);
        let Some(m) = st.members.get_mut(member_id) else {
            return Err(Error::UnknownMemberId(member_id.to_string()));
        };
        m.last_seen = now;
        if !st.rebalancing && self.partitions_changed(&st) {
            Self::start_rebalance(&mut st);
        }
        if st.rebalancing {
            return Err(Error::RebalanceInProgress);
        }
        if generation != st.generation {
            return Err(Error::IllegalGeneration {
                got: generation,
                current: st.generation,
            });
        }
        Ok(())
    }

    /// A member leaves for good (its partitions are dealt to the others).
    pub fn leave(&self, member_id: &str) {
        let mut st = self.lock();
        if st.members.remove(member_id).is_some() {
            Self::start_rebalance(&mut st);
            self.try_complete(&mut st);
        }
    }

    /// Commits `offsets` for a member at `generation` (fenced: see the module doc).
    /// Blocking I/O (the offsets file).
    pub fn commit(
        &self,
        member_id: &str,
        generation: u64,
        offsets: &[(TopicPartition, u64)],
    ) -> Result<()> {
        let mut st = self.lock();
        let now = Instant::now();
        self.expire(&mut st, now);
        let current = st.generation;
        let Some(m) = st.members.get_mut(member_id) else {
            return Err(Error::UnknownMemberId(member_id.to_string()));
        };
        if generation != current {
            return Err(Error::IllegalGeneration {
                got: generation,
                current,
            });
        }
        m.last_seen = now;
        // Invariant 3: under the state lock.
        self.broker.offsets().commit(&self.group, offsets)
    }

    /// The offset the group committed for `tp` (the next to consume).
    pub fn committed(&self, tp: &TopicPartition) -> Result<Option<u64>> {
        self.broker.offsets().committed(&self.group, tp)
    }

    /// Every offset the group committed.
    pub fn committed_all(&self) -> Result<BTreeMap<TopicPartition, u64>> {
        // Under the state lock, so no commit is half seen.
        let _st = self.lock();
        self.broker.offsets().snapshot(&self.group)
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Ids of the members now in the group.
    pub fn members(&self) -> Vec<String> {
        self.lock().members.keys().cloned().collect()
    }

    /// The current assignment (meaningful while not rebalancing).
    pub fn assignment(&self) -> Assignment {
        self.lock().assignment.clone()
    }

    /// Whether a rebalance is under way.
    pub fn is_rebalancing(&self) -> bool {
        self.lock().rebalancing
    }

    /// Members evicted by session timeout so far.
    pub fn evicted(&self) -> Vec<String> {
        self.lock().evicted.clone()
    }

    /// Rebalances completed so far.
    pub fn rebalances(&self) -> u64 {
        self.lock().rebalances
    }

    fn start_rebalance(st: &mut State) {
        if !st.rebalancing {
            st.rebalancing = true;
            for m in st.members.values_mut() {
                m.joined = false;
            }
        }
    }

    fn expire(&self, st: &mut State, now: Instant) {
        let timeout = self.config.session_timeout;
        let dead: Vec<String> = st
            .members
            .iter()
            .filter(|(_, m)| now.duration_since(m.last_seen) > timeout)
            .map(|(id, _)| id.clone())
            .collect();
        if dead.is_empty() {
            return;
        }
        for id in dead {
            st.members.remove(&id);
            st.evicted.push(id);
        }
        Self::start_rebalance(st);
        self.try_complete(st);
    }

    fn try_complete(&self, st: &mut State) {
        if !st.rebalancing || st.members.values().any(|m| !m.joined) {
            return;
        }
        let subs: BTreeMap<String, Vec<String>> = st
            .members
            .iter()
            .map(|(id, m)| (id.clone(), m.topics.clone()))
            .collect();
        st.counts = self.current_counts(st);
        st.assignment = self.config.strategy.assign(&subs, &st.counts);
        st.generation += 1;
        st.rebalances += 1;
        st.rebalancing = false;
        for m in st.members.values_mut() {
            m.joined = false;
        }
        let (old, _) = std::mem::replace(&mut st.done, bounded(1));
        old.close();
    }

    /// Partition counts of every topic some member subscribes to (unknown topics are
    /// left out: they have nothing to assign yet).
    fn current_counts(&self, st: &State) -> BTreeMap<String, u32> {
        let mut counts = BTreeMap::new();
        for m in st.members.values() {
            for t in &m.topics {
                if let Ok(topic) = self.broker.topic(t) {
                    counts.insert(t.clone(), topic.partition_count());
                }
            }
        }
        counts
    }

    fn partitions_changed(&self, st: &State) -> bool {
        self.current_counts(st) != st.counts
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
