#!/usr/bin/env bash
# Go baseline for gort's channel benches (benches/channels.rs): runs the same
# channel workloads on Go's channels (GOMAXPROCS=2) and prints one
# machine-readable median line per workload.
#
# Usage: bash benches/go/chan/run.sh [REPS]      (default REPS=7; any cwd)
#
# Each repetition runs every workload once, interleaved, one process per
# workload per repetition. Medians are taken per reported key across the REPS
# runs. Output lines look like
#   go mpmc_cap64 median_ns_per_msg=66.1 runs=7
#   go ping_pong_cap0 median_ns_per_trip=402.3 runs=7
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
. ../lib.sh
REPS="$(reps_arg "$@")"
setup_go

build_bench gortchanbench

WORKLOADS=()
for shape in spsc mpsc mpmc; do
    for cap in cap0 cap1 cap64 unbounded; do
        WORKLOADS+=("${shape}_${cap}")
    done
done
WORKLOADS+=(select2_cap64 ping_pong_cap0 ping_pong_cap1)

# `iters` is bookkeeping, not a result.
run_rounds "$REPS" '^iters$' "${WORKLOADS[@]}"
