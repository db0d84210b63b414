#!/usr/bin/env bash
# Installs the Debian packages socklab needs, if any are missing, and says what it does.
# Run by `make` before configuring; safe to run again (does nothing when all are present).
set -euo pipefail

# Each package earns its place:
#   g++, cmake, make      the toolchain (CMake >= 3.25: Debian 12 has 3.25)
#   libgtest-dev          GoogleTest, for `make test`
#   iproute2              `ss`, which the handouts use to show socket states (and the harness's benchmark)
#   libboost1.81-dev      Boost.Process v2 + Asio for the harness (1.81 only: it conflicts with 1.74's libboost-dev)
#   libpugixml-dev        the XML experiment files
#   libcli11-dev          socklab's command line
#   nlohmann-json3-dev    the JSON report
#   libbenchmark-dev      the snapshot-cost benchmark
#   tcpdump               reads back the .pcap files socklab writes (a test does; students can too)
#   bubblewrap            the sandbox of `socklab grade` (Flatpak's): namespaces, read-only binds, no terminal
#   python3               runs Python hand-ins (and their syntax check at build time)
#   clang, libbpf-dev     the timelines' exact source: a small BPF program on the tracepoint sock:inet_sock_set_state,
#   pkg-config            compiled by clang for the kernel's BPF machine and loaded with libbpf (the kernel's own
#                         loader); recording every state change of a connect/close workload costs it ~4 % instead
#                         of a tracefs instance's 6-8 % (timeline_bench), and nothing of it outlives socklab
#                         (pkg-config finds libbpf)
#   munge, slurm-wlm      a real single-node Slurm for the test of grading/slurm/grade_array.sbatch (slurm_test.sh
#                         starts munged, slurmctld and slurmd with a slurm.conf of its own and takes them down).
#                         Under systemd Debian also starts its own munged (a local credential daemon); its slurmctld
#                         and slurmd stay down, there being no /etc/slurm/slurm.conf
#   sockperf, iperf3      outside yardsticks for lab 7's echo_bench in `make bench` (bench/echo_anchors.sh): sockperf's
#                         ping-pong round trip and iperf3's one-stream throughput over loopback, measured in the same run
#   nftables              `nft`, for an experiment's <link loss="..."/>: a rule in the experiment's own network
#                         namespace drops that share of its packets (`numgen random`), where the kernel has no netem
#                         qdisc (this one has none); iproute2's `tc` sets the rate (tbf) and, with netem, delay
packages=(g++ cmake make libgtest-dev iproute2 libboost1.81-dev libpugixml-dev libcli11-dev nlohmann-json3-dev
  libbenchmark-dev tcpdump bubblewrap python3 clang libbpf-dev pkg-config munge slurm-wlm sockperf iperf3 nftables)

missing=()
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "socklab: not a Debian system (no dpkg-query); make sure these are installed: ${packages[*]}" >&2
  exit 0
fi
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != "installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "socklab: missing Debian packages: ${missing[*]}" >&2
  echo "socklab: not root and no sudo; install them with: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "socklab: installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
  echo "socklab: apt-get install failed; refreshing the package lists (apt-get update) and trying again"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi
