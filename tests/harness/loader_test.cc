// The experiment loader: every kind of mistake in a file is reported as FILE:LINE: message.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "load/loader.h"

using namespace socklab::harness;

namespace {

// Writes `xml` to a temporary file and loads it; returns the error texts (empty if it loaded).
struct Loaded {
  std::optional<Experiment> experiment;
  std::vector<std::string> errors;
  std::string path;
};

Loaded load(const std::string& xml) {
  static int counter = 0;
  Loaded result;
  result.path = testing::TempDir() + "exp" + std::to_string(getpid()) + "_" + std::to_string(counter++) + ".xml";
  std::ofstream(result.path) << xml;
  std::vector<LoadError> errors;
  result.experiment = load_experiment(result.path, errors);
  for (const LoadError& e : errors) result.errors.push_back(e.text());
  return result;
}

// The one error a file produced, without the path: "4: unknown element <sned>".
std::string only_error(const std::string& xml) {
  Loaded l = load(xml);
  if (l.errors.size() != 1) {
    std::string all;
    for (const auto& e : l.errors) all += "\n  " + e;
    return "expected exactly one error, but got " + std::to_string(l.errors.size()) + ":" + all;
  }
  EXPECT_FALSE(l.experiment.has_value());
  return l.errors[0].substr(l.path.size() + 1);
}

// Step i of the experiment as the kind S; a test error if it is another kind.
template <class S>
const S& step(const Experiment& e, std::size_t i) {
  const S* s = i < e.steps.size() ? step_as<S>(e.steps[i]) : nullptr;
  if (!s) {
    throw std::runtime_error("expected step " + std::to_string(i) + " to be a <" + S::kElement + ">, but it was " +
                             (i < e.steps.size() ? std::string("a <") + step_element(e.steps[i]) + ">" : "missing"));
  }
  return *s;
}

const std::string kHead = "<experiment id=\"t\" title=\"T\">\n";
const std::string kServer = "  <start id=\"server\" program=\"echo_server\" args=\"{port}\" ready-listen=\"{port}\"/>\n";

}  // namespace

// A complete file loads, with escapes decoded and defaults filled in.
TEST(Loader, LoadsAValidFileWithEscapesAndDefaults) {
  Loaded l = load(kHead + kServer +
                  "  <start id=\"client\" program=\"echo_client\" args=\"-p {port}\"/>\n"
                  "  <send to=\"client\" text=\"\\e[A\\x41\\\\\" repeat=\"2\"/>\n"
                  "  <expect-output name=\"reply\" process=\"client\" regex=\"^eyb$\" points=\"5\" hint=\"h\" timeout=\"1.5s\"/>\n"
                  "  <expect-socket name=\"tw\" state=\"TIME-WAIT\" peer-port=\"{port}\" count=\"1\"/>\n"
                  "  <expect-output name=\"err\" process=\"client\" stream=\"stderr\" contains=\"refused\"/>\n"
                  "</experiment>\n");
  ASSERT_TRUE(l.experiment.has_value()) << (l.errors.empty() ? "" : l.errors[0]);
  const Experiment& e = *l.experiment;
  ASSERT_EQ(e.steps.size(), 6u);
  EXPECT_EQ(step<ExpectOutputStep>(e, 3).stream, Stream::kStdout);
  EXPECT_EQ(step<ExpectOutputStep>(e, 5).stream, Stream::kStderr);
  EXPECT_EQ(step<ExpectOutputStep>(e, 5).expected.match, Match::kContains);
  EXPECT_EQ(step<SendStep>(e, 2).text, "\x1b[AA\\");
  EXPECT_EQ(step<SendStep>(e, 2).repeat, 2u);
  EXPECT_EQ(step<SendStep>(e, 2).line, 4);
  EXPECT_EQ(step<ExpectOutputStep>(e, 3).check.points, 5);
  EXPECT_EQ(step<ExpectOutputStep>(e, 3).check.timeout, Millis(1500));
  EXPECT_EQ(step<ExpectOutputStep>(e, 3).expected.match, Match::kRegex);
  EXPECT_EQ(step<ExpectSocketStep>(e, 4).states, std::vector<std::string>{"TIME-WAIT"});
  EXPECT_EQ(step<ExpectSocketStep>(e, 4).check.timeout, Millis(2000)) << "a check's default deadline";
  EXPECT_EQ(e.max_points(), 5);
}

TEST(Loader, ReportsMalformedXmlWithItsLine) {
  EXPECT_EQ(only_error(kHead + kServer + "  <send to=\"server\" text=\"x\">\n</experiment>\n"),
            "4: not well-formed XML: Start-end tags mismatch");
}

TEST(Loader, ReportsUnknownElements) {
  EXPECT_EQ(only_error(kHead + kServer + "  <sned to=\"server\" text=\"x\"/>\n</experiment>\n"),
            "3: unknown element <sned>");
}

TEST(Loader, ReportsUnknownAndMissingAttributes) {
  EXPECT_EQ(only_error(kHead + kServer + "  <send to=\"server\" txt=\"x\" text=\"\"/>\n</experiment>\n"),
            "3: unknown attribute \"txt\" on <send>");
  EXPECT_EQ(only_error(kHead + kServer + "  <send to=\"server\"/>\n</experiment>\n"),
            "3: <send> needs the attribute \"text\"");
}

