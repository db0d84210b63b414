// What the grading tests share (grade_test.cc, hostile_test.cc): fixture submissions written from strings,
// the student-style C programs of tests/mutants/, `socklab grade` run to a parsed JSON report, and the check
// that nothing of a grading's sandbox uid is still running afterwards.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace grade_support {

namespace fs = std::filesystem;

extern const std::string kSource;  // the source tree (SOCKLAB_SOURCE_DIR)

// The whole file ("" when it cannot be read; a /proc file of a process that just ended reads as what was
// read).
std::string read_file(const fs::path& p);

// A fresh submission directory with the given files (name -> contents), under gtest's TempDir().
fs::path submission(const std::string& name, const std::map<std::string, std::string>& files);

// The student-style C source of a program (tests/mutants/PROGRAM.c): scores 100 on its lab.
std::string student_c(const std::string& program);

// A lab-2 submission: fork_server.c (this student's version includes echo_server.c, so that comes along).
fs::path fork_submission(const std::string& name, const std::string& fork_server);

// The student-style fork_server with a change spliced in at the start of main().
std::string fork_server_with(const std::string& at_start_of_main);

// Processes (not zombies) running as `uid`, as "PID EXE"; none for a negative uid.
std::vector<std::string> processes_of(int uid);

// Processes still running as the sandbox user a grading reported (as root, socklab runs student code as an
// unprivileged uid that this grading holds alone); none when not root (student code ran as us).
std::vector<std::string> survivors(int sandbox);

struct Graded {
  int exit_code = -1;
  nlohmann::json report;
  std::string text;  // what socklab printed
};

// socklab grade --lab LAB DIR --report json --out DIR.json EXTRA...: its exit code, the parsed report and
// what it printed. As root, also checks (gtest expectations) that the report names a sandbox uid and nothing
// runs as it.
Graded grade(int lab, const fs::path& dir, std::vector<std::string> extra = {});
// The same for a lab given by id or folder name (a course's own lab: add --experiments DIR to `extra`).
Graded grade(const std::string& lab, const fs::path& dir, std::vector<std::string> extra = {});

// Every check that did not pass, one per line: "experiment/name: actual".
std::string failed_checks(const nlohmann::json& report);

// A mutant as an expected-failures table lists it (tests/mutants/expected_failures.txt, and a course's own
// mutants/expected_failures.txt in the same format): "mutant NAME PROGRAM", then one indented
// "EXPERIMENT-ID/CHECK NAME" per check it must fail; # starts a comment.
struct Mutant {
  std::string name, program;
  std::set<std::string> expected;
};
void PrintTo(const Mutant& m, std::ostream* os);
std::vector<Mutant> load_mutant_table(const std::string& path);

}  // namespace grade_support
