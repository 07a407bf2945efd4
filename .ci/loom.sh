#!/usr/bin/env bash
# The loom models of gort-runtime (runtime/src/tests/loom_*.rs): the local run queue,
# the no-lost-wake-up protocol and the task state machine; and of gort-channels
# (channels/src/tests/loom_*.rs): the rendezvous hand-off, close against blocked
# operations, select over two channels, futures dropped or re-polled mid-wait, the
# bounded ring and the unbounded list used without the lock against a holder that
# freezes them, list blocks and waiting entries reused. Each
# runs against every interleaving loom explores with at most two preemptions.
#
# Debug assertions are on so that the crates' own `debug_assert!`s (the task state
# machine's invariants, the spinning counters) are checked in every execution too.
# Set GORT_LOOM_STATS=1 to print how many executions each model explored.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg loom"
export LOOM_MAX_PREEMPTIONS=2
export CARGO_TARGET_DIR=target/loom
export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true

cargo test -p gort-runtime --lib --release loom -- --test-threads=2
cargo test -p gort-channels --lib --release loom -- --test-threads=2
