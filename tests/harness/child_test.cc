// Each experiment in a child process of its own: what crosses the pipe, and what a crash, an exception or a
// Ctrl-C in the child makes of the experiment, while the runner's own process stays where it was.
#include "experiment_text.h"
#include "run/child.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <fstream>

#include "load/loader.h"
#include "run/runner.h"

using namespace socklab::harness;

namespace {


// What the parent's reporter heard, in order ("begin t.crash", "check passed", ...), and the network
// namespace the parent was in at each event.
class RecordingReporter : public Reporter {
 public:
  void begin(const Experiment& e, const ExperimentResult&) override {
    note("begin " + e.id);
    if (on_begin) on_begin();
  }
  void step(const StepRecord& s) override { note("step " + s.text); }
  void check(const CheckResult& c) override { note(std::string("check ") + c.status_name()); }
  void end(const ExperimentResult& r) override { note("end " + r.id); }
  std::vector<std::string> events;
  std::set<ino_t> namespaces;
  std::function<void()> on_begin;

 private:
  void note(const std::string& event) {
    events.push_back(event);
    namespaces.insert(network_namespace());
  }
};

// A launcher whose start() brings the harness down, as a bug in it would (no core file: this one is
// expected).
class AbortingLauncher : public Launcher {
 public:
  std::unique_ptr<Process> start(const ProcessSpec&) override {
    rlimit none{0, 0};
    setrlimit(RLIMIT_CORE, &none);
    abort();
  }
};

}  // namespace

// A pipe delivers bytes, not messages: frames come out whole whether the reads cut them byte by byte or run
// them together.
TEST(FrameDecoder, SplitsFramesHoweverTheReadsCutThem) {
  std::string stream = frame("first") + frame("") + frame(std::string(100000, 'x')) + frame("last");
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{4096}, stream.size()}) {
    FrameDecoder decoder;
    std::vector<std::string> frames;
    for (std::size_t i = 0; i < stream.size(); i += chunk) {
      decoder.feed(stream.data() + i, std::min(chunk, stream.size() - i));
      while (auto f = decoder.next()) frames.push_back(*f);
    }
    ASSERT_EQ(frames.size(), 4u) << "reads of " << chunk << " bytes";
    EXPECT_EQ(frames[0], "first");
    EXPECT_EQ(frames[1], "");
    EXPECT_EQ(frames[2].size(), 100000u);
    EXPECT_EQ(frames[3], "last");
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

// A crash of the harness inside a step (here the launcher aborts) is that experiment's error with what killed
// it: the check reported before it stands, the rest are not run, and the next experiment runs as usual.
TEST(ExperimentChild, ACrashInsideAStepIsThatExperimentsErrorAndTheRunGoesOn) {
  Experiment crashing =
      load_text("crashing", R"(<experiment id="t.crash" title="the harness crashes" isolation="host">
  <expect-socket name="nothing listens yet" state="LISTEN" local-port="{port}" absent="true" points="1"/>
  <start id="victim" program="victim"/>
  <expect-socket name="after the crash" state="LISTEN" local-port="{port}" absent="true" points="2"/>
  <expect-socket name="also after" state="LISTEN" local-port="{port}" absent="true" points="3"/>
</experiment>)");
  Experiment fine = load_text("fine", R"(<experiment id="t.fine" title="runs" isolation="host">
  <expect-socket name="nothing listens" state="LISTEN" local-port="{port}" absent="true" points="1"/>
</experiment>)");
  EventLoop loop;
  AbortingLauncher launcher;
  RecordingReporter reporter;
  RunOptions options;
  options.bins["victim"] = "/bin/true";
  Runner runner(loop, launcher, options, reporter);
  ExperimentResult first = runner.run(crashing);
  ExperimentResult second = runner.run(fine);

  const std::string reason = "the experiment's process ended unexpectedly: killed by SIGABRT";
  EXPECT_EQ(first.error, reason);
  ASSERT_EQ(first.checks.size(), 3u);
  EXPECT_EQ(first.checks[0].status, CheckResult::Status::kPassed) << first.checks[0].actual;
  EXPECT_EQ(first.points(), 1);
  EXPECT_EQ(first.max_points(), 6);
  for (int i : {1, 2}) {
    EXPECT_EQ(first.checks[i].status, CheckResult::Status::kNotRun);
    EXPECT_EQ(first.checks[i].actual, "not run: " + reason);
    EXPECT_EQ(first.checks[i].name, i == 1 ? "after the crash" : "also after");
  }
  EXPECT_EQ(first.isolation, Isolation::kHost) << "what the child said at its beginning stands";
  ASSERT_EQ(second.checks.size(), 1u);
  EXPECT_TRUE(second.passed()) << second.checks[0].actual << " " << second.error;
  std::vector<std::string> expected{"begin t.crash", "check passed", "check not run", "check not run",
                                    "end t.crash",   "begin t.fine", "check passed",  "end t.fine"};
  EXPECT_EQ(reporter.events, expected);
}

// An exception that escapes the experiment in the child is the experiment's error, with its message.
TEST(ExperimentChild, AnEscapedExceptionIsTheExperimentsErrorWithItsMessage) {
  Experiment e = load_text("escaped", R"(<experiment id="t.escaped" title="throws" isolation="host">
  <expect-socket name="never" state="LISTEN" local-port="{port}" absent="true" points="1"/>
</experiment>)");
  EventLoop loop;
  ExperimentChild child(loop);
  RecordingReporter reporter;
  bool interrupted = false;
  ExperimentResult r = child.run(e, reporter, interrupted, 1.0, [](Reporter&) -> ExperimentResult {
    throw std::runtime_error("socket: Too many open files");
  });
  EXPECT_EQ(r.error, "internal error: socket: Too many open files");
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].status, CheckResult::Status::kNotRun);
  EXPECT_EQ(reporter.events, (std::vector<std::string>{"begin t.escaped", "check not run", "end t.escaped"}));
}

