#!/usr/bin/env bash
# One load measurement: starts a vcguard-server (SQLite in a fresh data
# directory, or PostgreSQL with DB=postgres://…), runs vcguard-loadgen
# against it and prints the generator's JSON report with the load average
# before and after. See docs/load.md for the fields.
#
#   scripts/loadrun.sh [loadgen flags…]            e.g. --agents 5000 --duration 30s --publish
#
# Environment:
#   SERVER   the vcguard-server binary (default: built from this tree into $WORK/bin)
#   LOADGEN  the vcguard-loadgen binary (default: built likewise)
#   DB       --db of the server (default sqlite)
#   DATA     the server's data directory (default $WORK/data; reused when it exists, so a
#            second run reuses the enrolled devices cached there)
#   WORK     scratch directory (default /tmp/vcguard-load)
#   SERVER_FLAGS  extra server flags
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/vcguard-load}
DATA=${DATA:-$WORK/data}
mkdir -p "$WORK/bin" "$DATA"
if [[ -z ${SERVER:-} || -z ${LOADGEN:-} ]]; then
  (cd "$here" && CGO_ENABLED=0 go build -o "$WORK/bin/" ./server/cmd/vcguard-server ./server/cmd/vcguard-loadgen)
fi
SERVER=${SERVER:-$WORK/bin/vcguard-server}
LOADGEN=${LOADGEN:-$WORK/bin/vcguard-loadgen}

# Every connection holds a descriptor in each process.
ulimit -n "$(ulimit -Hn)"

# Port 0: the OS picks free ports; the server logs the addresses it bound.
# shellcheck disable=SC2086
"$SERVER" --data "$DATA" --db "${DB:-sqlite}" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --log-format json \
  --enroll-rate-per-addr 100000/100000 --enroll-rate-per-secret 100000/100000 ${SERVER_FLAGS:-} \
  >"$WORK/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
grpc="" http=""
for _ in $(seq 200); do
  started=$(grep -o '"msg":"vcguard-server started".*' "$WORK/server.log" 2>/dev/null || true)
  grpc=$(grep -o '"grpc":"[^"]*"' <<<"$started" | cut -d'"' -f4 || true)
  http=$(grep -o '"dashboard":"https://[^/"]*' <<<"$started" | cut -d/ -f3 || true)
  [[ -n $grpc && -n $http && -s $DATA/admin-token ]] && curl -fsk "https://$http/healthz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { tail -20 "$WORK/server.log"; exit 1; }
  sleep 0.1
done
before=$(cut -d' ' -f1-3 /proc/loadavg)
out=$("$LOADGEN" --server "$grpc" --http "$http" --data "$DATA" --server-pid "$server" --json "$@")
after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$out" "$before" "$after" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
r["loadavg_before"], r["loadavg_after"] = sys.argv[2], sys.argv[3]
print(json.dumps(r))
EOF
