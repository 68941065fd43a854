#!/usr/bin/env bash
# Black-box probe of a running `./qache up` cluster (issue 13): every admin endpoint of the router
# and every internal endpoint of the router and of each node, under many spellings of its path,
# without a token and with wrong ones. A finding is an answer to an unauthorised call that is a
# success, or that is the very answer the endpoint gives the authorised call (it was reached).
# Writes change nothing: they name a shard that does not exist or carry a body that is refused.
#
#   load-tests/security/probe.sh            exit 0 when nothing was found, 1 otherwise
set -uo pipefail
cd "$(dirname "$0")/../.."
STATE=.qache
[ -s "$STATE/router.port" ] || { echo "no cluster: start one with ./qache up" >&2; exit 2; }
router="http://127.0.0.1:$(cat $STATE/router.port)"
admin=$(head -n1 $STATE/admin-token | cut -d, -f1)
cluster=$(head -n1 $STATE/cluster-token | cut -d, -f1)
nodes=()
for f in $STATE/node-*.port; do nodes+=("http://127.0.0.1:$(cat "$f")"); done

# spellings PATH: the path in every spelling the Java table tests use (PathSpelling).
spellings() {
  local p=$1 first rest c
  first=${p%%/"${p#/*/}"}; rest=/${p#/*/}
  c=${p:1:1}
  printf '%s\n' "$p" "/$p" "$first/$rest" "$p/" "/.$p" "/x/..$p" "$first/.$rest" "/x/%2E%2E$p" \
    "/$(printf '%%%02X' "'$c")${p:2}" "/$(printf '%%%02x' "'$c")${p:2}" \
    "${p%?}$(printf '%%%02X' "'${p: -1}")" "${first^^}$rest" "$first;x=1$rest" "$p;x=1" \
    "$first%2F${rest:1}" "$first%2f${rest:1}" "$p?x=1" "$first//$rest"
}

findings=0 probes=0
# probe BASE METHOD PATH BODY GOOD_TOKEN
probe() {
  local base=$1 method=$2 path=$3 body=$4 good=$5 spelled auth reference answer args
  args=(-s --path-as-is -X "$method" -o - -w '\n%{http_code}')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
  reference=$(curl "${args[@]}" -H "Authorization: Bearer $good" "$base$path")
  while IFS= read -r spelled; do
    for auth in "" "Bearer wrong-token" "Bearer ${good}x" "Basic $good" "Bearer $([ "$good" = "$admin" ] && echo "$cluster" || echo "$admin")"; do
      probes=$((probes + 1))
      if [ -n "$auth" ]; then
        answer=$(curl "${args[@]}" -H "Authorization: $auth" "$base$spelled")
      else
        answer=$(curl "${args[@]}" "$base$spelled")
      fi
      case "${answer##*$'\n'}" in
        401) continue ;;
        2??) ;;
        *) [ "$answer" = "$reference" ] || continue ;;
      esac
      findings=$((findings + 1))
      echo "FOUND: $method $base$spelled (Authorization: ${auth:-none}) answered ${answer##*$'\n'}"
    done
  done < <(spellings "$path")
}

for endpoint in "GET /admin/cluster" "GET /admin/migrations" "POST /admin/shards {\"primary\":\"bad\"}" \
    "POST /admin/shards/zz/replicas {\"address\":\"127.0.0.1:9\"}" "POST /admin/shards/zz/promote" \
    "DELETE /admin/shards/zz"; do
  read -r method path body <<<"$endpoint"
  probe "$router" "$method" "$path" "${body:-}" "$admin"
done
for base in "${nodes[@]}"; do
  for endpoint in "GET /_internal/status" "PUT /_internal/cluster-map?self=x:1 {\"epoch\":0}" \
      "GET /_internal/replication" "GET /_internal/slots/5" "POST /_internal/slots/5/import?from=127.0.0.1:1"; do
    read -r method path body <<<"$endpoint"
    probe "$base" "$method" "$path" "${body:-}" "$cluster"
  done
done
echo "$probes unauthorised calls to $(( ${#nodes[@]} + 1 )) processes: $findings findings"
[ "$findings" -eq 0 ]
