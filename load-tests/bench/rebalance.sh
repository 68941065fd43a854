#!/usr/bin/env bash
# Adding a shard to a loaded cluster: GET latency at a fixed rate before and during the
# migration, the copy rate, and the time until the new shard owns its slots.
#
#   load-tests/bench/rebalance.sh [keys] [rate]        (defaults: 1000000 keys, 1000 GET/s)
#   NEW_NODE_CPU=0 ROUTER_OPTS=-D... load-tests/bench/rebalance.sh ...   (placement, router options)
#
# Three nodes and the router pinned to CPU 0, the fourth node and the load generator to CPU 1.
# Keys have 100-byte values. "steady" is a 20 s run before the change; "migrating" runs from the
# moment the shard is added until the migration is done. Needs the build
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
  taskset -c "$1" "$JAVA_HOME/bin/java" "${JAVA_OPTS[@]}" -Dquarkus.http.port="$2" -Dqache.cluster.token=$TOKEN \
    -Dqache.node.memory-limit=512M -jar node/target/quarkus-app/quarkus-run.jar >"$OUT/node-$2.log" 2>&1 &
  PIDS+=($!)
}
for port in 7221 7222 7223; do node 0 $port; done
node "${NEW_NODE_CPU:-1}" 7224
rm -f "$OUT/cluster-map.json"
taskset -c 0 "$JAVA_HOME/bin/java" "${JAVA_OPTS[@]}" -Dquarkus.http.port=7220 \
  -Dqache.admin.token=$TOKEN -Dqache.cluster.token=$TOKEN -Dqache.router.map-file="$OUT/cluster-map.json" \
  -Dqache.router.shards="s1=127.0.0.1:7221,s2=127.0.0.1:7222,s3=127.0.0.1:7223" ${ROUTER_OPTS:-} \
  -jar router/target/quarkus-app/quarkus-run.jar >"$OUT/router.log" 2>&1 &
PIDS+=($!)
for port in 7221 7222 7223 7224 7220; do
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/q/health/ready" 2>/dev/null; do sleep 0.2; done
done
load() { # seconds warmup
  taskset -c 1 "$JAVA_HOME/bin/java" -Dqache.bench.stop-file="$OUT/stop" -Dqache.bench.connections="${CONNECTIONS:-32}" -cp "$BENCH_JAR" dev.qache.loadtests.http.FixedRateLoad \
    http://127.0.0.1:7220 "$RATE" "$1" "$KEYS" "$2" "bench:" get
}
admin() { curl -fsS -H "Authorization: Bearer $TOKEN" "$@"; }
echo "preloading $KEYS keys..."
taskset -c 1 "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.Preload http://127.0.0.1:7220 "$KEYS" 100 >/dev/null
rm -f "$OUT/stop"
echo "steady:    $(load 20 5)"
load 600 0 >"$OUT/migrating.txt" &
GEN=$!
PIDS+=($GEN)
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
