// A correct submission scores 100 in every lab inside the grading sandbox, however it is handed in: single C files,
// the same C built with CMake, and Python (written from docs/programs.md alone by someone who had not read our code:
// tests/fairness/python/), handed in both as executables with a shebang and as PROG.py files. The sandbox must confine, never cost a fair student
// points.
#include <gtest/gtest.h>

#include <filesystem>

#include "grade_support.h"

using namespace grade_support;

namespace {

struct Lab {
  int number;
  std::vector<std::string> programs;  // what the student hands in for it
};

const std::vector<Lab> kLabs = {{1, {"echo_server", "echo_client"}},
                                {2, {"fork_server"}},
                                {3, {"echo_server"}},
                                {4, {"echo_client"}},
                                {5, {"udp_chat_server", "udp_chat_client"}},
                                {6, {"tcp_chat_server", "tcp_chat_client"}}};

enum class Kind { kCFiles, kCMake, kPython, kPythonFiles };

struct Case {
  Lab lab;
  Kind kind;
};

std::string kind_name(Kind k) {
  switch (k) {
    case Kind::kCFiles:
      return "c_files";
    case Kind::kCMake:
      return "cmake";
    case Kind::kPython:
      return "python_scripts";
    case Kind::kPythonFiles:
      return "python_files";
  }
  return "?";
}

void PrintTo(const Case& c, std::ostream* out) { *out << kind_name(c.kind) << ", lab " << c.lab.number; }

class FairnessTest : public testing::TestWithParam<Case> {};

fs::path hand_in(const Case& c) {
  std::string name = "fair_" + kind_name(c.kind) + "_lab" + std::to_string(c.lab.number);
  std::map<std::string, std::string> files;
  if (c.kind == Kind::kPython) {
    for (const std::string& p : c.lab.programs) files[p] = read_file(kSource + "/tests/fairness/python/" + p);
    fs::path dir = submission(name, files);
    for (const std::string& p : c.lab.programs) fs::permissions(dir / p, fs::perms::owner_all);
    return dir;
  }
  if (c.kind == Kind::kPythonFiles) {  // echo_server.py, not executable, as a course's skeleton hands it out
    for (const std::string& p : c.lab.programs) files[p + ".py"] = read_file(kSource + "/tests/fairness/python/" + p);
    return submission(name, files);
  }
  std::string cmake = "cmake_minimum_required(VERSION 3.16)\nproject(lab C)\n";
  for (const std::string& p : c.lab.programs) {
    files[p + ".c"] = student_c(p);
    cmake += "add_executable(" + p + " " + p + ".c)\n";
  }
  if (c.lab.number == 2) files["echo_server.c"] = student_c("echo_server");  // this student's fork_server includes it
  if (c.kind == Kind::kCMake) files["CMakeLists.txt"] = cmake;
  return submission(name, files);
}

// Full marks, built the way the hand-in asks, every program found, nothing left running (grade() checks that).
TEST_P(FairnessTest, ScoresFullMarksInTheSandbox) {
  const Case& c = GetParam();
  Graded g = grade(c.lab.number, hand_in(c));
  ASSERT_FALSE(g.report.is_null()) << g.text;
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["score"], 100) << failed_checks(g.report) << "\nbuild log:\n" << g.report["build_log"].get<std::string>();
  std::string language = c.kind == Kind::kPython || c.kind == Kind::kPythonFiles ? "Python 3" : "C";
  switch (c.kind) {
    case Kind::kPython:
      EXPECT_EQ(g.report["build"], "no sources") << "scripts are run as they are";
      break;
    case Kind::kPythonFiles:
      EXPECT_EQ(g.report["build_method"], "per program");
      break;
    case Kind::kCFiles:
      EXPECT_EQ(g.report["build_method"], "cc/c++ per program");
      break;
    case Kind::kCMake:
      EXPECT_EQ(g.report["build_method"], "cmake");
      break;
  }
  for (const std::string& p : c.lab.programs) {
    EXPECT_NE(g.report["programs"][p], "") << p << " not found";
    EXPECT_EQ(g.report["program_details"][p]["language"], language) << p;
  }
  EXPECT_NE(g.report["confinement"]["sandbox"].get<std::string>().find("bubblewrap"), std::string::npos)
      << g.report["confinement"];
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (Kind k : {Kind::kCFiles, Kind::kCMake, Kind::kPython, Kind::kPythonFiles}) {
    for (const Lab& lab : kLabs) cases.push_back({lab, k});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(EveryLab, FairnessTest, testing::ValuesIn(all_cases()), [](const auto& param_info) {
  return kind_name(param_info.param.kind) + "_lab" + std::to_string(param_info.param.lab.number);
});

}  // namespace