// Ctrl-C reaches the experiment's process through its stop line: a 10-second wait ends at once, and the
// experiment reports itself interrupted, as before.
TEST(ExperimentChild, AnInterruptStopsTheChildAtOnce) {
  Experiment e = load_text("waits", R"(<experiment id="t.waits" title="waits" isolation="host">
  <wait for="10s"/>
  <expect-socket name="after the wait" state="LISTEN" local-port="{port}" absent="true" points="1"/>
</experiment>)");
  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  RecordingReporter reporter;
  Runner runner(loop, *launcher, RunOptions{}, reporter);
  boost::asio::steady_timer ctrl_c(loop.context());
  reporter.on_begin = [&] {  // in the parent only: the child's begin goes down the pipe
    ctrl_c.expires_after(std::chrono::milliseconds(200));
    ctrl_c.async_wait([&](boost::system::error_code ec) {
      if (!ec) runner.interrupt();
    });
  };
  auto started = Clock::now();
  ExperimentResult r = runner.run(e);
  double took = std::chrono::duration<double>(Clock::now() - started).count();
  EXPECT_LT(took, 5.0) << "expected the interrupt to end the 10 s wait, but the experiment took " << took
                       << " s";
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.error, "interrupted (Ctrl-C)");
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].status, CheckResult::Status::kNotRun);
  EXPECT_TRUE(runner.interrupted());
}

// The namespace work happens in the experiment's process: the runner's stays in its own network namespace
// before, during (each replayed event) and after an experiment in a namespace of its own.
TEST(ExperimentChild, TheRunnersNetworkNamespaceIsUnchangedByANamespaceExperiment) {
  if (getuid() != 0) GTEST_SKIP() << "only root makes network namespaces without a user namespace of its own";
  Experiment e = load_text("own_ns", R"(<experiment id="t.own" title="own" isolation="netns">
  <expect-socket name="nothing listens" state="LISTEN" local-port="{port}" absent="true" points="1"/>
</experiment>)");
  ino_t before = network_namespace();
  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  RecordingReporter reporter;
  Runner runner(loop, *launcher, RunOptions{}, reporter);
  ExperimentResult r = runner.run(e);
  EXPECT_EQ(r.isolation, Isolation::kNetns) << r.error;
  EXPECT_TRUE(r.passed()) << r.error;
  EXPECT_EQ(network_namespace(), before) << "the runner's process left its network namespace";
  EXPECT_EQ(reporter.namespaces, std::set<ino_t>{before})
      << "the runner's process changed namespace meanwhile";
}
