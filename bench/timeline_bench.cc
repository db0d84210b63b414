// What recording a timeline costs: a loopback connect/close workload without and with a recorder, side by side,
// with about 10 and 1000 other (idle) sockets open. Run: build/bin/timeline_bench (the exact source needs root).
//
// Each benchmark iteration is one pair of blocks of kBlock connections, one without and one with the recorder,
// their order alternating from pair to pair (40 pairs per row, or SOCKLAB_BENCH_PAIRS): both halves of a pair see
// the same machine, whose other load (builds, tests) changes slowly compared with a block. A recorder is started
// before its block and finished after it, as the runner does around an experiment; only the connections are timed.
// Counters:
//   base_kconn_s, rec_kconn_s  thousands of connections per second (wall clock) without / with recording
//   slowdown_pct               median over the pairs of the drop in connections per second (wall clock)
//   cpu_slowdown_pct           the same from the workload thread's CPU time per connection. That thread runs the whole
//                              loopback path (softirqs included), so this is the recording's cost without the noise of
//                              other processes taking the CPU; cpu_lo/cpu_hi: a 95 % interval for that median
//   recorder_cpu_pct           the recorder's own threads (the exact source's reader, the fallback's poller) during
//                              its blocks, as a share of one core
//   events_per_conn, lost      transitions the recorder delivered per connection (6 here: 3 per side) and those it
//                              lost; the timeline promises every transition, so lost must be 0
//   other_tracers              tracefs instances of other processes tracing the same tracepoint (they slow down both
//                              halves alike and make the difference look smaller: measure on a quiet machine)
// Recorders: "exact" is what start_timeline chooses (the BPF program where it loads), "tracefs instance" the
// tracepoint read through tracefs (its fallback), "sock_diag polling" the fallback without tracing. The "none" rows
// time two blocks without any recorder: the method's own noise (their slowdown should be ~0).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "loopback.h"
#include "capture/sockets.h"
#include "capture/timeline.h"

using namespace socklab::harness;