TEST(Loader, ReportsBadDurationsNumbersAndBooleans) {
  EXPECT_EQ(only_error(kHead + kServer + "  <wait for=\"2 seconds\"/>\n</experiment>\n"),
            "3: bad duration for=\"2 seconds\" (e.g. 500ms, 2s, 1.5s, 1min)");
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-running name=\"up\" process=\"server\" points=\"lots\"/>\n</experiment>\n"),
            "3: bad points=\"lots\" (a whole number from 0 to 100)");
  EXPECT_EQ(only_error(kHead + kServer + "  <send to=\"server\" text=\"\" newline=\"yes\"/>\n</experiment>\n"),
            "3: bad newline=\"yes\" (true or false)");
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-no-output name=\"q\" process=\"server\" for=\"1s\" stream=\"stdin\"/>\n</experiment>\n"),
            "3: bad stream=\"stdin\" (stdout or stderr)");
}

TEST(Loader, ReportsDuplicateIdsAndUnknownReferences) {
  EXPECT_EQ(only_error(kHead + kServer + kServer + "</experiment>\n"), "3: duplicate process id \"server\"");
  EXPECT_EQ(only_error(kHead + kServer + "  <close-stdin process=\"clinet\"/>\n</experiment>\n"),
            "3: <close-stdin> process=\"clinet\": no process with that id (defined before: server)");
  EXPECT_EQ(only_error(kHead + "  <send to=\"server\" text=\"x\"/>\n" + kServer + "</experiment>\n"),
            "2: <send> to=\"server\": no process with that id was defined before");
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-running name=\"a\" process=\"server\"/>\n"
                       "  <expect-running name=\"a\" process=\"server\"/>\n</experiment>\n"),
            "4: duplicate check name \"a\"");
}

TEST(Loader, ReportsBadPlaceholdersRegexesSignalsAndStates) {
  EXPECT_EQ(only_error(kHead + "  <start id=\"s\" program=\"echo_server\" args=\"{prot}\"/>\n</experiment>\n"),
            "2: unknown placeholder {prot} (known: {port}, {port2}, {port:NAME}, {pid:ID})");
  EXPECT_EQ(only_error(kHead + "  <start id=\"s\" program=\"echo_server\" args=\"{pid:t}\"/>\n</experiment>\n"),
            "2: {pid:t}: no process \"t\" was started before");
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-output name=\"r\" process=\"server\" regex=\"(\"/>\n</experiment>\n")
                .rfind("3: bad regex \"(\": ", 0),
            0u);
  EXPECT_EQ(only_error(kHead + kServer + "  <signal process=\"server\" signal=\"TREM\"/>\n</experiment>\n"),
            "3: unknown signal \"TREM\"");
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-socket name=\"s\" state=\"TIME_WAIT\"/>\n</experiment>\n"),
            "3: unknown state \"TIME_WAIT\" (ss names: ESTAB, LISTEN, TIME-WAIT, …)");
}

TEST(Loader, ReportsMissingCheckNamesAndAmbiguousMatches) {
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-running process=\"server\"/>\n</experiment>\n"),
            "3: <expect-running> needs a name=\"...\" (the check's name)");
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-output name=\"o\" process=\"server\" line=\"a\" regex=\"b\"/>\n</experiment>\n"),
            "3: <expect-output> needs exactly one of line=, regex= or contains=");
}

TEST(Loader, RefusesPointsInAnObservationOnlyExperiment) {
  EXPECT_EQ(only_error("<experiment id=\"t\" title=\"T\" graded=\"false\">\n" + kServer +
                       "  <expect-running name=\"up\" process=\"server\" points=\"3\"/>\n</experiment>\n"),
            "3: an observation-only experiment (graded=\"false\") gives no points");
}

TEST(Loader, RefusesAWrongRootAndAnEmptyExperiment) {
  EXPECT_EQ(only_error("<experiments/>\n"), "1: the root element must be <experiment>, not <experiments>");
  EXPECT_EQ(only_error("<experiment id=\"t\" title=\"T\">\n</experiment>\n"), "1: the experiment has no steps");
}

// Every problem of a file is reported at once, not just the first.
TEST(Loader, ReportsEveryErrorOfAFile) {
  Loaded l = load(kHead + "  <sned/>\n  <wait for=\"x\"/>\n</experiment>\n");
  ASSERT_EQ(l.errors.size(), 2u);
  EXPECT_NE(l.errors[0].find(":2: unknown element <sned>"), std::string::npos);
  EXPECT_NE(l.errors[1].find(":3: bad duration"), std::string::npos);
}

