// The grading platforms' report formats — PrairieLearn's results.json and Autolab's autoresult — each checked
// against the platform's documented schema (written out below as a small checker, citing the doc): on grading
// results made in memory (passed, failed, a build that failed) and end to end through `socklab grade --report`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "child.h"
#include "grade/grade.h"
#include "grade_support.h"

using namespace testing_support;
using namespace grade_support;
using namespace socklab::harness;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

// PrairieLearn, docs/externalGrading.md, "Grading results" (PrairieLearn/PrairieLearn, commit 88fb855):
//  - gradable: optional boolean; when false the submission is "invalid, not gradable" and score is not needed,
//    format_errors (a string or an array of strings) may say why;
//  - score: required when gradable, "a floating-point number in the range [0.0, 1.0]";
//  - message, output: strings shown by <pl-external-grader-results>;
//  - tests[]: name, description, points, max_points, message, output — and "if points or max_points is omitted on
//    any single test, the detailed per-test points display is disabled for all tests": both on every test;
//  - the file "should be limited to 1 MB".
// Returns every way `j` breaks it, one per line ("" when it conforms).
std::string prairielearn_violations(const std::string& text) {
  std::string v;
  if (text.size() > 1'000'000) v += "results.json is " + std::to_string(text.size()) + " bytes, over 1 MB\n";
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return v + "not a JSON object\n";
  bool gradable = true;
  if (j.contains("gradable")) {
    if (!j["gradable"].is_boolean()) v += "gradable is not a boolean\n";
    else gradable = j["gradable"].get<bool>();
  }
  if (gradable) {
    if (!j.contains("score") || !j["score"].is_number()) v += "a gradable result needs a number score\n";
    else if (j["score"].get<double>() < 0 || j["score"].get<double>() > 1) v += "score is outside [0.0, 1.0]\n";
  }
  if (j.contains("format_errors")) {
    const json& f = j["format_errors"];
    bool strings = f.is_string() || (f.is_array() && std::all_of(f.begin(), f.end(), [](const json& e) { return e.is_string(); }));
    if (!strings) v += "format_errors is neither a string nor an array of strings\n";
  }
  for (const char* key : {"message", "output"}) {
    if (j.contains(key) && !j[key].is_string()) v += std::string(key) + " is not a string\n";
  }
  if (j.contains("tests")) {
    if (!j["tests"].is_array()) return v + "tests is not an array\n";
    for (const json& t : j["tests"]) {
      if (!t.contains("name") || !t["name"].is_string()) v += "a test without a name: " + t.dump() + "\n";
      for (const char* key : {"points", "max_points"}) {
        if (!t.contains(key) || !t[key].is_number()) v += "a test without a number " + std::string(key) + ": " + t.dump() + "\n";
      }
      for (const char* key : {"description", "message", "output"}) {
        if (t.contains(key) && !t[key].is_string()) v += std::string("a test's ") + key + " is not a string\n";
      }
    }
  }
  return v;
}

// Autolab, docs/lab.md, "Writing Autograders" (autolab/Autolab, commit 9cc857f): "The last text line on stdout must
// be a JSON string, called an autoresult": {"scores": {PROBLEM: number, ...}} and an optional "scoreboard" array
// (docs/features/scoreboards.md). docs/features/formatted-feedback.md: a JSON line just before it,
// {"_presentation": "semantic", "stages": [NAME...], NAME: {TEST: {"passed": bool, "hint"?: string}}}.
// Returns every way the output breaks it; `autoresult` gets the parsed last line.
std::string autolab_violations(const std::string& output, json& autoresult) {
  std::vector<std::string> lines;
  std::istringstream in(output);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) lines.push_back(l);
  }
  if (lines.size() < 2) return "fewer than two lines of output\n";
  std::string v;
  autoresult = json::parse(lines.back(), nullptr, false);
  if (!autoresult.is_object()) return "the last line is not a JSON object: " + lines.back() + "\n";
  if (!autoresult.contains("scores") || !autoresult["scores"].is_object()) v += "the autoresult has no scores object\n";
  else {
    for (const auto& [problem, score] : autoresult["scores"].items()) {
      if (!score.is_number()) v += "the score of " + problem + " is not a number\n";
    }
  }
  if (autoresult.contains("scoreboard") && !autoresult["scoreboard"].is_array()) v += "scoreboard is not an array\n";
  json semantic = json::parse(lines[lines.size() - 2], nullptr, false);
  if (!semantic.is_object() || semantic.value("_presentation", "") != "semantic") {
    return v + "the line before the autoresult is not semantic feedback\n";
  }
  if (!semantic["stages"].is_array()) return v + "semantic feedback without a stages array\n";
  for (const json& stage : semantic["stages"]) {
    if (!stage.is_string() || !semantic.contains(stage.get<std::string>())) {
      v += "stage " + stage.dump() + " has no results\n";
      continue;
    }
    for (const auto& [test, result] : semantic[stage.get<std::string>()].items()) {
      if (!result.is_object() || !result.contains("passed") || !result["passed"].is_boolean()) v += "test " + test + ": no boolean passed\n";
      if (result.contains("hint") && !result["hint"].is_string()) v += "test " + test + ": hint is not a string\n";
    }
  }
  return v;
}

