// Snapshot cost: the harness's sock_diag capture vs reading /proc/net vs spawning `ss -tan`, with 10 and
// about 1000 sockets open. Run: make bench (or build/bin/socklab_bench).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <vector>

#include "loopback.h"
#include "capture/sockets.h"

using namespace socklab::harness;

extern char** environ;

namespace {

using socklab::bench::IdleSockets;

void BM_SockDiag(benchmark::State& state) {
  IdleSockets sockets(static_cast<int>(state.range(0)));
  auto source = make_netlink_source();
  for (auto _ : state) benchmark::DoNotOptimize(source->snapshot());
}

void BM_ProcNet(benchmark::State& state) {
  IdleSockets sockets(static_cast<int>(state.range(0)));
  auto source = make_procfs_source();
  for (auto _ : state) benchmark::DoNotOptimize(source->snapshot());
}

void BM_SpawnSs(benchmark::State& state) {
  IdleSockets sockets(static_cast<int>(state.range(0)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  char arg0[] = "ss", arg1[] = "-tan";
  char* argv[] = {arg0, arg1, nullptr};
  for (auto _ : state) {
    pid_t pid;
    if (posix_spawnp(&pid, "ss", &actions, nullptr, argv, environ) != 0) {
      state.SkipWithError("cannot spawn ss (iproute2 not installed?)");
      break;
    }
    int status;
    waitpid(pid, &status, 0);
  }
  posix_spawn_file_actions_destroy(&actions);
}

// Owners of every process (what `socklab snapshot` and ss -p do): walks /proc/*/fd, so its cost grows with
// the number of processes on the machine, not with the sockets.
void BM_SockDiagAllOwners(benchmark::State& state) {
  IdleSockets sockets(static_cast<int>(state.range(0)));
  auto source = make_netlink_source();
  for (auto _ : state) {
    auto s = source->snapshot();
    attribute_owners(s);
    benchmark::DoNotOptimize(s);
  }
}

// What the runner does on every poll: owners only among the experiment's own process trees.
void BM_SockDiagOwnTreeOwners(benchmark::State& state) {
  IdleSockets sockets(static_cast<int>(state.range(0)));
  auto source = make_netlink_source();
  for (auto _ : state) {
    auto s = source->snapshot();
    attribute_owners(s, process_tree(getpid()));
    benchmark::DoNotOptimize(s);
  }
}

}  // namespace

BENCHMARK(BM_SockDiag)->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ProcNet)->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SpawnSs)->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SockDiagAllOwners)->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SockDiagOwnTreeOwners)->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
