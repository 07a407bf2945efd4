//! Partition assignment strategies, as Kafka's `RangeAssignor` and
//! `RoundRobinAssignor` (sarama's `BalanceStrategyRange` / `BalanceStrategyRoundRobin`).
//!
//! Both are pure functions of the members (sorted by id, each with its subscribed
//! topics) and the topics' partition counts, so every run over the same input gives
//! the same answer and a test can check them without a group.
//!
//! - Range: per topic, the members subscribed to it in id order each get a contiguous
//!   run of `n / m` partitions, the first `n % m` one more.
//! - Round-robin: every subscribed topic-partition in (topic, partition) order is
//!   dealt to the members in id order, skipping those not subscribed to its topic.

use super::message::TopicPartition;
use std::collections::BTreeMap;

/// Which assignor a group uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Contiguous runs of partitions per topic.
    #[default]
    Range,
    /// Partitions dealt in turn across all topics.
    RoundRobin,
}

/// Member id → its assigned partitions (every member appears, maybe with none).
pub type Assignment = BTreeMap<String, Vec<TopicPartition>>;

impl Strategy {
    /// Assigns the partitions of `topics` (name → partition count) to `members`
    /// (id → subscribed topic names).
    pub fn assign(
        self,
        members: &BTreeMap<String, Vec<String>>,
        topics: &BTreeMap<String, u32>,
    ) -> Assignment {
        let mut out: Assignment = members.keys().map(|m| (m.clone(), Vec::new())).collect();
        match self {
            Strategy::Range => {
                for (topic, &n) in topics {
                    let subs: Vec<&String> = members
                        .iter()
                        .filter(|(_, t)| t.contains(topic))
                        .map(|(m, _)| m)
                        .collect();
                    if subs.is_empty() {
                        continue;
                    }
                    let m = subs.len() as u32;
                    let (each, extra) = (n / m, n % m);
                    let mut next = 0;
                    for (i, member) in subs.into_iter().enumerate() {
                        let count = each + u32::from((i as u32) < extra);
                        let list = out.get_mut(member).expect("every member has an entry");
                        for p in next..next + count {
                            list.push(TopicPartition::new(topic.clone(), p));
                        }
                        next += count;
                    }
                }
            }
            Strategy::RoundRobin => {
                let ids: Vec<&String> = members.keys().collect();
                if ids.is_empty() {
                    return out;
                }
                let mut turn = 0usize;
                for (topic, &n) in topics {
                    if !members.values().any(|t| t.contains(topic)) {
                        continue;
                    }
                    for p in 0..n {
                        // Deal to the next member in turn that subscribes to `topic`.
                        loop {
                            let id = ids[turn % ids.len()];
                            turn += 1;
                            if members[id].contains(topic) {
                                out.get_mut(id)
                                    .expect("every member has an entry")
                                    .push(TopicPartition::new(topic.clone(), p));
                                break;
                            }
                        }
                    }
                }
            }
        }
        out
    }
}
