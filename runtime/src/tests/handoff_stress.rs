//! The P hand-off handshake (`sched/p.rs` `PSlot`) on real threads, in both barrier
//! modes (`membarrier` when the kernel has it, and full fences): an M polls, borrows
//! its P and takes it back as fast as it can while a retaker hammers `retake`. Each
//! owner marks the P as held for as long as it uses it, so two owners at once trip an
//! assertion; each owner also counts its uses in the P, so a use made by a thread
//! that did not own it would lose or add counts.

use crate::sched::barrier::Barrier;
use crate::sched::p::{self, PCore, PSlot};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{mpsc, Arc};

const ROUNDS: u64 = 200_000;

/// Marks the P held while `f` uses it; panics if someone else holds it.
fn hold(held: &AtomicBool, core: &mut PCore, uses: &AtomicU64) {
    assert!(!held.swap(true, AcqRel), "two owners of one P at once");
    core.sched_tick = core.sched_tick.wrapping_add(1);
    uses.fetch_add(1, Relaxed);
    held.store(false, Release);
}

fn stress(barrier: Barrier) {
    let (core, _remote) = p::new(0);
    let slot = Arc::new(PSlot::new(barrier));
    let held = Arc::new(AtomicBool::new(false));
    let uses = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let retakes = Arc::new(AtomicU64::new(0));
    // The retaker hands every P it takes straight back to the M, as `hand_off_p`
    // would hand it to another M.
    let (back_tx, back_rx) = mpsc::channel::<Box<PCore>>();

    let retaker = {
        let (slot, held, uses, done, retakes) = (
            slot.clone(),
            held.clone(),
            uses.clone(),
            done.clone(),
            retakes.clone(),
        );
        std::thread::spawn(move || {
            while !done.load(Acquire) {
                if let Some(mut core) = slot.retake(|| true) {
                    hold(&held, &mut core, &uses);
                    retakes.fetch_add(1, Relaxed);
                    back_tx.send(core).expect("the M is alive");
                }
                // sysmon's pace (a round every 20 µs at most), faster: a retaker
                // with no pause at all would mostly measure the M waiting on it.
                let pause = std::time::Instant::now();
                while pause.elapsed() < std::time::Duration::from_micros(2) {
                    std::hint::spin_loop();
                }
            }
        })
    };

    let mut core = Some(core);
    // The "poll" between the M's uses of its P: of varied length, so that the
    // retaker finds the P free to take now and then.
    let poll = |round: u64| {
        for _ in 0..(round % 32) * 8 {
            std::hint::spin_loop();
        }
    };
    for round in 0..ROUNDS {
        let mut c = core
            .take()
            .unwrap_or_else(|| back_rx.recv().expect("retaker alive"));
        hold(&held, &mut c, &uses);
        slot.put(c);
        for _ in 0..2 {
            poll(round);
            if let Some(mut c) = slot.borrow() {
                hold(&held, &mut c, &uses);
            }
        }
        core = slot.take();
        if let Some(c) = core.as_mut() {
            hold(&held, c, &uses);
        }
    }
    done.store(true, Release);
    retaker.join().expect("retaker panicked");
    let c = core.unwrap_or_else(|| back_rx.recv().expect("the last retaken P"));
    assert!(!slot.is_occupied());
    assert_eq!(
        u64::from(c.sched_tick),
        uses.load(Relaxed) & u64::from(u32::MAX),
        "a use of the P was lost or made by a thread that did not own it"
    );
    eprintln!(
        "{barrier:?}: {} retakes in {ROUNDS} polls",
        retakes.load(Relaxed)
    );
    assert!(
        retakes.load(Relaxed) > 0,
        "the retaker never won: the test tested nothing"
    );
}

#[test]
fn handoff_stress_detected_barrier() {
    stress(Barrier::detect());
}

#[test]
fn handoff_stress_full_fences() {
    stress(Barrier::symmetric());
}
