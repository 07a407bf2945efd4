#!/usr/bin/env bash
# The channel comparison (issue 3) as REPS rounds of `cargo bench --bench channels`
# restricted to the async executors (`on-gort`, `on-tokio`: gort's channels under gort
# and tokio, flume, async-channel and tokio mpsc under tokio), then Go's twins
# (benches/go/chan/run.sh REPS). Prints, per workload and peer, the median over rounds
# of criterion's median in ns per message (ping_pong: per round trip).
#
# Usage: bash benches/channel_rounds.sh [REPS]     (default 5; any cwd; ~3 min a round)
# Per-round values are kept in target/channel-rounds/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
. benches/go/lib.sh
REPS="$(reps_arg "${1:-5}")"

OUT=target/channel-rounds
rm -rf "$OUT"
mkdir -p "$OUT"
cargo bench --no-run --bench channels >&2
for ((rep = 1; rep <= REPS; rep++)); do
    echo "# round $rep of $REPS: $(date -u +%H:%M:%S)" >&2
    cargo bench --bench channels -- 'on-(gort|tokio)' >"$OUT/criterion-$rep.log" 2>&1
    # criterion's median per iteration over the messages (or trips) per iteration.
    find target/criterion -path '*/new/estimates.json' | sort | grep -E 'on-(gort|tokio)' |
        while read -r f; do
        dir="${f%/estimates.json}"
        id="${dir#target/criterion/}"
        id="${id%/new}"
        per="$(jq '.throughput.Elements // 1' "$dir/benchmark.json")"
        echo "$id $(jq .median.point_estimate "$f") $per"
    done | awk '{ printf "%s %.2f\n", $1, $2 / $3 }' >>"$OUT/criterion.txt"
done

round_medians "$OUT/criterion.txt"
echo "# Go, $REPS interleaved runs:"
bash benches/go/chan/run.sh "$REPS" 2>/dev/null | grep '^go [a-z0-9_]* median'
