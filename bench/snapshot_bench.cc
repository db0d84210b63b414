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
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "isolation.h"
#include "loopback.h"
#include "sockets.h"

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

// Times each iteration itself and reports the median (counter "median_us"): on a shared machine a few slow
// iterations move the mean (Time) a lot, the median hardly.
class Timer {
 public:
  void start() { begin_ = std::chrono::steady_clock::now(); }
  void stop() {
    samples_.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - begin_).count());
  }
  void report(benchmark::State& state) {
    if (samples_.empty()) return;
    std::nth_element(samples_.begin(), samples_.begin() + samples_.size() / 2, samples_.end());
    state.counters["median_us"] = samples_[samples_.size() / 2];
  }

 private:
  std::chrono::steady_clock::time_point begin_;
  std::vector<double> samples_;
};

std::string socklab_path() {
  std::error_code ec;
  return (std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "socklab").string();
}

// A whole process: spawn, run to its end (output to /dev/null), reap.
void spawn_each_iteration(benchmark::State& state, Place place, std::vector<std::string> command) {
  InPlace in(place, state);
  if (!in.ok()) return;
  IdleSockets sockets(static_cast<int>(state.range(0)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (std::string& a : command) argv.push_back(a.data());
  argv.push_back(nullptr);
  Timer timer;
  for (auto _ : state) {
    timer.start();
    pid_t pid;
    int status = 0;
    if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0 || waitpid(pid, &status, 0) != pid ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      state.SkipWithError((command[0] + " did not run or failed").c_str());
      break;
    }
    timer.stop();
  }
  timer.report(state);
  posix_spawn_file_actions_destroy(&actions);
}

// The harness's capture: what the runner takes at every snapshot step and poll (owners not included).
void in_process(benchmark::State& state, Place place, std::function<std::unique_ptr<SocketSource>()> make) {
  InPlace in(place, state);
  if (!in.ok()) return;
  IdleSockets sockets(static_cast<int>(state.range(0)));
  auto source = make();
  Timer timer;
  for (auto _ : state) {
    timer.start();
    benchmark::DoNotOptimize(source->snapshot());
    timer.stop();
  }
  timer.report(state);
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

// The console output as usual, and each benchmark's median kept for the summary.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
      auto median = r.counters.find("median_us");
      if (median != r.counters.end()) medians[r.benchmark_name()] = median->second.value;
    }
  }
  std::map<std::string, double> medians;
};

void print_summary(const std::map<std::string, double>& medians) {
  auto get = [&](const std::string& name, int sockets) {
    auto it = medians.find(name + "/" + std::to_string(sockets));
    return it == medians.end() ? -1.0 : it->second;
  };
  const char* rows[][2] = {
      {"spawn_ss_tan/host", "spawn `ss -tan`, host"},
      {"spawn_ss_tanup/host", "spawn `ss -tanup`, host"},
      {"spawn_socklab_snapshot/host", "spawn `socklab snapshot`, host"},
      {"in_process/host", "in-process snapshot, host"},
      {"spawn_ss_tan/netns", "spawn `ss -tan`, experiment namespace"},
      {"spawn_ss_tanup/netns", "spawn `ss -tanup`, experiment namespace"},
      {"spawn_socklab_snapshot/netns", "spawn `socklab snapshot`, experiment namespace"},
      {"in_process/netns", "in-process snapshot, experiment namespace"},
  };
  std::printf("\nSnapshot cost, median per snapshot (us)            10 sockets  1000 sockets\n");
  for (auto& row : rows) {
    std::printf("  %-48s", row[1]);
    for (int n : {10, 1000}) {
      double v = get(row[0], n);
      if (v < 0) {
        std::printf("  %10s", "-");
      } else {
        std::printf("  %10.0f", v);
      }
    }
    std::printf("\n");
  }
  struct Goal {
    const char* text;
    const char* slow;
    const char* fast;
    double at_least;  // slow / fast
  };
  Goal goals[] = {
      {"in-process snapshot >= 4x faster than spawning ss -tan (host)", "spawn_ss_tan/host", "in_process/host", 4},
      {"in-process snapshot >= 10x faster than spawning ss -tan (experiment namespace)", "spawn_ss_tan/netns",
       "in_process/netns", 10},
      {"socklab snapshot no slower than ss -tanup, whole processes (host)", "spawn_ss_tanup/host",
       "spawn_socklab_snapshot/host", 1},
      {"socklab snapshot no slower than ss -tanup, whole processes (experiment namespace)", "spawn_ss_tanup/netns",
       "spawn_socklab_snapshot/netns", 1},
  };
  std::printf("\nGoals (ratio = the slower's median / the faster's)\n");
  for (const Goal& g : goals) {
    std::printf("  %s\n", g.text);
    for (int n : {10, 1000}) {
      double slow = get(g.slow, n), fast = get(g.fast, n);
      if (slow < 0 || fast <= 0) {
        std::printf("    %4d sockets: not measured\n", n);
      } else {
        double ratio = slow / fast;
        std::printf("    %4d sockets: %.2fx  %s\n", n, ratio, ratio >= g.at_least ? "met" : "NOT met");
      }
    }
  }
}

}  // namespace

// With 10 and about 1000 sockets open.
void sizes(benchmark::internal::Benchmark* b) { b->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond); }

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::string socklab = socklab_path();
  using Command = std::vector<std::string>;
  auto source = [](bool one_dump) {
    return std::function<std::unique_ptr<SocketSource>()>([one_dump] { return make_netlink_source(one_dump); });
  };
  // Host first: entering a namespace as an unprivileged user (a user namespace) cannot be undone.
  for (Place place : {Place::kHost, Place::kNetns}) {
    std::string at = std::string("/") + place_name(place);
    sizes(benchmark::RegisterBenchmark(("spawn_ss_tan" + at).c_str(), spawn_each_iteration, place, Command{"ss", "-tan"}));
    sizes(benchmark::RegisterBenchmark(("spawn_ss_tanup" + at).c_str(), spawn_each_iteration, place,
                                       Command{"ss", "-tanup"}));
    sizes(benchmark::RegisterBenchmark(("spawn_socklab_snapshot" + at).c_str(), spawn_each_iteration, place,
                                       Command{socklab, "snapshot"}));
    sizes(benchmark::RegisterBenchmark(("in_process" + at).c_str(), in_process, place, source(true)));
    if (place == Place::kHost) {
      // TCP asked once per family (what a kernel without the one-dump request gets), /proc/net, owners.
      sizes(benchmark::RegisterBenchmark("in_process_per_family/host", in_process, place, source(false)));
      sizes(benchmark::RegisterBenchmark("proc_net/host", in_process, place,
                                         std::function<std::unique_ptr<SocketSource>()>(make_procfs_source)));
      sizes(benchmark::RegisterBenchmark("in_process_all_owners/host", BM_SockDiagAllOwners));
      sizes(benchmark::RegisterBenchmark("in_process_own_tree_owners/host", BM_SockDiagOwnTreeOwners));
    }
  }
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  print_summary(reporter.medians);
  benchmark::Shutdown();
  return 0;
}
