#!/usr/bin/env bash
# What the router adds: GET straight to a node against GET through the router, in the same run,
# at a fixed moderate rate (an open workload), and each process's CPU time per request.
#
#   load-tests/bench/router.sh [rounds] [seconds] [rate]     (defaults: 3 rounds, 20 s, 1000/s)
#   ROUTER_CPU=1 load-tests/bench/router.sh ...               (the router beside the generator)
#   ROUTER_APP=/other/quarkus-run.jar load-tests/bench/router.sh ...  (another build of the router)
#   ROUTER_OPTS="-XX:StartFlightRecording=..." load-tests/bench/router.sh ...  (extra router JVM options)
#
# One node and one router (a one-shard cluster). The node is pinned to CPU 0, the load generator
# to CPU 1, the router to ROUTER_CPU (default 0, sharing the node's core). 1000/s is one request
# per millisecond tick of the generator, so requests never leave in bursts. Latency is quoted from
# the moment each request was written (FixedRateLoad's "sent_" figures) and from the moment it was
# due. CPU time is utime + stime from /proc/<pid>/stat (clock ticks) over each run, divided by the
# requests of that run. Needs the build (./mvnw -B install -DskipTests).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
. .ci/java-home.sh
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-20}
RATE=${3:-1000}
ROUTER_CPU=${ROUTER_CPU:-0}
NODE_PORT=${NODE_PORT:-7201}
ROUTER_PORT=${ROUTER_PORT:-7200}
KEYS=10000
OUT="$ROOT/load-tests/target/router-bench"
mkdir -p "$OUT"
BENCH_JAR="$ROOT/load-tests/target/benchmarks.jar"
JAVA_OPTS=(-Xms1g -Xmx1g --sun-misc-unsafe-memory-access=allow -Dquarkus.http.host=127.0.0.1)
TOKEN=bench-token

taskset -c 0 "$JAVA_HOME/bin/java" "${JAVA_OPTS[@]}" -Dquarkus.http.port=$NODE_PORT \
  -Dqache.cluster.token=$TOKEN -jar node/target/quarkus-app/quarkus-run.jar >"$OUT/node.log" 2>&1 &
NODE_PID=$!
rm -rf "$OUT/cluster-map.json" "$OUT/router-data"
read -r -a ROUTER_EXTRA <<<"${ROUTER_OPTS:-}"
taskset -c "$ROUTER_CPU" "$JAVA_HOME/bin/java" "${JAVA_OPTS[@]}" "${ROUTER_EXTRA[@]}" -Dquarkus.http.port=$ROUTER_PORT \
  -Dqache.admin.token=$TOKEN -Dqache.cluster.token=$TOKEN -Dqache.router.map-file="$OUT/cluster-map.json" -Dqache.router.data-dir="$OUT/router-data" \
  -Dqache.router.shards=s1=127.0.0.1:$NODE_PORT -jar "${ROUTER_APP:-router/target/quarkus-app/quarkus-run.jar}" >"$OUT/router.log" 2>&1 &
ROUTER_PID=$!
trap 'kill $NODE_PID $ROUTER_PID 2>/dev/null || true' EXIT
for port in $NODE_PORT $ROUTER_PORT; do
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/q/health/ready" 2>/dev/null; do sleep 0.2; done
done
taskset -c 1 "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.Preload \
  "http://127.0.0.1:$ROUTER_PORT" $KEYS 100 >/dev/null

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
run() { # name port [rate]
  local n0 r0 line n1 r1 requests
  n0=$(ticks $NODE_PID); r0=$(ticks $ROUTER_PID)
  line=$(taskset -c 1 "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.FixedRateLoad \
    "http://127.0.0.1:$2" "${3:-$RATE}" "$SECONDS_PER_RUN" $KEYS 5)
  n1=$(ticks $NODE_PID); r1=$(ticks $ROUTER_PID)
  requests=$(echo "$line" | awk '{ print $2 }')
  echo "$1 $round $line node_cpu_us_per_req $(( (n1 - n0) * 1000000 / HZ / requests )) router_cpu_us_per_req $(( (r1 - r0) * 1000000 / HZ / requests ))" \
    | tee -a "$OUT/results.txt"
}
: >"$OUT/results.txt"
# Warm-up: both paths at four times the rate, so the JIT has compiled them before any figure.
round=warmup; run direct $NODE_PORT $((RATE * 4)) >/dev/null; run routed $ROUTER_PORT $((RATE * 4)) >/dev/null
: >"$OUT/results.txt"
for round in $(seq "$ROUNDS"); do
  run direct $NODE_PORT
  run routed $ROUTER_PORT
done
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
field() { awk -v n="$1" -v f="$2" '$1 == n { for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }' "$OUT/results.txt" | median; }
echo
echo "medians over $ROUNDS rounds at $RATE GET/s, router on CPU $ROUTER_CPU (latency from send; from due time in brackets):"
for name in direct routed; do
  printf '%-7s p50 %5s us [%5s]  p90 %5s us [%5s]  p99 %6s us [%6s]  errors %s  node CPU %s us/req  router CPU %s us/req\n' "$name" \
    "$(field $name sent_p50_us)" "$(field $name p50_us)" "$(field $name sent_p90_us)" "$(field $name p90_us)" \
    "$(field $name sent_p99_us)" "$(field $name p99_us)" "$(field $name errors)" \
    "$(field $name node_cpu_us_per_req)" "$(field $name router_cpu_us_per_req)"
done
echo "latency the router adds at p50: $(( $(field routed sent_p50_us) - $(field direct sent_p50_us) )) us (from send)"