TEST(Durations, ParseTheDocumentedForms) {
  EXPECT_EQ(parse_duration("250ms"), Millis(250));
  EXPECT_EQ(parse_duration("2s"), Millis(2000));
  EXPECT_EQ(parse_duration("1.5s"), Millis(1500));
  EXPECT_EQ(parse_duration("1min"), Millis(60000));
  for (const char* bad : {"", "2", "s", "-1s", "1h", "1 s", "1.s"}) EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(Signals, ParseNamesAndNumbers) {
  EXPECT_EQ(parse_signal("TERM"), 15);
  EXPECT_EQ(parse_signal("SIGKILL"), 9);
  EXPECT_EQ(parse_signal("2"), 2);
  EXPECT_EQ(parse_signal("BOGUS"), 0);
  EXPECT_EQ(parse_signal("99"), 0);
}

// A port is a number 1-65535 or a {port} placeholder: anything else is an error at load time, with its line (it
// used to reach std::stoi at run time and end the whole run).
TEST(Loader, ABadPortValueIsALoadError) {
  EXPECT_EQ(only_error("<experiment id=\"x\" title=\"t\">\n"
                       "  <tcp-connect id=\"c\" port=\"70000\"/>\n</experiment>\n"),
            "2: bad port \"70000\" in port= (a number 1-65535, or a placeholder such as {port}, {port2}, {port:NAME})");
  EXPECT_EQ(only_error("<experiment id=\"x\" title=\"t\">\n"
                       "  <start id=\"s\" program=\"echo_server\" args=\"{port}\" ready-listen=\"port\"/>\n</experiment>\n"),
            "2: bad port \"port\" in ready-listen= (a number 1-65535, or a placeholder such as {port}, {port2}, {port:NAME})");
  EXPECT_EQ(only_error("<experiment id=\"x\" title=\"t\">\n"
                       "  <tcp-connect id=\"c\" port=\"{port}\" from-port=\"{port}1\"/>\n</experiment>\n"),
            "2: bad port \"{port}1\" in from-port= (a number 1-65535, or a placeholder such as {port}, {port2}, {port:NAME})");
  Loaded fine = load("<experiment id=\"x\" title=\"t\">\n"
                     "  <tcp-connect id=\"c\" port=\"8888\" from-port=\"{port:mine}\"/>\n</experiment>\n");
  EXPECT_TRUE(fine.errors.empty()) << fine.errors.front();
}

// --- every element's fields, as typed steps ------------------------------------------------------------------

namespace {

// Loads a file that must be valid: the experiment, or a test failure with the errors.
Experiment valid(const std::string& steps) {
  Loaded l = load(kHead + steps + "</experiment>\n");
  std::string all;
  for (const auto& e : l.errors) all += "\n  " + e;
  if (!l.experiment) throw std::runtime_error("expected the file to load, but it had errors:" + all);
  return *l.experiment;
}

const std::string kConn = "  <tcp-connect id=\"c\" port=\"{port}\"/>\n";

}  // namespace

// <start>: every attribute and its <env> children reach the step.
TEST(LoaderSteps, Start) {
  Experiment e = valid("  <start id=\"web\" program=\"echo_server\" args=\"-p {port:web} -v\" dir=\"/tmp\" stdout=\"pipe\"\n"
                       "         ready-bound=\"{port2}\" ready-output=\"^up\" timeout=\"3s\">\n"
                       "    <env name=\"MODE\" value=\"a\\tb\"/>\n  </start>\n");
  const auto& s = step<StartStep>(e, 0);
  EXPECT_EQ(s.line, 2);
  EXPECT_EQ(s.id, "web");
  EXPECT_EQ(s.program, "echo_server");
  EXPECT_EQ(s.args, (std::vector<std::string>{"-p", "{port:web}", "-v"}));
  EXPECT_EQ(s.working_dir, "/tmp");
  EXPECT_FALSE(s.stdout_pty);
  EXPECT_EQ(s.ready_bound, "{port2}");
  EXPECT_EQ(s.ready_listen, "");
  EXPECT_EQ(s.ready_output, "^up");
  EXPECT_EQ(s.timeout, Millis(3000));
  EXPECT_EQ(s.env, (std::vector<std::pair<std::string, Template>>{{"MODE", "a\tb"}}));
  EXPECT_EQ(step<StartStep>(valid(kServer), 0).timeout, Millis(5000)) << "readiness's default deadline";
  EXPECT_TRUE(step<StartStep>(valid(kServer), 0).stdout_pty) << "a pty by default";
}

TEST(LoaderSteps, Send) {
  Experiment e = valid(kServer + "  <send to=\"server\" text=\"pid {pid:server}\" newline=\"false\"/>\n");
  const auto& s = step<SendStep>(e, 1);
  EXPECT_EQ(s.to, "server");
  EXPECT_EQ(s.text, "pid {pid:server}");
  EXPECT_EQ(s.repeat, 1u);
  EXPECT_FALSE(s.newline);
  EXPECT_FALSE(is_check(e.steps[1]));
}

TEST(LoaderSteps, CloseStdin) {
  EXPECT_EQ(step<CloseStdinStep>(valid(kServer + "  <close-stdin process=\"server\"/>\n"), 1).process, "server");
}

TEST(LoaderSteps, Signal) {
  Experiment e = valid(kServer + "  <signal process=\"server\" signal=\"SIGINT\"/>\n");
  const auto& s = step<SignalStep>(e, 1);
  EXPECT_EQ(s.process, "server");
  EXPECT_EQ(s.signal, SIGINT);
}

TEST(LoaderSteps, Wait) {
  Experiment e = valid("  <wait for=\"250ms\" title=\"let it settle\"/>\n");
  const auto& s = step<WaitStep>(e, 0);
  EXPECT_EQ(s.duration, Millis(250));
  EXPECT_EQ(s.title, "let it settle");
}

TEST(LoaderSteps, Snapshot) {
  EXPECT_EQ(step<SnapshotStep>(valid("  <snapshot title=\"after\"/>\n"), 0).title, "after");
}

TEST(LoaderSteps, TcpConnect) {
  Experiment e = valid("  <tcp-connect id=\"c\" port=\"8888\" from-port=\"{port:mine}\" reuseaddr=\"true\" count=\"7\"/>\n");
  const auto& s = step<TcpConnectStep>(e, 0);
  EXPECT_EQ(s.conn, "c");
  EXPECT_EQ(s.port, "8888");
  EXPECT_EQ(s.from_port, "{port:mine}");
  EXPECT_TRUE(s.reuseaddr);
  EXPECT_EQ(s.count, 7);
}

TEST(LoaderSteps, TcpSend) {
  Experiment e = valid(kConn + "  <tcp-send conn=\"c\" text=\"ab\" repeat=\"3\" newline=\"false\"/>\n");
  const auto& s = step<TcpSendStep>(e, 1);
  EXPECT_EQ(s.conn, "c");
  EXPECT_EQ(s.text, "ab");
  EXPECT_EQ(s.repeat, 3u);
  EXPECT_FALSE(s.newline);
}

TEST(LoaderSteps, TcpClose) {
  Experiment e = valid(kConn + "  <tcp-close conn=\"c\" reset=\"true\"/>\n");
  const auto& s = step<TcpCloseStep>(e, 1);
  EXPECT_EQ(s.conn, "c");
  EXPECT_TRUE(s.reset);
}

TEST(LoaderSteps, TcpConnectNeverReading) {
  EXPECT_TRUE(step<TcpConnectStep>(valid(kConn), 0).read) << "a connection reads by default";
  EXPECT_FALSE(step<TcpConnectStep>(valid("  <tcp-connect id=\"c\" port=\"9\" read=\"false\"/>\n"), 0).read);
}

TEST(LoaderSteps, TcpListen) {
  Experiment e = valid("  <tcp-listen id=\"srv\" port=\"{port}\" count=\"3\" timeout=\"2s\"/>\n"
                       "  <tcp-send conn=\"srv\" text=\"hi\"/>\n  <tcp-close conn=\"srv\" reset=\"true\"/>\n"
                       "  <expect-tcp-line name=\"l\" conn=\"srv\" line=\"x\"/>\n  <expect-tcp-eof name=\"e\" conn=\"srv\"/>\n");
  const auto& s = step<TcpListenStep>(e, 0);
  EXPECT_EQ(s.conn, "srv");
  EXPECT_EQ(s.port, "{port}");
  EXPECT_EQ(s.count, 3);
  EXPECT_EQ(s.timeout, Millis(2000));
  EXPECT_EQ(step<TcpSendStep>(e, 1).conn, "srv") << "its connections go by its id";
  const auto& d = step<TcpListenStep>(valid("  <tcp-listen id=\"srv\" port=\"9\"/>\n"), 0);
  EXPECT_EQ(d.count, 1) << "one connection by default";
  EXPECT_EQ(d.timeout, Millis(5000));
}

TEST(LoaderSteps, TcpShutdown) {
  EXPECT_EQ(step<TcpShutdownStep>(valid(kConn + "  <tcp-shutdown conn=\"c\"/>\n"), 1).conn, "c");
}

// The new elements are as strict as the old: a listener shares the connections' ids, a shut-down connection sends
// nothing more, a connection that never reads has nothing to check, and a queue size is a number or a comparison.
TEST(LoaderSteps, RawTcpMistakesAreLoadErrors) {
  EXPECT_EQ(only_error(kHead + kConn + "  <tcp-listen id=\"c\" port=\"9\"/>\n</experiment>\n"),
            "3: duplicate connection id \"c\"");
  EXPECT_EQ(only_error(kHead + "  <tcp-listen id=\"srv\" port=\"0\"/>\n</experiment>\n"),
            "2: bad port \"0\" in port= (a number 1-65535, or a placeholder such as {port}, {port2}, {port:NAME})");
  EXPECT_EQ(only_error(kHead + "  <tcp-listen id=\"srv\" port=\"9\" count=\"0\"/>\n</experiment>\n"),
            "2: bad count=\"0\" (a whole number from 1 to 1000)");
  EXPECT_EQ(only_error(kHead + kServer + "  <tcp-listen id=\"srv\"/>\n</experiment>\n"),
            "3: <tcp-listen> needs the attribute \"port\"");
  EXPECT_EQ(only_error(kHead + "  <tcp-listen id=\"a b\" port=\"9\"/>\n</experiment>\n"),
            "2: bad id \"a b\" (a letter, then letters, digits, _ or -)");
  EXPECT_EQ(only_error(kHead + kConn + "  <tcp-shutdown conn=\"c\"/>\n  <tcp-send conn=\"c\" text=\"x\"/>\n</experiment>\n"),
            "4: <tcp-send> conn=\"c\": it was shut down for sending (tcp-shutdown) before");
  EXPECT_EQ(only_error(kHead + kConn + "  <tcp-shutdown conn=\"c\"/>\n  <tcp-shutdown conn=\"c\"/>\n</experiment>\n"),
            "4: <tcp-shutdown> conn=\"c\": it was shut down for sending before");
  EXPECT_EQ(only_error(kHead + "  <tcp-shutdown conn=\"d\"/>\n</experiment>\n"),
            "2: <tcp-shutdown> conn=\"d\": no connection with that id was defined before");
  EXPECT_EQ(only_error(kHead + "  <tcp-connect id=\"c\" port=\"9\" read=\"no\"/>\n</experiment>\n"),
            "2: bad read=\"no\" (true or false)");
  EXPECT_EQ(only_error(kHead + "  <tcp-connect id=\"c\" port=\"9\" read=\"false\"/>\n"
                       "  <expect-tcp-line name=\"l\" conn=\"c\" line=\"x\"/>\n</experiment>\n"),
            "3: <expect-tcp-line> conn=\"c\": that connection never reads (read=\"false\")");
  for (const char* bad : {"x", ">", "=>1", ">-1", "<0", "1073741825", "1 ", ">>1"}) {
    EXPECT_EQ(only_error(kHead + "  <expect-socket name=\"s\" recv-q=\"" + std::string(bad) + "\"/>\n</experiment>\n"),
              "2: bad recv-q=\"" + std::string(bad) +
                  "\" (a number of bytes 0-1073741824, or one compared: >0, >=N, <N, <=N; write < as &lt;)");
  }
}

// recv-q= and send-q= compare: "N" exactly, ">N", ">=N", "<N", "<=N" (in XML "<" is written &lt;).
TEST(LoaderSteps, QueueSizesCompare) {
  Experiment e = valid("  <expect-socket name=\"a\" recv-q=\"&gt;0\" send-q=\"&gt;=4096\"/>\n"
                       "  <expect-socket name=\"b\" recv-q=\"&lt;10\" send-q=\"&lt;=3\"/>\n");
  const auto& a = step<ExpectSocketStep>(e, 0);
  const auto& b = step<ExpectSocketStep>(e, 1);
  EXPECT_EQ(a.recv_q->compare, QueueSize::Compare::kAbove);
  EXPECT_EQ(a.send_q->compare, QueueSize::Compare::kAtLeast);
  EXPECT_EQ(b.recv_q->compare, QueueSize::Compare::kBelow);
  EXPECT_EQ(b.send_q->compare, QueueSize::Compare::kAtMost);
  EXPECT_TRUE(a.recv_q->holds(1));
  EXPECT_FALSE(a.recv_q->holds(0));
  EXPECT_TRUE(a.send_q->holds(4096));
  EXPECT_FALSE(a.send_q->holds(4095));
  EXPECT_TRUE(b.recv_q->holds(9));
  EXPECT_FALSE(b.recv_q->holds(10));
  EXPECT_TRUE(b.send_q->holds(3));
  EXPECT_FALSE(b.send_q->holds(4));
  EXPECT_EQ(a.recv_q->text(), "above 0");
  EXPECT_EQ(b.send_q->text(), "at most 3");
}

TEST(LoaderSteps, UdpSend) {
  Experiment e = valid("  <udp-send socket=\"u\" port=\"{port}\" text=\"hi\\n\" repeat=\"2\"/>\n");
  const auto& s = step<UdpSendStep>(e, 0);
  EXPECT_EQ(s.socket, "u");
  EXPECT_EQ(s.port, "{port}");
  EXPECT_EQ(s.text, "hi\n");
  EXPECT_EQ(s.repeat, 2u);
  EXPECT_FALSE(s.newline) << "a datagram gets no newline by default";
}

// A check's common part: name, points, hint, fatal, timeout.
TEST(LoaderSteps, ExpectOutput) {
  Experiment e = valid(kServer + "  <start id=\"b\" program=\"echo_client\"/>\n"
                       "  <expect-output name=\"o\" process=\"server b\" line=\"x{port}\" repeat=\"2\" points=\"4\"\n"
                       "                 hint=\"look\" fatal=\"true\" timeout=\"1min\"/>\n");
  const auto& s = step<ExpectOutputStep>(e, 2);
  EXPECT_TRUE(is_check(e.steps[2]));
  EXPECT_EQ(s.line, 4);
  EXPECT_EQ(s.check.name, "o");
  EXPECT_EQ(s.check.points, 4);
  EXPECT_EQ(s.check.hint, "look");
  EXPECT_TRUE(s.check.fatal);
  EXPECT_EQ(s.check.timeout, Millis(60000));
  EXPECT_EQ(s.processes, (std::vector<std::string>{"server", "b"}));
  EXPECT_EQ(s.stream, Stream::kStdout);
  EXPECT_EQ(s.expected.match, Match::kExact);
  EXPECT_EQ(s.expected.text, "x{port}");
  EXPECT_EQ(s.expected.repeat, 2u);
}

TEST(LoaderSteps, ExpectNoOutput) {
  Experiment e = valid(kServer + "  <expect-no-output name=\"quiet\" process=\"server\" for=\"300ms\" stream=\"stderr\"/>\n"
                       "  <expect-no-output name=\"no err\" process=\"server\" for=\"1s\" contains=\"error\"/>\n");
  const auto& quiet = step<ExpectNoOutputStep>(e, 1);
  EXPECT_EQ(quiet.process, "server");
  EXPECT_EQ(quiet.duration, Millis(300));
  EXPECT_EQ(quiet.stream, Stream::kStderr);
  EXPECT_FALSE(quiet.only.has_value()) << "without line=/regex=/contains= every line counts";
  const auto& filtered = step<ExpectNoOutputStep>(e, 2);
  ASSERT_TRUE(filtered.only.has_value());
  EXPECT_EQ(filtered.only->match, Match::kContains);
  EXPECT_EQ(filtered.only->text, "error");
}

TEST(LoaderSteps, ExpectExit) {
  Experiment e = valid(kServer + "  <expect-exit name=\"a\" process=\"server\" code=\"3\"/>\n"
                       "  <expect-exit name=\"b\" process=\"server\" code=\"nonzero\"/>\n"
                       "  <expect-exit name=\"c\" process=\"server\" signal=\"KILL\"/>\n");
  EXPECT_EQ(step<ExpectExitStep>(e, 1).want, ExpectExitStep::Want::kCode);
  EXPECT_EQ(step<ExpectExitStep>(e, 1).value, 3);
  EXPECT_EQ(step<ExpectExitStep>(e, 1).processes, std::vector<std::string>{"server"});
  EXPECT_EQ(step<ExpectExitStep>(e, 2).want, ExpectExitStep::Want::kNonzeroCode);
  EXPECT_EQ(step<ExpectExitStep>(e, 3).want, ExpectExitStep::Want::kSignal);
  EXPECT_EQ(step<ExpectExitStep>(e, 3).value, SIGKILL);
}

TEST(LoaderSteps, ExpectRunning) {
  EXPECT_EQ(step<ExpectRunningStep>(valid(kServer + "  <expect-running name=\"up\" process=\"server\"/>\n"), 1).process,
            "server");
}

TEST(LoaderSteps, ExpectSocket) {
  Experiment e = valid(kServer + "  <expect-socket name=\"s\" proto=\"udp\" state=\"ESTABLISHED,UNCONN\" local-port=\"{port}\"\n"
                       "    peer-port=\"9\" owner=\"server\" recv-q=\"1\" send-q=\"2\" min=\"3\" max=\"5\" distinct-owners=\"true\"/>\n"
                       "  <expect-socket name=\"none\" absent=\"true\"/>\n  <expect-socket name=\"any\"/>\n");
  const auto& s = step<ExpectSocketStep>(e, 1);
  EXPECT_EQ(s.proto, Proto::kUdp);
  EXPECT_EQ(s.states, (std::vector<std::string>{"ESTAB", "UNCONN"}));
  EXPECT_EQ(s.local_port, "{port}");
  EXPECT_EQ(s.peer_port, "9");
  EXPECT_EQ(s.owner, "server");
  ASSERT_TRUE(s.recv_q && s.send_q);
  EXPECT_EQ(s.recv_q->compare, QueueSize::Compare::kEqual);
  EXPECT_EQ(s.recv_q->value, 1u);
  EXPECT_EQ(s.send_q->value, 2u);
  EXPECT_EQ(s.count, std::nullopt);
  EXPECT_EQ(s.min_count, 3);
  EXPECT_EQ(s.max_count, 5);
  EXPECT_TRUE(s.distinct_owners);
  EXPECT_EQ(step<ExpectSocketStep>(e, 2).count, 0) << "absent=\"true\" is count 0";
  EXPECT_EQ(step<ExpectSocketStep>(e, 3).min_count, 1) << "no count: at least one";
  EXPECT_EQ(step<ExpectSocketStep>(e, 3).proto, Proto::kTcp);
}

TEST(LoaderSteps, ExpectFdCount) {
  Experiment e = valid(kServer + "  <expect-fd-count name=\"f\" process=\"server\" change=\"+2\"/>\n");
  const auto& s = step<ExpectFdCountStep>(e, 1);
  EXPECT_EQ(s.process, "server");
  EXPECT_EQ(s.change, 2);
}

TEST(LoaderSteps, ExpectNoZombies) {
  EXPECT_EQ(step<ExpectNoZombiesStep>(valid(kServer + "  <expect-no-zombies name=\"z\" process=\"server\"/>\n"), 1).process,
            "server");
}

TEST(LoaderSteps, ExpectTcpLine) {
  Experiment e = valid(kConn + "  <expect-tcp-line name=\"l\" conn=\"c\" regex=\"^a+$\"/>\n");
  const auto& s = step<ExpectTcpLineStep>(e, 1);
  EXPECT_EQ(s.conn, "c");
  EXPECT_EQ(s.expected.match, Match::kRegex);
  EXPECT_EQ(s.expected.text, "^a+$");
}

TEST(LoaderSteps, ExpectTcpEof) {
  EXPECT_EQ(step<ExpectTcpEofStep>(valid(kConn + "  <expect-tcp-eof name=\"e\" conn=\"c\"/>\n"), 1).conn, "c");
}

TEST(LoaderSteps, ExpectDatagram) {
  Experiment e = valid("  <udp-send socket=\"u\" port=\"9\" text=\"x\"/>\n"
                                                 "  <expect-datagram name=\"d\" socket=\"u\" text=\"X\\n\"/>\n");
  const auto& s = step<ExpectDatagramStep>(e, 1);
  EXPECT_EQ(s.socket, "u");
  EXPECT_EQ(s.expected.match, Match::kExact);
  EXPECT_EQ(s.expected.text, "X\n");
}

// Placeholders are checked by the same grammar the runner fills them with, in every text, at load time.
TEST(LoaderSteps, UnknownPlaceholdersAndEarlyPidsAreLoadErrors) {
  EXPECT_EQ(only_error(kHead + kServer + "  <send to=\"server\" text=\"{porrt}\"/>\n</experiment>\n"),
            "3: unknown placeholder {porrt} (known: {port}, {port2}, {port:NAME}, {pid:ID})");
  EXPECT_EQ(only_error(kHead + kServer + "  <send to=\"server\" text=\"kill {pid:client}\"/>\n"
                       "  <start id=\"client\" program=\"echo_client\"/>\n</experiment>\n"),
            "3: {pid:client}: no process \"client\" was started before");
  EXPECT_EQ(only_error(kHead + "  <start id=\"s\" program=\"echo_server\" args=\"{pid:s}\"/>\n</experiment>\n"),
            "2: {pid:s}: no process \"s\" was started before")
      << "a process's own pid is not known before it starts";
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-socket name=\"s\" local-port=\"{pid:server}\"/>\n</experiment>\n"),
            "3: bad port \"{pid:server}\" in local-port= (a number 1-65535, or a placeholder such as {port}, {port2}, {port:NAME})");
  Experiment fine = valid(kServer + "  <send to=\"server\" text=\"\\{json} {pid:server} {port:x}\"/>\n");
  EXPECT_EQ(step<SendStep>(fine, 1).text, "\\{json} {pid:server} {port:x}") << "\\{ stays escaped for the filler";
}

