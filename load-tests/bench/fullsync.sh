#!/usr/bin/env bash
# A full sync of a large shard under steady writes (issue 14): a primary holding SIZE_MB of values,
# a router, and POSTs of 4,000-byte values at RATE/s through the router (5 MB/s at the default);
# after 10 s the replica is killed and restarted empty, and the script waits until it reports
# itself in sync. It prints how long that took, how many full syncs the replica needed (1 means
# the first attempt converged), and the most stream the primary held for it meanwhile.
#
#   load-tests/bench/fullsync.sh [size_mb] [rate]      (defaults: 1024 MB, 1250/s)
#
# Primary and router on CPU 0, replica and load generator on CPU 1. Needs the build
# (./mvnw -B install -DskipTests) and about 8 GB of memory. Failure detection is relaxed (1 s
# probes, 5 failures, 5 s forward timeout): filling 1 GB on 2 cores pauses the nodes for longer than the default
# 200 ms probe timeout, and this measures the sync, not the detector.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
. .ci/java-home.sh
SIZE_MB=${1:-1024}
RATE=${2:-1250}
VALUE=4000
PRIMARY_PORT=7221
REPLICA_PORT=7222
ROUTER_PORT=7220
OUT="$ROOT/load-tests/target/fullsync-bench"
mkdir -p "$OUT"
BENCH_JAR="$ROOT/load-tests/target/benchmarks.jar"
LIMIT_MB=$((SIZE_MB * 3 / 2 + 256))
NODE_OPTS=(-Xms$((LIMIT_MB * 2))m -Xmx$((LIMIT_MB * 2))m --sun-misc-unsafe-memory-access=allow
  -Dquarkus.http.host=127.0.0.1 -Dqache.node.memory-limit=${LIMIT_MB}M)
TOKEN=bench-token

node() { # cpu port
  taskset -c "$1" "$JAVA_HOME/bin/java" "${NODE_OPTS[@]}" -Dquarkus.http.port="$2" -Dqache.cluster.token=$TOKEN \
    -jar node/target/quarkus-app/quarkus-run.jar >>"$OUT/node-$2.log" 2>&1 &
}
ready() { until curl -fsS -o /dev/null "http://127.0.0.1:$1/q/health/ready" 2>/dev/null; do sleep 0.2; done; }
status() { curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$1/_internal/status"; }
in_sync() { status $REPLICA_PORT | python3 -c 'import json, sys; s = json.load(sys.stdin); sys.exit(0 if s["role"] == "replica" and s["synced"] and s.get("link") == "streaming" else 1)'; }
field() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

node 0 $PRIMARY_PORT; PRIMARY_PID=$!
node 1 $REPLICA_PORT; REPLICA_PID=$!
rm -rf "$OUT/cluster-map.json" "$OUT/router-data"
taskset -c 0 "$JAVA_HOME/bin/java" -Xmx512m --sun-misc-unsafe-memory-access=allow -Dquarkus.http.host=127.0.0.1 \
  -Dquarkus.http.port=$ROUTER_PORT -Dqache.admin.token=$TOKEN -Dqache.cluster.token=$TOKEN \
  -Dqache.router.map-file="$OUT/cluster-map.json" -Dqache.router.data-dir="$OUT/router-data" \
  -Dqache.router.failover.probe-timeout=1s -Dqache.router.failover.failure-threshold=5 -Dqache.router.forward-timeout=5s \
  -Dqache.router.shards="s1=127.0.0.1:$PRIMARY_PORT;127.0.0.1:$REPLICA_PORT" \
  -jar router/target/quarkus-app/quarkus-run.jar >"$OUT/router.log" 2>&1 &
ROUTER_PID=$!
trap 'kill $PRIMARY_PID $REPLICA_PID $ROUTER_PID ${LOAD_PID:-} 2>/dev/null || true' EXIT
for port in $PRIMARY_PORT $REPLICA_PORT $ROUTER_PORT; do ready $port; done
until in_sync; do sleep 0.2; done

KEYS=$((SIZE_MB * 1024 * 1024 / VALUE))
echo "preloading $KEYS keys of $VALUE bytes ($SIZE_MB MB) through the router"
taskset -c 1 "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.Preload \
  "http://127.0.0.1:$ROUTER_PORT" "$KEYS" $VALUE - "big:" >/dev/null
until [ "$(status $REPLICA_PORT | field '["keys"]')" -ge "$KEYS" ]; do sleep 0.5; done
echo "primary: $(status $PRIMARY_PORT | field '["keys"]') keys, $(status $PRIMARY_PORT | field '["memoryUsedBytes"]') bytes"

taskset -c 1 "$JAVA_HOME/bin/java" -Dqache.bench.value-bytes=$VALUE -cp "$BENCH_JAR" \
  dev.qache.loadtests.http.FixedRateLoad "http://127.0.0.1:$ROUTER_PORT" "$RATE" 600 50000 5 "steady:" post \
  >"$OUT/load.txt" 2>&1 &
LOAD_PID=$!
sleep 10 # steady writes first
served_before=$(status $PRIMARY_PORT | field '["fullSyncsServed"]')
kill -9 $REPLICA_PID
wait $REPLICA_PID 2>/dev/null || true
start=$(date +%s.%N)
node 1 $REPLICA_PORT; REPLICA_PID=$!
ready $REPLICA_PORT
max_buffered=0
until in_sync; do
  b=$(status $PRIMARY_PORT | python3 -c 'import json, sys; r = json.load(sys.stdin)["replicas"]; print(max([x.get("bufferedBytes", 0) for x in r] or [0]))')
  [ "$b" -gt "$max_buffered" ] && max_buffered=$b
  sleep 0.2
done
end=$(date +%s.%N)
kill $LOAD_PID 2>/dev/null || true
echo "full sync of $SIZE_MB MB under $((RATE * VALUE / 1000000)) MB/s of writes:" \
  "$(python3 -c "print(round($end - $start, 1))") s from the restart (JVM start included);" \
  "full syncs the replica did: $(status $REPLICA_PORT | field '["fullSyncsReceived"]');" \
  "full syncs served: $(( $(status $PRIMARY_PORT | field '["fullSyncsServed"]') - served_before ));" \
  "most stream held for it: $max_buffered bytes" | tee "$OUT/result.txt"
