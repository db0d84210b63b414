#!/usr/bin/env bash
# grading/slurm/grade_array.sbatch on a real Slurm: a single-node cluster from Debian's packages (munge, slurm-wlm)
# brought up here, in a temporary directory, with a generated slurm.conf (this host as the node, one partition; no
# cgroup plugins: proctrack/linuxproc, task/none, as this machine's cgroups are a v1 hybrid). A class of three —
# correct, does not compile, hostile (kill(-1, SIGKILL) and a daemon, from the server's first instruction) — is
# graded as an array job, waited for with a deadline, merged with `socklab gradebook`, and the cluster is taken down:
# every daemon ended by its pid, every file removed. Skipped (exit 77) where it cannot run: not root, no packages.
#
#   bash tests/grading/slurm_test.sh [BUILD_BIN_DIR]
set -uo pipefail
SOURCE="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$(cd "${1:-$SOURCE/build/bin}" && pwd)"
skip() { echo "slurm_test: SKIPPED: $*"; exit 77; }
fail() {  # the reason, then what the tasks and daemons said (the directory goes with the teardown)
  echo "slurm_test: FAILED: $*" >&2
  for f in "${dir:-/nonexistent}"/socklab-grade-*.log "${dir:-/nonexistent}"/grades/*.txt "${dir:-/nonexistent}"/slurm*.log; do
    [ -f "$f" ] && { echo "--- $f (end)"; tail -n 15 "$f"; } >&2
  done
  exit 1
}
[ "$(id -u)" -eq 0 ] || skip "starting munged, slurmctld and slurmd needs root"
for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol; do
  command -v "$tool" >/dev/null || skip "$tool is missing: apt-get install munge slurm-wlm (scripts/install-deps.sh installs them)"
done
[ -x "$BIN/socklab" ] || fail "no socklab in $BIN: build first (make)"

dir="$(mktemp -d /tmp/socklab-slurm.XXXXXX)"
chmod 711 "$dir"  # munged wants its socket's directory searchable by everyone
export SLURM_CONF="$dir/slurm.conf"

# Polls `condition` every 0.2 s until it holds or `seconds` have passed: false then.
wait_for() {  # wait_for SECONDS CONDITION...
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
pid_of() { cat "$1" 2>/dev/null; }  # a daemon removes its pid file as it ends
alive() { local pid; pid=$(pid_of "$1") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
queue_empty() { [ -z "$(squeue -h 2>/dev/null)" ] && squeue >/dev/null 2>&1; }

# The cluster down however the test ends: jobs cancelled, then each daemon by its pid (SIGTERM, SIGKILL after 10 s),
# then the files.
teardown() {
  if alive "$dir/slurmctld.pid"; then
    scancel --full --quiet --user=root 2>/dev/null
    wait_for 30 queue_empty || echo "slurm_test: jobs still queued at teardown" >&2
  fi
  for daemon in slurmd slurmctld munged; do
    local pid
    pid=$(pid_of "$dir/$daemon.pid") || continue
    kill -TERM "$pid" 2>/dev/null || continue
    gone() { ! kill -0 "$pid" 2>/dev/null; }
    wait_for 10 gone || kill -KILL "$pid" 2>/dev/null
  done
  cd /
  rm -rf "$dir"
}
trap teardown EXIT
# A signal (ctest's timeout, Ctrl-C) must take the cluster down too: bash runs the EXIT trap on exit, not when a signal
# ends it, so each one becomes an exit.
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# --- munge: the key, the daemon (as root: --force), its socket in our directory --------------------------------
mungekey --create --keyfile="$dir/munge.key" || fail "mungekey"
chmod 400 "$dir/munge.key"
munged --force --socket="$dir/munge.sock" --key-file="$dir/munge.key" --log-file="$dir/munged.log" \
  --pid-file="$dir/munged.pid" --seed-file="$dir/munged.seed" || fail "munged did not start: $(tail -n 3 "$dir/munged.log")"

# --- slurm.conf: this host as the only node, ports that are free now ---------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
node="$(hostname -s)"
mkdir -p "$dir/state" "$dir/spool" "$dir/class" "$dir/grades"
cat > "$SLURM_CONF" <<EOF
ClusterName=socklab-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# no cgroup plugins: this machine's cgroups are a v1 hybrid (socklab makes its own groups for the gradings)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=4096 State=UNKNOWN
PartitionName=grading Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -i || fail "slurmctld did not start: $(tail -n 5 "$dir/slurmctld.log")"
slurmd || fail "slurmd did not start: $(tail -n 5 "$dir/slurmd.log")"
node_idle() { sinfo -h -N -o "%T" 2>/dev/null | grep -qx idle; }
wait_for 30 node_idle || fail "the node never became idle: $(sinfo -N 2>&1); $(tail -n 5 "$dir/slurmd.log")"

# --- the class ---------------------------------------------------------------------------------------------------
server="$(cat "$SOURCE/tests/mutants/echo_server.c")"
client="$(cat "$SOURCE/tests/mutants/echo_client.c")"
mkdir -p "$dir/class/alice" "$dir/class/bob" "$dir/class/mallory"
printf '%s\n' "$server" > "$dir/class/alice/echo_server.c"
printf '%s\n' "$client" > "$dir/class/alice/echo_client.c"
printf 'int main(void) { return 0 }\n' > "$dir/class/bob/echo_server.c"
printf '%s\n' "$client" > "$dir/class/bob/echo_client.c"
# Unconfined and as root, kill(-1, SIGKILL) would end every process of the node — slurmd, slurmctld, munged — and
# the daemon would outlive the task: in socklab's sandbox they reach only the student's own processes.
cat > "$dir/class/mallory/echo_server.c" <<EOF
#include <signal.h>
#include <unistd.h>
__attribute__((constructor)) static void attack(void) {
  kill(-1, SIGKILL);
  if (fork() == 0) {
    setsid();
    execl("/bin/sleep", "sleep", "31415", (char *)0);
    _exit(0);
  }
}
$server
EOF
printf '%s\n' "$client" > "$dir/class/mallory/echo_client.c"

# --- the array job, as docs/grading.md says ------------------------------------------------------------------
cd "$dir"
n=$(find class -mindepth 1 -maxdepth 1 -type d | wc -l)
job=$(sbatch --parsable --array=0-$((n - 1)) --cpus-per-task=1 --mem=1G \
  --export=ALL,LAB=1,ROOT="$dir/class",OUT="$dir/grades",SOCKLAB="$BIN/socklab" \
  "$SOURCE/grading/slurm/grade_array.sbatch") || fail "sbatch refused the job"
echo "slurm_test: submitted array job $job ($n tasks)"
job_done() { [ -z "$(squeue -h -j "$job" 2>/dev/null)" ]; }
wait_for 240 job_done || fail "the array job did not finish in 240 s: $(squeue 2>&1)"

# Every task COMPLETED with exit 0 (slurmctld keeps finished jobs for MinJobAge, 300 s: no accounting needed).
states="$(scontrol -o show job "$job" | grep -o 'JobState=[A-Z_]* .*ExitCode=[0-9:]*' | sed 's/ .*ExitCode=/ /' | sort | uniq -c)"
echo "slurm_test: tasks: $states"
[ "$(scontrol -o show job "$job" | grep -c 'JobState=COMPLETED .*ExitCode=0:0')" -eq "$n" ] || fail "not every task completed: $states"
alive "$dir/slurmd.pid" && alive "$dir/slurmctld.pid" && alive "$dir/munged.pid" ||
  fail "a daemon of the cluster died during the grading"
if pgrep -f "sleep 31415" >/dev/null; then fail "the hostile submission's daemon outlived its task: $(pgrep -af 'sleep 31415')"; fi

# --- merge and check the scores ------------------------------------------------------------------------------
"$BIN/socklab" gradebook grades --csv grades/gradebook.csv || fail "socklab gradebook"
cat grades/gradebook.csv | cut -d, -f1-6
row() { grep "^$1," grades/gradebook.csv | cut -d, -f3,5; }
[ "$(row alice)" = "100,ok" ] || fail "alice: expected 100,ok, but was $(row alice)"
[ "$(row bob)" = "0,failed" ] || fail "bob: expected 0,failed, but was $(row bob)"
mallory="$(row mallory)"
[ "${mallory#*,}" = "ok" ] || fail "mallory: expected a graded submission, but was $mallory"
echo "slurm_test: passed (the hostile submission scored ${mallory%,*}; the cluster survived it)"
