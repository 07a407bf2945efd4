//! Work stealing (Go's `stealWork`): a spinning M takes half of a random victim's ring.
//!
//! Victims are visited in a random order that still covers every P: start at a random
//! P and step by a random number coprime to `procs` (Go's `randomOrder`). Four rounds;
//! only the last may take a victim's `runnext`, which its own M is about to run and
//! which is usually hot in that M's cache; and from a victim busy polling a G, only
//! after sleeping a moment so that its own M can run it first (`StealNext::AfterOwner`;
//! Go's `usleep(3)`, which the timer slack makes tens of microseconds: a spinning M
//! that finds only such Gs polls slowly instead of pulling a pipeline onto two CPUs).

use super::context;
use super::local_queue::StealNext;
use super::Shared;
use crate::loom::atomic::Ordering::*;
use crate::task::Notified;

const STEAL_TRIES: usize = 4;

impl Shared {
    pub(crate) fn steal_work(&self) -> Option<Notified> {
        let procs = self.config.procs;
        if procs < 2 {
            return None;
        }
        let me = context::core(|c| c.id);
        for round in 0..STEAL_TRIES {
            let steal_next = round == STEAL_TRIES - 1;
            let (start, step) = context::core(|c| {
                let start = c.rng.below(procs as u32) as usize;
                let step = self.coprimes[c.rng.below(self.coprimes.len() as u32) as usize];
                (start, step as usize)
            });
            let mut victim = start;
            for _ in 0..procs {
                if self.is_shutdown() {
                    return None;
                }
                if victim != me {
                    let remote = &self.remotes[victim];
                    if !remote.steal.is_empty() {
                        // Relaxed: a hint of whether the victim's M is polling a G.
                        let next = match steal_next {
                            false => StealNext::No,
                            true if remote.current.load(Relaxed) != 0 => StealNext::AfterOwner,
                            true => StealNext::Yes,
                        };
                        let got = context::core(|c| remote.steal.steal_into(&mut c.runq, next));
                        if got.is_some() {
                            // Relaxed: a statistic.
                            self.steals.fetch_add(1, Relaxed);
                            return got;
                        }
                    }
                }
                victim = (victim + step) % procs;
            }
        }
        None
    }
}
