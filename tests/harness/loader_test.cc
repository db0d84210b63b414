// The experiment loader: every kind of mistake in a file is reported as FILE:LINE: message.
#include <gtest/gtest.h>
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

