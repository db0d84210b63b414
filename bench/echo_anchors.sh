#!/usr/bin/env bash
# Lab 7's anchors, measured side by side in one run over loopback: is echo_bench a fair yardstick?
#
#   bench/echo_anchors.sh [BUILD_DIR]     (make bench runs it; ROUNDS=3 SECONDS_EACH=3 by default)
#
# Round trip (one connection, one message in flight, the median of each run, then the median of the rounds):
#   floor       pingpong ping  <-> pingpong serve   the least a program can do: send, recv, nothing else
#   sockperf    sockperf pp    <-> sockperf sr      Debian's latency tool against its own server (it reports half
#                                                   the round trip: doubled here)
#   echo_bench  echo_bench     <-> pingpong serve   our client, every byte checked, against the minimal server
#   ... and echo_bench against epoll_server and thread_server: what a real server adds.
# Each client against a minimal server of its own kind: sockperf's server does not reverse lines, and echo_bench
# checks the reversal, so neither can be pointed at the other's server. Messages are 14 bytes, sockperf's smallest.
# Throughput (one connection): iperf3 streams one way; echo_bench sends 1 MiB lines one at a time and the
# reply comes back the same way, so its bytes/s counts each byte once, like iperf3's.
set -euo pipefail

build=${1:-build}
bin=$build/bin
rounds=${ROUNDS:-3}
seconds=${SECONDS_EACH:-3}
for tool in sockperf iperf3 python3; do
  command -v "$tool" >/dev/null || { echo "echo_anchors: $tool not installed (make deps installs it)" >&2; exit 1; }
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
# Starts a server in the background and waits until its port accepts connections.
start() {
  local port=$1; shift
  "$@" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.1)" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "echo_anchors: $* did not start listening on $port" >&2; exit 1
}

p_floor=$(free_port); start "$p_floor" "$bin/pingpong" serve "$p_floor"
p_sock=$(free_port); start "$p_sock" sockperf sr --tcp -i 127.0.0.1 -p "$p_sock"
p_epoll=$(free_port); start "$p_epoll" "$bin/epoll_server" "$p_epoll"
p_thread=$(free_port); start "$p_thread" "$bin/thread_server" "$p_thread"

field() { awk -v k="$1" '$1 == k { print $2; exit }'; }  # "p50 18.4 µs" -> 18.4
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A runs
add() { runs[$1]+="$2"$'\n'; }

for round in $(seq "$rounds"); do
  echo "round $round of $rounds ..." >&2
  add floor "$("$bin/pingpong" ping "$p_floor" 14 "$seconds" | field p50)"
  add bench_min "$("$bin/echo_bench" -p "$p_floor" --size 14 --duration "$seconds" | field p50)"
  # sockperf prints half the round trip ("percentile 50.000 = 7.581"): twice that is the round trip.
  half=$(sockperf pp --tcp -i 127.0.0.1 -p "$p_sock" -m 14 -t "$seconds" 2>&1 | awk '/percentile 50.000/ { print $NF }')
  add sockperf "$(awk -v h="$half" 'BEGIN { printf "%.1f", 2 * h }')"
  add bench_epoll "$("$bin/echo_bench" -p "$p_epoll" --size 14 --duration "$seconds" | field p50)"
  add bench_thread "$("$bin/echo_bench" -p "$p_thread" --size 14 --duration "$seconds" | field p50)"
  ip=$(free_port); iperf3 -s -1 -p "$ip" >/dev/null 2>&1 & ipid=$!
  sleep 0.3
  add iperf3 "$(iperf3 -c 127.0.0.1 -p "$ip" -t "$seconds" -J |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8)')"
  wait "$ipid" || true
  add bytes_min "$("$bin/echo_bench" -p "$p_floor" --size 1048576 --duration "$seconds" | field bytes/s)"
  add bytes_epoll "$("$bin/echo_bench" -p "$p_epoll" --size 1048576 --duration "$seconds" | field bytes/s)"
  out=$("$bin/echo_bench" -p "$p_epoll" --clients 64 --size 1000 --duration "$seconds")
  add many_rate "$(field messages/s <<<"$out")"
  add many_cpu "$(awk '$1 == "cpu" && $2 == "share" { print $3 }' <<<"$out")"
done

m() { printf '%s' "${runs[$1]}" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "lab 7 anchors: loopback, one connection, 14-byte messages, median of $rounds rounds of $seconds s ($(nproc) CPUs)"
printf '  %-42s %10s µs\n' "floor: pingpong <-> pingpong serve" "$(m floor)"
printf '  %-42s %10s µs\n' "sockperf pp <-> sockperf sr (2 x half RTT)" "$(m sockperf)"
printf '  %-42s %10s µs   %s x sockperf, %s x floor\n' "echo_bench <-> pingpong serve" "$(m bench_min)" \
  "$(ratio "$(m bench_min)" "$(m sockperf)")" "$(ratio "$(m bench_min)" "$(m floor)")"
printf '  %-42s %10s µs\n' "echo_bench <-> epoll_server" "$(m bench_epoll)"
printf '  %-42s %10s µs\n' "echo_bench <-> thread_server" "$(m bench_thread)"
echo "throughput, one connection (bytes/s, each byte counted once):"
printf '  %-42s %10.0f MB/s\n' "iperf3 (one stream)" "$(awk -v b="$(m iperf3)" 'BEGIN { print b / 1e6 }')"
printf '  %-42s %10.0f MB/s   %s x iperf3\n' "echo_bench 1 MiB lines <-> pingpong serve" \
  "$(awk -v b="$(m bytes_min)" 'BEGIN { print b / 1e6 }')" "$(ratio "$(m bytes_min)" "$(m iperf3)")"
printf '  %-42s %10.0f MB/s   %s x iperf3\n' "echo_bench 1 MiB lines <-> epoll_server" \
  "$(awk -v b="$(m bytes_epoll)" 'BEGIN { print b / 1e6 }')" "$(ratio "$(m bytes_epoll)" "$(m iperf3)")"
echo "64 clients, 1000-byte messages <-> epoll_server:"
printf '  %-42s %10s msg/s, echo_bench used %s %% of one CPU\n' "echo_bench --clients 64" "$(m many_rate)" "$(m many_cpu)"
