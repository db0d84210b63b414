// Building a submission in its sandbox, and saying what each program turned out to be (language, how it was built).
//
// A Makefile is run with make, else a CMakeLists.txt with cmake; then every program of the lab that is still not
// there is made from its own source: PROG.c (cc), PROG.cpp/.cc/.cxx (c++) or PROG.py (checked with py_compile, so a
// syntax error is a build error with FILE:LINE, and run with python3 -u). An executable handed in as it is (a
// script with #!) needs no build. See docs/grading.md, "What a submission looks like".
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "model/experiment.h"
#include "sandbox/sandbox.h"

namespace socklab::harness {

// How building a submission went; its name is what reports and gradebooks say.
enum class BuildStatus { kNotRun, kOk, kFailed, kTimedOut, kNoSources };
const char* build_status_name(BuildStatus b);

struct BuildRequest {
  std::vector<std::string> programs;  // the lab's programs the student writes
  bool sanitize = false;              // C/C++ with AddressSanitizer + UndefinedBehaviorSanitizer
  Millis timeout{120000};
};

struct BuildOutcome {
  BuildStatus status = BuildStatus::kNotRun;
  std::string method;                        // "make", "cmake", "cc/c++ per program", "per program" (Python too), ""
  std::string log;                           // every command and its output
  std::map<std::string, std::string> how;    // program -> how it was made ("cc -O2 -Wall", "py_compile")
};

// Runs in the sandbox's build launcher: no network, the build limits, `work` (the private copy) as directory.
BuildOutcome build_submission(const BuildRequest& request, const std::filesystem::path& work, sandbox::Sandbox& box);

// Where a program is after the build: ., build/, bin/ or build/bin/ of the copy, executable; "" when not there.
std::string find_program(const std::filesystem::path& work, const std::string& name);

// What a report says about one program handed in.
struct SubmittedProgram {
  std::string path;      // relative to the submission, "" when it is missing
  std::string language;  // "C", "C++", "Python 3", "shell script", "native executable", ...
  std::string built;     // "cc -O2 -Wall", "make", "py_compile; run with python3 -u", "none (run as it is)"
};
SubmittedProgram describe_program(const std::filesystem::path& work, const std::string& name, const BuildOutcome& build);

}  // namespace socklab::harness
