#!/usr/bin/env bash
# Starts vcguard-server on embedded SQLite in DATA (default ./vcguard-data)
# and a local, unprivileged vcguard-agent enrolled to it, in the foreground.
# Ctrl-C stops both. Used by `make run`.
set -euo pipefail

data="${1:-./vcguard-data}"
grpc_addr="${VCGUARD_GRPC_ADDR:-127.0.0.1:8443}"
http_addr="${VCGUARD_HTTP_ADDR:-127.0.0.1:8080}"
bin="$(cd "$(dirname "$0")/.." && pwd)/bin"
mkdir -p "$data"
data="$(cd "$data" && pwd)"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$bin/vcguard-server" --data "$data" --grpc-addr "$grpc_addr" --http-addr "$http_addr" 2> >(sed -u 's/^/[server] /' >&2) &
pids+=($!)

for _ in $(seq 1 100); do
  [[ -s "$data/admin-token" && -s "$data/ca.pem" ]] && curl -fsS --cacert "$data/ca.pem" "https://$http_addr/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
if ! curl -fsS --cacert "$data/ca.pem" "https://$http_addr/healthz" >/dev/null 2>&1; then
  echo "vcguard-server did not come up on $http_addr; see the [server] lines above" >&2
  exit 1
fi

"$bin/vcguard-agent" run --server "$grpc_addr" --enroll-secret-file "$data/enroll-secret" \
  --ca-file "$data/ca.pem" --state-dir "$data/agent" --scan-interval 2s \
  --policy-dir "$data/agent-policy.d" --status-file "$data/agent-status.json" \
  --notify-socket "$data/notify/notify.sock" 2> >(sed -u 's/^/[agent]  /' >&2) &
pids+=($!)
# This agent's own status: without these flags `vcguard-agent status` reads
# the installed agent's (/var/lib/vcguard, /run/vcguard/status.json).
status_cmd="$(printf '%q ' "$bin/vcguard-agent" status --state-dir "$data/agent" --status-file "$data/agent-status.json")"
status_cmd="${status_cmd% }"

cat <<MSG

  vcguard is running.
  Dashboard:  https://$http_addr/
  Log in as the first administrator: user name, password and the TOTP secret
  (enrol its otpauth:// URL in an authenticator app; two-factor login is mandatory)
  are in $data/initial-admin.txt (created on the first start, owner-only).
  The certificate is issued by vcguard's own CA ($data/ca.pem): trust it, or accept the browser warning.
  This agent: $status_cmd
  JSON API:   curl --cacert $data/ca.pem -H "Authorization: Bearer \$(cat $data/admin-token)" https://$http_addr/api/v1/devices

  Press Ctrl-C to stop.

MSG
wait -n
