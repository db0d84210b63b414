// The runner in-process, with a fake socket source: what happens when capture itself fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "load/loader.h"
#include "run/runner.h"

using namespace socklab::harness;

namespace {

// Sockets as a test wants them: none, or an exception (netlink gone, say) from the n-th snapshot on.
class FakeSource : public SocketSource {
 public:
  explicit FakeSource(int fail_from) : fail_from_(fail_from) {}
  std::vector<SocketInfo> snapshot() override {
    if (++calls_ >= fail_from_) throw std::runtime_error("sock_diag dump: Connection refused (a fake's failure)");
    return {};
  }
  std::string name() const override { return "fake"; }

 private:
  int fail_from_, calls_ = 0;
};

Experiment load_text(const std::string& name, const std::string& xml) {
  std::string path = testing::TempDir() + name + std::to_string(getpid()) + ".xml";
  std::ofstream(path) << xml;
  std::vector<LoadError> errors;
  auto e = load_experiment(path, errors);
  EXPECT_TRUE(errors.empty()) << errors.front().text();
  return *e;
}

}  // namespace

// An exception inside a step (here: the socket snapshot a check needs throws) fails that check with its message, the
// rest of that experiment is reported as not run, and the next experiment runs as usual: no result is lost.
TEST(Runner, AnExceptionInsideAStepFailsThatCheckAndTheRunGoesOn) {
  Experiment broken = load_text("broken", R"(<experiment id="t.broken" title="capture fails" isolation="host">
  <expect-socket name="a listener" state="LISTEN" local-port="{port}" points="3"/>
  <expect-socket name="never evaluated" state="LISTEN" local-port="{port}" points="2"/>
</experiment>)");
  Experiment fine = load_text("fine", R"(<experiment id="t.fine" title="capture works" isolation="host">
  <expect-socket name="nothing listens" state="LISTEN" local-port="{port}" absent="true" points="1"/>
</experiment>)");
  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  Reporter silent;
  RunOptions options;
  int experiments = 0;
  options.socket_source = [&] { return std::make_unique<FakeSource>(++experiments == 1 ? 1 : 1000); };
  Runner runner(loop, *launcher, options, silent);
  ExperimentResult first = runner.run(broken);
  ExperimentResult second = runner.run(fine);

  ASSERT_EQ(first.checks.size(), 2u);
  EXPECT_EQ(first.checks[0].status, CheckResult::Status::kFailed);
  EXPECT_NE(first.checks[0].actual.find("internal error: sock_diag dump: Connection refused"), std::string::npos)
      << first.checks[0].actual;
  EXPECT_EQ(first.checks[1].status, CheckResult::Status::kNotRun);
  EXPECT_NE(first.error.find("internal error"), std::string::npos) << first.error;
  ASSERT_EQ(second.checks.size(), 1u);
  EXPECT_EQ(second.checks[0].status, CheckResult::Status::kPassed) << second.checks[0].actual;
  EXPECT_EQ(second.points(), 1);
}
