#!/usr/bin/env bash
# A picture of the Grafana dashboard over a local cluster under load, where no Grafana runs:
# `./qache up` (2 shards with a replica each, in a state directory of its own), Prometheus
# (Debian's `prometheus`) scraping every process each 2 s, wrk sending reads and writes for
# three minutes with a `./qache rolling-restart` in the middle (hand-offs, full syncs, lag), then
# headless chromium shooting monitoring/render/index.html, which draws qache.json's panels from
# Prometheus' query API. Writes docs/dashboard.png. Needs prometheus, wrk and chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in prometheus wrk chromium; do
  command -v "$tool" >/dev/null || { echo "screenshot: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
work=$(mktemp -d)
export QACHE_STATE="$work/qache"
prom=""
cleanup() {
  if [ -n "$prom" ]; then kill "$prom" 2>/dev/null || true; fi
  ./qache down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

./qache up --shards 2 --replicas 1 >/dev/null
mkdir -p "$work/assets"
cp monitoring/render/index.html monitoring/grafana/qache.json "$work/assets/"
cat >"$work/prometheus.yml" <<YML
global: {scrape_interval: 2s}
scrape_configs:
  - job_name: qache
    metrics_path: /q/metrics
    static_configs:
      - targets: ['127.0.0.1:7000', '127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003', '127.0.0.1:7004']
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address=127.0.0.1:9090 --web.user-assets="$work/assets" >"$work/prometheus.log" 2>&1 &
prom=$!

# Reads and writes of 2,000 keys, about four reads to one write (the first reads of a key miss).
cat >"$work/mix.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local key = "k" .. math.random(1, 2000)
  if n % 4 == 0 and math.random(1, 5) > 1 then
    return wrk.format("POST", "/" .. key, { ["Content-Type"] = "application/json" }, '{"value":"v' .. n .. '"}')
  end
  return wrk.format("GET", "/" .. key)
end
LUA
wrk -t1 -c8 -d180s -s "$work/mix.lua" http://127.0.0.1:7000 >"$work/wrk.txt" 2>&1 &
load=$!
sleep 60 # a minute of steady load before the restarts
./qache rolling-restart
wait "$load"
cat "$work/wrk.txt"

chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking \
  --no-first-run --user-data-dir="$work/chromium" --hide-scrollbars --window-size=1600,2200 \
  --virtual-time-budget=20000 --screenshot="$PWD/docs/dashboard.png" \
  "http://127.0.0.1:9090/user/index.html?minutes=4" 2>/dev/null
echo "docs/dashboard.png"
