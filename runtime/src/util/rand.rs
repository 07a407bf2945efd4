//! A per-M xorshift generator: stealing picks victims at random and needs no more
//! than a fast, thread-local, non-cryptographic source.

use std::cell::Cell;

#[derive(Debug)]
pub(crate) struct FastRand(Cell<u64>);

impl FastRand {
    pub(crate) fn new(seed: u64) -> FastRand {
        FastRand(Cell::new(seed | 1))
    }

    /// Seeds from the clock and a per-call counter so that Ms differ.
    pub(crate) fn from_entropy() -> FastRand {
        use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
        static COUNTER: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        // Relaxed: only uniqueness matters.
        let c = COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed);
        FastRand::new(t ^ c.rotate_left(17))
    }

    pub(crate) fn next_u64(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.set(x);
        x
    }

    /// A value in `0..n` (n > 0), by Lemire's multiply-shift.
    pub(crate) fn below(&self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }
}