namespace {

constexpr int kBlock = 10000;  // connections per block (~0.1-0.3 s)

// Pairs per row: 40, or SOCKLAB_BENCH_PAIRS (more pairs, a narrower interval).
int pairs() {
  const char* n = std::getenv("SOCKLAB_BENCH_PAIRS");
  return n && std::atoi(n) > 1 ? std::atoi(n) : 40;
}

double cpu_seconds(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

using socklab::bench::IdleSockets;
using socklab::bench::Listener;

// One connect + accept + close (RST, so no TIME-WAIT accumulates over millions of iterations).
void connect_close(const Listener& server) {
  sockaddr_in a = Listener::address(server.port);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int s = accept4(server.fd, nullptr, nullptr, SOCK_CLOEXEC);
  linger reset{1, 0};
  setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  close(c);
  close(s);
}

// Other tracefs instances with sock:inet_sock_set_state enabled (another socklab, a test run elsewhere).
int other_tracers() {
  int n = 0;
  std::error_code ec;
  for (const auto& instance : std::filesystem::directory_iterator("/sys/kernel/tracing/instances", ec)) {
    std::ifstream enable(instance.path() / "events/sock/inet_sock_set_state/enable");
    char c = '0';
    if (enable >> c && c == '1') ++n;
  }
  return n;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// A distribution-free 95 % interval for the median: order statistics n/2 -+ 1.96 sqrt(n)/2.
std::pair<double, double> median_interval(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double n = static_cast<double>(v.size()), half = 1.96 * std::sqrt(n) / 2;
  auto at = [&](double k) { return v[static_cast<std::size_t>(std::clamp(k, 0.0, n - 1))]; };
  return {at(std::floor(n / 2 - half)), at(std::ceil(n / 2 + half) - 1)};
}

enum Kind { kNone = 0, kExact = 1, kPolling = 2, kTracefs = 3 };

// A recorder as the runner uses it: started before the experiment, finished after; the fallback also polls.
class Recording {
 public:
  Recording(Kind kind, const Listener& server) : kind_(kind) {
    auto start = std::chrono::steady_clock::now();
    if (kind == kExact) recorder_ = start_timeline({server.port}, start);
    if (kind == kTracefs) recorder_ = start_tracefs_timeline({server.port}, start);
    if (kind == kPolling) {
      recorder_ = start_polling_timeline(start, "benchmark");
      poller_ = std::thread([this, port = server.port] {
        auto netlink = make_netlink_source();
        SocketFilter f;
        f.ports = {port};
        while (!done_) {
          auto all = netlink->snapshot();
          recorder_->observe(filtered(all, f), std::chrono::steady_clock::now());
          std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the runner's 100 ms timer
        }
      });
    }
  }
  bool exact() const { return recorder_ && !recorder_->wants_polling(); }
  Timeline finish() {
    done_ = true;
    if (poller_.joinable()) poller_.join();
    return recorder_ ? recorder_->finish() : Timeline{};
  }

 private:
  Kind kind_;
  std::unique_ptr<TimelineRecorder> recorder_;
  std::atomic<bool> done_{false};
  std::thread poller_;
};

void BM_RecordingCost(benchmark::State& state) {
  Kind kind = static_cast<Kind>(state.range(0));
  IdleSockets idle(static_cast<int>(state.range(1)));
  Listener server;
  for (int i = 0; i < 2000; ++i) connect_close(server);  // warm up
  int tracers = other_tracers();
  std::vector<double> drop, cpu_drop;
  double wall[2]{}, recorder_cpu = 0;
  std::size_t events = 0;
  std::uint64_t lost = 0;
  long pair = 0;
  for (auto _ : state) {
    double block_wall[2]{}, block_cpu[2]{};
    for (int half = 0; half < 2; ++half) {
      int recording = (half == 0) == (pair % 2 == 0);
      std::unique_ptr<Recording> r;
      if (recording && kind != kNone) {
        r = std::make_unique<Recording>(kind, server);
        if ((kind == kExact || kind == kTracefs) && !r->exact()) {
          state.SkipWithError("the exact source is not available here (needs root)");
          r->finish();
          return;
        }
      }
      double w0 = cpu_seconds(CLOCK_MONOTONIC), c0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID),
             p0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
      for (int i = 0; i < kBlock; ++i) connect_close(server);
      double w1 = cpu_seconds(CLOCK_MONOTONIC), c1 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID),
             p1 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
      block_wall[recording] = w1 - w0;
      block_cpu[recording] = c1 - c0;
      if (r) {
        recorder_cpu += std::max(0.0, (p1 - p0) - (c1 - c0));  // the other threads: the recorder's
        Timeline t = r->finish();
        events += t.transitions;
        lost += t.lost;
      }
    }
    wall[0] += block_wall[0];
    wall[1] += block_wall[1];
    drop.push_back(1 - block_wall[0] / block_wall[1]);
    cpu_drop.push_back(1 - block_cpu[0] / block_cpu[1]);
    ++pair;
  }
  double connections = static_cast<double>(pair) * kBlock;
  auto [lo, hi] = median_interval(cpu_drop);
  state.counters["base_kconn_s"] = connections / wall[0] / 1000;
  state.counters["rec_kconn_s"] = connections / wall[1] / 1000;
  state.counters["slowdown_pct"] = 100 * median(drop);
  state.counters["cpu_slowdown_pct"] = 100 * median(cpu_drop);
  state.counters["cpu_lo"] = 100 * lo;
  state.counters["cpu_hi"] = 100 * hi;
  state.counters["recorder_cpu_pct"] = 100 * recorder_cpu / wall[1];
  state.counters["events_per_conn"] = static_cast<double>(events) / connections;
  state.counters["lost"] = static_cast<double>(lost);
  state.counters["other_tracers"] = tracers;
  static const char* const labels[] = {"none (noise)", "exact (start_timeline)", "sock_diag polling", "tracefs instance"};
  state.SetLabel(labels[kind]);
}

}  // namespace

BENCHMARK(BM_RecordingCost)
    ->ArgsProduct({{kNone, kExact, kTracefs, kPolling}, {10, 1000}})
    ->ArgNames({"recorder", "sockets"})
    ->Iterations(pairs())
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  std::string tabular = "--benchmark_counters_tabular=true";
  args.insert(args.begin() + 1, tabular.data());  // one column per counter (the command line's own flags come later and win)
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
