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

REPS="${1:-5}"
if ! [[ "$REPS" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [REPS]  (REPS: positive integer, default 5)" >&2
    exit 2
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --release --example mem_parked --example mem_sleeps >&2
BIN_DIR="$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/examples"

PROGRAMS=(mem_parked mem_sleeps)
RUNTIMES=(gort tokio)

RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"' EXIT

for ((rep = 1; rep <= REPS; rep++)); do
    for p in "${PROGRAMS[@]}"; do
        for r in "${RUNTIMES[@]}"; do
            if ! out="$(timeout 120 "$BIN_DIR/$p" "$r")"; then
                echo "$p $r FAILED (rep $rep)" >&2
                exit 1
            fi
            echo "# rep $rep $p $r $out" >&2
            for kv in $out; do
                echo "$p $r ${kv%%=*} ${kv#*=}" >>"$RESULTS"
            done
        done
    done
done

median() { # reads numbers on stdin
    sort -g | awk '{ v[NR] = $1 }
        END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) m = v[(NR + 1) / 2]
            else        m = (v[NR / 2] + v[NR / 2 + 1]) / 2
            if (m == int(m)) printf "%d\n", m
            else             printf "%.2f\n", m
        }'
}

for p in "${PROGRAMS[@]}"; do
    for r in "${RUNTIMES[@]}"; do
        line="$p $r"
        keys="$(awk -v p="$p" -v r="$r" '$1 == p && $2 == r && !seen[$3]++ { print $3 }' "$RESULTS")"
        for k in $keys; do
            m="$(awk -v p="$p" -v r="$r" -v k="$k" '$1 == p && $2 == r && $3 == k { print $4 }' "$RESULTS" | median)"
            line="$line median_$k=$m"
        done
        echo "$line runs=$REPS"
    done
done