// visibility="after-due-date" hides a check from students until the due date: on the experiment it is the default
// of its checks, on a check it is that check's own; a check may say "visible" inside a hidden experiment.
TEST(Loader, VisibilityOnTheExperimentIsItsChecksDefault) {
  Loaded l = load("<experiment id=\"t\" title=\"T\" visibility=\"after-due-date\">\n" + kServer +
                  "  <expect-running name=\"up\" process=\"server\" points=\"5\"/>\n"
                  "  <expect-running name=\"still up\" process=\"server\" points=\"5\" visibility=\"visible\"/>\n"
                  "</experiment>\n");
  ASSERT_TRUE(l.experiment) << (l.errors.empty() ? "" : l.errors[0]);
  EXPECT_EQ(l.experiment->visibility, Visibility::kAfterDueDate);
  EXPECT_EQ(step<ExpectRunningStep>(*l.experiment, 1).check.visibility, Visibility::kAfterDueDate);
  EXPECT_EQ(step<ExpectRunningStep>(*l.experiment, 2).check.visibility, Visibility::kVisible);
  Loaded one = load(kHead + kServer + "  <expect-running name=\"up\" process=\"server\" points=\"5\" visibility=\"after-due-date\"/>\n</experiment>\n");
  ASSERT_TRUE(one.experiment);
  EXPECT_EQ(one.experiment->visibility, Visibility::kVisible);
  EXPECT_EQ(step<ExpectRunningStep>(*one.experiment, 1).check.visibility, Visibility::kAfterDueDate);
}

