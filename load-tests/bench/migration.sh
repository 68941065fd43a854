#!/usr/bin/env bash
# Migration throughput and its cost to clients, on the cluster `./qache up` starts (3 shards,
# a primary and a replica each): preload 1,000,000 keys of 100 B and 100,000 keys of 10 KB,
# measure client latency at a fixed rate (90% GET, 10% SET of the small keys, through the router)
# for 20 s, then add a fourth shard (a primary and a replica, `./qache spawn-node`) under the same
# load and measure again until the migration is done. Each round starts a fresh cluster.
#
#   load-tests/bench/migration.sh [rounds]        (default 3)
#   REHEARSE=1: add the shard and remove it again before the measured run, so every process has
#   run a migration's code once (JIT warm-up told apart from the copy's own cost)
#   PROFILE=1: record each process with JFR while the shard is added (the measured run only);
#   the recordings are in load-tests/target/migration-bench/<name>-<round>.jfr
#   SMALL=1000000 BIG=100000 RATE=1000 MEMORY=768M MODE=mixed|get|post QACHE_ROUTER_OPTS="-D..." (extra router
#   options, which ./qache up passes on)
#
# Prints one line per round (copy rate, bytes, steady and migrating p99, their ratio, errors) and
# the medians; the raw output of each round is in load-tests/target/migration-bench/.
# Needs the build (./mvnw -B install -DskipTests).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
. .ci/java-home.sh
ROUNDS=${1:-3}
SMALL=${SMALL:-1000000}
BIG=${BIG:-100000}
RATE=${RATE:-1000}
MEMORY=${MEMORY:-768M}
OUT="$ROOT/load-tests/target/migration-bench"
BENCH_JAR="$ROOT/load-tests/target/benchmarks.jar"
ROUTER=http://127.0.0.1:7000
mkdir -p "$OUT"
rm -f "$OUT"/round-*.txt "$OUT/rows.txt"
trap './qache down >/dev/null 2>&1 || true' EXIT

