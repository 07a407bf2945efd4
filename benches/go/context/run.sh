#!/usr/bin/env bash
# Go baseline for gort's context benches (benches/context.rs): runs the same
# context workloads on Go's `context` (GOMAXPROCS=2) and prints one
# machine-readable median line per workload.
#
# Usage: bash benches/go/context/run.sh [REPS]      (default REPS=7; any cwd)
#
# Each repetition runs every workload once, interleaved, one process per
# workload per repetition. Output lines look like
#   go create_cancel_child median_ns_per_child=180.2 runs=7
#   go cancel_tree_100k median_ns_per_cancel=9000000 runs=7
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
. ../lib.sh
REPS="$(reps_arg "$@")"
setup_go

build_bench gortcontextbench

WORKLOADS=(create_cancel_child cancel_tree_100k done_select)

# `iters` is bookkeeping, not a result.
run_rounds "$REPS" '^iters$' "${WORKLOADS[@]}"
