#!/usr/bin/env bash
# The CI load gate: a short Gatling run against a local cluster, held to fixed bounds and to a
# baseline measured in the same run (the same simulation against one standalone node), so a
# regression fails it and a slow machine does not.
#
#   load-tests/gate.sh                 # defaults below; reports under load-tests/target/gatling-gate/
#
# Knobs (environment): RATE (requests/s, 500), DURATION (s at that rate per run, 20), ROUNDS
# (baseline and routed runs, alternating, 3), KEYS (100000), P99_MS (bound on the median routed
# p99, 50), MAX_RATIO (median over the rounds of routed p95 over the baseline's, 4).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. .ci/java-home.sh

RATE=${RATE:-500}
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-3}
KEYS=${KEYS:-100000}
P99_MS=${P99_MS:-50}
MAX_RATIO=${MAX_RATIO:-4}
OUT="$ROOT/load-tests/target/gatling-gate"
BASELINE_PORT=7190
rm -rf "$OUT"; mkdir -p "$OUT"

cleanup() {
  [ -n "${BASELINE_PID:-}" ] && kill "$BASELINE_PID" 2>/dev/null || true
  ./qache down >/dev/null 2>&1 || true
}
trap cleanup EXIT

if alive_router=$(cat .qache/router.pid 2>/dev/null) && kill -0 "$alive_router" 2>/dev/null; then
  echo "gate: a local cluster is already running (./qache down first): the gate starts its own" >&2
  exit 1
fi
./mvnw -B -q -pl node,router,admin-ui,load-tests,load-tests/gatling -am install -DskipTests -Dspotless.check.skip=true
./qache up --shards 3 --replicas 1 >"$OUT/cluster.txt"

# The baseline: one standalone node (no cluster map, so it serves every key), same machine.
"$JAVA_HOME/bin/java" -XX:+UseCompactObjectHeaders --sun-misc-unsafe-memory-access=allow -Xmx512m \
  -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=$BASELINE_PORT -Dqache.node.memory-limit=256M \
  -jar node/target/quarkus-app/quarkus-run.jar >"$OUT/baseline-node.log" 2>&1 &
BASELINE_PID=$!
for _ in $(seq 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$BASELINE_PORT/q/health/ready" 2>/dev/null && break
  kill -0 "$BASELINE_PID" || { echo "gate: the baseline node died" >&2; exit 1; }
  sleep 0.2
done

BENCH_JAR=load-tests/target/benchmarks.jar
for url in http://127.0.0.1:7000 "http://127.0.0.1:$BASELINE_PORT"; do
  if ! "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.Preload "$url" "$KEYS" 100 - k >/dev/null; then
    echo "gate: the preload of $url failed; the cluster's warnings:" >&2
    grep -h -E 'WARN|ERROR' .qache/*.log "$OUT/baseline-node.log" | tail -40 >&2 || true
    exit 1
  fi
done

# run NAME URL: one Gatling run of the gate's simulation, report moved to $OUT/NAME. The run's own
# assertions are not the verdict (a single noisy round may break them): gate-report.py judges
# every round's figures and their medians, and fails when a run left no report.
run() {
  local results=load-tests/gatling/target/gatling
  rm -rf "$results"
  ./mvnw -B -q -f load-tests/gatling/pom.xml gatling:test \
    -Dgatling.simulationClass=dev.qache.loadtests.gatling.SteadySimulation \
    -Dqache.url="$2" -Dqache.rate="$RATE" -Dqache.duration="$DURATION" -Dqache.keys="$KEYS" \
    -Dqache.p99="$P99_MS" >"$OUT/$1.txt" 2>&1 || echo "gate: $1: Gatling's own assertions failed (judged below)"
  sed -n '/---- Global Information/,/^====/p' "$OUT/$1.txt" | grep -E 'request count|percentile|KO  '
  mkdir -p "$OUT/$1"
  mv "$results"/*/ "$OUT/$1/" 2>/dev/null || true
}
# Baseline and routed runs alternate, so a minute in which the shared machine is slow falls on
# one pair rather than on one side of the comparison.
for round in $(seq "$ROUNDS"); do
  echo "round $round, baseline: one standalone node, $RATE requests/s for $DURATION s"
  run "baseline-$round" "http://127.0.0.1:$BASELINE_PORT"
  echo "round $round, routed: the router in front of 3 shards with a replica each, the same load"
  run "routed-$round" http://127.0.0.1:7000
done
python3 load-tests/bench/gate-report.py "$OUT" "$RATE" "$DURATION" "$MAX_RATIO" "$P99_MS" "$ROUNDS"
