#!/usr/bin/env bash
# Batch grading of a class of student-style lab-1 submissions (correct ones: each scores 100) with the sandbox and
# without it (--no-sandbox), at several -j, in one run: what the sandbox costs a whole grading, the speed-up of
# parallel gradings, and the rate (submissions per minute) a machine grades at.
# Run from the repository after `make`:
#   bash bench/grade_batch.sh                                  # 8 submissions, -j 1 and 4, sandbox and not
#   bash bench/grade_batch.sh --count 200 --jobs "1 2 4" --sandbox-only
set -euo pipefail
cd "$(dirname "$0")/.."
count=8
jobs_list="1 4"
compare=1
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count=$2; shift 2 ;;
    --jobs) jobs_list=$2; shift 2 ;;
    --sandbox-only) compare=0; shift ;;
    *) echo "usage: bash bench/grade_batch.sh [--count N] [--jobs \"1 2 4\"] [--sandbox-only]" >&2
       echo "example: bash bench/grade_batch.sh --count 200 --jobs \"1 2 4\" --sandbox-only" >&2
       exit 2 ;;
  esac
done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)  # other work on the machine slows every grading: say how much there was
class=$(mktemp -d)
trap 'rm -rf "$class"' EXIT
for i in $(seq 1 "$count"); do
  mkdir -p "$class/submissions/student$i"
  cp tests/mutants/echo_server.c tests/mutants/echo_client.c "$class/submissions/student$i/"
done
declare -A seconds
measure() {  # measure NAME JOBS [OPTIONS...]: seconds for the whole batch, into seconds[NAME]
  local name=$1 jobs=$2
  shift 2
  local start end
  start=$(date +%s.%N)
  build/bin/socklab grade --lab 1 --batch "$class/submissions" -j "$jobs" --out-dir "$class/grades-$name" "$@" > /dev/null
  end=$(date +%s.%N)
  seconds[$name]=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  if grep -L '"score": 100' "$class/grades-$name"/*.json | grep -q .; then
    echo "grade_batch: a submission did not score 100 ($name): see $class/grades-$name" >&2
    trap - EXIT
    exit 1
  fi
}
for jobs in $jobs_list; do
  [ "$compare" -eq 1 ] && measure "plain$jobs" "$jobs" --no-sandbox
  measure "sandboxed$jobs" "$jobs"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
per_minute() { awk -v n="$count" -v s="$1" 'BEGIN { printf "%.1f", 60 * n / s }'; }
echo "$count lab-1 submissions on $(nproc) cores (load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg))"
first=${jobs_list%% *}
printf '%-6s %12s %16s %10s' "-j" "sandboxed" "per minute" "speed-up"
[ "$compare" -eq 1 ] && printf ' %12s %14s' "no sandbox" "sandbox cost"
echo
for jobs in $jobs_list; do
  s=${seconds[sandboxed$jobs]}
  printf '%-6s %10s s %16s %9sx' "$jobs" "$s" "$(per_minute "$s")" "$(ratio "${seconds[sandboxed$first]}" "$s")"
  [ "$compare" -eq 1 ] && printf ' %10s s %13sx' "${seconds[plain$jobs]}" "$(ratio "$s" "${seconds[plain$jobs]}")"
  echo
done
[ "$compare" -eq 1 ] && echo "(sandbox cost goal: at most 1.15x)"
exit 0
