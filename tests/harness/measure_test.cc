// <chart> and <measure>: numbers read from a real program's output, checked strictly at load time, carried into the
// result, and drawn — charts with ratios to their baseline, in the terminal, JSON and HTML reports.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "experiment_text.h"
#include "load/loader.h"
#include "report/charts.h"
#include "report/html.h"
#include "report/reports.h"
#include "run/runner.h"

using namespace socklab::harness;

namespace {

// The errors of loading `xml`, each without the path ("4: ...").
std::vector<std::string> load_errors(const std::string& xml) {
  std::string path = testing::TempDir() + "measure" + std::to_string(getpid()) + ".xml";
  std::ofstream(path) << xml;
  std::vector<LoadError> errors;
  load_experiment(path, errors);
  std::vector<std::string> texts;
  for (const LoadError& e : errors) texts.push_back(e.text().substr(path.size() + 1));
  return texts;
}

const std::string kHead = "<experiment id=\"t\" title=\"T\">\n"
                          "  <chart id=\"rate\" title=\"Rate\" x=\"clients\" y=\"messages/s\" x-scale=\"log\" baseline=\"ref\"/>\n"
                          "  <start id=\"bench\" program=\"bench\"/>\n";

std::string one_error(const std::string& measure) {
  std::vector<std::string> errors = load_errors(kHead + measure + "</experiment>\n");
  if (errors.size() != 1) return std::to_string(errors.size()) + " errors" + (errors.empty() ? "" : ": " + errors[0]);
  return errors[0];
}

// A script standing in for a benchmark: its output is the test's, the program and the pipe are real.
std::string script(const std::string& name, const std::string& body) {
  std::string path = testing::TempDir() + name + std::to_string(getpid()) + ".sh";
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
  return path;
}

ExperimentResult run(const Experiment& e, const std::map<std::string, std::string>& bins) {
  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  Reporter silent;
  RunOptions options;
  options.isolation = Isolation::kHost;
  options.bins = bins;
  Runner runner(loop, *launcher, options, silent);
  return runner.run(e);
}

}  // namespace

TEST(Measure, LoadsOneValueOnAChartAndASeries) {
  std::vector<std::string> errors = load_errors(kHead +
      "  <measure name=\"yours at 4\" process=\"bench\" regex=\"^messages/s ([0-9.]+)\" chart=\"rate\" series=\"yours\" x=\"4\"/>\n"
      "  <measure name=\"per second\" process=\"bench\" regex=\"^(\\d+),(\\d+)\" chart=\"rate\" series=\"over time\"/>\n"
      "  <measure name=\"cpu\" process=\"bench\" stream=\"stderr\" regex=\"cpu ([0-9.]+)\" unit=\"%\"/>\n</experiment>\n");
  EXPECT_TRUE(errors.empty()) << errors.front();
}

