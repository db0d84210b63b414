#!/bin/bash
# Runs after every other test (CTest fixture cleanup "suite"): fails if the suite left anything behind that
# outlives it — the harness promises to leave nothing, on success, failure, timeout or Ctrl-C.
#   - a process running a program from this build tree or from a grading work directory;
#   - a tracefs instance (socklab-PIDNS-PID-N) whose socklab has ended: its ring buffer is kernel memory held until reboot;
#   - a grading directory (/run/socklab/grade-*, /tmp/socklab-UID/grade-*) made during this run;
#   - a grading cgroup (socklab-PID-*) whose socklab has ended;
#   - a process running as a sandbox uid (64000-65533).
# Usage: leftovers.sh BUILD_DIR STAMP   (STAMP: a file created when the suite started)
build=$(realpath "$1")
stamp=$2
pidns=$(stat -L -c %i /proc/self/ns/pid)

check() {
  local found=0 proc exe tracefs instance pid dir
  for proc in /proc/[0-9]*; do
    exe=$(readlink "$proc/exe" 2>/dev/null) || continue
    case $exe in
      "$build"/* | /run/socklab/grade-* | /tmp/socklab-*/grade-*)
        echo "left running: pid ${proc#/proc/} $exe ($(tr '\0' ' ' < "$proc/cmdline" 2>/dev/null))"
        found=1 ;;
    esac
  done
  for tracefs in /sys/kernel/tracing /sys/kernel/debug/tracing; do
    [ -d "$tracefs/instances" ] || continue
    for instance in "$tracefs"/instances/socklab-"$pidns"-*; do  # socklab-PIDNS-PID-N; other namespaces' are not ours
      [ -e "$instance" ] || continue
      pid=${instance##*/socklab-"$pidns"-}
      pid=${pid%%-*}
      if [ ! -d "/proc/$pid" ]; then
        echo "left behind: tracefs instance $instance (socklab pid $pid has ended; its ring buffer stays allocated)"
        found=1
      fi
    done
    break
  done
  for dir in /run/socklab/grade-* /tmp/socklab-*/grade-* "${XDG_RUNTIME_DIR:-/nonexistent}"/socklab-*/grade-*; do
    if [ -e "$dir" ] && [ "$dir" -nt "$stamp" ]; then
      echo "left behind: grading directory $dir"
      found=1
    fi
  done
  for dir in $(find /sys/fs/cgroup -maxdepth 6 -type d -name 'socklab-[0-9]*' 2>/dev/null); do
    pid=${dir##*/socklab-}
    pid=${pid%%-*}
    if [ ! -d "/proc/$pid" ]; then
      echo "left behind: cgroup $dir (socklab pid $pid has ended)"
      found=1
    fi
  done
  for proc in /proc/[0-9]*; do
    uid=$(awk '/^Uid:/ {print $2}' "$proc/status" 2>/dev/null) || continue
    if [ -n "$uid" ] && [ "$uid" -ge 64000 ] && [ "$uid" -le 65533 ] && ! grep -q '^State:.*Z' "$proc/status" 2>/dev/null; then
      echo "left running as sandbox uid $uid: pid ${proc#/proc/} ($(tr '\0' ' ' < "$proc/cmdline" 2>/dev/null))"
      found=1
    fi
  done
  return $found
}

# A process killed a moment ago may still be on its way out: look again, for up to 3 s, before calling it left.
for attempt in $(seq 15); do
  if check > "$stamp.found"; then
    echo "nothing left behind: no process, tracefs instance, grading directory or cgroup"
    exit 0
  fi
  sleep 0.2
done
cat "$stamp.found"
exit 1
