#!/usr/bin/env bash
# Remoting benchmark: messages/s (one sender, one receiver, 100-byte byte[]
# payload) and sequential ask round-trip p50/p99 for
#   (a) Rekko -> Rekko, (b) Rekko -> JVM, (c) JVM -> Rekko, (d) JVM -> JVM,
# each sender and receiver in its own process on 127.0.0.1. Prints one
# table with ratios to (d).
#
# Usage: bench/remote/run.sh [MESSAGES] [ASKS]   (defaults 200000, 5000)
# Needs cargo, java 17 and mvn (the fixture jar is built if missing).
set -euo pipefail

MESSAGES=${1:-200000}
ASKS=${2:-5000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
JAR=$ROOT/jvm-fixtures/target/rekko-jvm-fixtures.jar
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "building rekko-remote example remote_bench (release) ..." >&2
(cd "$ROOT" && cargo build -q --release -p rekko-remote --example remote_bench)
RUST_BIN=$TARGET/release/examples/remote_bench
if [ ! -f "$JAR" ]; then
  echo "building JVM fixtures ..." >&2
  (cd "$ROOT/jvm-fixtures" && mvn -B -q package -DskipTests)
fi
JAVA=(java -Xms512m -cp "$JAR")

# start_server VAR NAME CMD...: runs a receiver with stdin held open (a fifo
# kept open by this shell), waits for its READY line and stores the address
# in VAR.
start_server() {
  local var=$1 name=$2
  shift 2
  mkfifo "$WORK/$name.in"
  "$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  exec {fd}>"$WORK/$name.in"
  for _ in $(seq 1 600); do
    if grep -q '^READY ' "$WORK/$name.out" 2>/dev/null; then
      printf -v "$var" '%s' "$(grep '^READY ' "$WORK/$name.out" | head -1 | cut -d' ' -f2)"
      return 0
    fi
    sleep 0.1
  done
  echo "$name did not start; stderr:" >&2
  tail -20 "$WORK/$name.err" >&2
  exit 1
}

start_server RUST_ADDR rust "$RUST_BIN" serve BenchRekko
start_server JVM_ADDR jvm "${JAVA[@]}" org.rekko.fixtures.RemoteBench serve --port 0
echo "receivers: $RUST_ADDR $JVM_ADDR" >&2

run_pair() {
  local out
  out=$("$@" 2>>"$WORK/senders.err" | grep '^RESULT ' | tail -1)
  if [ -z "$out" ]; then
    echo "sender failed: $*" >&2
    tail -20 "$WORK/senders.err" >&2
    exit 1
  fi
  echo "${out#RESULT }"
}

echo "running (a) Rekko -> Rekko ..." >&2
A=$(run_pair "$RUST_BIN" run "$RUST_ADDR" "$MESSAGES" "$ASKS")
echo "running (b) Rekko -> JVM ..." >&2
B=$(run_pair "$RUST_BIN" run "$JVM_ADDR" "$MESSAGES" "$ASKS")
echo "running (c) JVM -> Rekko ..." >&2
C=$(run_pair "${JAVA[@]}" org.rekko.fixtures.RemoteBench run "$RUST_ADDR" "$MESSAGES" "$ASKS")
echo "running (d) JVM -> JVM ..." >&2
D=$(run_pair "${JAVA[@]}" org.rekko.fixtures.RemoteBench run "$JVM_ADDR" "$MESSAGES" "$ASKS")

echo "messages=$MESSAGES payload=100B asks=$ASKS (sequential); x(d) = ratio to (d) (msgs/s: higher is better; latency: lower is better)"
awk -v a="$A" -v b="$B" -v c="$C" -v d="$D" 'BEGIN {
  split(d, dd, " ")
  printf "%-18s %12s %8s %10s %10s %10s %10s\n", "pair", "msgs/s", "x(d)", "p50 us", "x(d)", "p99 us", "x(d)"
  n = split("(a) Rekko->Rekko|(b) Rekko->JVM|(c) JVM->Rekko|(d) JVM->JVM", names, "|")
  vals[1] = a; vals[2] = b; vals[3] = c; vals[4] = d
  for (i = 1; i <= 4; i++) {
    split(vals[i], v, " ")
    printf "%-18s %12d %8.2f %10d %10.2f %10d %10.2f\n", names[i], v[1], v[1] / dd[1], v[2], v[2] / dd[2], v[3], v[3] / dd[3]
  }
}'
