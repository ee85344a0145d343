#!/usr/bin/env bash
# HOCON parse+resolve benchmark: hocon-config vs Lightbend config (warm JVM) vs the `hocon` crate,
# on Pekko's reference.conf files: (a) the actor module's reference.conf, (b) all 22 Pekko
# reference.conf files merged and resolved. Prints a table of wall time and one of process CPU
# time per iteration (all threads, so the JVM's compiler and garbage collector count), with the
# ratios; on a machine shared with other jobs the CPU table moves less with the load.
#
# Usage: bench/hocon/run.sh [WARMUP_SECONDS] [MEASURE_SECONDS]   (defaults 10 and 10)
# Needs ../shared/conformance/pekko-reference, java + mvn, cargo.
# The criterion version of the Rust measurement is `cargo bench -p hocon-config --bench parse_resolve`.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
refs="$root/../shared/conformance/pekko-reference"
warm="${1:-10}"
meas="${2:-10}"
[ -d "$refs" ] || { echo "missing $refs" >&2; exit 1; }

jar="$root/jvm-fixtures/target/rekko-jvm-fixtures.jar"
has_bench_class() {
  [ -f "$jar" ] && python3 -c 'import sys,zipfile; sys.exit(0 if "org/rekko/fixtures/ConfigBench.class" in zipfile.ZipFile(sys.argv[1]).namelist() else 1)' "$jar"
}
if ! (cd "$root/jvm-fixtures" && mvn -B -q package -DskipTests) >&2; then
  has_bench_class || { echo "building jvm-fixtures failed" >&2; exit 1; }
  echo "warning: mvn package failed (concurrent build?); using the existing jar" >&2
fi
has_bench_class || { echo "$jar lacks ConfigBench" >&2; exit 1; }
target="${CARGO_TARGET_DIR:-$root/target}/hocon-bench"
CARGO_TARGET_DIR="$target" cargo build --release --quiet --manifest-path "$here/rust-crates/Cargo.toml" >&2

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
echo "running Lightbend config (warm-up ${warm}s, measure ${meas}s per load)..." >&2
java -Xmx1g -cp "$jar" org.rekko.fixtures.ConfigBench "$refs" "$warm" "$meas" | sed 's/^/lightbend /' >>"$out"
echo "running hocon-config and the hocon crate..." >&2
"$target/release/hocon-bench-rust-crates" "$refs" "$warm" "$meas" >>"$out"

python3 - "$out" <<'PY'
import sys
rows, cpu = {}, {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 3:
        rows[(parts[0], parts[1])] = parts[2]
    if len(parts) >= 5:
        cpu[(parts[0], parts[1])] = parts[4]
def ms(table, key):
    try:
        v = float(table.get(key, "nan")) / 1000.0
        return None if v != v else v
    except ValueError:
        return None
fmt = lambda v: "n/a" if v is None else f"{v:.3f} ms"
loads = ("actor-reference", "all-pekko-references-merged")
head = f"{'load':32} {'hocon-config':>14} {'Lightbend warm':>15} {'ratio':>7} {'hocon crate':>13} {'ratio':>8}"
for title, table in (("wall time per iteration", rows),
                     ("process CPU time per iteration (all threads; moves less with the load of a shared machine)", cpu)):
    print(title)
    print(head)
    for load in loads:
        ours = ms(table, ("hocon-config", load))
        lb = ms(table, ("lightbend", load))
        hc = ms(table, ("hocon", load))
        r1 = f"{lb/ours:.1f}x" if ours and lb else "n/a"
        r2 = f"{hc/ours:.0f}x" if ours and hc else ("failed" if rows.get(("hocon", load)) == "FAILED" else "n/a")
        print(f"{load:32} {fmt(ours):>14} {fmt(lb):>15} {r1:>7} {fmt(hc):>13} {r2:>8}")
    print()
PY