admin() { curl -fsS -H "Authorization: Bearer $(head -n 1 .qache/admin-token | cut -d, -f1)" "$@"; }
load() { # seconds name
  "$JAVA_HOME/bin/java" -Dqache.bench.stop-file="$OUT/stop" -Dqache.bench.recording-file="$OUT/recording" \
    -Dqache.bench.timeline="$OUT/$2-timeline.txt" -cp "$BENCH_JAR" dev.qache.loadtests.http.FixedRateLoad \
    "$ROUTER" "$RATE" "$1" "$SMALL" 5 "small:" "${MODE:-mixed}"
}
field() { sed -E "s/.*$1 ([0-9]+).*/\1/" <<<"$2"; }
# CPU seconds each process of the cluster has used so far: "name seconds" lines.
cpu() {
  local f pid
  for f in .qache/*.pid; do
    pid=$(cat "$f")
    [ -r "/proc/$pid/stat" ] || continue
    awk -v n="$(basename "$f" .pid)" '{ printf "%s %.2f\n", n, ($14 + $15) / 100 }' "/proc/$pid/stat"
  done
}

for round in $(seq "$ROUNDS"); do
  ./qache down >/dev/null 2>&1 || true
  ./qache up --memory-limit "$MEMORY" >"$OUT/up-$round.txt"
  "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.Preload "$ROUTER" "$SMALL" 100 - small: >/dev/null
  "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.Preload "$ROUTER" "$BIG" 10000 - big: >/dev/null
  rm -f "$OUT/stop" "$OUT/recording"
  steady=$(load 20 "steady-$round" 2>"$OUT/steady-$round.err")
  primary=$(./qache spawn-node | tail -n 1)
  replica=$(./qache spawn-node | tail -n 1)
  if [ -n "${REHEARSE:-}" ]; then
    admin -X POST -H 'Content-Type: application/json' \
      -d "{\"id\":\"s4\",\"primary\":\"$primary\",\"replicas\":[\"$replica\"]}" "$ROUTER/admin/shards" >/dev/null
    until admin "$ROUTER/admin/migrations" | grep -q '"state":"done"'; do sleep 0.1; done
    admin -X DELETE "$ROUTER/admin/shards/s4" >/dev/null
    sleep 0.5
    until admin "$ROUTER/admin/migrations" | grep -q '"state":"done"'; do sleep 0.1; done
    # The removed shard's nodes drop what they held; then they join again as new.
    sleep 2
  fi
  rm -f "$OUT/stop" "$OUT/recording"
  load 900 "migrating-$round" >"$OUT/migrating-$round.txt" 2>"$OUT/migrating-$round.err" &
  gen=$!
  # The generator warms up for 5 s (its JIT and connections); the shard is added once it records.
  until [ -e "$OUT/recording" ]; do sleep 0.05; done
  cpu >"$OUT/cpu-before-$round.txt"
  if [ -n "${PROFILE:-}" ]; then
    for f in .qache/*.pid; do
      "$JAVA_HOME/bin/jcmd" "$(cat "$f")" JFR.start name=migration settings=profile >/dev/null 2>&1 || true
    done
  fi
  start=$(date +%s%N)
  admin -X POST -H 'Content-Type: application/json' \
    -d "{\"id\":\"s4\",\"primary\":\"$primary\",\"replicas\":[\"$replica\"]}" "$ROUTER/admin/shards" >/dev/null
  until admin "$ROUTER/admin/migrations" | grep -q '"state":"done"'; do sleep 0.1; done
  end=$(date +%s%N)
  cpu >"$OUT/cpu-after-$round.txt"
  if [ -n "${PROFILE:-}" ]; then
    for f in .qache/*.pid; do
      "$JAVA_HOME/bin/jcmd" "$(cat "$f")" JFR.stop name=migration \
        filename="$OUT/$(basename "$f" .pid)-$round.jfr" >/dev/null 2>&1 || true
    done
  fi
  touch "$OUT/stop"
  wait "$gen" || true
  migrating=$(cat "$OUT/migrating-$round.txt")
  migration=$(admin "$ROUTER/admin/migrations")
  bytes=$(sed -E 's/.*"bytesCopied":([0-9]+).*/\1/' <<<"$migration")
  millis=$(((end - start) / 1000000))
  {
    echo "steady:    $steady"
    echo "migrating: $migrating"
    echo "migration: $migration"
    echo "added in:  $millis ms"
    echo "CPU seconds used while the shard was added, by process:"
    join -a 2 "$OUT/cpu-before-$round.txt" "$OUT/cpu-after-$round.txt" | awk '{ printf "  %s %.2f\n", $1, NF == 3 ? $3 - $2 : $2 }'
  } >"$OUT/round-$round.txt"
  awk -v b="$bytes" -v ms="$millis" -v sp="$(field p99_us "$steady")" -v mp="$(field p99_us "$migrating")" \
    -v se="$(field errors "$steady")" -v me="$(field errors "$migrating")" -v r="$round" 'BEGIN {
      printf "round %d: copied %.0f MB in %.1f s = %.1f MB/s (until the map flipped); client p99 steady %.2f ms, during the copy %.2f ms, ratio %.2f; errors %d + %d\n",
        r, b / 1e6, ms / 1000, b / 1e6 / (ms / 1000), sp / 1000, mp / 1000, mp / sp, se, me
      printf "%f %f %f %f %d\n", b / 1e6 / (ms / 1000), sp / 1000, mp / 1000, mp / sp, se + me >> "'"$OUT/rows.txt"'" }' \
    | tee -a "$OUT/summary.txt"
done
python3 - "$OUT/rows.txt" <<'PY'
import statistics, sys
rows = [[float(x) for x in line.split()] for line in open(sys.argv[1])]
med = lambda i: statistics.median(r[i] for r in rows)
print(f"median of {len(rows)} rounds: {med(0):.1f} MB/s copied; client p99 steady {med(1):.2f} ms,"
      f" during the copy {med(2):.2f} ms, ratio {med(3):.2f}; {int(sum(r[4] for r in rows))} failed requests")
PY
