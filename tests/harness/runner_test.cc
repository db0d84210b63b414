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

namespace {

// Runs one experiment the way socklab does (its own child process, real sockets) and returns its result.
ExperimentResult run_text(const std::string& name, const std::string& xml) {
  Experiment e = load_text(name, xml);
  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  Reporter silent;
  Runner runner(loop, *launcher, RunOptions{}, silent);
  return runner.run(e);
}

// "name: status (actual)" of every check, for a failure message.
std::string statuses(const ExperimentResult& r) {
  std::string out = r.error.empty() ? "" : "error: " + r.error + "\n";
  for (const CheckResult& c : r.checks) out += c.name + ": " + c.status_name() + " (" + c.actual + ")\n";
  return out;
}

}  // namespace

// The harness on both ends of a connection: tcp-listen accepts what tcp-connect opens; tcp-shutdown half-closes
// (the peer reads EOF only then, and the half-closed side still reads); a half line is not a line; a reset is not
// an EOF.
TEST(RunnerRawTcp, AListenerTalksAndAHalfCloseEndsOnlyTheSendingSide) {
  ExperimentResult r = run_text("halfclose", R"(<experiment id="t.halfclose" title="half-close" isolation="host">
  <tcp-listen id="srv" port="{port}"/>
  <tcp-connect id="cli" port="{port}"/>
  <tcp-send conn="cli" text="one\nhalf" newline="false"/>
  <expect-tcp-line name="the listener's connection gets the line" conn="srv" line="one"/>
  <expect-tcp-eof name="no EOF before the shutdown" conn="srv" timeout="200ms"/>
  <tcp-shutdown conn="cli"/>
  <expect-tcp-eof name="EOF after it" conn="srv"/>
  <tcp-send conn="srv" text="back"/>
  <expect-tcp-line name="the half-closed side still reads" conn="cli" line="back"/>
  <expect-tcp-line name="a half line before EOF is not a line" conn="srv" line="half" timeout="100ms"/>
  <tcp-close conn="srv" reset="true"/>
  <expect-tcp-eof name="a reset is not an EOF" conn="cli"/>
</experiment>)");
  using S = CheckResult::Status;
  ASSERT_EQ(r.checks.size(), 6u) << statuses(r);
  EXPECT_EQ(r.checks[0].status, S::kPassed) << statuses(r);
  EXPECT_EQ(r.checks[1].status, S::kFailed) << "the peer read EOF before tcp-shutdown\n" << statuses(r);
  EXPECT_EQ(r.checks[2].status, S::kPassed) << statuses(r);
  EXPECT_EQ(r.checks[3].status, S::kPassed) << "tcp-shutdown closed the reading side too\n" << statuses(r);
  EXPECT_EQ(r.checks[4].status, S::kFailed) << statuses(r);
  EXPECT_NE(r.checks[4].actual.find("\"half\" without \\n"), std::string::npos) << r.checks[4].actual;
  EXPECT_EQ(r.checks[5].status, S::kFailed) << statuses(r);
  EXPECT_NE(r.checks[5].actual.find("reset"), std::string::npos) << r.checks[5].actual;
}

// A listener takes `count` connections; a step on them waits for all of them, and when they do not come within the
// listener's timeout the experiment stops and says why.
TEST(RunnerRawTcp, AStepOnAListenerWaitsForItsConnectionsAndStopsWithoutThem) {
  ExperimentResult ok = run_text("count", R"(<experiment id="t.count" title="two accepted" isolation="host">
  <tcp-listen id="srv" port="{port}" count="2"/>
  <tcp-connect id="cli" port="{port}" count="2"/>
  <tcp-send conn="srv" text="to both"/>
  <expect-tcp-line name="both get it" conn="cli" line="to both"/>
</experiment>)");
  ASSERT_EQ(ok.checks.size(), 1u);
  EXPECT_EQ(ok.checks[0].status, CheckResult::Status::kPassed) << statuses(ok);
  ExperimentResult missing = run_text("missing", R"(<experiment id="t.missing" title="one short" isolation="host">
  <tcp-listen id="srv" port="{port}" count="2" timeout="300ms"/>
  <tcp-connect id="cli" port="{port}"/>
  <tcp-send conn="srv" text="to both"/>
  <expect-tcp-line name="never run" conn="cli" line="to both"/>
</experiment>)");
  EXPECT_NE(missing.error.find("1 of 2 connection(s) accepted in time"), std::string::npos) << statuses(missing);
  ASSERT_EQ(missing.checks.size(), 1u);
  EXPECT_EQ(missing.checks[0].status, CheckResult::Status::kNotRun);
}

// read="false": the connection's Recv-Q and the peer's Send-Q fill, while a reading one's queue empties; recv-q= and
// send-q= compare with > >= < (a comparison that does not hold fails).
TEST(RunnerRawTcp, AConnectionThatNeverReadsFillsTheQueuesAndComparisonsSeeIt) {
  ExperimentResult r = run_text("stuck", R"(<experiment id="t.stuck" title="never reads" isolation="host">
  <tcp-listen id="srv" port="{port}" count="2"/>
  <tcp-connect id="stuck" port="{port}" from-port="{port:stuck}" read="false"/>
  <tcp-connect id="reader" port="{port}" from-port="{port:reader}"/>
  <tcp-send conn="srv" text="0123456789" repeat="400000"/>
  <expect-tcp-line name="the reader gets all 4 MB" conn="reader" line="0123456789" repeat="400000" timeout="10s"/>
  <expect-socket name="the reader's Recv-Q is empty" local-port="{port:reader}" recv-q="0" count="1"/>
  <expect-socket name="the stuck one's Recv-Q fills" local-port="{port:stuck}" recv-q="&gt;0" count="1"/>
  <expect-socket name="and the Send-Q toward it" local-port="{port}" peer-port="{port:stuck}" send-q="&gt;=1000" count="1"/>
  <expect-socket name="its Recv-Q is not below 1" local-port="{port:stuck}" recv-q="&lt;1" timeout="200ms"/>
</experiment>)");
  using S = CheckResult::Status;
  ASSERT_EQ(r.checks.size(), 5u) << statuses(r);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(r.checks[i].status, S::kPassed) << statuses(r);
  EXPECT_EQ(r.checks[4].status, S::kFailed) << statuses(r);
  EXPECT_NE(r.checks[4].expected.find("Recv-Q below 1"), std::string::npos) << r.checks[4].expected;
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
