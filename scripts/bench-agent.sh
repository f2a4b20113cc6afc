#!/usr/bin/env bash
# Measures the real vcguard-agent idle on a machine with PROCS processes:
# resident memory and CPU time averaged over SECONDS. Starts its own server
# on a temporary data directory, enrolls the agent, tops the process table
# up to PROCS with sleeping processes, waits for the agent to settle, then
# samples /proc/PID/stat and /proc/PID/status. Used by `make bench-agent`.
#
# Goals (issue 3): under 20 MiB RSS and under 0.2 % of one core.
set -euo pipefail

procs="${PROCS:-500}"
seconds="${SECONDS_MEASURED:-60}"
bin="$(cd "$(dirname "$0")/.." && pwd)/bin"
work="$(mktemp -d)"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  pkill -P $$ sleep 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Port 0: the OS picks free ports (a port chosen here could be taken by
# then, it once was in 2 of 5 runs); the server logs the addresses it bound.
"$bin/vcguard-server" --data "$work/server" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --log-format json 2>"$work/server.log" &
pids+=($!)
grpc_addr=""
for _ in $(seq 1 200); do
  grpc_addr=$(grep -o '"msg":"vcguard-server started".*"grpc":"[^"]*"' "$work/server.log" 2>/dev/null | grep -o '"grpc":"[^"]*"' | cut -d'"' -f4 || true)
  [[ -n $grpc_addr && -s "$work/server/ca.pem" && -s "$work/server/enroll-secret" ]] && break
  sleep 0.1
done
if [[ -z $grpc_addr ]]; then echo "the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; fi

"$bin/vcguard-agent" run --server "$grpc_addr" --enroll-secret-file "$work/server/enroll-secret" \
  --ca-file "$work/server/ca.pem" --state-dir "$work/agent" --log-format json \
  --policy-dir "$work/policy.d" --status-file "$work/status.json" --notify-socket "$work/notify/notify.sock" 2>"$work/agent.log" &
agent=$!
pids+=("$agent")

running=$(ls -d /proc/[0-9]* | wc -l)
for _ in $(seq "$running" $((procs - 1))); do
  sleep 3600 &
done
sleep 10 # enrollment, the first scan, the inventory sent

mode=$(grep -o '"mode":"[a-z]*"' "$work/agent.log" | head -1 | cut -d'"' -f4 || true)
if ! kill -0 "$agent" 2>/dev/null; then echo "the agent did not start:" >&2; cat "$work/agent.log" >&2; exit 1; fi
ticks() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$agent/status"; }
hz=$(getconf CLK_TCK)

t0=$(ticks)
max_rss=0
for _ in $(seq 1 "$seconds"); do
  sleep 1
  r=$(rss_kib)
  (( r > max_rss )) && max_rss=$r
done
t1=$(ticks)

awk -v t0="$t0" -v t1="$t1" -v hz="$hz" -v s="$seconds" -v rss="$(rss_kib)" -v max="$max_rss" \
  -v n="$(ls -d /proc/[0-9]* | wc -l)" -v mode="${mode:-unknown}" 'BEGIN {
  cpu = (t1 - t0) / hz / s * 100
  printf "vcguard-agent idle, %d processes, %d s, process source: %s\n", n, s, mode
  printf "  CPU: %.3f %% of one core (goal < 0.2 %%)\n", cpu
  printf "  RSS: %.1f MiB now, %.1f MiB at most (goal < 20 MiB)\n", rss / 1024, max / 1024
}'
