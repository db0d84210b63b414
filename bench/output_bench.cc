// How fast the harness takes in a program's output: 64 MiB without a single newline (the worst case for a line
// splitter: one partial line that never ends) and 64 MiB of 80-byte lines, through the pty (stdout) and a pipe.
// The kept part is capped at 8 MiB; everything is counted. Run: make bench (or build/bin/output_bench).
#include <benchmark/benchmark.h>

#include <string>

#include "process/process.h"

using namespace socklab::harness;

namespace {

constexpr long kBytes = 64l << 20;

void BM_ReadOutput(benchmark::State& state) {
  bool pty = state.range(0) == 1, lines = state.range(1) == 1;
  // yes(1) repeats an 80-byte line (79 x and a newline); head -c cuts 64 MiB; tr removes the newlines: worst case.
  std::string command = "yes " + std::string(79, 'x') + " | head -c " + std::to_string(kBytes) + (lines ? "" : " | tr -d '\\n'");
  for (auto _ : state) {
    EventLoop loop;
    auto launcher = make_boost_launcher(loop);
    ProcessSpec spec;
    spec.name = "writer";
    spec.path = "/bin/sh";
    spec.args = {"-c", command};
    spec.stdout_pty = pty;
    auto p = launcher->start(spec);
    bool done = loop.run_until([&] { return p->exit_status().has_value() && p->out().closed; },
                               Clock::now() + std::chrono::seconds(120));
    if (!done || p->out().total_bytes < static_cast<std::size_t>(lines ? kBytes : kBytes - kBytes / 80)) {
      state.SkipWithError("the output did not arrive in full within 120 s");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * kBytes);
  state.SetLabel(std::string(pty ? "pty" : "pipe") + (lines ? ", 80-byte lines" : ", no newline at all"));
}

}  // namespace

BENCHMARK(BM_ReadOutput)->ArgsProduct({{0, 1}, {0, 1}})->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

BENCHMARK_MAIN();