// A lab-1 grading made in memory: one experiment with a passed check (6 points), a failed one (4 points, hinted)
// and a check without points.
GradeResult a_grading(BuildStatus build = BuildStatus::kOk) {
  GradeResult r;
  r.student = "alice";
  r.lab = "1";
  r.lab_title = "An iterative TCP echo server";
  r.build = build;
  r.build_method = "cc/c++ per program";
  r.build_log = build == BuildStatus::kOk ? "" : "echo_server.c:3:1: error: expected ';' before '}' token\n";
  ExperimentResult e;
  e.id = "lab1.reverse";
  e.title = "Lines come back reversed";
  CheckResult passed;
  passed.name = "ASCII line reversed";
  passed.status = CheckResult::Status::kPassed;
  passed.points = passed.max_points = 6;
  CheckResult failed;
  failed.name = "UTF-8 kept whole";
  failed.status = build == BuildStatus::kOk ? CheckResult::Status::kFailed : CheckResult::Status::kNotRun;
  failed.max_points = 4;
  failed.expected = "line \"éh\"";
  failed.actual = "\"\\xa9\\xc3h\"";
  failed.hint = "reverse characters, not bytes";
  CheckResult context;
  context.name = "server listens";
  context.status = CheckResult::Status::kPassed;
  if (build != BuildStatus::kOk) passed.status = CheckResult::Status::kNotRun, passed.points = 0;
  e.checks = {passed, failed, context};
  r.experiments.push_back(e);
  return r;
}

}  // namespace

// A graded submission: a score in [0, 1] (6 of 10 points), one test per check with points, the failure's hint.
TEST(PrairieLearn, ResultsFollowTheDocumentedSchema) {
  std::ostringstream out;
  write_prairielearn(out, a_grading());
  EXPECT_EQ(prairielearn_violations(out.str()), "") << out.str();
  json j = json::parse(out.str());
  EXPECT_EQ(j["gradable"], true);
  EXPECT_DOUBLE_EQ(j["score"].get<double>(), 0.6);
  ASSERT_EQ(j["tests"].size(), 2u) << "a check without points is not a test";
  EXPECT_EQ(j["tests"][0]["name"], "Lines come back reversed: ASCII line reversed");
  EXPECT_EQ(j["tests"][1]["points"], 0);
  EXPECT_EQ(j["tests"][1]["max_points"], 4);
  EXPECT_NE(j["tests"][1]["output"].get<std::string>().find("Hint: reverse characters, not bytes"), std::string::npos);
}

// A submission that does not build is what PrairieLearn calls not gradable: no attempt lost, score 0, the
// compiler's message in format_errors and output.
TEST(PrairieLearn, ABuildFailureIsNotGradable) {
  std::ostringstream out;
  write_prairielearn(out, a_grading(BuildStatus::kFailed));
  EXPECT_EQ(prairielearn_violations(out.str()), "") << out.str();
  json j = json::parse(out.str());
  EXPECT_EQ(j["gradable"], false);
  EXPECT_EQ(j["score"], 0.0);
  EXPECT_NE(j["format_errors"][0].get<std::string>().find("expected ';'"), std::string::npos) << j["format_errors"];
  EXPECT_NE(j["output"].get<std::string>().find("expected ';'"), std::string::npos);
}