// Strict: a misspelt value, a visibility on a check without points (no test to hide) or on an observation-only
// experiment (students never see it) is an error at its line.
TEST(Loader, ReportsBadVisibility) {
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-running name=\"up\" process=\"server\" points=\"5\" visibility=\"hidden\"/>\n</experiment>\n"),
            "3: bad visibility=\"hidden\" (visible or after-due-date)");
  EXPECT_EQ(only_error("<experiment id=\"t\" title=\"T\" visibility=\"after_due_date\">\n" + kServer + "</experiment>\n"),
            "1: bad visibility=\"after_due_date\" (visible or after-due-date)");
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-running name=\"up\" process=\"server\" visibility=\"after-due-date\"/>\n</experiment>\n"),
            "3: visibility=\"...\" is for checks with points (students see no test for this one)");
  EXPECT_EQ(only_error("<experiment id=\"t\" title=\"T\" graded=\"false\" visibility=\"after-due-date\">\n" + kServer + "</experiment>\n"),
            "1: an observation-only experiment (graded=\"false\") has no visibility: students never see it");
}

// <link>: loss in hundredths of a percent, delay a duration, rate in bits per second (tc's units); none at all is a
// clean link again.
TEST(LoaderSteps, Link) {
  Experiment e = valid("  <link loss=\"10%\" delay=\"20ms\" rate=\"1mbit\"/>\n  <link loss=\"0.5%\"/>\n"
                       "  <link rate=\"500kbit\"/>\n  <link/>\n");
  const auto& all = step<LinkStep>(e, 0);
  EXPECT_EQ(all.loss, 1000);
  EXPECT_EQ(all.delay, Millis(20));
  EXPECT_EQ(all.rate, 1000000u);
  EXPECT_EQ(step<LinkStep>(e, 1).loss, 50);
  EXPECT_EQ(step<LinkStep>(e, 2).rate, 500000u);
  const auto& clean = step<LinkStep>(e, 3);
  EXPECT_FALSE(clean.loss || clean.delay || clean.rate);
  EXPECT_FALSE(is_check(e.steps[0]));
}

