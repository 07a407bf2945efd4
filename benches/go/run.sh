#!/usr/bin/env bash
# Go baseline for gort's benches: runs the same workloads on the Go runtime
# (GOMAXPROCS=2) and prints one machine-readable median line per workload.
#
# Usage: bash benches/go/run.sh [REPS]      (default REPS=7; any cwd)
#
# Each repetition runs every workload once, interleaved, one process per
# workload per repetition (so peak-RSS readings are not polluted). Medians are
# taken per reported key across the REPS runs. Output lines look like
#   go skynet_joined median_ms=612.40 runs=7
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
. ./lib.sh
REPS="$(reps_arg "$@")"
setup_go

build_bench gortbench

WORKLOADS=(
    skynet_joined
    skynet_chan
    spawn_many
    yield_many
    chained_spawn
    ping_pong
    timers_create_cancel
    sleeps_100k
    parked_100k
    blocking
)

run_rounds "$REPS" "" "${WORKLOADS[@]}"