// Every way to get a measure or a chart wrong is an error at its line, before anything runs.
TEST(Measure, MistakesAreLoadErrorsAtTheirLine) {
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"([0-9]+)\" unit=\"x\" points=\"5\"/>\n"),
            "4: <measure> earns no points (a speed depends on the machine): grade behaviour with expect-* checks");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"[0-9]+\"/>\n"),
            "4: <measure> regex needs one group (the value) or two (x, then the value on every line), not 0");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"(a)(b)(c)\"/>\n"),
            "4: <measure> regex needs one group (the value) or two (x, then the value on every line), not 3");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"(1\" />\n").substr(0, 15), "4: bad regex \"(");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"(1)\" chart=\"speed\" series=\"s\" x=\"1\"/>\n"),
            "4: chart=\"speed\": no <chart> with that id before this measure");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"(1)\" chart=\"rate\" series=\"s\"/>\n"),
            "4: a one-value measure on a chart needs x=\"...\" (where it sits on the x axis)");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"(1)\" chart=\"rate\" x=\"4\"/>\n"),
            "4: a measure on a chart needs series=\"...\" (its line on the chart)");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"(1),(2)\" chart=\"rate\" series=\"s\" x=\"4\"/>\n"),
            "4: x= is for a one-value measure: with two groups the regex gives x");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"(1)\" chart=\"rate\" series=\"s\" x=\"four\"/>\n"),
            "4: bad x=\"four\" (a number)");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"(1)\" chart=\"rate\" series=\"s\" x=\"4\" unit=\"%\"/>\n"),
            "4: a measure on a chart takes the chart's unit (its y=): no unit=");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"bench\" regex=\"(1)\" series=\"s\"/>\n"),
            "4: series= and x= are for a measure on a chart (chart=\"ID\")");
  EXPECT_EQ(one_error("  <measure name=\"m\" process=\"nobody\" regex=\"(1)\"/>\n"),
            "4: <measure> process=\"nobody\": no process with that id (defined before: bench)");
  EXPECT_EQ(one_error("  <chart id=\"rate\" title=\"Again\" x=\"a\" y=\"b\"/>\n"), "4: duplicate chart id \"rate\"");
  EXPECT_EQ(one_error("  <chart id=\"c2\" title=\"C\" x=\"a\" y=\"b\" x-scale=\"log2\"/>\n"), "4: bad x-scale=\"log2\" (linear or log)");
  EXPECT_EQ(one_error("  <chart id=\"c2\" title=\"C\" x=\" \" y=\"b\"/>\n"), "4: <chart> x= is empty");
}

// A real program's output: the first matching line for one value, every matching line until it ends for a series;
// a measure whose line never comes fails and records nothing.
TEST(Measure, ReadsNumbersFromARealProgramsOutput) {
  std::string bench = script("bench", "echo 'warming up'\necho 'messages/s 12345.6'\necho 'messages/s 999'\n"
                                      "echo '1,100'\necho '2,250'\necho 'not a row'\necho '3,175'\n");
  Experiment e = load_text("measures", kHead +
      "  <measure name=\"yours at 4\" process=\"bench\" regex=\"^messages/s ([0-9.]+)\" chart=\"rate\" series=\"yours\" x=\"4\"/>\n"
      "  <measure name=\"per second\" process=\"bench\" regex=\"^(\\d+),(\\d+)$\" chart=\"rate\" series=\"over time\"/>\n"
      "  <measure name=\"never printed\" process=\"bench\" regex=\"^latency ([0-9.]+)\" unit=\"µs\" timeout=\"300ms\"/>\n"
      "</experiment>\n");
  ExperimentResult r = run(e, {{"bench", bench}});
  ASSERT_EQ(r.checks.size(), 3u) << r.error;
  EXPECT_EQ(r.checks[0].status, CheckResult::Status::kPassed) << r.checks[0].expected << " / " << r.checks[0].actual;
  EXPECT_EQ(r.checks[0].actual, "12346 messages/s") << "four significant digits";
  EXPECT_EQ(r.checks[1].status, CheckResult::Status::kPassed) << r.checks[1].expected << " / " << r.checks[1].actual;
  EXPECT_EQ(r.checks[1].actual, "3 values, 100–250 messages/s");
  EXPECT_EQ(r.checks[2].status, CheckResult::Status::kFailed);
  EXPECT_NE(r.checks[2].expected.find("a line matching /^latency ([0-9.]+)/ with a number on bench's stdout"), std::string::npos)
      << r.checks[2].expected;
  ASSERT_EQ(r.measurements.size(), 2u);
  EXPECT_EQ(r.measurements[0].points, (std::vector<MeasurementRecord::Point>{{4, 12345.6}}));
  EXPECT_EQ(r.measurements[0].series, "yours");
  EXPECT_EQ(r.measurements[1].points, (std::vector<MeasurementRecord::Point>{{1, 100}, {2, 250}, {3, 175}}));
  EXPECT_FALSE(r.measurements[1].single);
  EXPECT_EQ(r.charts.size(), 1u);
}

