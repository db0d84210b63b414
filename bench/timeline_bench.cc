// What recording a timeline costs: a loopback connect/close workload, alone and while each source records, with
// about 10 and 1000 other sockets open. Reports connections per second (the slowdown) and the recorder's own CPU
// time as a share of one core. Run: build/bin/timeline_bench (the tracepoint case needs root).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "loopback.h"
#include "capture/sockets.h"
#include "capture/timeline.h"

using namespace socklab::harness;

namespace {

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
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

// source: 0 = no recording, 1 = the tracepoint, 2 = sock_diag polling every 100 ms (the fallback)
void BM_ConnectClose(benchmark::State& state) {
  int source = static_cast<int>(state.range(0));
  IdleSockets idle(static_cast<int>(state.range(1)));
  Listener server;
  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<TimelineRecorder> recorder;
  if (source == 1) {
    recorder = start_timeline({server.port}, start);
    if (recorder->wants_polling()) {
      state.SkipWithError("the tracepoint is not available here (needs root and tracefs)");
      return;
    }
  }
  std::atomic<bool> done{false};
  std::atomic<double> poller_cpu{0};
  std::thread poller;
  if (source == 2) {
    recorder = start_polling_timeline(start, "benchmark");
    poller = std::thread([&] {
      auto netlink = make_netlink_source();
      SocketFilter f;
      f.ports = {server.port};
      while (!done) {
        auto all = netlink->snapshot();
        recorder->observe(filtered(all, f), std::chrono::steady_clock::now());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      poller_cpu = thread_cpu_seconds();
    });
  }
  auto wall_start = std::chrono::steady_clock::now();
  for (auto _ : state) connect_close(server);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  done = true;
  if (poller.joinable()) poller.join();
  if (recorder) recorder->finish();
  state.counters["conn_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()) / wall);
  if (source == 2) state.counters["recorder_cpu_pct"] = 100.0 * poller_cpu / wall;
  state.SetLabel(source == 0 ? "no recording" : source == 1 ? "tracepoint" : "sock_diag polling");
}

}  // namespace

BENCHMARK(BM_ConnectClose)->ArgsProduct({{0, 1, 2}, {10, 1000}})->ArgNames({"source", "sockets"})->MinTime(2.0)->UseRealTime();
BENCHMARK_MAIN();
