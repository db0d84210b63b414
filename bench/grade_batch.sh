#!/usr/bin/env bash
# Measures batch grading with -j 1 and -j 2 on a class of 8 student-style submissions of lab 2, and prints the
# ratio. Run from the repository after `make`: bash bench/grade_batch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
class=$(mktemp -d)
trap 'rm -rf "$class"' EXIT
for i in $(seq 1 8); do
  mkdir -p "$class/submissions/student$i"
  cp tests/mutants/fork_server.c tests/mutants/echo_server.c "$class/submissions/student$i/"
done
for jobs in 1 2; do
  start=$(date +%s.%N)
  build/bin/socklab grade --lab 2 --batch "$class/submissions" -j "$jobs" --out-dir "$class/grades-$jobs" > /dev/null
  end=$(date +%s.%N)
  seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  echo "-j $jobs: $seconds s"
  eval "t$jobs=$seconds"
done
echo "speed-up of -j 2 over -j 1: $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", a / b }')x"
