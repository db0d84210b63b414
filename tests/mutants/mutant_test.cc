// Mutants prove the checks, graded exactly as an instructor grades: each mutant (one classic mistake, a
// student-style C program compiled with MUTANT_NAME defined) is handed in to every lab that takes its program from
// the submission, beside correct student-style C for the lab's other programs, and `socklab grade` must fail exactly
// the checks listed in expected_failures.txt. The reference programs, and student-style C programs written
// differently, must score 100/100 in every lab.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "child.h"
#include "grade_support.h"
#include "load/lab_loader.h"

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

using grade_support::Mutant;

std::vector<Mutant> load_table() {
  return grade_support::load_mutant_table(std::string(SOCKLAB_SOURCE_DIR) + "/tests/mutants/expected_failures.txt");
}

// The project's labs, from their manifests.
std::vector<socklab::harness::Lab> project_labs() {
  std::vector<socklab::harness::LoadError> errors;
  auto labs = socklab::harness::find_labs(std::string(SOCKLAB_SOURCE_DIR) + "/experiments", errors);
  EXPECT_TRUE(errors.empty()) << errors.front().text();
  return labs;
}

// A student's hand-in for `lab`: every program it takes from the submission as student-style C, the mutant's with
// its mistake switched on (fork_server.c includes echo_server.c, so that comes along).
std::map<std::string, std::string> hand_in(const socklab::harness::Lab& lab, const Mutant& m) {
  std::map<std::string, std::string> files;
  for (const std::string& program : lab.submission_programs()) {
    std::string source = grade_support::student_c(program);
    if (program == m.program) {
      std::string flag = m.name;
      for (char& c : flag) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      source = "#define MUTANT_" + flag + " 1\n" + source;
    }
    files[program + ".c"] = source;
  }
  if (files.count("fork_server.c")) files["echo_server.c"] = grade_support::student_c("echo_server");
  return files;
}

struct SuiteRun {
  int exit_code = -1;
  int points = 0, max_points = 0;
  std::set<std::string> failed;  // failed or not run
  std::map<std::string, int> lab_points, lab_max;
  std::string log;
};

// Runs every graded experiment with the given extra arguments and reads the JSON report.
SuiteRun run_socklab(const std::string& tag, std::vector<std::string> extra) {
  std::string json = testing::TempDir() + "mutant_" + tag + ".json";
  std::vector<std::string> args{"run", std::string(SOCKLAB_SOURCE_DIR) + "/experiments", "--graded-only",
                                "--report", "json", "--out", json};
  args.insert(args.end(), extra.begin(), extra.end());
  Child socklab("socklab", args);
  auto status = socklab.wait_exit(300s);
  SuiteRun run;
  if (!status) return run;
  run.exit_code = status->exited ? status->code : -1;
  run.log = socklab.stderr_text();
  std::ifstream file(json);
  auto report = nlohmann::json::parse(file);
  run.points = report["points"];
  run.max_points = report["max_points"];
  for (const auto& e : report["experiments"]) {
    run.lab_points[e["lab"]] += e["points"].get<int>();
    run.lab_max[e["lab"]] += e["max_points"].get<int>();
    for (const auto& c : e["checks"]) {
      if (c["status"] != "passed") {
        run.failed.insert(e["id"].get<std::string>() + "/" + c["name"].get<std::string>());
      }
    }
    if (!e["error"].get<std::string>().empty()) run.failed.insert(e["id"].get<std::string>() + ": " + e["error"].get<std::string>());
  }
  return run;
}

std::string list(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += "\n    " + i;
  return out.empty() ? " (none)" : out;
}

class MutantTest : public ::testing::TestWithParam<Mutant> {};

}  // namespace

