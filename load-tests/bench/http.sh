#!/usr/bin/env bash
# HTTP benchmark of one node against a baseline route in the same build and against Redis.
#
#   load-tests/bench/http.sh [rounds] [seconds]     (defaults: 3 rounds of 10 s per case)
#
# Needs: wrk, redis-server, redis-benchmark (Debian: apt-get install wrk redis-server), and the
# build (./mvnw -B install -DskipTests). Servers are pinned to CPU 0 and load generators to CPU 1,
# so the two never share a core. Each round runs every case once, in turn; the summary gives
# the median of the rounds and the ratios that docs/BENCHMARKS.md quotes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
. .ci/java-home.sh
ROUNDS=${1:-3}
SECONDS_PER_CASE=${2:-10}
NODE_PORT=${NODE_PORT:-7101}
REDIS_PORT=${REDIS_PORT:-6399}
KEYS=100000
CONNECTIONS=64
REDIS_CONNECTIONS=50
OUT="$ROOT/load-tests/target/http-bench"
mkdir -p "$OUT"
BENCH_JAR="$ROOT/load-tests/target/benchmarks.jar"
NODE_APP="$ROOT/node/target/quarkus-app/quarkus-run.jar"
[ -f "$NODE_APP" ] && [ -f "$BENCH_JAR" ] || { echo "build first: ./mvnw -B install -DskipTests" >&2; exit 1; }
for tool in wrk redis-server redis-benchmark redis-cli taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

NODE_PID=""; REDIS_PID=""
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null || true
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
}
trap cleanup EXIT

# NODE_JAVA_OPTS adds JVM options to the node (e.g. a different GC) for comparisons.
taskset -c 0 "$JAVA_HOME/bin/java" -Xms2g -Xmx2g --sun-misc-unsafe-memory-access=allow ${NODE_JAVA_OPTS:-} \
  -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$NODE_PORT" -Dqache.node.memory-limit=1G \
  -Dqache.node.bench.baseline-route=true -jar "$NODE_APP" >"$OUT/node.log" 2>&1 &
NODE_PID=$!
taskset -c 0 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  >"$OUT/redis.log" 2>&1 &
REDIS_PID=$!
until curl -fsS -o /dev/null "http://127.0.0.1:$NODE_PORT/q/health/ready" 2>/dev/null; do
  kill -0 "$NODE_PID" || { cat "$OUT/node.log"; exit 1; }; sleep 0.2
done
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.1; done

echo "preloading $KEYS keys with 100-byte values into the node and into Redis"
taskset -c 1 "$JAVA_HOME/bin/java" -cp "$BENCH_JAR" dev.qache.loadtests.http.Preload \
  "http://127.0.0.1:$NODE_PORT" "$KEYS" 100
VALUE=$(printf 'x%.0s' $(seq 100))
awk -v n="$KEYS" -v v="$VALUE" 'BEGIN { for (i = 0; i < n; i++) printf "SET key:%012d %s\r\n", i, v }' \
  | redis-cli -p "$REDIS_PORT" --pipe >/dev/null

# Bytes the node allocated: the JVM's young-generation allocation counter, exact right after a GC,
# so each wrk case is bracketed by a forced GC (jcmd GC.run) and divided by the requests served.
allocated() {
  "$JAVA_HOME/bin/jcmd" "$NODE_PID" GC.run >/dev/null
  curl -fsS "http://127.0.0.1:$NODE_PORT/q/metrics" | awk '/^jvm_gc_memory_allocated_bytes_total/ { printf "%.0f", $2 }'
}