// The autoresult is the last line, one Autolab problem per experiment with its points, the total on the
// scoreboard; the semantic feedback before it has one stage per experiment with a hint for the failed check.
TEST(Autolab, OutputEndsWithTheDocumentedAutoresult) {
  std::ostringstream out;
  write_autolab(out, a_grading());
  json autoresult;
  EXPECT_EQ(autolab_violations(out.str(), autoresult), "") << out.str();
  EXPECT_EQ(autoresult["scores"], json({{"lab1.reverse", 6}}));
  EXPECT_EQ(autoresult["scoreboard"], json::array({6}));
  EXPECT_NE(out.str().find("FAIL 0/4  Lines come back reversed: UTF-8 kept whole\n    Expected: line \"éh\""),
            std::string::npos)
      << out.str();
}

// A build failure still ends with an autoresult: every problem at 0, the build log above it.
TEST(Autolab, ABuildFailureScoresZeroOnEveryProblem) {
  std::ostringstream out;
  write_autolab(out, a_grading(BuildStatus::kFailed));
  json autoresult;
  EXPECT_EQ(autolab_violations(out.str(), autoresult), "") << out.str();
  EXPECT_EQ(autoresult["scores"], json({{"lab1.reverse", 0}}));
  EXPECT_NE(out.str().find("expected ';'"), std::string::npos) << out.str();
}

namespace {

// socklab grade --lab 1 DIR --report FORMAT: its exit code and stdout.
std::pair<int, std::string> grade_to_stdout(const fs::path& dir, const std::string& format) {
  Child socklab("socklab", {"grade", "--lab", "1", dir.string(), "--report", format});
  auto status = socklab.wait_exit(180s);
  EXPECT_TRUE(status.has_value()) << "socklab grade did not finish";
  std::string out;
  for (const auto& l : socklab.stdout_lines()) out += l + "\n";
  return {status && status->exited ? status->code : -1, out};
}

}  // namespace

// End to end: a server that does not reverse, graded for PrairieLearn: gradable, its score, its failed tests.
TEST(PrairieLearn, SocklabGradeWritesResultsJson) {
  auto dir = submission("pl_no_reverse", {{"echo_server.c", "#define MUTANT_NO_REVERSE 1\n" + student_c("echo_server")},
                                         {"echo_client.c", student_c("echo_client")}});
  auto [code, out] = grade_to_stdout(dir, "prairielearn");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(prairielearn_violations(out), "") << out;
  json j = json::parse(out);
  EXPECT_EQ(j["gradable"], true);
  EXPECT_GT(j["score"].get<double>(), 0.3);
  EXPECT_LT(j["score"].get<double>(), 1.0);
  double points = 0, max_points = 0;
  for (const json& t : j["tests"]) points += t["points"].get<double>(), max_points += t["max_points"].get<double>();
  EXPECT_EQ(max_points, 100);
  EXPECT_DOUBLE_EQ(points / 100, j["score"].get<double>());
}

// End to end: a server that does not compile, graded for Autolab: exit 2, yet the last line is an autoresult with
// every lab-1 experiment at 0.
TEST(Autolab, SocklabGradeEndsWithAnAutoresultEvenWhenTheBuildFails) {
  auto dir = submission("al_no_compile", {{"echo_server.c", "int main(void) { return 0 }\n"},
                                         {"echo_client.c", student_c("echo_client")}});
  auto [code, out] = grade_to_stdout(dir, "autolab");
  EXPECT_EQ(code, 2);
  json autoresult;
  EXPECT_EQ(autolab_violations(out, autoresult), "") << out;
  EXPECT_GE(autoresult["scores"].size(), 5u) << autoresult;
  for (const auto& [problem, score] : autoresult["scores"].items()) EXPECT_EQ(score, 0) << problem;
  EXPECT_TRUE(autoresult["scores"].contains("lab1.reverse")) << autoresult;
}

namespace {

// a_grading() with its failed check marked visibility="after-due-date".
GradeResult a_grading_with_a_hidden_check() {
  GradeResult r = a_grading();
  r.experiments[0].checks[1].visibility = Visibility::kAfterDueDate;
  return r;
}

}  // namespace

// Gradescope has per-test visibility: a hidden check is a test with visibility "after_due_date".
TEST(Visibility, GradescopeHidesTheTestUntilAfterTheDueDate) {
  std::ostringstream out;
  write_gradescope(out, a_grading_with_a_hidden_check());
  json j = json::parse(out.str());
  ASSERT_EQ(j["tests"].size(), 2u);
  EXPECT_EQ(j["tests"][0]["visibility"], "visible");
  EXPECT_EQ(j["tests"][1]["visibility"], "after_due_date");
}

