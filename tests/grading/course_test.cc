// The worked example course (examples/python-course): a course's own lab, written only in XML, for Python
// programs that ask for their address and port on stdin. Its student-style solution must score 100 and its
// mutant (a server without a loop around accept()) must lose exactly the checks that see a second client —
// graded as the folders are shipped, in the sandbox, through `socklab grade --experiments`.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "child.h"
#include "grade_support.h"

using namespace testing_support;
using namespace grade_support;
using namespace std::chrono_literals;

namespace {

// (From the macro, not kSource: another file's global may not be initialised yet when this one is.)
const std::string kCourse = std::string(SOCKLAB_SOURCE_DIR) + "/examples/python-course";
const std::string kLab = "echo-prompt";

// A copy of examples/python-course/NAME under gtest's TempDir(): grade() writes its report next to the
// submission, and that must not be the source tree.
fs::path shipped(const std::string& name) {
  fs::path dir = fs::path(testing::TempDir()) / ("course_" + name);
  fs::remove_all(dir);
  fs::copy(kCourse + "/" + name, dir, fs::copy_options::recursive);
  return dir;
}

// Every check that did not pass, as "experiment/name".
std::set<std::string> failed_names(const nlohmann::json& report) {
  std::set<std::string> names;
  for (const auto& c : report["checks"]) {
    if (c["status"] != "passed")
      names.insert(c["experiment"].get<std::string>() + "/" + c["name"].get<std::string>());
  }
  return names;
}

struct Ran {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

Ran socklab(const std::vector<std::string>& args) {
  Child child("socklab", args);
  auto status = child.wait_exit(30s);
  Ran r;
  for (const auto& l : child.stdout_lines()) r.out += l + "\n";
  r.out += child.stderr_text();
  EXPECT_TRUE(status.has_value()) << "socklab did not finish: " << r.out;
  if (status) r.exit_code = status->exited ? status->code : -1;
  return r;
}

}  // namespace

// The solution a student would write from the handout gets full marks, both programs found and run as
// Python 3.
TEST(Course, SolutionScoresFullMarks) {
  Graded g = grade(kLab, shipped("solution"), {"--experiments", kCourse});
  ASSERT_FALSE(g.report.is_null()) << g.text;
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["lab"], kLab);
  EXPECT_EQ(g.report["score"], 100) << failed_checks(g.report) << "\nbuild log:\n"
                                    << g.report["build_log"].get<std::string>();
  EXPECT_EQ(g.report["max_score"], 100);
  for (const std::string p : {"tcp_server", "tcp_client"}) {
    EXPECT_NE(g.report["programs"][p], "") << p << " should have been found, but was not";
    EXPECT_EQ(g.report["program_details"][p]["language"], "Python 3") << p;
  }
}

// The mutant serves one client and exits: exactly the two checks that need a second client fail, nothing
// else.
TEST(Course, MutantLosesExactlyTheSecondClientChecks) {
  Graded g = grade(kLab, shipped("mutant"), {"--experiments", kCourse});
  ASSERT_FALSE(g.report.is_null()) << g.text;
  EXPECT_EQ(g.exit_code, 0) << "grading ran, whatever the score: " << g.text;
  std::set<std::string> expected = {"echo-prompt.next-client/second client answered after the first leaves",
                                    "echo-prompt.next-client/server still running after two clients"};
  EXPECT_EQ(failed_names(g.report), expected) << "the failed checks were:" << failed_checks(g.report);
  EXPECT_EQ(g.report["score"], 100 - 12 - 4) << failed_checks(g.report);
}

// `socklab list` finds the course's lab from its manifest, with its programs, handout and five experiments.
TEST(Course, ListShowsTheLab) {
  Ran r = socklab({"list", kCourse});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("lab echo-prompt (100 points)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hand in: tcp_server tcp_client"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("python-course/echo-prompt/handout.md\n"), std::string::npos) << r.out;  // (relative to where it runs)
  for (const std::string file :
       {"01-upper.xml", "02-quit.xml", "03-end-of-input.xml", "04-next-client.xml", "05-bad-port.xml"}) {
    EXPECT_NE(r.out.find(file), std::string::npos) << "expected " << file << " in the list, but it was not:\n"
                                                   << r.out;
  }
}

// The experiments pass strict validation (every attribute, placeholder and regex checked) without running.
TEST(Course, ValidateAcceptsTheExperiments) {
  Ran r = socklab({"validate", kCourse});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::size_t ok = 0;
  for (std::size_t at = 0; (at = r.out.find(": ok (", at)) != std::string::npos; ++at) ++ok;
  EXPECT_EQ(ok, 5u) << r.out;
}
