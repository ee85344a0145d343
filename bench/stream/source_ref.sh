#!/usr/bin/env bash
# SourceRef throughput (elements/s): a JVM StreamRefNode's SourceRef consumed by Rekko, and a
# Rekko SourceRef consumed by another Rekko node, over Artery TCP on localhost (3 rounds each).
#
# Usage: bench/stream/source_ref.sh [n]   (default 1000000)
# Env:   CARGO_TARGET_DIR (default target), SKIP_JAR_BUILD=1 to reuse an existing jar.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
n="${1:-1000000}"
target="${CARGO_TARGET_DIR:-$root/target}"
jar="$root/jvm-fixtures/target/rekko-jvm-fixtures.jar"

echo "building rekko-stream-refs bench (release)..." >&2
(cd "$root" && cargo build --release -q -p rekko-stream-refs --example source_ref_bench)

if [[ "${SKIP_JAR_BUILD:-0}" != "1" || ! -f "$jar" ]]; then
  echo "building JVM fixtures jar..." >&2
  (cd "$root/jvm-fixtures" && mvn -B -q package -DskipTests -Djar.forceCreation=true)
fi

"$target/release/examples/source_ref_bench" "$jar" "$n" | grep '^RESULT' |
  awk 'BEGIN { printf "%-18s %10s %9s %14s\n", "case", "elements", "seconds", "elements/s" }
       { printf "%-18s %10s %9s %14s\n", $2, $3, $4, $5 }'