// Bad link values are errors at their line, and a link on the host's own loopback is refused.
TEST(LoaderErrors, LinkValues) {
  EXPECT_EQ(only_error(kHead + "  <link loss=\"110%\"/>\n</experiment>\n"),
            "2: bad loss=\"110%\" (the share of packets dropped: more than 0% and at most 100%, e.g. 10% or 0.5%)");
  EXPECT_EQ(only_error(kHead + "  <link loss=\"10\"/>\n</experiment>\n"),
            "2: bad loss=\"10\" (the share of packets dropped: more than 0% and at most 100%, e.g. 10% or 0.5%)");
  EXPECT_EQ(only_error(kHead + "  <link loss=\"0%\"/>\n</experiment>\n"),
            "2: bad loss=\"0%\" (the share of packets dropped: more than 0% and at most 100%, e.g. 10% or 0.5%)");
  EXPECT_EQ(only_error(kHead + "  <link loss=\"0.125%\"/>\n</experiment>\n"),
            "2: bad loss=\"0.125%\" (the share of packets dropped: more than 0% and at most 100%, e.g. 10% or 0.5%)");
  EXPECT_EQ(only_error(kHead + "  <link rate=\"1mbps\"/>\n</experiment>\n"),
            "2: bad rate=\"1mbps\" (bits per second, from 8kbit to 100gbit: e.g. 1mbit, 500kbit, 2gbit)");
  EXPECT_EQ(only_error(kHead + "  <link rate=\"100bit\"/>\n</experiment>\n"),
            "2: bad rate=\"100bit\" (bits per second, from 8kbit to 100gbit: e.g. 1mbit, 500kbit, 2gbit)");
  EXPECT_EQ(only_error(kHead + "  <link delay=\"20\"/>\n</experiment>\n"),
            "2: bad duration delay=\"20\" (e.g. 500ms, 2s, 1.5s, 1min)");
  EXPECT_EQ(only_error(kHead + "  <link delay=\"0ms\"/>\n</experiment>\n"),
            "2: delay=\"0ms\": leave delay= out for no delay");
  EXPECT_EQ(only_error(kHead + kServer + "  <link jitter=\"5ms\"/>\n</experiment>\n"), "3: unknown attribute \"jitter\" on <link>");
  EXPECT_EQ(only_error("<experiment id=\"t\" title=\"T\" isolation=\"host\">\n  <link loss=\"10%\"/>\n</experiment>\n"),
            "2: <link> impairs the experiment's own loopback: it needs a network namespace of its own "
            "(isolation=\"auto\" or \"netns\", not \"host\")");
}

