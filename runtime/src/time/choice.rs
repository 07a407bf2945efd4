//! Why a timing wheel: measures it against the indexed 4-ary heap (`heap_alt.rs`) on
//! the two workloads the runtime cares about. Run with
//! `cargo test -p gort-runtime --release --lib -- --ignored timer_structure --nocapture`;
//! BENCHMARKS.md records the figures. Not a pass/fail test of speed: it checks only
//! that both structures fire every timer.

use super::heap_alt::Heap;
use super::wheel::Wheel;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Instant;

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Deadlines spread like a service's: mostly 1-1000 ms ahead, in 262-µs ticks.
fn deadlines(n: usize) -> Vec<u64> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % 4000
        })
        .collect()
}

#[test]
#[ignore = "a measurement, run by hand (see the module docs)"]
fn timer_structure_choice() {
    let waker = Waker::from(Arc::new(Noop));
    let n = 1_000_000;
    let ds = deadlines(n);
    let (mut w_cc, mut h_cc, mut w_fire, mut h_fire) = (vec![], vec![], vec![], vec![]);
    for _ in 0..5 {
        // create + cancel, with 10,000 other timers pending (a busy service).
        let mut w = Wheel::new();
        let mut h = Heap::new();
        for &d in &ds[..10_000] {
            w.insert(d, waker.clone()).unwrap();
            h.insert(d, waker.clone());
        }
        let t = Instant::now();
        for &d in &ds {
            let k = w.insert(d, waker.clone()).unwrap();
            w.remove(k);
        }
        w_cc.push(t.elapsed().as_nanos() as f64 / n as f64);
        let t = Instant::now();
        for &d in &ds {
            let k = h.insert(d, waker.clone());
            h.remove(k);
        }
        h_cc.push(t.elapsed().as_nanos() as f64 / n as f64);

        // 100,000 timers inserted, then all fired in deadline order.
        let m = 100_000;
        let mut w = Wheel::new();
        let t = Instant::now();
        for &d in &ds[..m] {
            w.insert(d, waker.clone()).unwrap();
        }
        let mut fired = 0;
        w.advance(5000, usize::MAX, |_| fired += 1);
        w_fire.push(t.elapsed().as_nanos() as f64 / m as f64);
        assert_eq!(fired, m);
        let mut h = Heap::new();
        let t = Instant::now();
        for &d in &ds[..m] {
            h.insert(d, waker.clone());
        }
        let mut fired = 0;
        while h.pop_due(5000).is_some() {
            fired += 1;
        }
        h_fire.push(t.elapsed().as_nanos() as f64 / m as f64);
        assert_eq!(fired, m);
    }
    println!(
        "create+cancel (10k pending): wheel {:.1} ns, heap {:.1} ns",
        median(w_cc),
        median(h_cc)
    );
    println!(
        "insert+fire 100k: wheel {:.1} ns/timer, heap {:.1} ns/timer",
        median(w_fire),
        median(h_fire)
    );
}
