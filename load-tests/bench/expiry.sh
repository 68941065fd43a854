#!/usr/bin/env bash
# Expiry over HTTP: write N keys with ttl=1 that nobody reads, then measure how long after the
# last of them expired qache_memory_used_bytes is back to its value before the run.
#
#   load-tests/bench/expiry.sh [keys]     (default 1000000)
#
# The node runs pinned to CPU 0, the writer to CPU 1. Needs the build (./mvnw -B install -DskipTests).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
. .ci/java-home.sh
KEYS=${1:-1000000}
PORT=${NODE_PORT:-7102}
OUT="$ROOT/load-tests/target/expiry-bench"
mkdir -p "$OUT"
BENCH_JAR="$ROOT/load-tests/target/benchmarks.jar"
NODE_APP="$ROOT/node/target/quarkus-app/quarkus-run.jar"
[ -f "$NODE_APP" ] && [ -f "$BENCH_JAR" ] || { echo "build first: ./mvnw -B install -DskipTests" >&2; exit 1; }

taskset -c 0 "$JAVA_HOME/bin/java" -Xms3g -Xmx3g --sun-misc-unsafe-memory-access=allow \
  -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" -Dqache.node.memory-limit=2G \
  -jar "$NODE_APP" >"$OUT/node.log" 2>&1 &
NODE_PID=$!
trap 'kill $NODE_PID 2>/dev/null || true' EXIT
until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/q/health/ready" 2>/dev/null; do
  kill -0 "$NODE_PID" || { cat "$OUT/node.log"; exit 1; }; sleep 0.2
done

used() { curl -fsS "http://127.0.0.1:$PORT/q/metrics" | awk '/^qache_memory_used_bytes/ { printf "%d", $2 }'; }
START_USED=$(used)
echo "memory used before: $START_USED bytes"
LINE=$(taskset -c 1 "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.Preload \
  "http://127.0.0.1:$PORT" "$KEYS" 100 1 expiring:)
echo "$LINE"
LAST_ACK=$(echo "$LINE" | sed -n 's/.*last ack at \([0-9]*\).*/\1/p')
EXPIRED_AT=$((LAST_ACK + 1000))
PEAK=$(used)
echo "memory used right after the writes: $PEAK bytes"
while [ "$(used)" -gt "$START_USED" ]; do sleep 0.01; done
BACK=$(date +%s%3N)
echo "memory back to $START_USED bytes $((BACK - EXPIRED_AT)) ms after the last key expired"
curl -fsS "http://127.0.0.1:$PORT/q/metrics" | grep -E '^qache_(keys|expirations_total|hits_total|misses_total) '
