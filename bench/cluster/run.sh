#!/usr/bin/env bash
# Cluster membership benchmark, Rekko (`rekko node`, release build) against JVM Pekko 1.7.0
# (the ClusterNode fixture), in one run:
#   1. start-to-Up: from process start until the JVM seed lists the new node (its Join was
#      handled: the joining node's own part) and until it reports the node Up (this also waits
#      for the seed's next leader-actions tick), for a JVM node and for a Rekko node, each
#      joining the seed alone (a warm-up node has joined and left before; each joiner leaves
#      again before the next starts, and each starts at a random phase of the seed's ticks),
#      UP_ROUNDS rounds, means in the table;
#   2. resident memory (VmRSS) of an idle joined JVM node and an idle joined Rekko node;
#   3. convergence of a 10-node cluster (2 JVM + 8 Rekko): after a join (start of the 10th
#      node until all 10 nodes see it Up) and after a kill (SIGKILL of a Rekko node until all
#      9 others have removed it: failure detection, split brain resolver, removal).
# Start-to-Up and convergence are measured twice, each time on a new cluster:
#   "default": pekko.cluster defaults, gossip-interval and leader-actions-interval 1 s;
#   "100ms":   every node (JVM and Rekko alike) with pekko.cluster.gossip-interval = 100ms
#              and leader-actions-interval = 100ms, so that the seed's ticks do not hide the
#              joining node's own latency.
# Memory is measured in the default configuration only. Prints one table with ratios Rekko/JVM.
#
# Other settings of every node: keep-majority, split-brain-resolver.stable-after = 3s, other
# pekko.cluster defaults (heartbeat interval 1 s, acceptable-heartbeat-pause 3 s). JVM nodes
# run with -Xmx512m -XX:+UseSerialGC as in the interop tests. Times come from polling every
# 20 ms.
#
# Usage: bench/cluster/run.sh
#   REKKO_BIN=PATH runs that `rekko` binary instead of building one.
#   UP_ROUNDS=N    start-to-Up rounds per configuration (default 3); the table shows means.
#   BENCH_TRACE=1  also prints the first Rekko joiner's debug timeline (config loaded,
#                  transport bound, InitJoin sent, InitJoinAck, Join, Welcome, gossip back, Up)
#                  for each configuration.
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

if [ -n "${REKKO_BIN:-}" ]; then
  REKKO=$REKKO_BIN
else
  echo "building rekko (release) ..." >&2
  (cd "$ROOT" && cargo build -q --release -p rekko)
  REKKO=$TARGET/release/rekko
fi
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

cat >"$WORK/default.conf" <<'EOF'
pekko.cluster {
  downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider"
  split-brain-resolver.active-strategy = keep-majority
  split-brain-resolver.stable-after = 3s
  seed-node-timeout = 3s
  retry-unsuccessful-join-after = 3s
}
EOF
cp "$WORK/default.conf" "$WORK/100ms.conf"
cat >>"$WORK/100ms.conf" <<'EOF'
pekko.cluster {
  gossip-interval = 100ms
  leader-actions-interval = 100ms
}
EOF
CONF=default
UP_ROUNDS=${UP_ROUNDS:-3}

# start_jvm NAME PORT SEED: a JVM ClusterNode with stdin held open by this shell (fifo).
declare -A FD PID
start_jvm() {
  local name=$1 port=$2 seed=$3 fd
  mkfifo "$WORK/$name.in"
  "${JAVA[@]}" --system ClusterSystem --port "$port" --seeds "$seed" --config "$WORK/$CONF.conf" \
    <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID[$name]=$!
  PIDS+=($!)
  exec {fd}>"$WORK/$name.in"
  FD[$name]=$fd
}

# start_rekko NAME PORT SEED: `rekko node` with its own application.conf.
start_rekko() {
  local name=$1 port=$2 seed=$3
  cp "$WORK/$CONF.conf" "$WORK/$name.conf"
  cat >>"$WORK/$name.conf" <<EOF
pekko {
  actor.provider = cluster
  remote.artery { transport = tcp, canonical.hostname = "127.0.0.1", canonical.port = $port }
  cluster.seed-nodes = ["$seed"]
}
EOF
  local log=warn
  if [ "${BENCH_TRACE:-0}" = 1 ] && [ "$name" = r0 ]; then log="warn,rekko=debug,rekko_cluster=debug"; fi
  NO_COLOR=1 RUST_LOG=$log "$REKKO" node --config "$WORK/$name.conf" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" &
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
  for _ in $(seq 1 6000); do
    if "$@"; then return 0; fi
    sleep 0.02
  done
  echo "timed out: $what" >&2
  exit 1
}

count_up() { jvm_members "$1" | tr ',' '\n' | grep -c '=Up$' || true; }

