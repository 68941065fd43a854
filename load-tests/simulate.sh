#!/usr/bin/env bash
# Runs one Gatling simulation against the local cluster that `./qache up` started, optionally with a
# change in the middle, and leaves the HTML report under load-tests/target/gatling-<profile>/.
#
#   load-tests/simulate.sh steady|hot-key|write-heavy [--rate 1000] [--duration 60] [--keys 100000]
#                          [--event kill-primary|freeze-primary|add-shard] [--at 20]
#
# --event kill-primary   SIGKILL shard s1's primary --at seconds into the run (failover under load)
# --event freeze-primary SIGSTOP it instead (and SIGCONT it after the run)
# --event add-shard      ./qache spawn-node, then add it as a shard (rebalancing under load)
# Failed requests are counted, not fatal, when there is an event: a failover admits some.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. .ci/java-home.sh

profile=${1:-}; shift || true
case "$profile" in
  steady) class=SteadySimulation ;;
  hot-key) class=HotKeySimulation ;;
  write-heavy) class=WriteHeavySimulation ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
rate=1000 duration=60 keys=100000 event="" at=20 p99=50
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --event) event=$2; shift 2 ;;
    --at) at=$2; shift 2 ;;
    --p99) p99=$2; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
router_pid=$(cat .qache/router.pid 2>/dev/null || true)
[ -n "$router_pid" ] && kill -0 "$router_pid" 2>/dev/null || { echo "no local cluster: ./qache up first" >&2; exit 1; }
TOKEN=$(cat .qache/admin-token)
OUT="$ROOT/load-tests/target/gatling-$profile${event:+-$event}"
rm -rf "$OUT"; mkdir -p "$OUT"

[ -f load-tests/target/benchmarks.jar ] || ./mvnw -B -q -pl load-tests -am package -DskipTests -Dspotless.check.skip=true
echo "preloading $keys keys..."
"$JAVA_HOME/bin/java" -cp load-tests/target/benchmarks.jar dev.qache.loadtests.http.Preload \
  http://127.0.0.1:7000 "$keys" 100 - k >/dev/null

change() {
  sleep "$((at + 10))" # after the 10 s ramp
  case "$event" in
    kill-primary) kill -KILL "$(cat .qache/node-1.pid)"; echo "[event] SIGKILL shard s1's primary (node-1)" ;;
    freeze-primary) kill -STOP "$(cat .qache/node-1.pid)"; echo "[event] SIGSTOP shard s1's primary (node-1)" ;;
    add-shard)
      local address; address=$(./qache spawn-node | tail -1)
      curl -fsS -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d "{\"primary\":\"$address\"}" http://127.0.0.1:7000/admin/shards >/dev/null
      echo "[event] added $address as a shard" ;;
    *) echo "unknown event: $event" >&2 ;;
  esac
}
max_failed=0
if [ -n "$event" ]; then
  max_failed=1000000000 p99=60000 # measured, not held, while something changes
  change &
fi
rc=0
./mvnw -B -q -f load-tests/gatling/pom.xml gatling:test \
  -Dgatling.simulationClass="dev.qache.loadtests.gatling.$class" -Dqache.url=http://127.0.0.1:7000 \
  -Dqache.rate="$rate" -Dqache.duration="$duration" -Dqache.keys="$keys" -Dqache.p99="$p99" \
  -Dqache.max-failed="$max_failed" >"$OUT/gatling.txt" 2>&1 || rc=$?
wait
[ "$event" = freeze-primary ] && kill -CONT "$(cat .qache/node-1.pid)" || true
sed -n '/---- Global Information/,/^====/p' "$OUT/gatling.txt"
grep -E '^Global: ' "$OUT/gatling.txt" || true
mv load-tests/gatling/target/gatling/*/ "$OUT/" 2>/dev/null || true
echo "report: $(ls -d "$OUT"/*/ | head -1)index.html"
exit $rc