// Each mutant fails exactly its checks, in every lab that grades its program: proof that those checks can fail
// through the grading path, and that no other check depends on the mistake.
TEST_P(MutantTest, FailsExactlyTheChecksAimedAtItsMistake) {
  const Mutant& m = GetParam();
  std::set<std::string> failed;
  int labs = 0;
  for (const auto& lab : project_labs()) {
    auto programs = lab.submission_programs();
    if (std::find(programs.begin(), programs.end(), m.program) == programs.end()) continue;
    ++labs;
    auto dir = grade_support::submission("mutant_" + m.name + "_lab" + lab.id, hand_in(lab, m));
    grade_support::Graded g = grade_support::grade(lab.id, dir);
    ASSERT_EQ(g.exit_code, 0) << "lab " << lab.id << ": socklab grade should have graded it\n" << g.text;
    ASSERT_EQ(g.report["build"], "ok") << g.report["build_log"];
    for (const auto& c : g.report["checks"]) {
      if (c["status"] != "passed") failed.insert(c["experiment"].get<std::string>() + "/" + c["name"].get<std::string>());
    }
    for (const auto& e : g.report["experiments"]) {
      if (!e["error"].get<std::string>().empty()) failed.insert(e["id"].get<std::string>() + ": " + e["error"].get<std::string>());
    }
  }
  ASSERT_GT(labs, 0) << "no lab takes " << m.program << " from the submission";
  std::set<std::string> unexpected, missing;
  for (const auto& f : failed) {
    if (!m.expected.count(f)) unexpected.insert(f);
  }
  for (const auto& e : m.expected) {
    if (!failed.count(e)) missing.insert(e);
  }
  EXPECT_TRUE(unexpected.empty() && missing.empty())
      << "mutant " << m.name << " (" << m.program << ")\n  failed but not expected:" << list(unexpected)
      << "\n  expected to fail but passed:" << list(missing);
}

INSTANTIATE_TEST_SUITE_P(AllMutants, MutantTest, ::testing::ValuesIn(load_table()),
                         [](const ::testing::TestParamInfo<Mutant>& param) { return param.param.name; });

// The table itself: every mutant built by CMake is in it, and each expects at least one failure.
TEST(MutantTable, CoversEveryMutantWithAtLeastOneCheck) {
  auto table = load_table();
  EXPECT_EQ(table.size(), std::size_t{SOCKLAB_MUTANT_COUNT});
  for (const Mutant& m : table) EXPECT_FALSE(m.expected.empty()) << m.name;
}

// Every check that earns points is failed by at least one mutant above: a check no mistake can fail gives free
// points, and one never seen failing may not work at all. (The example course proves its own in course_test.)
TEST(MutantTable, EveryGradedCheckIsFailedByAMutant) {
  std::set<std::string> proven;
  for (const Mutant& m : load_table()) proven.insert(m.expected.begin(), m.expected.end());
  std::set<std::string> unproven;
  std::size_t graded = 0;
  for (const auto& lab : project_labs()) {
    std::vector<socklab::harness::LoadError> errors;
    for (const auto& e : socklab::harness::load_lab_experiments(lab, true, errors)) {
      for (const auto& step : e.steps) {
        const auto* check = std::get_if<socklab::harness::Check>(&step);
        if (!check || socklab::harness::check_info(*check).points == 0) continue;
        ++graded;
        std::string id = e.id + "/" + socklab::harness::check_info(*check).name;
        if (!proven.count(id)) unproven.insert(id);
      }
    }
    EXPECT_TRUE(errors.empty()) << errors.front().text();
  }
  EXPECT_GT(graded, 100u) << "the labs' graded checks were not found";
  EXPECT_TRUE(unproven.empty()) << unproven.size() << " graded checks no mutant fails:" << list(unproven);
}

// The reference programs score 100/100 in every lab.
TEST(Reference, ScoresFullMarksInEveryLab) {
  SuiteRun run = run_socklab("reference", {});
  EXPECT_EQ(run.exit_code, 0) << run.log;
  EXPECT_TRUE(run.failed.empty()) << "failed:" << list(run.failed);
  ASSERT_EQ(run.lab_max.size(), 6u);
  for (const auto& [lab, max] : run.lab_max) {
    EXPECT_EQ(max, 100) << "lab " << lab << " must total 100 points";
    EXPECT_EQ(run.lab_points[lab], 100) << "lab " << lab;
  }
}

// Fairness: correct programs written differently (plain C, printf without fflush, select()) score 100/100 too.
TEST(Fairness, StudentStyleCProgramsScoreFullMarks) {
  SuiteRun run = run_socklab("student", {"--bin-dir", std::string(SOCKLAB_BUILD_DIR) + "/student"});
  EXPECT_EQ(run.exit_code, 0) << run.log;
  EXPECT_TRUE(run.failed.empty()) << "failed:" << list(run.failed);
  EXPECT_EQ(run.points, 600);
}
