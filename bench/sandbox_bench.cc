// What the grading sandbox costs one program start: /bin/true started and waited for plainly, and through the
// sandbox's launcher (bubblewrap: namespaces, binds, a pid 1; the program found by its pid), side by side.
// Run: make bench (or build/bin/sandbox_bench). Needs bwrap and user namespaces; as root it also takes a sandbox uid.
#include <benchmark/benchmark.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>

#include "process/process.h"
#include "sandbox/sandbox.h"

using namespace socklab;

namespace {

void run_true(benchmark::State& state, harness::EventLoop& loop, harness::Launcher& launcher, const std::string& path) {
  harness::ProcessSpec spec;
  spec.name = "true";
  spec.path = path;
  spec.stdout_pty = false;
  for (auto _ : state) {
    auto p = launcher.start(spec);
    if (!loop.run_until([&] { return p->exit_status().has_value(); }, harness::Clock::now() + std::chrono::seconds(10)) ||
        p->exit_status()->describe() != "exit 0") {
      state.SkipWithError("the program did not end with exit 0");
      break;
    }
  }
}

void BM_StartPlain(benchmark::State& state) {
  harness::EventLoop loop;
  auto launcher = harness::make_boost_launcher(loop);
  run_true(state, loop, *launcher, "/bin/true");
  state.SetLabel("fork + exec, as socklab runs a reference program");
}

void BM_StartSandboxed(benchmark::State& state) {
  sandbox::SandboxOptions options;
  options.uid_first = 65400;
  options.uid_last = 65409;
  std::optional<sandbox::Sandbox> box;
  try {
    box.emplace(options);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  // A copy of /bin/true in the build directory: the launcher sandboxes what lies there, as a student's program.
  std::string path = box->build_dir() + "/true";
  {
    std::ifstream from("/bin/true", std::ios::binary);
    std::ofstream(path, std::ios::binary) << from.rdbuf();
  }
  chmod(path.c_str(), 0755);
  harness::become_subreaper();  // as socklab grade is: the sandbox's pid 1 comes back to us to be reaped
  harness::EventLoop loop;
  auto plain = harness::make_boost_launcher(loop);
  auto launcher = box->program_launcher(loop, *plain);
  run_true(state, loop, *launcher, path);
  state.SetLabel("bubblewrap, as socklab grade runs a student's program");
}

}  // namespace

BENCHMARK(BM_StartPlain)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_StartSandboxed)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK_MAIN();