# stop_all: kills every node of the current cluster (between configurations).
stop_all() {
  local p fd
  for p in "${PIDS[@]}"; do
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for fd in "${FD[@]}"; do exec {fd}>&-; done
  PIDS=()
  FD=()
  PID=()
  rm -f "$WORK"/*.in "$WORK"/*.out "$WORK"/*.err "$WORK"/r*.conf
}

# random_phase: waits 0-1 s at random before a joiner starts. The previous joiner's removal
# is seen right after one of the seed's leader-actions ticks, so without it every joiner would
# start at the same phase of the seed's 1 s tick.
random_phase() { sleep "0.$(printf '%03d' $((RANDOM % 1000)))"; }

declare -A RESULT
# scenario CONF: start-to-Up (and memory when CONF is default) and the 10-node convergence
# on a new cluster whose nodes all use $WORK/CONF.conf.
scenario() {
  CONF=$1
  echo "--- configuration $CONF" >&2
  # --- 1. start-to-Up -------------------------------------------------------------------
  P_SEED=$(free_port)
  SEED=$(addr "$P_SEED")
  start_jvm seed "$P_SEED" "$SEED"
  wait_ready seed
  await "seed Up" jvm_sees seed "$SEED=Up"
  echo "JVM seed up at $SEED" >&2

  # Each measured joiner joins the same one-member cluster (the seed alone), after a warm-up
  # node has joined and left, so neither meets a cold seed or waits for another member to see
  # the new gossip before convergence.
  P_W=$(free_port)
  start_rekko w "$P_W" "$SEED"
  await "warm-up node Up" jvm_sees seed "$(addr "$P_W")=Up"
  kill -TERM "${PID[w]}"
  await "warm-up node removed" not_listed seed "$(addr "$P_W")"

  # UP_ROUNDS rounds, each a Rekko joiner then a JVM joiner; the JVM joiner of the last round
  # stays as the second JVM member. Each joiner is timed twice: until the seed lists it
  # (Joining or later: the joining node's own part, from process start to its Join handled by
  # the seed) and until the seed lists it Up (which also waits for the seed's next
  # leader-actions tick, at a phase that differs from round to round).
  local i name port
  for i in $(seq 1 "$UP_ROUNDS"); do
    name=r0
    [ "$i" -gt 1 ] && name=r0_$i
    port=$(free_port)
    random_phase
    T0=$(now)
    start_rekko "$name" "$port" "$SEED"
    await "Rekko joiner listed" jvm_sees seed "$(addr "$port")="
    RESULT[$CONF.rekko_joined.$i]=$(elapsed "$T0" "$(now)")
    await "Rekko joiner Up" jvm_sees seed "$(addr "$port")=Up"
    RESULT[$CONF.rekko_up.$i]=$(elapsed "$T0" "$(now)")
    echo "round $i: Rekko node listed after ${RESULT[$CONF.rekko_joined.$i]}s, Up after ${RESULT[$CONF.rekko_up.$i]}s" >&2
    if [ "${BENCH_TRACE:-0}" = 1 ] && [ "$i" = 1 ]; then
      echo "Rekko joiner timeline ($CONF), process started at $(date -u -d "@$T0" +%H:%M:%S.%N):" >&2
      grep -E 'rekko node:| - (sending|received) |Welcome' "$WORK/r0.err" | head -14 >&2 || true
    fi
    kill -TERM "${PID[$name]}"
    await "Rekko joiner removed" not_listed seed "$(addr "$port")"

    name=j2
    [ "$i" -lt "$UP_ROUNDS" ] && name=j_$i
    port=$(free_port)
    random_phase
    T0=$(now)
    start_jvm "$name" "$port" "$SEED"
    await "JVM joiner listed" jvm_sees seed "$(addr "$port")="
    RESULT[$CONF.jvm_joined.$i]=$(elapsed "$T0" "$(now)")
    await "JVM joiner Up" jvm_sees seed "$(addr "$port")=Up"
    RESULT[$CONF.jvm_up.$i]=$(elapsed "$T0" "$(now)")
    echo "round $i: JVM node listed after ${RESULT[$CONF.jvm_joined.$i]}s, Up after ${RESULT[$CONF.jvm_up.$i]}s" >&2
    if [ "$name" != j2 ]; then
      echo leave >&"${FD[$name]}"
      await "JVM joiner removed" not_listed seed "$(addr "$port")"
      kill -9 "${PID[$name]}" 2>/dev/null || true
      wait "${PID[$name]}" 2>/dev/null || true
    fi
  done
  for m in rekko_joined rekko_up jvm_joined jvm_up; do
    RESULT[$CONF.$m]=$(for i in $(seq 1 "$UP_ROUNDS"); do echo "${RESULT[$CONF.$m.$i]}"; done |
      awk '{ s += $1; n++ } END { printf "%.2f", s / n }')
  done

  P_R1=$(free_port)
  start_rekko r1 "$P_R1" "$SEED"
  await "Rekko node r1 Up" jvm_sees seed "$(addr "$P_R1")=Up"

  # --- 2. idle memory -------------------------------------------------------------------
  if [ "$CONF" = default ]; then
    sleep 10 # let both settle into the idle cluster (heartbeats and gossip only)
    JVM_RSS=$(rss_kb "${PID[j2]}")
    REKKO_RSS=$(rss_kb "${PID[r1]}")
  fi

  # --- 3. 10-node convergence -----------------------------------------------------------
  REKKOS=(r1)
  for i in 2 3 4 5 6 7; do
    start_rekko "r$i" "$(free_port)" "$SEED"
    REKKOS+=("r$i")
  done
  await "9 nodes Up" nine_up
  P_R8=$(free_port)
  T0=$(now)
  start_rekko r8 "$P_R8" "$SEED"
  REKKOS+=(r8)
  await "10th node Up everywhere" all_see_up "$(addr "$P_R8")"
  RESULT[$CONF.join_conv]=$(elapsed "$T0" "$(now)")
  echo "join converged after ${RESULT[$CONF.join_conv]}s" >&2

  VICTIM=r4
  VICTIM_ADDR=$(grep '^READY ' "$WORK/$VICTIM.out" | cut -d' ' -f2)
  T0=$(now)
  kill -9 "${PID[$VICTIM]}"
  wait "${PID[$VICTIM]}" 2>/dev/null || true
  await "killed node removed everywhere" all_removed "$VICTIM_ADDR"
  RESULT[$CONF.kill_conv]=$(elapsed "$T0" "$(now)")
  echo "kill converged after ${RESULT[$CONF.kill_conv]}s" >&2
  stop_all
}

nine_up() { [ "$(count_up seed)" -ge 9 ]; }
# not_listed NAME ADDRESS: the JVM node no longer lists ADDRESS among its members.
not_listed() { ! jvm_sees "$1" "$2="; }
# all_see_up ADDRESS: both JVM nodes and every Rekko node see ADDRESS Up.
all_see_up() {
  local a=$1 n
  jvm_sees seed "$a=Up" && jvm_sees j2 "$a=Up" || return 1
  for n in "${REKKOS[@]}"; do rekko_logged "$n" "Member is Up: [$a]" || return 1; done
}
# all_removed ADDRESS: no JVM node lists ADDRESS and every live Rekko node logged its removal.
all_removed() {
  local a=$1 n
  ! jvm_sees seed "$a=" && ! jvm_sees j2 "$a=" || return 1
  for n in "${REKKOS[@]}"; do
    [ "$n" = "$VICTIM" ] && continue
    rekko_logged "$n" "Member removed: [$a]" || return 1
  done
}

scenario default
scenario 100ms

ratio() { awk -v r="$1" -v j="$2" 'BEGIN { if (j > 0) printf "%.3f", r / j; else print "-" }'; }
row() { printf '%-58s %10s %10s %10s\n' "$@"; }
echo
echo "Cluster membership: Rekko (rekko node, release) vs JVM Pekko 1.7.0 ClusterNode; JVM seed; 127.0.0.1"
echo "default: gossip-interval and leader-actions-interval 1 s (Pekko's defaults) on every node"
echo "100ms:   gossip-interval and leader-actions-interval 100 ms on every node, JVM and Rekko"
row "measure" "Rekko" "JVM" "Rekko/JVM"
for c in default 100ms; do
  row "start to listed by the seed, mean of $UP_ROUNDS (s), $c" "${RESULT[$c.rekko_joined]}" \
    "${RESULT[$c.jvm_joined]}" "$(ratio "${RESULT[$c.rekko_joined]}" "${RESULT[$c.jvm_joined]}")"
  row "start to MemberUp seen by the seed, mean of $UP_ROUNDS (s), $c" "${RESULT[$c.rekko_up]}" \
    "${RESULT[$c.jvm_up]}" "$(ratio "${RESULT[$c.rekko_up]}" "${RESULT[$c.jvm_up]}")"
done
row "RSS of an idle joined node (MiB), default" \
  "$(awk -v k="$REKKO_RSS" 'BEGIN { printf "%.1f", k / 1024 }')" \
  "$(awk -v k="$JVM_RSS" 'BEGIN { printf "%.1f", k / 1024 }')" "$(ratio "$REKKO_RSS" "$JVM_RSS")"
for c in default 100ms; do
  row "10 nodes (2 JVM + 8 Rekko): join converged (s), $c" "${RESULT[$c.join_conv]}"
  row "10 nodes: SIGKILL to removed everywhere (s), $c" "${RESULT[$c.kill_conv]}"
done