// <expect-output-count>: count= is min and max at once; min= alone, or with max=; for= is required.
TEST(LoaderSteps, ExpectOutputCount) {
  Experiment e = valid(kServer +
                       "  <expect-output-count name=\"a\" process=\"server\" line=\"x\" count=\"3\" for=\"1s\"/>\n"
                       "  <expect-output-count name=\"b\" process=\"server\" regex=\"^y\" min=\"2\" max=\"9\" for=\"2s\" stream=\"stderr\"/>\n"
                       "  <expect-output-count name=\"c\" process=\"server\" contains=\"z\" min=\"5\" for=\"500ms\"/>\n");
  const auto& a = step<ExpectOutputCountStep>(e, 1);
  EXPECT_EQ(a.min, 3u);
  EXPECT_EQ(a.max, 3u);
  EXPECT_EQ(a.duration, Millis(1000));
  EXPECT_EQ(a.expected.match, Match::kExact);
  const auto& b = step<ExpectOutputCountStep>(e, 2);
  EXPECT_EQ(b.min, 2u);
  EXPECT_EQ(b.max, 9u);
  EXPECT_EQ(b.stream, Stream::kStderr);
  EXPECT_EQ(b.expected.match, Match::kRegex);
  const auto& c = step<ExpectOutputCountStep>(e, 3);
  EXPECT_EQ(c.min, 5u);
  EXPECT_FALSE(c.max.has_value());
}

