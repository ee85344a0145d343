#!/usr/bin/env bash
# Runs the stream pipelines on Rekko (rekko-stream example `stream_bench`) and on Pekko
# Streams (jvm-fixtures StreamBench) in one run and prints a table with ratios.
#
# Pipelines: (1) Source(1..n).map.filter.fold, (2) mapAsync(8) over a completed future,
# (3) groupBy(64) + mergeSubstreams. Each side does 3 warm-up rounds and reports the best
# of 5 timed rounds; the two sides run alternately REPEAT times (default 3) and the best
# rate of each side is kept, so that load from other processes disturbs both alike.
#
# (4) a SourceRef across nodes: the rekko-stream-refs example `source_ref_bench` starts two
# JVM StreamRefNodes and two Rekko nodes and measures, REPEAT rounds, a SourceRef of n4
# Strings in all four pairings (JVM->JVM, JVM->Rekko, Rekko->JVM, Rekko->Rekko) and, as the
# transport limit, the same Strings told between the same pair in two ways: "window", never more
# than the stream refs' buffer-capacity unacknowledged with an acknowledgement after every half of
# it (the SourceRef's own flow control, so the bound for any SourceRef implementation), and
# "tell", windows of 1000 closed by an ask (the raw transport). The table prints the best rate per
# case, the SourceRef's share of each transport figure, and each SourceRef's ratio to JVM->JVM.
#
# Usage: bench/stream/run.sh [n1 n2 n3 n4]   (defaults 10000000 2000000 2000000 200000)
# Env:   CARGO_TARGET_DIR (default target), SKIP_JAR_BUILD=1 to reuse an existing jar,
#        BUFFER=<n> stream-ref buffer-capacity on all nodes (default Pekko's 32),
#        ONLY_SOURCE_REF=1 to run only (4).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
n1="${1:-10000000}"
n2="${2:-2000000}"
n3="${3:-2000000}"
n4="${4:-200000}"
target="${CARGO_TARGET_DIR:-$root/target}"
jar="$root/jvm-fixtures/target/rekko-jvm-fixtures.jar"

echo "building rekko-stream bench (release)..." >&2
(cd "$root" && cargo build --release -q -p rekko-stream --example stream_bench)
(cd "$root" && cargo build --release -q -p rekko-stream-refs --example source_ref_bench)

if [[ "${SKIP_JAR_BUILD:-0}" != "1" || ! -f "$jar" ]]; then
  echo "building JVM fixtures jar..." >&2
  (cd "$root/jvm-fixtures" && mvn -B -q package -DskipTests -Djar.forceCreation=true)
fi

if [[ "${ONLY_SOURCE_REF:-0}" != "1" ]]; then
rekko_all=""
pekko_all=""
for ((i = 1; i <= ${REPEAT:-3}; i++)); do
  echo "run $i: Rekko..." >&2
  rekko_all+="$("$target/release/examples/stream_bench" "$n1" "$n2" "$n3")"$'\n'
  echo "run $i: Pekko..." >&2
  pekko_all+="$(java -cp "$jar" org.rekko.fixtures.StreamBench "$n1" "$n2" "$n3" 2>/dev/null | grep '^RESULT')"$'\n'
done
# keep the fastest line per pipeline
best() { grep '^RESULT' | sort -k2,2 -k5,5nr | awk '!seen[$2]++'; }
rekko_out="$(best <<<"$rekko_all")"
pekko_out="$(best <<<"$pekko_all")"

echo
echo "host: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-20s %12s %14s %14s %14s %14s %8s\n' pipeline elements "rekko best ms" "rekko elem/s" "pekko best ms" "pekko elem/s" ratio
printf '%-20s %12s %14s %14s %14s %14s %8s\n' -------------------- ------------ -------------- -------------- -------------- -------------- --------
while read -r _ name n ms rate; do
  line="$(grep "^RESULT $name " <<<"$pekko_out" || true)"
  if [[ -z "$line" ]]; then
    printf '%-20s %12s %14s %14s %14s %14s %8s\n' "$name" "$n" "$ms" "$rate" "-" "-" "-"
    continue
  fi
  read -r _ _ _ pms prate <<<"$line"
  ratio="$(awk -v a="$rate" -v b="$prate" 'BEGIN { printf "%.2fx", a / b }')"
  printf '%-20s %12s %14s %14s %14s %14s %8s\n' "$name" "$n" "$ms" "$rate" "$pms" "$prate" "$ratio"
done <<<"$rekko_out"
fi

echo "(4) SourceRef: $n4 elements x ${REPEAT:-3} rounds..." >&2
refs_all="$("$target/release/examples/source_ref_bench" "$jar" "$n4" "${REPEAT:-3}" | grep '^RESULT')"
# best rate per kind and pair
refs_best="$(sort -k2,2 -k3,3 -k6,6nr <<<"$refs_all" | awk '!seen[$2" "$3]++')"
rate() { awk -v k="$1" -v p="$2" '$2 == k && $3 == p { print $6 }' <<<"$refs_best"; }
# CPU time of the Rekko process per element in that best round (both Rekko nodes; in a mixed
# pair only the Rekko side)
cpu() { awk -v k="$1" -v p="$2" '$2 == k && $3 == p { print $7 }' <<<"$refs_best"; }
base="$(rate sourceref 'jvm->jvm')"
echo
echo "host: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg); SourceRef buffer-capacity ${BUFFER:-32}"
printf '%-16s %10s %16s %14s %14s %10s %10s %12s %18s\n' pair elements "sourceref el/s" "window msg/s" "tell msg/s" "of window" "of tell" "x jvm->jvm" "rekko cpu us/el"
printf '%-16s %10s %16s %14s %14s %10s %10s %12s %18s\n' ---------------- ---------- ---------------- -------------- -------------- ---------- ---------- ------------ ------------------
for pair in 'jvm->jvm' 'jvm->rekko' 'rekko->jvm' 'rekko->rekko'; do
  s="$(rate sourceref "$pair")"
  w="$(rate window "$pair")"
  t="$(rate tell "$pair")"
  c="-"
  if [[ "$pair" == *rekko* ]]; then c="$(cpu sourceref "$pair") / $(cpu window "$pair")"; fi
  awk -v p="$pair" -v n="$n4" -v s="$s" -v w="$w" -v t="$t" -v b="$base" -v c="$c" 'BEGIN {
    printf "%-16s %10s %16s %14s %14s %9.0f%% %9.0f%% %11.2fx %18s\n", p, n, s, w, t, 100 * s / w, 100 * s / t, s / b, c
  }'
done
echo "(rekko cpu: the Rekko process's CPU time per element, SourceRef / window, in the best round)"
