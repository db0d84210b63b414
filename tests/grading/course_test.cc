// The worked example course (examples/python-course): a course's own lab, written only in XML, for Python
// programs that ask for their address and port on stdin. Its student-style solution must score 100, and each of its
// mutants (the solution with one program replaced by mutants/NAME/PROGRAM.py) must fail exactly the checks listed in
// examples/python-course/mutants/expected_failures.txt — graded as the folders are shipped, in the sandbox, through
// `socklab grade --experiments`. Every graded check of the lab is failed by at least one mutant.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "child.h"
#include "grade_support.h"
#include "load/lab_loader.h"

using namespace testing_support;
using namespace grade_support;
using namespace std::chrono_literals;

namespace {

// (From the macro, not kSource: another file's global may not be initialised yet when this one is.)
const std::string kCourse = std::string(SOCKLAB_SOURCE_DIR) + "/examples/python-course";
const std::string kLab = "echo-prompt";

// A copy of examples/python-course/solution under gtest's TempDir(), as submission `name`: grade() writes its report
// next to the submission, and that must not be the source tree.
fs::path shipped(const std::string& name) {
  fs::path dir = fs::path(testing::TempDir()) / ("course_" + name);
  fs::remove_all(dir);
  fs::copy(kCourse + "/solution", dir, fs::copy_options::recursive);
  return dir;
}

using grade_support::Mutant;

// mutants/expected_failures.txt, in the format of tests/mutants/expected_failures.txt.
std::vector<Mutant> load_table() {
  return grade_support::load_mutant_table(kCourse + "/mutants/expected_failures.txt");
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

Ran run_socklab(const std::vector<std::string>& args) {
  Child child("socklab", args);
  auto status = child.wait_exit(30s);
  Ran r;
  for (const auto& l : child.stdout_lines()) r.out += l + "\n";
  r.out += child.stderr_text();
  EXPECT_TRUE(status.has_value()) << "socklab did not finish: " << r.out;
  if (status) r.exit_code = status->exited ? status->code : -1;
  return r;
}

// Every graded check of the course's lab (points > 0), as "experiment/name", from its XML.
std::set<std::string> graded_checks() {
  std::vector<::socklab::harness::LoadError> errors;
  auto labs = ::socklab::harness::find_labs(kCourse, errors);
  const ::socklab::harness::Lab* lab = ::socklab::harness::choose_lab(labs, kLab);
  EXPECT_TRUE(errors.empty() && lab) << (errors.empty() ? "no lab " + kLab : errors.front().text());
  std::set<std::string> names;
  if (!lab) return names;
  for (const auto& e : ::socklab::harness::load_lab_experiments(*lab, true, errors)) {
    for (const auto& step : e.steps) {
      const auto* check = std::get_if<::socklab::harness::Check>(&step);
      if (check && ::socklab::harness::check_info(*check).points > 0) {
        names.insert(e.id + "/" + ::socklab::harness::check_info(*check).name);
      }
    }
  }
  EXPECT_TRUE(errors.empty()) << errors.front().text();
  return names;
}

class CourseMutant : public ::testing::TestWithParam<Mutant> {};

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

// Each mutant fails exactly the checks listed for it: proof that those checks can fail through the grading path,
// and that no other check depends on the mistake.
TEST_P(CourseMutant, FailsExactlyItsListedChecks) {
  const Mutant& m = GetParam();
  fs::path dir = shipped("mutant_" + m.name);
  fs::path source = fs::path(kCourse) / "mutants" / m.name / (m.program + ".py");
  ASSERT_TRUE(fs::exists(source)) << "expected the mutant's program at " << source << ", but there is none";
  fs::copy_file(source, dir / (m.program + ".py"), fs::copy_options::overwrite_existing);
  Graded g = grade(kLab, dir, {"--experiments", kCourse});
  ASSERT_FALSE(g.report.is_null()) << g.text;
  EXPECT_EQ(g.exit_code, 0) << "grading ran, whatever the score: " << g.text;
  EXPECT_EQ(failed_names(g.report), m.expected) << "mutant " << m.name << "; the failed checks were:"
                                                << failed_checks(g.report);
}

INSTANTIATE_TEST_SUITE_P(Course, CourseMutant, ::testing::ValuesIn(load_table()),
                         [](const ::testing::TestParamInfo<Mutant>& param) { return param.param.name; });

// Every graded check of the lab is failed by at least one mutant.
TEST(Course, EveryGradedCheckIsFailedByAMutant) {
  std::set<std::string> failed_by_some;
  for (const Mutant& m : load_table()) failed_by_some.insert(m.expected.begin(), m.expected.end());
  std::set<std::string> graded = graded_checks();
  EXPECT_FALSE(graded.empty());
  std::string missing;
  for (const auto& name : graded) {
    if (!failed_by_some.count(name)) missing += "\n    " + name;
  }
  EXPECT_TRUE(missing.empty()) << "graded checks no mutant in mutants/expected_failures.txt fails:" << missing;
}

// `socklab list` finds the course's lab from its manifest, with its programs, handout and five experiments.
TEST(Course, ListShowsTheLab) {
  Ran r = run_socklab({"list", kCourse});
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
  Ran r = run_socklab({"validate", kCourse});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::size_t ok = 0;
  for (std::size_t at = 0; (at = r.out.find(": ok (", at)) != std::string::npos; ++at) ++ok;
  EXPECT_EQ(ok, 5u) << r.out;
}
