#!/usr/bin/env bash
# Makes, once, the virtualenv with pynsq that the NSQ interop tests and
# benches/mq/run.sh use: at $GORT_PYNSQ_VENV, else <workspace>/target/pynsq-venv.
# Prints its path. The tests build the same venv themselves if it is missing
# (tests/nsq_pynsq.rs: same pin, same `.gort-ready` marker).
set -euo pipefail
pin=pynsq==0.9.1
venv="${GORT_PYNSQ_VENV:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)/target/pynsq-venv}"
if [ ! -f "$venv/.gort-ready" ]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet "$pin" >&2
    echo "$pin" >"$venv/.gort-ready"
fi
echo "$venv"
