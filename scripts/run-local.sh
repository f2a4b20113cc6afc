#!/usr/bin/env bash
# Starts vcguard-server on embedded SQLite in DATA (default ./vcguard-data)
# and a local, unprivileged vcguard-agent enrolled to it, in the foreground.
# Ctrl-C stops both. Used by `make run`.
set -euo pipefail

data="${1:-./vcguard-data}"
grpc_addr="${VCGUARD_GRPC_ADDR:-127.0.0.1:8443}"
http_addr="${VCGUARD_HTTP_ADDR:-127.0.0.1:8080}"
bin="${VCGUARD_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}"
mkdir -p "$data"
data="$(cd "$data" && pwd)"

ctl_cmd="$(printf '%q ' "$bin/vcguardctl" --server "https://$http_addr" --cacert "$data/ca.pem" --token-file "$data/admin-token")devices"
# This agent's own status: without these flags `vcguard-agent status` reads
# the installed agent's (/var/lib/vcguard, /run/vcguard/status.json).
status_cmd="$(printf '%q ' "$bin/vcguard-agent" status --state-dir "$data/agent" --status-file "$data/agent-status.json")"
status_cmd="${status_cmd% }"
notifier_cmd="$(printf '%q ' "$bin/vcguard-agent" notifier --socket "$data/notify/notify.sock")"
notifier_cmd="${notifier_cmd% }"

# listening HOST:PORT: is something accepting connections there?
listening() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# alive PIDFILE NAME: the pid in PIDFILE runs a process named NAME.
alive() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [[ -n $pid ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]]
}

commands() {
  cat <<MSG
  Dashboard:  https://$http_addr/
  Log in as the first administrator: user name, password and the TOTP secret
  (enrol its otpauth:// URL in an authenticator app; two-factor login is mandatory)
  are in $data/initial-admin.txt (created on the first start, owner-only).
  The certificate is issued by vcguard's own CA ($data/ca.pem): trust it, or accept the browser warning.
  This agent's status:   $status_cmd
  Its notices on this desktop (run in your own session): $notifier_cmd
  Command line:          $ctl_cmd
  JSON API:   curl --cacert $data/ca.pem -H "Authorization: Bearer \$(cat $data/admin-token)" https://$http_addr/api/v1/devices
MSG
}

# A second `make run`: the instance already running from this data
# directory is reused, not started twice on one database and state
# directory; a port taken by anything else is named.
if alive "$data/server.pid" vcguard-server; then
  echo
  echo "  vcguard is already running from $data (server pid $(cat "$data/server.pid")$(alive "$data/agent.pid" vcguard-agent && echo ", agent pid $(cat "$data/agent.pid")"))."
  echo "  Nothing was started. Stop it with Ctrl-C in its terminal, or: kill $(cat "$data/server.pid")$(alive "$data/agent.pid" vcguard-agent && echo " $(cat "$data/agent.pid")")"
  echo
  commands
  echo
  exit 0
fi
for addr in "$http_addr" "$grpc_addr"; do
  if listening "$addr"; then
    echo "vcguard-server cannot start: $addr is taken by another program (or a vcguard from another data directory)." >&2
    echo "Stop it, or choose other addresses: make run VCGUARD_HTTP_ADDR=127.0.0.1:18080 VCGUARD_GRPC_ADDR=127.0.0.1:18443" >&2
    exit 1
  fi
done

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$data/server.pid" "$data/agent.pid"
}
trap cleanup EXIT INT TERM

"$bin/vcguard-server" --data "$data" --grpc-addr "$grpc_addr" --http-addr "$http_addr" 2> >(sed -u 's/^/[server] /' >&2) &
server=$!
pids+=("$server")
echo "$server" > "$data/server.pid"

for _ in $(seq 1 100); do
  kill -0 "$server" 2>/dev/null || break
  [[ -s "$data/admin-token" && -s "$data/ca.pem" ]] && curl -fsS --cacert "$data/ca.pem" "https://$http_addr/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
# The answer must come from the server started here (it is still running).
if ! kill -0 "$server" 2>/dev/null || ! curl -fsS --cacert "$data/ca.pem" "https://$http_addr/healthz" >/dev/null 2>&1; then
  echo "vcguard-server did not come up on $http_addr; see the [server] lines above" >&2
  exit 1
fi

"$bin/vcguard-agent" run --server "$grpc_addr" --enroll-secret-file "$data/enroll-secret" \
  --ca-file "$data/ca.pem" --state-dir "$data/agent" --scan-interval 2s \
  --policy-dir "$data/agent-policy.d" --status-file "$data/agent-status.json" \
  --notify-socket "$data/notify/notify.sock" 2> >(sed -u 's/^/[agent]  /' >&2) &
pids+=($!)
echo "$!" > "$data/agent.pid"

echo
echo "  vcguard is running."
commands
echo
echo "  Press Ctrl-C to stop."
echo
wait -n
