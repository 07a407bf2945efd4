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

REPS="${1:-7}"
if ! [[ "$REPS" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [REPS]  (REPS: positive integer, default 7)" >&2
    exit 2
fi

cd "$(dirname "${BASH_SOURCE[0]}")"

# --- toolchain -------------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
    echo "# go not found; installing Debian's golang-go" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y golang-go >&2
fi

export GO111MODULE=on
export GOFLAGS=-mod=mod
export GOTOOLCHAIN=local   # ignored by go < 1.21
export GOPROXY=off         # standard library only; never hit the network
export GOMAXPROCS=2

go version

# --- build -----------------------------------------------------------------
BIN_DIR="target-go"
BIN="$BIN_DIR/gortbench"
mkdir -p "$BIN_DIR"
go build -trimpath -o "$BIN" .

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

RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"' EXIT

# --- run (interleaved) -----------------------------------------------------
for ((rep = 1; rep <= REPS; rep++)); do
    for w in "${WORKLOADS[@]}"; do
        if ! out="$("$BIN" "$w")"; then
            echo "go $w FAILED (rep $rep)" >&2
            exit 1
        fi
        echo "# rep $rep $w $out" >&2
        for kv in $out; do
            echo "$w ${kv%%=*} ${kv#*=}" >>"$RESULTS"
        done
    done
done

# --- medians ---------------------------------------------------------------
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

for w in "${WORKLOADS[@]}"; do
    line="go $w"
    # keys in the order the binary reports them
    keys="$(awk -v w="$w" '$1 == w && !seen[$2]++ { print $2 }' "$RESULTS")"
    for k in $keys; do
        m="$(awk -v w="$w" -v k="$k" '$1 == w && $2 == k { print $3 }' "$RESULTS" | median)"
        line="$line median_$k=$m"
    done
    echo "$line runs=$REPS"
done
