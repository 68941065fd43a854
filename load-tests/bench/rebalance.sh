#!/usr/bin/env bash
# Adding a shard to a loaded cluster: GET latency at a fixed rate before and during the
# migration, the copy rate, and the time until the new shard owns its slots.
#
#   load-tests/bench/rebalance.sh [keys] [rate]        (defaults: 1000000 keys, 1000 GET/s)
#   NEW_NODE_CPU=0 ROUTER_OPTS=-D... load-tests/bench/rebalance.sh ...   (placement, router options)
#   NODE_OPTS (JVM options for the nodes, default -XX:+UseZGC); GC logs go to gc-*.log
#
# Nodes run ZGC: pinned to one CPU, a JVM picks the Serial collector by itself, whose young pauses
# on a node holding 300k keys took 70 to 235 ms, and G1 on one CPU paused up to 330 ms.
#   MODE=get|post|mixed (default mixed: 90% GET, 10% SET), CONNECTIONS (generator pool, 32)
#
# Three nodes and the router pinned to CPU 0, the fourth node and the load generator to CPU 1.
# Keys have 100-byte values. "steady" is a 20 s run before the change; "migrating" runs from the
# moment the shard is added until the migration is done. Per-second latency of both runs goes to
# load-tests/target/rebalance-bench/{steady,migrating}-timeline.txt (second, answered, errors,
# p50, p99, max in µs). Needs the build
# (./mvnw -B install -DskipTests).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
. .ci/java-home.sh
KEYS=${1:-1000000}
RATE=${2:-1000}
OUT="$ROOT/load-tests/target/rebalance-bench"
mkdir -p "$OUT"
BENCH_JAR="$ROOT/load-tests/target/benchmarks.jar"
JAVA_OPTS=(-Xms1g -Xmx1g --sun-misc-unsafe-memory-access=allow -Dquarkus.http.host=127.0.0.1)
TOKEN=bench-token
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
node() { # cpu port
  taskset -c "$1" "$JAVA_HOME/bin/java" "${JAVA_OPTS[@]}" ${NODE_OPTS:--XX:+UseZGC} -Xlog:gc:file="$OUT/gc-node-$2.log":time,uptime \
    -Dquarkus.http.port="$2" -Dqache.cluster.token=$TOKEN \
    -Dqache.node.memory-limit=512M -jar node/target/quarkus-app/quarkus-run.jar >"$OUT/node-$2.log" 2>&1 &
  PIDS+=($!)
}
for port in 7221 7222 7223; do node 0 $port; done
node "${NEW_NODE_CPU:-1}" 7224
rm -rf "$OUT/cluster-map.json" "$OUT/router-data"
taskset -c 0 "$JAVA_HOME/bin/java" "${JAVA_OPTS[@]}" -Xlog:gc:file="$OUT/gc-router.log":time,uptime -Dquarkus.http.port=7220 \
  -Dqache.admin.token=$TOKEN -Dqache.cluster.token=$TOKEN -Dqache.router.map-file="$OUT/cluster-map.json" -Dqache.router.data-dir="$OUT/router-data" \
  -Dqache.router.shards="s1=127.0.0.1:7221,s2=127.0.0.1:7222,s3=127.0.0.1:7223" ${ROUTER_OPTS:-} \
  -jar router/target/quarkus-app/quarkus-run.jar >"$OUT/router.log" 2>&1 &
PIDS+=($!)
for port in 7221 7222 7223 7224 7220; do
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/q/health/ready" 2>/dev/null; do sleep 0.2; done
done
load() { # seconds warmup timeline-name
  taskset -c 1 "$JAVA_HOME/bin/java" -Dqache.bench.stop-file="$OUT/stop" -Dqache.bench.connections="${CONNECTIONS:-32}" \
    -Dqache.bench.recording-file="$OUT/recording" \
    -Dqache.bench.timeline="$OUT/$3-timeline.txt" -cp "$BENCH_JAR" dev.qache.loadtests.http.FixedRateLoad \
    http://127.0.0.1:7220 "$RATE" "$1" "$KEYS" "$2" "bench:" "${MODE:-mixed}"
}
admin() { curl -fsS -H "Authorization: Bearer $TOKEN" "$@"; }
echo "preloading $KEYS keys..."
taskset -c 1 "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.Preload http://127.0.0.1:7220 "$KEYS" 100 >/dev/null
rm -f "$OUT/stop" "$OUT/recording"
# REHEARSE=1: an experiment, add the shard and remove it again before the measured run, so every
# JVM has run the migration's code paths once (tells JIT warm-up apart from other causes).
if [ -n "${REHEARSE:-}" ]; then
  admin -X POST -H 'Content-Type: application/json' -d '{"id":"s4","primary":"127.0.0.1:7224"}' \
    http://127.0.0.1:7220/admin/shards >/dev/null
  until admin http://127.0.0.1:7220/admin/migrations | grep -q '"state":"done"'; do sleep 0.1; done
  admin -X DELETE http://127.0.0.1:7220/admin/shards/s4 >/dev/null
  until admin http://127.0.0.1:7220/admin/cluster | grep -qv '"s4"'; do sleep 0.1; done
  echo "rehearsal: added and removed s4"
fi
# WARM_NEW_NODE=1: an experiment, 15 s of mixed traffic straight to the new node before it joins, to
# tell its cold JIT apart from other causes of the tail at the migration's start (its GETs of keys
# it does not have count as errors in the line it prints).
if [ -n "${WARM_NEW_NODE:-}" ]; then
  taskset -c 1 "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.FixedRateLoad \
    http://127.0.0.1:7224 2000 10 10000 5 "warm:" mixed
fi
echo "steady:    $(load 20 5 steady)"
rm -f "$OUT/recording"
load 600 5 migrating >"$OUT/migrating.txt" &
GEN=$!
PIDS+=($GEN)
# The generator warms up for 5 s (its own JIT and connections); the shard is added when it records.
until [ -e "$OUT/recording" ]; do sleep 0.05; done
start=$(date +%s%N)
admin -X POST -H 'Content-Type: application/json' -d '{"id":"s4","primary":"127.0.0.1:7224"}' \
  http://127.0.0.1:7220/admin/shards >/dev/null
until admin http://127.0.0.1:7220/admin/migrations | grep -q '"state":"done"'; do sleep 0.1; done
end=$(date +%s%N)
touch "$OUT/stop"
wait $GEN || true
echo "migrating: $(cat "$OUT/migrating.txt")"
admin http://127.0.0.1:7220/admin/migrations >"$OUT/migration.json"
echo "migration: $(cat "$OUT/migration.json")"
echo "time to add the shard: $(( (end - start) / 1000000 )) ms"
