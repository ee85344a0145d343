#!/usr/bin/env bash
# Runs the stream pipelines on Rekko (rekko-stream example `stream_bench`) and on Pekko
# Streams (jvm-fixtures StreamBench) in one run and prints a table with ratios.
#
# Pipelines: (1) Source(1..n).map.filter.fold, (2) mapAsync(8) over a completed future,
# (3) groupBy(64) + mergeSubstreams. Each side does 3 warm-up rounds and reports the best
# of 5 timed rounds; the two sides run alternately REPEAT times (default 3) and the best
# rate of each side is kept, so that load from other processes disturbs both alike.
#
# Usage: bench/stream/run.sh [n1 n2 n3]   (defaults 10000000 2000000 2000000)
# Env:   CARGO_TARGET_DIR (default target), SKIP_JAR_BUILD=1 to reuse an existing jar.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
n1="${1:-10000000}"
n2="${2:-2000000}"
n3="${3:-2000000}"
target="${CARGO_TARGET_DIR:-$root/target}"
jar="$root/jvm-fixtures/target/rekko-jvm-fixtures.jar"

echo "building rekko-stream bench (release)..." >&2
(cd "$root" && cargo build --release -q -p rekko-stream --example stream_bench)

if [[ "${SKIP_JAR_BUILD:-0}" != "1" || ! -f "$jar" ]]; then
  echo "building JVM fixtures jar..." >&2
  (cd "$root/jvm-fixtures" && mvn -B -q package -DskipTests -Djar.forceCreation=true)
fi

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
