#!/usr/bin/env bash
# Batch grading of a class of 8 student-style lab-1 submissions, with the sandbox and without it (--no-sandbox), at
# -j 1 and -j 4, in one run: what the sandbox costs a whole grading, and the speed-up of parallel gradings.
# Run from the repository after `make`: bash bench/grade_batch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
class=$(mktemp -d)
trap 'rm -rf "$class"' EXIT
for i in $(seq 1 8); do
  mkdir -p "$class/submissions/student$i"
  cp tests/mutants/echo_server.c tests/mutants/echo_client.c "$class/submissions/student$i/"
done
measure() {  # measure NAME JOBS [OPTIONS...]: seconds for the whole batch, into the variable NAME
  local name=$1 jobs=$2
  shift 2
  local start end
  start=$(date +%s.%N)
  build/bin/socklab grade --lab 1 --batch "$class/submissions" -j "$jobs" --out-dir "$class/grades-$name" "$@" > /dev/null
  end=$(date +%s.%N)
  printf -v "$name" '%s' "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')"
  if grep -L '"score": 100' "$class/grades-$name"/*.json | grep -q .; then
    echo "grade_batch: a submission did not score 100 ($name): see $class/grades-$name" >&2
    exit 1
  fi
}
for jobs in 1 4; do
  measure "plain$jobs" "$jobs" --no-sandbox
  measure "sandboxed$jobs" "$jobs"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "8 lab-1 submissions        -j 1       -j 4     speed-up"
echo "without the sandbox     ${plain1} s   ${plain4} s   $(ratio "$plain1" "$plain4")x"
echo "with the sandbox        ${sandboxed1} s   ${sandboxed4} s   $(ratio "$sandboxed1" "$sandboxed4")x"
echo "sandbox cost            $(ratio "$sandboxed1" "$plain1")x      $(ratio "$sandboxed4" "$plain4")x   (goal: at most 1.15x)"
