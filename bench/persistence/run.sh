#!/usr/bin/env bash
# Persistence benchmark on PostgreSQL: write throughput from 1 and from 100
# concurrent entities, and recovery time of an entity with 10,000 events, for
# Rekko and for the JVM's pekko-persistence-jdbc against the same database in
# the same run. Prints one table with ratios (the example
# core/persistence/examples/pg_bench.rs).
#
# Usage: bench/persistence/run.sh
# Needs cargo, java 17 + mvn (the fixture jar is built if missing) and a
# reachable PostgreSQL at REKKO_TEST_PG_URL (default
# postgres://rekko:rekko@127.0.0.1:5432/rekko, as started by .ci/postgres.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export REKKO_TEST_PG_URL=${REKKO_TEST_PG_URL:-postgres://rekko:rekko@127.0.0.1:5432/rekko}
JAR=$ROOT/jvm-fixtures/target/rekko-jvm-fixtures.jar

# host and port of the URL: postgres://user:pass@host:port/db
hostport=${REKKO_TEST_PG_URL#*://}
hostport=${hostport#*@}
hostport=${hostport%%/*}
host=${hostport%%:*}
port=${hostport##*:}
[ "$port" = "$hostport" ] && port=5432

reachable() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$host" -p "$port" -t 3
  else
    timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
  fi
}
if ! reachable; then
  echo "bench/persistence: PostgreSQL is not reachable at $host:$port (from REKKO_TEST_PG_URL)." >&2
  echo "Start it with: bash .ci/postgres.sh   (or set REKKO_TEST_PG_URL)" >&2
  exit 1
fi

if [ ! -f "$JAR" ]; then
  if command -v mvn >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
    echo "building JVM fixtures ..." >&2
    (cd "$ROOT/jvm-fixtures" && mvn -B -q package -DskipTests)
  else
    echo "bench/persistence: java/mvn missing, only the Rekko column is measured" >&2
  fi
fi

cd "$ROOT"
exec cargo run -q --release -p rekko-persistence --example pg_bench
