#!/usr/bin/env bash
# The message-queue samples' figures (issue 7), one after another on an otherwise idle
# machine: the NSQ broker under `nsq_bench` in-process and as a separate nsqd process
# (windows 256 and 1024), the same load from pynsq, the broker's peak memory with a
# 1,000,000-message backlog, and the Kafka-style sample's `consumer_group --bench`.
#
# Usage: bash benches/mq/run.sh        (any cwd; ~2 minutes; needs python3 and PyPI once)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cargo build --release --example nsqd --example nsq_bench --example consumer_group >&2
bin=target/release/examples
venv="$(bash examples/mq/tests/py/venv.sh)"
data="$(mktemp -d)"
nsqd_pid=
trap '[ -n "$nsqd_pid" ] && kill -INT "$nsqd_pid" 2>/dev/null; wait; rm -rf "$data"' EXIT

echo "# nsq_bench, in-process broker, 200,000 messages, window 256"
"$bin/nsq_bench"
"$bin/nsqd" --tcp-address 127.0.0.1:4250 --http-address 127.0.0.1:4251 \
  --data-path "$data" >"$data/nsqd.log" 2>&1 &
nsqd_pid=$!
sleep 0.5
for w in 256 1024; do
  echo "# nsq_bench against nsqd in its own process, window $w"
  "$bin/nsq_bench" --addr 127.0.0.1:4250 --window "$w"
done
echo "# pynsq (Writer + Reader) against the same nsqd, 50,000 messages, window 256"
"$venv/bin/python" examples/mq/tests/py/bench.py 127.0.0.1:4250 50000 256
echo "# nsqd with a 1,000,000-message backlog (100 B each)"
"$venv/bin/python" benches/mq/backlog.py 4250 4251 "$nsqd_pid"
kill -INT "$nsqd_pid"
wait "$nsqd_pid"
nsqd_pid=
echo "# consumer_group --bench (Kafka-style)"
"$bin/consumer_group" --bench