TEST(LoaderErrors, ExpectOutputCount) {
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-output-count name=\"a\" process=\"server\" line=\"x\" for=\"1s\"/>\n</experiment>\n"),
            "3: <expect-output-count> needs count=, min= or max=");
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-output-count name=\"a\" process=\"server\" line=\"x\" count=\"1\" min=\"1\" for=\"1s\"/>\n</experiment>\n"),
            "3: <expect-output-count>: give count= or min= / max=, not both");
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-output-count name=\"a\" process=\"server\" line=\"x\" min=\"5\" max=\"4\" for=\"1s\"/>\n</experiment>\n"),
            "3: <expect-output-count>: max= is below min=");
  EXPECT_EQ(only_error(kHead + kServer + "  <expect-output-count name=\"a\" process=\"server\" line=\"x\" min=\"5\"/>\n</experiment>\n"),
            "3: <expect-output-count> needs the attribute \"for\"");
}

// min-retrans= on a TCP expect-socket; UDP has no retransmissions to count.
TEST(LoaderSteps, ExpectSocketMinRetrans) {
  Experiment e = valid("  <expect-socket name=\"r\" state=\"ESTAB\" min-retrans=\"2\"/>\n");
  EXPECT_EQ(step<ExpectSocketStep>(e, 0).min_retrans, 2u);
  EXPECT_EQ(only_error(kHead + "  <expect-socket name=\"r\" proto=\"udp\" min-retrans=\"1\"/>\n</experiment>\n"),
            "2: min-retrans= counts TCP retransmissions: not with proto=\"udp\"");
}
