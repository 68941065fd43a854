#!/usr/bin/env bash
# Replication lag at steady write load: a primary, one replica and a router; POSTs at a fixed
# rate through the router; the primary's lag percentiles (append to the replica's
# acknowledgement, over about the last 20 s) read from /_internal/status at the end of each run.
#
#   load-tests/bench/replication.sh [rounds] [seconds] [rate]    (defaults: 3 rounds, 25 s, 2000/s)
#
# The primary and the router are pinned to CPU 0, the replica and the load generator to CPU 1.
# Needs the build (./mvnw -B install -DskipTests).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
. .ci/java-home.sh
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-25}
RATE=${3:-2000}
PRIMARY_PORT=7211
REPLICA_PORT=7212
ROUTER_PORT=7210
OUT="$ROOT/load-tests/target/replication-bench"
mkdir -p "$OUT"
BENCH_JAR="$ROOT/load-tests/target/benchmarks.jar"
JAVA_OPTS=(-Xms1g -Xmx1g --sun-misc-unsafe-memory-access=allow -Dquarkus.http.host=127.0.0.1)
TOKEN=bench-token

node() { # cpu port
  taskset -c "$1" "$JAVA_HOME/bin/java" "${JAVA_OPTS[@]}" -Dquarkus.http.port="$2" -Dqache.cluster.token=$TOKEN \
    -jar node/target/quarkus-app/quarkus-run.jar >"$OUT/node-$2.log" 2>&1 &
}
node 0 $PRIMARY_PORT; PRIMARY_PID=$!
node 1 $REPLICA_PORT; REPLICA_PID=$!
rm -rf "$OUT/cluster-map.json" "$OUT/router-data"
taskset -c 0 "$JAVA_HOME/bin/java" "${JAVA_OPTS[@]}" -Dquarkus.http.port=$ROUTER_PORT \
  -Dqache.admin.token=$TOKEN -Dqache.cluster.token=$TOKEN -Dqache.router.map-file="$OUT/cluster-map.json" -Dqache.router.data-dir="$OUT/router-data" \
  -Dqache.router.shards="s1=127.0.0.1:$PRIMARY_PORT;127.0.0.1:$REPLICA_PORT" \
  -jar router/target/quarkus-app/quarkus-run.jar >"$OUT/router.log" 2>&1 &
ROUTER_PID=$!
trap 'kill $PRIMARY_PID $REPLICA_PID $ROUTER_PID 2>/dev/null || true' EXIT
for port in $PRIMARY_PORT $REPLICA_PORT $ROUTER_PORT; do
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/q/health/ready" 2>/dev/null; do sleep 0.2; done
done
status() { curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PRIMARY_PORT/_internal/status"; }
until status | grep -q '"replicas":\[{'; do sleep 0.2; done

: >"$OUT/results.txt"
for round in $(seq 0 "$ROUNDS"); do
  line=$(taskset -c 1 "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.FixedRateLoad \
    "http://127.0.0.1:$ROUTER_PORT" "$RATE" "$SECONDS_PER_RUN" 100000 5 "bench:" post)
  lag=$(status | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["lagP99Micros"], s["replicas"][0]["lagBytes"])')
  [ "$round" = 0 ] && continue # the first run warms everything up
  echo "round $round $line lag_p99_us ${lag% *} lag_bytes_at_end ${lag#* }" | tee -a "$OUT/results.txt"
done
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
field() { awk -v f="$1" '{ for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }' "$OUT/results.txt" | median; }
echo
echo "medians over $ROUNDS rounds at $RATE POST/s: replication lag p99 $(field lag_p99_us) us;" \
  "POST p50 $(field sent_p50_us) us, p99 $(field sent_p99_us) us; errors $(field errors)"