// PrairieLearn has none: the hidden check counts in the score, is left out of tests[], and the output says that
// one more check is to come — without its name or feedback.
TEST(Visibility, PrairieLearnLeavesTheTestOutButCountsIt) {
  std::ostringstream out;
  write_prairielearn(out, a_grading_with_a_hidden_check());
  EXPECT_EQ(prairielearn_violations(out.str()), "") << out.str();
  json j = json::parse(out.str());
  EXPECT_DOUBLE_EQ(j["score"].get<double>(), 0.6);
  ASSERT_EQ(j["tests"].size(), 1u);
  EXPECT_NE(j["output"].get<std::string>().find("1 further check (4 points) will be shown after the due date."),
            std::string::npos) << j["output"];
  EXPECT_EQ(out.str().find("UTF-8 kept whole"), std::string::npos) << out.str();
}

// Autolab shows students all of its output: the hidden check's name and feedback are not in it, its points go to
// the problem "after_due_date", and the class's scoreboard shows only visible points.
TEST(Visibility, AutolabKeepsTheCheckOutOfTheOutput) {
  std::ostringstream out;
  write_autolab(out, a_grading_with_a_hidden_check());
  json autoresult;
  EXPECT_EQ(autolab_violations(out.str(), autoresult), "") << out.str();
  EXPECT_EQ(autoresult["scores"], json({{"lab1.reverse", 6}, {"after_due_date", 0}}));
  EXPECT_EQ(autoresult["scoreboard"], json::array({6}));
  EXPECT_EQ(out.str().find("UTF-8 kept whole"), std::string::npos) << out.str();
}

// End to end: lab 1 with its first experiment marked visibility="after-due-date" (a copy of the lab folder):
// the JSON report marks each of its checks, the instructor's text names them, Gradescope hides them.
TEST(Visibility, ALabsHiddenExperimentIsCarriedToTheReports) {
  fs::path labs = fs::path(testing::TempDir()) / ("hidden_labs_" + std::to_string(getpid()));
  fs::remove_all(labs);
  fs::create_directories(labs);
  fs::copy(kSource + "/experiments/lab1", labs / "lab1", fs::copy_options::recursive);
  std::string manifest = read_file(labs / "lab1" / "lab.xml");
  manifest.replace(manifest.find("../../docs/labs/lab1.md"), std::string("../../docs/labs/lab1.md").size(),
                   "https://example.org/lab1");  // the handout must exist: a URL always does
  std::ofstream(labs / "lab1" / "lab.xml") << manifest;
  std::string reverse = read_file(labs / "lab1" / "01-reverse.xml");
  reverse.insert(reverse.find("<experiment ") + 12, "visibility=\"after-due-date\" ");
  std::ofstream(labs / "lab1" / "01-reverse.xml") << reverse;

  auto dir = submission("hidden_reverse", {{"echo_server.c", "#define MUTANT_NO_REVERSE 1\n" + student_c("echo_server")},
                                          {"echo_client.c", student_c("echo_client")}});
  Graded g = grade("1", dir, {"--experiments", labs.string()});
  ASSERT_EQ(g.exit_code, 0) << g.text;
  int hidden = 0;
  for (const json& c : g.report["checks"]) {
    bool in_reverse = c["experiment"] == "lab1.reverse";
    EXPECT_EQ(c["visibility"], in_reverse ? "after-due-date" : "visible") << c.dump();
    hidden += in_reverse;
  }
  EXPECT_GT(hidden, 0);
  EXPECT_NE(g.text.find("shown to students after the due date: "), std::string::npos) << g.text;

  Child socklab("socklab", {"grade", "--lab", "1", dir.string(), "--experiments", labs.string(), "--report", "gradescope"});
  ASSERT_TRUE(socklab.wait_exit(180s).has_value());
  std::string out;
  for (const auto& l : socklab.stdout_lines()) out += l + "\n";
  json results = json::parse(out);
  int after = 0;
  for (const json& t : results["tests"]) after += t["visibility"] == "after_due_date";
  EXPECT_GT(after, 0) << out;
}
