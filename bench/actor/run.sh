#!/usr/bin/env bash
# Runs the local actor benchmark on Rekko (core/actor/benches/local_bench.rs) and on Pekko typed
# (jvm-fixtures LocalBench) in one run and prints one table with Rekko/Pekko ratios.
#
# Usage: bench/actor/run.sh [scenario ...]   (tell1 tell8 latency spawn memory; default all)
# Throughput is reported per second of wall time and per second of process CPU time (all
# threads); on a machine shared with other jobs the CPU figure moves less with the load.
# Env:   BENCH_SCALE=0.1 scales message and actor counts (default 1 = 1M actors).
#        CARGO_TARGET_DIR as usual; JAVA_OPTS for the JVM (default -Xms2g -Xmx4g).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
scenarios=("$@")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== building Rekko bench" >&2
(cd "$root" && cargo bench -p rekko-actor --bench local_bench --no-run >&2)

echo "== building JVM fixtures" >&2
# Build a private copy of the fixture project: other builds may rewrite the shared jar meanwhile.
mkdir -p "$work/jvm"
cp -r "$root/jvm-fixtures/pom.xml" "$root/jvm-fixtures/src" "$work/jvm/"
(cd "$work/jvm" && mvn -B -q package -DskipTests >&2)
cp "$work/jvm/target/rekko-jvm-fixtures.jar" "$work/fixtures.jar"

echo "== running Rekko" >&2
(cd "$root" && cargo bench -p rekko-actor --bench local_bench -- "${scenarios[@]}" 2>"$work/rekko.err") \
  | grep '^RESULT' > "$work/rekko.txt" || { tail -20 "$work/rekko.err" >&2; exit 1; }

echo "== running Pekko" >&2
# shellcheck disable=SC2086
java ${JAVA_OPTS:--Xms2g -Xmx4g} -cp "$work/fixtures.jar" org.rekko.fixtures.LocalBench "${scenarios[@]}" 2>"$work/pekko.err" \
  | grep '^RESULT' > "$work/pekko.txt" || { tail -20 "$work/pekko.err" >&2; exit 1; }

echo
echo "machine: $(nproc) cores, $(uname -sr), $(java -version 2>&1 | head -1)"
echo "scale: ${BENCH_SCALE:-1}"
awk '
  FNR == NR { rekko[$2] = $3; order[++n] = $2; next }
  { pekko[$2] = $3 }
  END {
    lower["pingpong_p50_us"] = 1; lower["pingpong_p99_us"] = 1; lower["bytes_per_idle_actor"] = 1
    printf "%-28s %16s %16s %10s\n", "measure", "Rekko", "Pekko", "ratio"
    for (i = 1; i <= n; i++) {
      k = order[i]; r = rekko[k]; p = pekko[k]
      if (p == "" || p + 0 == 0 || r + 0 == 0) { ratio = "n/a" }
      else if (k in lower) { ratio = sprintf("%.2fx", p / r) }
      else { ratio = sprintf("%.2fx", r / p) }
      printf "%-28s %16s %16s %10s\n", k, r, (p == "" ? "-" : p), ratio
    }
    print "(ratio > 1 means Rekko is better: faster, lower latency, or less memory)"
  }
' "$work/rekko.txt" "$work/pekko.txt"