# wrk prints "Requests/sec: N" and, with --latency, "50% 1.23ms" / "99% 4.56ms".
wrk_case() { # name script path
  local name=$1 script=$2 path=$3
  local file="$OUT/$name-$round.txt"
  local before after
  before=$(allocated)
  KEYS=$KEYS taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_CASE}s" --latency ${script:+-s "$script"} \
    "http://127.0.0.1:$NODE_PORT$path" >"$file"
  after=$(allocated)
  local rps p50 p99 errors requests
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$file")
  p50=$(awk '$1 == "50%" { print $2 }' "$file")
  p99=$(awk '$1 == "99%" { print $2 }' "$file")
  requests=$(awk '/requests in/ { print $1 }' "$file")
  errors=$(awk '/Non-2xx or 3xx responses/ { print $NF } /Socket errors/ { print }' "$file" | paste -sd' ')
  echo "$name $round $rps $p50 $p99 ${errors:-0} $(( (after - before) / requests ))B/req" | tee -a "$OUT/results.txt"
}
redis_case() { # name command
  local name=$1 test=$2
  local file="$OUT/$name-$round.csv"
  taskset -c 1 redis-benchmark -p "$REDIS_PORT" -c "$REDIS_CONNECTIONS" -n $((SECONDS_PER_CASE * 60000)) \
    -r "$KEYS" -d 100 -t "$test" --csv >"$file" 2>/dev/null
  # CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  local row
  row=$(tail -1 "$file" | tr -d '"')
  echo "$name $round $(echo "$row" | cut -d, -f2) $(echo "$row" | cut -d, -f5)ms $(echo "$row" | cut -d, -f7)ms 0" \
    | tee -a "$OUT/results.txt"
}

: >"$OUT/results.txt"
# Every case must answer 2xx, or its figure measures an error page (as the baseline did once
# /_internal/* began to require the cluster token).
curl -fsS -o /dev/null "http://127.0.0.1:$NODE_PORT/_bench/fixed" || { echo "the baseline route does not answer 200" >&2; exit 1; }
echo "warm-up"
round=warmup
wrk_case warmup-get "$ROOT/load-tests/bench/get.lua" / >/dev/null
wrk_case warmup-baseline "" /_bench/fixed >/dev/null
: >"$OUT/results.txt"
echo "case round requests/s p50 p99 errors allocated-per-request"
for round in $(seq "$ROUNDS"); do
  wrk_case baseline "" /_bench/fixed
  wrk_case node-get "$ROOT/load-tests/bench/get.lua" /
  wrk_case node-post "$ROOT/load-tests/bench/post.lua" /
  redis_case redis-get get
  redis_case redis-set set
done

echo
echo "medians over $ROUNDS rounds:"
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for name in baseline node-get node-post redis-get redis-set; do
  rps=$(awk -v n="$name" '$1 == n { print $3 }' "$OUT/results.txt" | median)
  p50=$(awk -v n="$name" '$1 == n { print $4 }' "$OUT/results.txt" | sed 's/ms$//;s/us$/e-3/' | median)
  p99=$(awk -v n="$name" '$1 == n { print $5 }' "$OUT/results.txt" | sed 's/ms$//;s/us$/e-3/' | median)
  printf '%-10s %10.0f req/s   p50 %6.3f ms   p99 %6.3f ms\n' "$name" "$rps" "$p50" "$p99"
  eval "RPS_${name//-/_}=$rps"
done
echo
echo "ratios, median of the per-round ratios (each round runs every case back to back):"
ratio() { # numerator denominator
  join <(awk -v n="$1" '$1 == n { print $2, $3 }' "$OUT/results.txt" | sort) \
       <(awk -v n="$2" '$1 == n { print $2, $3 }' "$OUT/results.txt" | sort) \
    | awk '{ print $2 / $3 }' | median
}
printf 'node GET / baseline route: %.2f\n' "$(ratio node-get baseline)"
printf 'node GET / Redis GET:      %.2f\n' "$(ratio node-get redis-get)"
printf 'node POST / Redis SET:     %.2f\n' "$(ratio node-post redis-set)"
for name in baseline node-get node-post; do
  printf 'allocated per request, %-9s %s\n' "$name" \
    "$(awk -v n="$name" '$1 == n { sub(/B\/req/, "", $7); print $7 }' "$OUT/results.txt" | median) bytes"
done
