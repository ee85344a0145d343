#!/usr/bin/env bash
# Cluster membership benchmark, Rekko (`rekko node`, release build) against JVM Pekko 1.7.0
# (the ClusterNode fixture), in one run:
#   1. start-to-Up: from process start until the JVM seed reports the new node Up, for a JVM
#      node and for a Rekko node joining the same cluster;
#   2. resident memory (VmRSS) of an idle joined JVM node and an idle joined Rekko node;
#   3. convergence of a 10-node cluster (2 JVM + 8 Rekko): after a join (start of the 10th
#      node until all 10 nodes see it Up) and after a kill (SIGKILL of a Rekko node until all
#      9 others have removed it: failure detection, split brain resolver, removal).
# Prints one table with ratios Rekko/JVM.
#
# Settings of every node: keep-majority, split-brain-resolver.stable-after = 3s, other
# pekko.cluster defaults (gossip and leader-actions interval 1 s, heartbeat interval 1 s,
# acceptable-heartbeat-pause 3 s). JVM nodes run with -Xmx512m -XX:+UseSerialGC as in the
# interop tests. Times come from polling every 50 ms.
#
# Usage: bench/cluster/run.sh
# Needs cargo, java 17, mvn (the fixture jar is built if missing) and python3 (free ports).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
JAR=$ROOT/jvm-fixtures/target/rekko-jvm-fixtures.jar
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "building rekko (release) ..." >&2
(cd "$ROOT" && cargo build -q --release -p rekko)
REKKO=$TARGET/release/rekko
if [ ! -f "$JAR" ]; then
  echo "building JVM fixtures ..." >&2
  (cd "$ROOT/jvm-fixtures" && mvn -B -q package -DskipTests)
