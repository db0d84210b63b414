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
  echo "-j $jobs: $(echo "$end - $start" | bc) s"
  eval "t$jobs=$(echo "$end - $start" | bc)"
done
echo "speed-up -j 2 over -j 1: $(echo "scale=2; $t1 / $t2" | bc)x"
