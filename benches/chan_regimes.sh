#!/usr/bin/env bash
# Every channel workload of issue 3 through `examples/chan_regimes.rs`: per round, gort's
# channels on gort and on tokio, flume and async-channel on tokio, and Go's twin, with
# the round tagged by the state of the machine's two CPUs (near/far; see the example's
# doc and BENCHMARKS.md, "Channels"). Prints each workload's summary: per state, the
# rounds kept, each peer's median and the medians of the per-round ratios.
#
# Usage: bash benches/chan_regimes.sh [ROUNDS]     (default 15; any cwd; ~3 min at 15)
# Full output per workload is kept in target/chan-regimes/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
. benches/go/lib.sh
ROUNDS="$(reps_arg "${1:-15}")"

setup_go >&2
(cd benches/go/chan && build_bench gortchanbench)
cargo build --release --example chan_regimes >&2

OUT=target/chan-regimes
mkdir -p "$OUT"
echo "# $(date -u '+%Y-%m-%d %H:%M') UTC, $(git rev-parse --short HEAD), P=2, $ROUNDS rounds a workload"
for work in spsc mpsc mpmc; do
    for cap in 0 1 64 unb; do
        rows+=("$work $cap")
    done
done
rows+=("sel 64" "pp 0" "pp 1")
for row in "${rows[@]}"; do
    log="$OUT/${row// /_}.log"
    # shellcheck disable=SC2086 # the row is two words on purpose
    P=2 target/release/examples/chan_regimes $row "$ROUNDS" >"$log"
    echo "== $row"
    sed -n '/rounds$/,$p' "$log"
    grep 'did not finish' "$log" || true
done
