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
BIN="$BIN_DIR/gortchanbench"
mkdir -p "$BIN_DIR"
go build -trimpath -o "$BIN" .

WORKLOADS=()
for shape in spsc mpsc mpmc; do
    for cap in cap0 cap1 cap64 unbounded; do
        WORKLOADS+=("${shape}_${cap}")
    done
done
WORKLOADS+=(select2_cap64 ping_pong_cap0 ping_pong_cap1)

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
            else             printf "%.1f\n", m
        }'
}

for w in "${WORKLOADS[@]}"; do
    line="go $w"
    # keys in the order the binary reports them; iters is bookkeeping, not a result
    keys="$(awk -v w="$w" '$1 == w && $2 != "iters" && !seen[$2]++ { print $2 }' "$RESULTS")"
    for k in $keys; do
        m="$(awk -v w="$w" -v k="$k" '$1 == w && $2 == k { print $3 }' "$RESULTS" | median)"
        line="$line median_$k=$m"
    done
    echo "$line runs=$REPS"
done
