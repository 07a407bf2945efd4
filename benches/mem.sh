#!/usr/bin/env bash
# Memory (and sleep-storm time) of gort against tokio, 2 workers each: builds
# examples/mem_parked.rs and examples/mem_sleeps.rs in release and runs each
# program REPS times per runtime, interleaved, one process per run (VmHWM is a
# process-wide high-water mark). Prints one median line per program and runtime:
#   mem_parked gort median_bytes_per_task=235.70 ... runs=5
# The Go twins are `parked_100k` and `sleeps_100k` in benches/go/run.sh.
#
# Usage: bash benches/mem.sh [REPS]      (default REPS=5; any cwd)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
. benches/go/lib.sh
REPS="$(reps_arg "${1:-5}")"

cargo build --release --example mem_parked --example mem_sleeps >&2
BIN_DIR="$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/examples"

PROGRAMS=(mem_parked mem_sleeps)
RUNTIMES=(gort tokio)

RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"' EXIT

LABELS=()
for p in "${PROGRAMS[@]}"; do
    for r in "${RUNTIMES[@]}"; do
        LABELS+=("$p:$r")
    done
done
for ((rep = 1; rep <= REPS; rep++)); do
    for l in "${LABELS[@]}"; do
        collect "$RESULTS" "$rep" "$l" timeout 120 "$BIN_DIR/${l%%:*}" "${l#*:}"
    done
done
report "$RESULTS" "" "$REPS" "" "${LABELS[@]}"
