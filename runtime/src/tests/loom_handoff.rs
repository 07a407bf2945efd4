//! Loom models of the P hand-off (`sched/p.rs` `PSlot`, used by `sched/blocking.rs` and
//! `sched/sysmon.rs`): while an M polls a G its P is published in the M's `PSlot`; the
//! M takes it back when the poll ends, borrows it for a wake in between
//! (`context::with_core`), and sysmon may retake it at any moment to hand it on. The
//! M's side is plain stores and loads around a light fence, sysmon's a claim and a
//! heavy fence (`sched/barrier.rs`; under loom both fences are `fence(SeqCst)`, which
//! is what `membarrier` gives). Whatever the interleaving, the P has exactly one owner
//! at the end (the M or the M it was handed to), never none and never two, its state
//! is as the last owner left it, and the M never uses it after sysmon took it.

use super::Threads;
use crate::loom::Arc;
use crate::sched::barrier::Barrier;
use crate::sched::p::{self, PCore, PSlot};

/// Outcome of the polling M's side.
struct MSide {
    /// The P it holds after the poll, if it got it back.
    kept: Option<Box<PCore>>,
    /// Its wake in the middle of the poll found the P and changed it.
    woke_on_p: bool,
}

/// The polling M: P into the slot, a wake that borrows it, P back out.
fn polling_m(slot: Arc<PSlot>, core: Box<PCore>) -> MSide {
    slot.put(core);
    let woke_on_p = match slot.borrow() {
        Some(mut core) => {
            core.sched_tick += 1; // stands for the runq push of a wake
            true
        }
        None => false, // retaken: the wake would go to the global queue
    };
    MSide {
        kept: slot.take(),
        woke_on_p,
    }
}

/// sysmon's retake: if the P is there, it goes to another M.
fn sysmon(slot: Arc<PSlot>) -> Option<Box<PCore>> {
    slot.retake(|| true)
}

fn check(m: MSide, handed: Option<Box<PCore>>, slot: &PSlot) {
    let owners = usize::from(m.kept.is_some()) + usize::from(handed.is_some());
    assert_eq!(owners, 1, "the P must have exactly one owner");
    assert!(
        !slot.is_occupied(),
        "a P was left in a slot nobody will look at"
    );
    let p = m.kept.or(handed).expect("counted above");
    // The borrow in the middle of the poll is never lost: its change is in the P iff
    // it happened.
    assert_eq!(p.sched_tick, u32::from(m.woke_on_p));
}

/// The polling M against one retake that still wants the P (`wanted`) or has
/// changed its mind; returns both sides' outcomes and the slot.
fn m_vs_one_retake(order: &[usize], wanted: bool) -> (MSide, Option<Box<PCore>>, Arc<PSlot>) {
    let (core, _remote) = p::new(0);
    let slot = Arc::new(PSlot::new(Barrier::symmetric()));
    let (s1, s2) = (slot.clone(), slot.clone());
    enum Out {
        M(MSide),
        Sysmon(Option<Box<PCore>>),
    }
    let mut results = Threads::new()
        .with(move || Out::M(polling_m(s1, core)))
        .with(move || Out::Sysmon(s2.retake(|| wanted)))
        .run(order)
        .into_iter();
    let (Some(Out::M(m)), Some(Out::Sysmon(handed))) = (results.next(), results.next()) else {
        unreachable!("threads return in the order added")
    };
    (m, handed, slot)
}

#[test]
fn loom_handoff_end_of_poll_vs_retake() {
    super::in_orders(2, |order| {
        let (m, handed, slot) = m_vs_one_retake(order, true);
        check(m, handed, &slot);
    });
}

/// Two retakers (sysmon's round, and a second round racing it) never both get the P.
#[test]
fn loom_handoff_two_takers_vs_end_of_poll() {
    super::in_orders(3, |order| {
        let (core, _remote) = p::new(0);
        let slot = Arc::new(PSlot::new(Barrier::symmetric()));
        let (s1, s2, s3) = (slot.clone(), slot.clone(), slot.clone());
        enum Out {
            M(MSide),
            Sysmon(Option<Box<PCore>>),
        }
        let results = Threads::new()
            .with(move || Out::M(polling_m(s1, core)))
            .with(move || Out::Sysmon(sysmon(s2)))
            .with(move || Out::Sysmon(sysmon(s3)))
            .run(order);
        let mut m = None;
        let mut handed = Vec::new();
        for r in results {
            match r {
                Out::M(side) => m = Some(side),
                Out::Sysmon(p) => handed.extend(p),
            }
        }
        assert!(handed.len() <= 1, "two retakers got the same P");
        check(m.expect("the M ran"), handed.pop(), &slot);
    });
}

/// sysmon changes its mind while it holds the M off (the blocking call returned, the
/// poll ended and another began): it backs off and the M keeps its P, whatever the
/// interleaving, with no wait left hanging.
#[test]
fn loom_handoff_retake_abandoned() {
    super::in_orders(2, |order| {
        let (m, handed, slot) = m_vs_one_retake(order, false);
        assert!(handed.is_none(), "sysmon took a P it no longer wanted");
        assert!(m.woke_on_p, "the M lost its P to an abandoned retake");
        check(m, handed, &slot);
    });
}
