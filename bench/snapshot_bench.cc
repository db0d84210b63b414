// Snapshot cost, side by side in one run: spawning `ss` (whole processes), `socklab snapshot` (a whole process),
// the harness's in-process sock_diag snapshot, reading /proc/net, and owners — on the host and inside a fresh
// experiment namespace made as the runner makes it (small private hash tables), with 10 and about 1000 sockets
// open. Ends with a table of the medians and the ratios against the capture goals. Run: make bench (or
// build/bin/socklab_bench; the namespace rows need root or user namespaces).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "capture/isolation.h"
#include "loopback.h"
#include "capture/sockets.h"

using namespace socklab::harness;
using socklab::bench::IdleSockets;

extern char** environ;

namespace {

enum class Place { kHost, kNetns };
const char* place_name(Place p) { return p == Place::kHost ? "host" : "netns"; }

// For the benchmark's lifetime: inside a new experiment namespace (enter_new_network_namespace, as the runner
// enters one: small private tables), then back on the host. Sockets and netlink sockets made meanwhile belong
// to that namespace, and so does every process spawned.
class InPlace {
 public:
  InPlace(Place place, benchmark::State& state) {
    if (place == Place::kHost) return;
    host_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    std::string why_not;
    if (!enter_new_network_namespace(why_not)) {
      state.SkipWithError(("no experiment namespace: " + why_not).c_str());
      ok_ = false;
    }
  }
  ~InPlace() {
    if (host_ < 0) return;
    if (setns(host_, CLONE_NEWNET) != 0) std::perror("socklab_bench: setns back to the host's network namespace");
    close(host_);
  }
  bool ok() const { return ok_; }

 private:
  int host_ = -1;
  bool ok_ = true;
};

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

std::string socklab_path() {
  std::error_code ec;
  return (std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "socklab").string();
}

// A whole process: spawn, run to its end (output to /dev/null), reap. Microseconds, or -1 if it failed.
class Spawner {
 public:
  explicit Spawner(std::vector<std::string> command) : command_(std::move(command)) {
    posix_spawn_file_actions_init(&actions_);
    posix_spawn_file_actions_addopen(&actions_, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    for (std::string& a : command_) argv_.push_back(a.data());
    argv_.push_back(nullptr);
  }
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;
  ~Spawner() { posix_spawn_file_actions_destroy(&actions_); }
  double run() {
    auto begin = std::chrono::steady_clock::now();
    pid_t pid;
    int status = 0;
    if (posix_spawnp(&pid, argv_[0], &actions_, nullptr, argv_.data(), environ) != 0 ||
        waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return -1;
    }
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - begin).count();
  }
  const std::string& name() const { return command_[0]; }

 private:
  std::vector<std::string> command_;
  std::vector<char*> argv_;
  posix_spawn_file_actions_t actions_;
};

// The comparison the capture goals are about, interleaved: every iteration is one round that takes one sample of
// each whole process (ss -tan, ss -tanup, socklab snapshot) and ten of the in-process snapshot, so a change in the
// machine's load (it is shared) hits all of them alike. Counters: the medians in microseconds.
void side_by_side(benchmark::State& state, Place place) {
  InPlace in(place, state);
  if (!in.ok()) return;
  IdleSockets sockets(static_cast<int>(state.range(0)));
  Spawner ss_tan({"ss", "-tan"}), ss_tanup({"ss", "-tanup"}), socklab({socklab_path(), "snapshot"});
  Spawner* spawners[] = {&ss_tan, &ss_tanup, &socklab};
  std::vector<double> samples[4];
  auto source = make_netlink_source();
  for (auto _ : state) {
    for (int i = 0; i < 3; ++i) {
      double us = spawners[i]->run();
      if (us < 0) {
        state.SkipWithError((spawners[i]->name() + " did not run or failed").c_str());
        return;
      }
      samples[i].push_back(us);
    }
    for (int i = 0; i < 10; ++i) {
      auto begin = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(source->snapshot());
      samples[3].push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - begin).count());
    }
  }
  const char* names[] = {"ss_tan", "ss_tanup", "socklab", "in_process"};
  for (int i = 0; i < 4; ++i) state.counters[names[i]] = median(samples[i]);
}