fi
JAVA=(java -Xmx512m -XX:+UseSerialGC -cp "$JAR" org.rekko.fixtures.ClusterNode)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
addr() { echo "pekko://ClusterSystem@127.0.0.1:$1"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

cat >"$WORK/cluster.conf" <<'EOF'
pekko.cluster {
  downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider"
  split-brain-resolver.active-strategy = keep-majority
  split-brain-resolver.stable-after = 3s
  seed-node-timeout = 3s
  retry-unsuccessful-join-after = 3s
}
EOF

# start_jvm NAME PORT SEED: a JVM ClusterNode with stdin held open by this shell (fifo).
declare -A FD PID
start_jvm() {
  local name=$1 port=$2 seed=$3 fd
  mkfifo "$WORK/$name.in"
  "${JAVA[@]}" --system ClusterSystem --port "$port" --seeds "$seed" --config "$WORK/cluster.conf" \
    <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID[$name]=$!
  PIDS+=($!)
  exec {fd}>"$WORK/$name.in"
  FD[$name]=$fd
}

# start_rekko NAME PORT SEED: `rekko node` with its own application.conf.
start_rekko() {
  local name=$1 port=$2 seed=$3
  cp "$WORK/cluster.conf" "$WORK/$name.conf"
  cat >>"$WORK/$name.conf" <<EOF
pekko {
  actor.provider = cluster
  remote.artery { transport = tcp, canonical.hostname = "127.0.0.1", canonical.port = $port }
  cluster.seed-nodes = ["$seed"]
}
EOF
  "$REKKO" node --config "$WORK/$name.conf" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID[$name]=$!
  PIDS+=($!)
}

wait_ready() {
  local name=$1
  for _ in $(seq 1 1800); do
    grep -q '^READY ' "$WORK/$name.out" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$name did not start; stderr:" >&2
  tail -20 "$WORK/$name.err" >&2
  exit 1
}

# jvm_members NAME: asks a JVM node for its members, prints the MEMBERS line.
jvm_members() {
  local name=$1 before
  before=$(grep -c '^MEMBERS' "$WORK/$name.out" || true)
  echo members >&"${FD[$name]}"
  for _ in $(seq 1 400); do
    if [ "$(grep -c '^MEMBERS' "$WORK/$name.out" || true)" -gt "$before" ]; then
      grep '^MEMBERS' "$WORK/$name.out" | tail -1
      return 0
    fi
    sleep 0.01
  done
  echo "$name does not answer" >&2
  exit 1
}

# jvm_sees NAME PATTERN: true when the JVM node's member list matches PATTERN (grep -E).
jvm_sees() { jvm_members "$1" | grep -qE "$2"; }

# rekko_logged NAME TEXT: true when the Rekko node logged TEXT.
rekko_logged() { grep -qF "$2" "$WORK/$1.err" 2>/dev/null; }

await() {
  local what=$1
  shift
  for _ in $(seq 1 2400); do
    if "$@"; then return 0; fi
    sleep 0.05
  done
  echo "timed out: $what" >&2
  exit 1
}

count_up() { jvm_members "$1" | tr ',' '\n' | grep -c '=Up$' || true; }

# --- 1. start-to-Up ---------------------------------------------------------------------
P_SEED=$(free_port)
SEED=$(addr "$P_SEED")
start_jvm seed "$P_SEED" "$SEED"
wait_ready seed
await "seed Up" jvm_sees seed "$SEED=Up"
echo "JVM seed up at $SEED" >&2

P_J2=$(free_port)
T0=$(now)
start_jvm j2 "$P_J2" "$SEED"
await "JVM joiner Up" jvm_sees seed "$(addr "$P_J2")=Up"
JVM_UP=$(elapsed "$T0" "$(now)")
echo "JVM node Up after ${JVM_UP}s" >&2

P_R1=$(free_port)
T0=$(now)
start_rekko r1 "$P_R1" "$SEED"
await "Rekko joiner Up" jvm_sees seed "$(addr "$P_R1")=Up"
REKKO_UP=$(elapsed "$T0" "$(now)")
echo "Rekko node Up after ${REKKO_UP}s" >&2

# --- 2. idle memory ---------------------------------------------------------------------
sleep 10 # let both settle into the idle cluster (heartbeats and gossip only)
JVM_RSS=$(rss_kb "${PID[j2]}")
REKKO_RSS=$(rss_kb "${PID[r1]}")

# --- 3. 10-node convergence -------------------------------------------------------------
REKKOS=(r1)
for i in 2 3 4 5 6 7; do
  start_rekko "r$i" "$(free_port)" "$SEED"
  REKKOS+=("r$i")
done
nine_up() { [ "$(count_up seed)" -ge 9 ]; }
await "9 nodes Up" nine_up
# all 9 nodes agree
all_see_up() {
  local a=$1 n
  jvm_sees seed "$a=Up" && jvm_sees j2 "$a=Up" || return 1
  for n in "${REKKOS[@]}"; do rekko_logged "$n" "Member is Up: [$a]" || return 1; done
}
P_R8=$(free_port)
T0=$(now)
start_rekko r8 "$P_R8" "$SEED"
REKKOS+=(r8)
await "10th node Up everywhere" all_see_up "$(addr "$P_R8")"
JOIN_CONV=$(elapsed "$T0" "$(now)")
echo "join converged after ${JOIN_CONV}s" >&2

VICTIM=r4
VICTIM_ADDR=$(grep '^READY ' "$WORK/$VICTIM.out" | cut -d' ' -f2)
all_removed() {
  local a=$1 n
  ! jvm_sees seed "$a=" && ! jvm_sees j2 "$a=" || return 1
  for n in "${REKKOS[@]}"; do
    [ "$n" = "$VICTIM" ] && continue
    rekko_logged "$n" "Member removed: [$a]" || return 1
  done
}
T0=$(now)
kill -9 "${PID[$VICTIM]}"
wait "${PID[$VICTIM]}" 2>/dev/null || true
await "killed node removed everywhere" all_removed "$VICTIM_ADDR"
KILL_CONV=$(elapsed "$T0" "$(now)")
echo "kill converged after ${KILL_CONV}s" >&2

ratio() { awk -v r="$1" -v j="$2" 'BEGIN { if (j > 0) printf "%.3f", r / j; else print "-" }'; }
echo
echo "Cluster membership: Rekko (rekko node, release) vs JVM Pekko 1.7.0 ClusterNode; JVM seed; 127.0.0.1"
printf '%-48s %12s %12s %12s\n' "measure" "Rekko" "JVM" "Rekko/JVM"
printf '%-48s %12s %12s %12s\n' "start to MemberUp seen by the seed (s)" "$REKKO_UP" "$JVM_UP" "$(ratio "$REKKO_UP" "$JVM_UP")"
printf '%-48s %12s %12s %12s\n' "RSS of an idle joined node (MiB)" \
  "$(awk -v k="$REKKO_RSS" 'BEGIN { printf "%.1f", k / 1024 }')" \
  "$(awk -v k="$JVM_RSS" 'BEGIN { printf "%.1f", k / 1024 }')" "$(ratio "$REKKO_RSS" "$JVM_RSS")"
printf '%-48s %12s\n' "10 nodes (2 JVM + 8 Rekko): join converged (s)" "$JOIN_CONV"
printf '%-48s %12s\n' "10 nodes: SIGKILL to removed everywhere (s)" "$KILL_CONV"
