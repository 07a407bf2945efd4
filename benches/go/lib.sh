# Shared by the Go baselines (benches/go/run.sh, benches/go/chan/run.sh), benches/mem.sh
# and the round scripts (benches/rounds.sh, benches/channel_rounds.sh): argument check,
# Go toolchain set-up, interleaved runs and medians.
# Source it; it defines functions and changes nothing else.

# reps_arg "$@": prints the repetition count (first argument, default 7) or exits 2.
reps_arg() {
    local reps="${1:-7}"
    if ! [[ "$reps" =~ ^[1-9][0-9]*$ ]]; then
        echo "usage: $0 [REPS]  (REPS: positive integer, default 7)" >&2
        exit 2
    fi
    echo "$reps"
}

# setup_go: installs Debian's golang-go if missing, pins the environment
# (standard library only, no network, GOMAXPROCS=2) and prints `go version`.
setup_go() {
    if ! command -v go >/dev/null 2>&1; then
        echo "# go not found; installing Debian's golang-go" >&2
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        $sudo apt-get update >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y golang-go >&2
    fi
    export GO111MODULE=on
    export GOFLAGS=-mod=mod
    export GOTOOLCHAIN=local   # ignored by go < 1.21
    export GOPROXY=off         # standard library only; never hit the network
    export GOMAXPROCS=2
    go version
}

# build_bench NAME: builds the Go program in the current directory into
# target-go/NAME and sets BIN to its path.
build_bench() {
    mkdir -p target-go
    BIN="target-go/$1"
    go build -trimpath -o "$BIN" .
}

# run_rounds REPS SKIP WORKLOAD...: runs "$BIN WORKLOAD" for every workload, REPS
# interleaved rounds, then prints each key's median (keys matching the regex SKIP,
# if not empty, are bookkeeping and left out).
run_rounds() {
    local reps="$1" skip="$2"
    shift 2
    local results
    results="$(mktemp)"
    local rep w
    for ((rep = 1; rep <= reps; rep++)); do
        for w in "$@"; do
            collect "$results" "$rep" "$w" "$BIN" "$w"
        done
    done
    report "$results" go "$reps" "$skip" "$@"
    rm -f "$results"
}

# round_medians FILE: FILE holds "<benchmark id> <value>" lines, one per round; prints
# "<id> median_ns=<median over rounds> rounds=<count>" per id, sorted by id.
round_medians() {
    local id
    while read -r id; do
        printf '%s median_ns=%s rounds=%s\n' "$id" \
            "$(grep "^$id " "$1" | awk '{print $2}' | median)" \
            "$(grep -c "^$id " "$1")"
    done < <(awk '{print $1}' "$1" | sort -u)
}

# median: the median of the numbers on stdin (integers print as integers).
median() {
    sort -g | awk '{ v[NR] = $1 }
        END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) m = v[(NR + 1) / 2]
            else        m = (v[NR / 2] + v[NR / 2 + 1]) / 2
            if (m == int(m)) printf "%d\n", m
            else             printf "%.2f\n", m
        }'
}

# collect RESULTS REP LABEL CMD...: runs CMD once; each `key=value` it prints is
# appended to RESULTS as "LABEL key value". Exits 1 if CMD fails.
collect() {
    local results="$1" rep="$2" label="$3" out
    shift 3
    if ! out="$("$@")"; then
        echo "$label FAILED (rep $rep)" >&2
        exit 1
    fi
    echo "# rep $rep $label $out" >&2
    local kv
    for kv in $out; do
        echo "$label ${kv%%=*} ${kv#*=}" >>"$results"
    done
}

# report RESULTS PREFIX REPS SKIP LABEL...: one line per LABEL (a single word,
# e.g. `workload` or `program:runtime`), "PREFIX LABEL median_key=value ... runs=REPS",
# keys in the order first reported; a key matching the regex SKIP is left out.
report() {
    local results="$1" prefix="$2" reps="$3" skip="$4" label
    shift 4
    for label in "$@"; do
        local line="$prefix${prefix:+ }${label//:/ }" keys k m
        keys="$(awk -v l="$label" -v s="$skip" '$1 == l && (s == "" || $2 !~ s) && !seen[$2]++ { print $2 }' "$results")"
        for k in $keys; do
            m="$(awk -v l="$label" -v k="$k" '$1 == l && $2 == k { print $3 }' "$results" | median)"
            line="$line median_$k=$m"
        done
        echo "$line runs=$reps"
    done
}