// The harness's capture: what the runner takes at every snapshot step and poll (owners not included).
void in_process(benchmark::State& state, Place place, std::function<std::unique_ptr<SocketSource>()> make) {
  InPlace in(place, state);
  if (!in.ok()) return;
  IdleSockets sockets(static_cast<int>(state.range(0)));
  auto source = make();
  for (auto _ : state) benchmark::DoNotOptimize(source->snapshot());
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

// The console output as usual, and the side-by-side medians kept for the summary.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
      std::string benchmark = r.run_name.function_name + "/" + r.run_name.args;  // without "/iterations:40"
      for (const auto& [name, counter] : r.counters) medians[benchmark + " " + name] = counter.value;
    }
  }
  std::map<std::string, double> medians;
};

void print_summary(const std::map<std::string, double>& medians) {
  auto get = [&](const char* place, const char* what, int sockets) {
    auto it = medians.find(std::string("side_by_side/") + place + "/" + std::to_string(sockets) + " " + what);
    return it == medians.end() ? -1.0 : it->second;
  };
  const char* rows[][2] = {
      {"ss_tan", "spawn `ss -tan`"},
      {"ss_tanup", "spawn `ss -tanup`"},
      {"socklab", "spawn `socklab snapshot`"},
      {"in_process", "in-process snapshot (sock_diag)"},
  };
  std::printf("\nSnapshot cost side by side, median us   host: 10 sockets  1000 sockets   netns: 10 sockets  1000 sockets\n");
  for (auto& row : rows) {
    std::printf("  %-36s", row[1]);
    for (const char* place : {"host", "netns"}) {
      std::printf("    ");
      for (int n : {10, 1000}) {
        double v = get(place, row[0], n);
        if (v < 0) {
          std::printf("  %12s", "-");
        } else {
          std::printf("  %12.0f", v);
        }
      }
    }
    std::printf("\n");
  }
  struct Goal {
    const char* text;
    const char* place;
    const char* slow;
    const char* fast;
    double at_least;  // slow / fast
  };
  Goal goals[] = {
      {"in-process snapshot >= 4x faster than spawning ss -tan, host", "host", "ss_tan", "in_process", 4},
      {"in-process snapshot >= 10x faster than spawning ss -tan, experiment namespace", "netns", "ss_tan",
       "in_process", 10},
      {"socklab snapshot no slower than ss -tanup (whole processes), host", "host", "ss_tanup", "socklab", 1},
      {"socklab snapshot no slower than ss -tanup (whole processes), experiment namespace", "netns", "ss_tanup",
       "socklab", 1},
  };
  std::printf("\nGoals (ratio: the other's median / ours)\n");
  for (const Goal& g : goals) {
    std::printf("  %-82s", g.text);
    for (int n : {10, 1000}) {
      double slow = get(g.place, g.slow, n), fast = get(g.place, g.fast, n);
      if (slow < 0 || fast <= 0) {
        std::printf("  %4d: not measured", n);
      } else {
        double ratio = slow / fast;  // shown rounded down: 3.996 is not 4.00 and met
        std::printf("  %4d: %6.2fx %-7s", n, std::floor(ratio * 100) / 100, ratio >= g.at_least ? "met" : "NOT met");
      }
    }
    std::printf("\n");
  }
}

}  // namespace

// With 10 and about 1000 sockets open.
void sizes(benchmark::internal::Benchmark* b) { b->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond); }

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  using Make = std::function<std::unique_ptr<SocketSource>()>;
  Make one_dump = [] { return make_netlink_source(); };
  Make per_family = [] { return make_netlink_source(/*tcp_in_one_dump=*/false); };
  Make procfs = make_procfs_source;
  // Host first: entering a namespace as an unprivileged user (a user namespace) cannot be undone.
  for (Place place : {Place::kHost, Place::kNetns}) {
    std::string at = std::string("/") + place_name(place);
    sizes(benchmark::RegisterBenchmark(("in_process" + at).c_str(), in_process, place, one_dump));
    if (place == Place::kHost) {
      // TCP asked once per family (what a kernel without the one-dump request gets), /proc/net, owners.
      sizes(benchmark::RegisterBenchmark("in_process_per_family/host", in_process, place, per_family));
      sizes(benchmark::RegisterBenchmark("proc_net/host", in_process, place, procfs));
      sizes(benchmark::RegisterBenchmark("in_process_all_owners/host", BM_SockDiagAllOwners));
      sizes(benchmark::RegisterBenchmark("in_process_own_tree_owners/host", BM_SockDiagOwnTreeOwners));
    }
    // 40 rounds: 40 samples of each whole process, 400 of the in-process snapshot.
    sizes(benchmark::RegisterBenchmark(("side_by_side" + at).c_str(), side_by_side, place)->Iterations(40));
  }
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  print_summary(reporter.medians);
  benchmark::Shutdown();
  return 0;
}
