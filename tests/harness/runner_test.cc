// The runner in-process, with a fake socket source: what happens when capture itself fails.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "experiment_text.h"
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

// An experiment in the host's namespace after one in a namespace of its own really runs on the host (it used to run
// in the previous experiment's namespace), and the runner leaves the process in the namespace it found it in.
TEST(Runner, AHostExperimentAfterANamespaceOneRunsOnTheHost) {
  if (getuid() != 0) GTEST_SKIP() << "only root can return to the host's network namespace";
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::string port = std::to_string(ntohs(address.sin_port));
  std::string check = "  <expect-socket name=\"the test's listener\" state=\"LISTEN\" local-port=\"" + port +
                      "\" points=\"1\" timeout=\"200ms\"/>\n";
  Experiment own = load_text("own", "<experiment id=\"t.own\" title=\"own\" isolation=\"netns\">\n" + check + "</experiment>");
  Experiment host = load_text("host", "<experiment id=\"t.host\" title=\"host\" isolation=\"host\">\n" + check + "</experiment>");
  ino_t before = network_namespace();
  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  Reporter silent;
  {
    Runner runner(loop, *launcher, RunOptions{}, silent);
    ExperimentResult in_own = runner.run(own);
    ExperimentResult on_host = runner.run(host);
    EXPECT_EQ(in_own.isolation, Isolation::kNetns);
    EXPECT_EQ(in_own.points(), 0) << "a namespace of its own does not see the host's listener";
    EXPECT_EQ(on_host.isolation, Isolation::kHost);
    EXPECT_EQ(on_host.points(), 1) << on_host.checks[0].actual << " " << on_host.error;
  }
  EXPECT_EQ(network_namespace(), before) << "the runner left the process in another network namespace";
  close(listener);
}

// expect-output-count counts until the stream ends (seq prints 1..5 and exits: the verdict comes long before for=),
// fails at once when the count is above max=, and says what it counted, passed or not.
TEST(Runner, ExpectOutputCountEndsWithTheStreamAndFailsAboveMax) {
  Experiment e = load_text("count", R"(<experiment id="t.count" title="count lines" isolation="host">
  <start id="five" program="seq" args="5"/>
  <expect-output-count name="five numbers" process="five" regex="^[0-9]+$" count="5" for="20s"/>
  <start id="again" program="seq" args="5"/>
  <expect-output-count name="at most four" process="again" regex="^[0-9]+$" min="1" max="4" for="20s"/>
</experiment>)");
  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  Reporter silent;
  RunOptions options;
  options.bins["seq"] = "/usr/bin/seq";
  Runner runner(loop, *launcher, options, silent);
  ExperimentResult r = runner.run(e);
  ASSERT_EQ(r.checks.size(), 2u) << r.error;
  EXPECT_EQ(r.checks[0].status, CheckResult::Status::kPassed) << r.checks[0].actual;
  EXPECT_EQ(r.checks[0].actual, "5 such lines");
  EXPECT_EQ(r.checks[1].status, CheckResult::Status::kFailed);
  EXPECT_EQ(r.checks[1].actual.substr(0, 12), "5 such lines") << r.checks[1].actual;
  EXPECT_LT(r.duration, 10.0) << "neither check should have waited for its for=20s";
}
