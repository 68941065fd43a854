#!/usr/bin/env bash
# What TLS and data tokens cost a node: GET throughput and latency over plain HTTP, over HTTPS
# (the same process, both ports), and over HTTP to a second node with qache.data.tokens set, in
# one run, case after case in each round.
#
#   load-tests/bench/tls.sh [rounds] [seconds]     (defaults: 3 rounds of 10 s per case)
#
# Needs wrk (Debian's is built with OpenSSL) and the build (./mvnw -B install -DskipTests). The
# nodes are pinned to CPU 0 and wrk to CPU 1. wrk keeps its 64 connections open, so this is the
# steady cost of encryption and of the token check, not of handshakes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
. .ci/java-home.sh
ROUNDS=${1:-3}
SECONDS_PER_CASE=${2:-10}
HTTP_PORT=7111 HTTPS_PORT=7112 TOKEN_PORT=7113
KEYS=100000 CONNECTIONS=64 TOKEN=bench-data-token
OUT="$ROOT/load-tests/target/tls-bench"
rm -rf "$OUT"; mkdir -p "$OUT"
BENCH_JAR="$ROOT/load-tests/target/benchmarks.jar"
NODE_APP="$ROOT/node/target/quarkus-app/quarkus-run.jar"
[ -f "$NODE_APP" ] && [ -f "$BENCH_JAR" ] || { echo "build first: ./mvnw -B install -DskipTests" >&2; exit 1; }
command -v wrk >/dev/null && command -v taskset >/dev/null || { echo "missing wrk or taskset" >&2; exit 1; }

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
./qache certs "$OUT/tls" >/dev/null
node() { # port log options...
  local port=$1 log=$2
  shift 2
  taskset -c 0 "$JAVA_HOME/bin/java" \
    -Xms1g -Xmx1g --sun-misc-unsafe-memory-access=allow -Dquarkus.http.host=127.0.0.1 \
    -Dquarkus.http.port="$port" -Dqache.node.memory-limit=512M "$@" -jar "$NODE_APP" >"$OUT/$log" 2>&1 &
  PIDS+=($!)
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/q/health/ready" 2>/dev/null; do
    kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$OUT/$log" >&2; exit 1; }
    sleep 0.2
  done
}
# One process, both ports: plain and TLS share its event loops, store and JIT.
QUARKUS_TLS_KEY_STORE_P12_PASSWORD=$(cat "$OUT/tls/password") node "$HTTP_PORT" tls-node.log \
  -Dquarkus.http.ssl-port="$HTTPS_PORT" -Dquarkus.tls.key-store.p12.path="$OUT/tls/server.p12"
node "$TOKEN_PORT" token-node.log -Dqache.data.tokens="$TOKEN"
echo "preloading $KEYS keys with 100-byte values into both nodes"
for port in "$HTTP_PORT" "$TOKEN_PORT"; do
  taskset -c 1 "$JAVA_HOME/bin/java" -Dqache.bench.authorization="Bearer $TOKEN" -cp "$BENCH_JAR" \
    dev.qache.loadtests.http.Preload "http://127.0.0.1:$port" "$KEYS" 100
done
# Every case must answer 200, or its figure measures an error page.
curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/bench:1"
curl -fsS -o /dev/null --cacert "$OUT/tls/ca.pem" "https://127.0.0.1:$HTTPS_PORT/bench:1"
curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$TOKEN_PORT/bench:1"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TOKEN_PORT/bench:1")" = 401 ]

wrk_case() { # name url [header]
  local name=$1 url=$2 file="$OUT/$1-$round.txt"
  KEYS=$KEYS taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_CASE}s" --latency -s load-tests/bench/get.lua \
    ${3:+-H "$3"} "$url" >"$file"
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$file")
  p50=$(awk '$1 == "50%" { print $2 }' "$file")
  p99=$(awk '$1 == "99%" { print $2 }' "$file")
  errors=$(awk '/Non-2xx or 3xx responses/ { print $NF } /Socket errors/ { print }' "$file" | paste -sd' ')
  echo "$name $round $rps $p50 $p99 ${errors:-0}" | tee -a "$OUT/results.txt"
}
cases() {
  wrk_case http "http://127.0.0.1:$HTTP_PORT/"
  wrk_case https "https://127.0.0.1:$HTTPS_PORT/"
  wrk_case data-token "http://127.0.0.1:$TOKEN_PORT/" "Authorization: Bearer $TOKEN"
}
echo "warm-up"
round=warmup
cases >/dev/null
: >"$OUT/results.txt"
echo "case round requests/s p50 p99 errors"
for round in $(seq "$ROUNDS"); do cases; done

echo
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ms() { sed 's/ms$//;s/us$/e-3/;s/s$/e3/'; }
echo "medians over $ROUNDS rounds:"
for name in http https data-token; do
  printf '%-10s %10.0f req/s   p50 %6.3f ms   p99 %6.3f ms\n' "$name" \
    "$(awk -v n="$name" '$1 == n { print $3 }' "$OUT/results.txt" | median)" \
    "$(awk -v n="$name" '$1 == n { print $4 }' "$OUT/results.txt" | ms | median)" \
    "$(awk -v n="$name" '$1 == n { print $5 }' "$OUT/results.txt" | ms | median)"
done
ratio() {
  join <(awk -v n="$1" '$1 == n { print $2, $3 }' "$OUT/results.txt" | sort) \
       <(awk -v n="$2" '$1 == n { print $2, $3 }' "$OUT/results.txt" | sort) | awk '{ print $2 / $3 }' | median
}
printf 'throughput ratio, median of the per-round ratios: https/http %.2f, data-token/http %.2f\n' \
  "$(ratio https http)" "$(ratio data-token http)"
