#!/usr/bin/env bash
# Runs the scheduler, timer and blocking comparisons as REPS interleaved "rounds"
# (criterion benches `scheduler`, `timers`, `blocking`; the Go twins; the memory
# programs), so that every peer is measured in every round under the same machine
# conditions, and prints the median over rounds of each workload's per-round median.
#
# Usage: bash benches/rounds.sh [REPS]     (default 5; any cwd)
# Output: one line per criterion benchmark, `<group>/<peer> median_ns=… rounds=…`,
# then the Go and memory medians as benches/go/run.sh and benches/mem.sh print them.
# Per-round raw values are kept in target/rounds/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
. benches/go/lib.sh
REPS="$(reps_arg "${1:-5}")"

OUT=target/rounds
# The criterion groups of the three benches (target/criterion also holds others).
GROUP_RE='/(spawn_many|spawn_many_remote|yield_many|chained_spawn|skynet|ping_pong|timers_create_cancel|sleeps_100k|blocking_workload|blocking_fast_path)/'
rm -rf "$OUT"
mkdir -p "$OUT"
cargo bench --no-run --bench scheduler --bench timers --bench blocking >&2

for ((rep = 1; rep <= REPS; rep++)); do
    echo "# round $rep of $REPS: $(date -u +%H:%M:%S)" >&2
    for b in scheduler timers blocking; do
        cargo bench --bench "$b" >"$OUT/criterion-$b-$rep.log" 2>&1
    done
    # Criterion's median per-iteration time of this round, for every benchmark.
    find target/criterion -path '*/new/estimates.json' | sort | grep -E "$GROUP_RE" |
        while read -r f; do
        id="${f#target/criterion/}"
        id="${id%/new/estimates.json}"
        echo "$id $(jq .median.point_estimate "$f")"
    done >>"$OUT/criterion.txt"
    bash benches/go/run.sh 1 2>/dev/null | grep '^go ' >>"$OUT/go.txt"
    bash benches/mem.sh 1 2>/dev/null | grep '^mem_' >>"$OUT/mem.txt"
done

round_medians "$OUT/criterion.txt"
echo "# Go, one run per round:"
cat "$OUT/go.txt"
echo "# memory, one run per round:"
cat "$OUT/mem.txt"