// A series needs its program to end: one still running at the deadline fails the measure, with what it had.
TEST(Measure, ASeriesWhoseProgramDoesNotEndFails) {
  std::string bench = script("endless", "echo '1,100'\nexec sleep 30\n");
  Experiment e = load_text("endless", kHead +
      "  <measure name=\"per second\" process=\"bench\" regex=\"^(\\d+),(\\d+)$\" chart=\"rate\" series=\"s\" timeout=\"300ms\"/>\n"
      "</experiment>\n");
  ExperimentResult r = run(e, {{"bench", bench}});
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].status, CheckResult::Status::kFailed);
  EXPECT_NE(r.checks[0].actual.find("bench still running; 1 matching lines"), std::string::npos) << r.checks[0].actual;
  EXPECT_TRUE(r.measurements.empty());
}

namespace {

// Two servers measured at 1, 4 and 16 clients on a chart whose baseline is the reference.
ExperimentResult measured() {
  ExperimentResult r;
  r.id = "lab7.compare";
  r.title = "Compare";
  r.charts = {ChartSpec{2, "rate", "Throughput against clients", "clients", "messages/s", true, "reference"}};
  auto value = [](std::string series, double x, double y) {
    return MeasurementRecord{series + " at " + std::to_string(static_cast<int>(x)), 3, 1.0, "messages/s", "rate",
                             series, true, {{x, y}}};
  };
  r.measurements = {value("reference", 1, 1000), value("reference", 4, 4000), value("reference", 16, 8000),
                    value("yours", 1, 500), value("yours", 4, 4000), value("yours", 16, 10000)};
  return r;
}

}  // namespace

TEST(Charts, RatiosToTheBaselineAtTheSameX) {
  std::vector<ChartData> charts = chart_data(measured());
  ASSERT_EQ(charts.size(), 1u);
  EXPECT_EQ(charts[0].series, (std::vector<std::string>{"reference", "yours"}));
  EXPECT_DOUBLE_EQ(charts[0].ratio("yours", 1).value_or(-1), 0.5);
  EXPECT_DOUBLE_EQ(charts[0].ratio("yours", 16).value_or(-1), 1.25);
  EXPECT_FALSE(charts[0].ratio("yours", 64)) << "no baseline value at 64";
  EXPECT_FALSE(charts[0].ratio("reference", 1)) << "the baseline has no ratio to itself";
  EXPECT_EQ(chart_csv(charts[0]), "series,clients,messages/s\nreference,1,1000\nreference,4,4000\nreference,16,8000\n"
                                  "yours,1,500\nyours,4,4000\nyours,16,10000\n");
  std::string text = measurements_text(measured());
  EXPECT_NE(text.find("  yours at 1: 500 messages/s  (0.50× reference)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  reference at 16: 8000 messages/s\n"), std::string::npos) << text;
}

// The HTML report draws the chart (a path per series, a point per value), tabulates the values with the ratio
// column, and links the data as CSV; an experiment without measurements has no such section.
TEST(Charts, TheHtmlReportDrawsAndTabulatesThem) {
  std::ostringstream html;
  write_html_report(html, {measured()});
  std::string page = html.str();
  EXPECT_NE(page.find("<svg class=\"chart\""), std::string::npos);
  EXPECT_NE(page.find("data-series=\"reference\""), std::string::npos);
  EXPECT_NE(page.find("data-series=\"yours\""), std::string::npos);
  EXPECT_NE(page.find("<th>yours ÷ reference</th>"), std::string::npos);
  EXPECT_NE(page.find("<td class=\"ratio\">1.25×</td>"), std::string::npos);
  EXPECT_NE(page.find("download=\"lab7.compare-rate.csv\""), std::string::npos);
  ExperimentResult plain = measured();
  plain.measurements.clear();
  std::ostringstream none;
  write_html_report(none, {plain});
  EXPECT_EQ(none.str().find("class=\"measurements\""), std::string::npos);
}
