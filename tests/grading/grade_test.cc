// socklab grade on fixture submissions: correct ones (single C files; C++ with a Makefile) and broken ones
// (does not compile, hangs, fork-bombs, prints 100 MB, exits at once, ignores SIGTERM, a program missing, a
// buffer overrun) — each gets the right score and a clear verdict, and nothing they started survives.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "child.h"
#include "grade_support.h"

using namespace testing_support;
using namespace grade_support;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Single .c files, the way most students hand in: compiled one by one, full marks.
TEST(Grade, CorrectCFilesScoreFullMarks) {
  auto dir = submission("good_c", {{"echo_server.c", student_c("echo_server")}, {"echo_client.c", student_c("echo_client")}});
  Graded g = grade(1, dir);
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["build"], "ok");
  EXPECT_EQ(g.report["build_method"], "cc/c++ per program");
  EXPECT_EQ(g.report["score"], 100) << failed_checks(g.report);
}

// C++ with a Makefile (here: our own reference sources with a student-style Makefile): full marks.
TEST(Grade, CppWithAMakefileScoresFullMarks) {
  std::map<std::string, std::string> files;
  for (const char* f : {"fd.h", "fd.cc", "net.h", "net.cc", "line_reader.h", "line_reader.cc", "utf8.h", "utf8.cc",
                        "program.h", "program.cc", "echo_session.h", "echo_session.cc"}) {
    files[std::string("common/") + f] = read_file(kSource + "/labs/common/" + f);
  }
  files["echo_server.cc"] = read_file(kSource + "/labs/lab1/echo_server.cc");
  files["echo_client.cc"] = read_file(kSource + "/labs/lab1/echo_client.cc");
  files["Makefile"] =
      "COMMON = $(wildcard common/*.cc)\n"
      "all: echo_server echo_client\n"
      "%: %.cc $(COMMON)\n\tc++ -std=c++20 -O2 -Icommon -o $@ $^\n";
  Graded g = grade(1, submission("cpp_makefile", files));
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["build_method"], "make");
  EXPECT_EQ(g.report["score"], 100) << failed_checks(g.report) << g.report["build_log"];
}

// A Python syntax error is a build error pointing at its file and line, as a compiler error would: the student
// sees it at once instead of a page of failing checks.
TEST(Grade, APythonSyntaxErrorIsABuildErrorWithFileAndLine) {
  std::string client = read_file(kSource + "/tests/fairness/python/echo_client");
  Graded g = grade(1, submission("py_syntax", {{"echo_server.py", "import socket\n\ndef serve(:\n    pass\n"},
                                               {"echo_client.py", client}}));
  EXPECT_EQ(g.exit_code, 2) << g.text;
  EXPECT_EQ(g.report["build"], "failed");
  EXPECT_EQ(g.report["score"], 0);
  EXPECT_NE(g.report["build_log"].get<std::string>().find("echo_server.py:3: SyntaxError: "), std::string::npos)
      << g.report["build_log"];
}

// A compile error: exit 2, score 0, and the compiler's message in the report.
TEST(Grade, ABuildFailureScoresZeroWithTheCompilerMessage) {
  Graded g = grade(2, submission("no_compile", {{"fork_server.c", "int main(void) { return 0 }\n"}}));
  EXPECT_EQ(g.exit_code, 2);
  EXPECT_EQ(g.report["build"], "failed");
  EXPECT_EQ(g.report["score"], 0);
  EXPECT_NE(g.report["build_log"].get<std::string>().find("error: expected"), std::string::npos) << g.report["build_log"];
  EXPECT_NE(g.text.find("could not grade"), std::string::npos);
}

// A server that never listens: every experiment says it did not become ready; grading ends, score 0.
TEST(Grade, AHangingServerScoresZeroAndEnds) {
  Graded g = grade(2, submission("hangs", {{"fork_server.c", "#include <unistd.h>\nint main(void) { for (;;) pause(); }\n"}}));
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["score"], 0);
  EXPECT_NE(failed_checks(g.report).find("did not become ready: expected a LISTEN socket"), std::string::npos)
      << failed_checks(g.report);
}

// A fork bomb: stopped by the process limit, the machine unharmed, nothing left.
TEST(Grade, AForkBombIsContained) {
  Graded g = grade(2, fork_submission("fork_bomb", fork_server_with("  for (;;) fork();")));
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["score"], 0) << failed_checks(g.report);
}

// 100 MB on stdout before it even listens: the output is read as fast as it comes (no pty or pipe deadlock),
// counted, and kept only up to the cap, which the report says; a program that then works gets its points. (Deadlines
// scaled: on a loaded machine 100 MB through a pty can take longer than the 5 s a server has to become ready.)
TEST(Grade, HundredMegabytesOfOutputAreReadCappedAndReported) {
  Graded g = grade(2, fork_submission("chatty", fork_server_with(
      "  static char junk[1 << 20]; memset(junk, 'x', sizeof junk);\n"
      "  for (int i = 0; i < 100; i++) fwrite(junk, 1, sizeof junk, stdout);\n  fflush(stdout);")),
      {"--time-scale", "5"});
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["score"], 100) << failed_checks(g.report);
  bool truncated = false;
  for (const auto& e : g.report["experiments"]) {
    for (const auto& p : e["processes"]) {
      if (p["program"] != "fork_server") continue;
      EXPECT_GE(p["stdout_bytes"].get<long>(), 100l << 20) << "every byte counted";
      truncated = truncated || p["truncated"].get<bool>();
    }
  }
  EXPECT_TRUE(truncated) << "the report should say the output was cut";
}

// A program that exits at once: the verdict says so.
TEST(Grade, AProgramThatExitsAtOnceScoresZeroWithAClearVerdict) {
  Graded g = grade(2, submission("exits", {{"fork_server.c", "int main(void) { return 0; }\n"}}));
  EXPECT_EQ(g.report["score"], 0);
  EXPECT_NE(failed_checks(g.report).find("server has exited (exit 0)"), std::string::npos) << failed_checks(g.report);
}

// A Makefile that starts a daemon (its own session: out of every process group socklab kills). In the sandbox it
// dies with the build's pid namespace the moment make ends; without the sandbox (--no-sandbox, as root) the sweep of
// the sandbox uid kills it after the build, before any experiment, and the report says so. Nothing is left behind.
TEST(Grade, ADaemonStartedByTheBuildIsKilledAndReported) {
  if (getuid() != 0) GTEST_SKIP() << "only as root does student code run as a uid of its own";
  auto dir = submission("daemon", {{"fork_server.c", student_c("fork_server")}, {"echo_server.c", student_c("echo_server")},
                                   {"Makefile", "fork_server: fork_server.c\n"
                                                "\tsetsid sleep 600 </dev/null >/dev/null 2>&1 &\n"
                                                "\tcc -O2 -o fork_server fork_server.c\n"}});
  Graded sandboxed = grade(2, dir);  // checks that nothing runs as the sandbox uid afterwards
  EXPECT_EQ(sandboxed.exit_code, 0) << sandboxed.text;
  EXPECT_EQ(sandboxed.report["score"], 100) << failed_checks(sandboxed.report) << sandboxed.report["build_log"];
  EXPECT_EQ(sandboxed.report["leftovers_killed"], 0) << "the sandbox ended it with the build";
  Graded plain = grade(2, dir, {"--no-sandbox"});
  EXPECT_EQ(plain.exit_code, 0) << plain.text;
  EXPECT_EQ(plain.report["score"], 100) << failed_checks(plain.report) << plain.report["build_log"];
  EXPECT_EQ(plain.report["leftovers_killed"], 1);
  EXPECT_NE(plain.text.find("1 process was left running (started in the background by the build"), std::string::npos) << plain.text;
}

// Concurrent gradings never share a sandbox uid: each holds an flock on /run/socklab/uids/N. In a range of
// two (uids no other test uses) with one held, grading takes the other; with both held, it refuses with a clear
// message and exit 2.
TEST(Grade, GradingsNeverShareASandboxUser) {
  if (getuid() != 0) GTEST_SKIP() << "only as root does student code run as a uid of its own";
  std::vector<int> held;
  fs::create_directories("/run/socklab/uids");
  auto hold = [&](int uid) {
    int fd = open(("/run/socklab/uids/" + std::to_string(uid)).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0) << "uid " << uid << " is held by someone else";
    held.push_back(fd);
  };
  hold(65200);
  auto dir = submission("one_uid_free", {{"echo_server.c", student_c("echo_server")}, {"echo_client.c", student_c("echo_client")}});
  Graded g = grade(1, dir, {"--sandbox-uids", "65200-65201"});
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["sandbox_uid"], 65201) << "the only uid nobody held";
  hold(65201);
  Child refused("socklab", {"grade", "--lab", "1", dir.string(), "--sandbox-uids", "65200-65201"});
  auto status = refused.wait_exit(60s);
  for (int fd : held) close(fd);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 2");
  EXPECT_NE(refused.stderr_text().find("no free sandbox uid in 65200-65201"), std::string::npos) << refused.stderr_text();
}

// A server that ignores SIGTERM is killed anyway (SIGKILL after the grace period); its grade is unaffected.
TEST(Grade, AServerIgnoringSigtermIsStillEnded) {
  Graded g = grade(2, fork_submission("stubborn", fork_server_with("  signal(SIGTERM, SIG_IGN);")));
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["score"], 100) << failed_checks(g.report);
}

// Only one of the two programs handed in: the other's checks fail with a clear message, the rest still run.
TEST(Grade, AMissingProgramFailsOnlyItsChecksWithAClearMessage) {
  Graded g = grade(1, submission("server_only", {{"echo_server.c", student_c("echo_server")}}));
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["programs"]["echo_client"], "");
  int score = g.report["score"];
  EXPECT_GT(score, 0) << "server-only checks still earn points";
  EXPECT_LT(score, 100);
  EXPECT_NE(failed_checks(g.report).find("echo_client was not found in the submission"), std::string::npos)
      << failed_checks(g.report);
}

// --sanitize: a buffer overrun in the student's server becomes a visible finding.
TEST(Grade, SanitizeTurnsABufferOverrunIntoAFinding) {
  std::string overrun = student_c("fork_server");
  std::string call = "      serve(c);";
  ASSERT_NE(overrun.find(call), std::string::npos);
  overrun.replace(overrun.find(call), call.size(),
                  "      { char small[8]; volatile int n = 64; memset(small, 'x', n); }  /* overrun */\n      serve(c);");
  Graded g = grade(2, fork_submission("overrun", overrun), {"--sanitize"});
  ASSERT_TRUE(g.report.contains("findings")) << g.text;
  ASSERT_FALSE(g.report["findings"].empty()) << failed_checks(g.report);
  EXPECT_NE(g.report["findings"][0].get<std::string>().find("AddressSanitizer"), std::string::npos) << g.report["findings"];
}

// A class of 8 with -j 2: one report per student and the right gradebook.
TEST(GradeBatch, GradesAClassIntoAGradebook) {
  fs::path root = fs::path(testing::TempDir()) / ("class_" + std::to_string(getpid()));
  fs::remove_all(root);
  std::map<std::string, int> expected;
  std::string good = student_c("fork_server");
  std::string no_reap = "#define MUTANT_NO_REAP 1\n" + good;
  for (int i = 1; i <= 8; ++i) {
    std::string name = "student" + std::to_string(i);
    fs::create_directories(root / name);
    if (i <= 5) {
      std::ofstream(root / name / "fork_server.c") << good;
      expected[name] = 100;
    } else if (i <= 7) {
      std::ofstream(root / name / "fork_server.c") << no_reap;
      expected[name] = 85;
    } else {
      std::ofstream(root / name / "fork_server.c") << "syntax error";
      expected[name] = 0;
    }
  }
  // the C file includes echo_server.c: hand it in too, as a student would
  for (int i = 1; i <= 8; ++i) std::ofstream(root / ("student" + std::to_string(i)) / "echo_server.c") << student_c("echo_server");
  fs::path out = root.string() + "_grades";
  Child socklab("socklab", {"grade", "--lab", "2", "--batch", root.string(), "-j", "2", "--out-dir", out.string()});
  auto status = socklab.wait_exit(300s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0") << socklab.stderr_text();
  std::string csv = read_file(out / "gradebook.csv");
  std::istringstream lines(csv);
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header.rfind("student,lab,score,max_score,build,duration_s,lab2.concurrent/", 0), 0u) << header;
  int rows = 0;
  for (std::string row; std::getline(lines, row); ++rows) {
    std::string name = row.substr(0, row.find(','));
    std::string rest = row.substr(row.find(',') + 1);
    int score = std::stoi(rest.substr(rest.find(',') + 1));
    EXPECT_EQ(score, expected[name]) << row;
    EXPECT_TRUE(fs::exists(out / (name + ".json"))) << name;
    EXPECT_TRUE(fs::exists(out / (name + ".txt"))) << name;
  }
  EXPECT_EQ(rows, 8) << csv;
}

namespace {

// A simulated /autograder: source/build/bin (our build), the lab number, an empty submission/ to fill.
fs::path autograder_layout(const std::string& name, int lab) {
  fs::path ag = fs::path(testing::TempDir()) / (name + std::to_string(getpid()));
  fs::remove_all(ag);
  fs::create_directories(ag / "source" / "build");
  fs::create_directories(ag / "source" / "grading" / "gradescope");
  fs::create_directories(ag / "submission");
  fs::create_directory_symlink(SOCKLAB_BIN_DIR, ag / "source" / "build" / "bin");
  std::ofstream(ag / "source" / "grading" / "gradescope" / "lab") << lab << "\n";
  return ag;
}

// Runs run_autograder in it, as Gradescope would; what it prints goes to stdout.txt there.
int run_autograder(const fs::path& ag) {
  std::string command = "AUTOGRADER_ROOT=" + ag.string() + " " + kSource + "/grading/gradescope/run_autograder > " +
                        (ag / "stdout.txt").string() + " 2>&1";
  return system(command.c_str());
}

}  // namespace

// The Gradescope bundle in a simulated /autograder layout: results.json as Gradescope reads it.
TEST(Gradescope, RunAutograderWritesResultsJson) {
  fs::path ag = autograder_layout("autograder_", 2);
  std::ofstream(ag / "submission" / "fork_server.c") << "#define MUTANT_NO_REAP 1\n" << student_c("fork_server");
  std::ofstream(ag / "submission" / "echo_server.c") << student_c("echo_server");
  ASSERT_EQ(run_autograder(ag), 0) << read_file(ag / "stdout.txt");
  auto results = nlohmann::json::parse(read_file(ag / "results" / "results.json"));
  std::string failed;
  for (const auto& t : results["tests"]) {
    if (t["status"] != "passed") failed += "\n  " + t["name"].get<std::string>() + ": " + t["output"].get<std::string>();
  }
  EXPECT_EQ(results["score"], 85) << "failed tests:" << failed << "\noutput: " << results["output"];
  EXPECT_TRUE(results["execution_time"].is_number());
  EXPECT_NE(results["output"].get<std::string>().find("build ok"), std::string::npos);
  ASSERT_FALSE(results["tests"].empty());
  int max_total = 0;
  bool zombie_test_failed = false;
  for (const auto& t : results["tests"]) {
    for (const char* key : {"name", "score", "max_score", "status", "output", "visibility"}) {
      EXPECT_TRUE(t.contains(key)) << key << " missing in " << t.dump();
    }
    max_total += t["max_score"].get<int>();
    if (t["status"] == "failed") {
      zombie_test_failed = t["name"].get<std::string>().find("no zombie") != std::string::npos;
      EXPECT_NE(t["output"].get<std::string>().find("Hint: reap children"), std::string::npos) << t.dump();
    }
  }
  EXPECT_EQ(max_total, 100);
  EXPECT_TRUE(zombie_test_failed);
}

namespace {

// A bwrap that knows its version but cannot make a sandbox, as on a machine without user namespaces, first on PATH
// for as long as it lives.
struct BrokenBwrapOnPath {
  fs::path dir = fs::path(testing::TempDir()) / ("broken_bwrap_" + std::to_string(getpid()));
  std::string old_path = getenv("PATH") ? getenv("PATH") : "";
  BrokenBwrapOnPath() {
    fs::create_directories(dir);
    std::ofstream(dir / "bwrap") << "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'bubblewrap 0.8.0'; exit 0; }\n"
                                    "echo 'bwrap: No permissions to creating new namespace.' >&2\nexit 1\n";
    fs::permissions(dir / "bwrap", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                       fs::perms::others_read | fs::perms::others_exec);  // the sandbox uid runs it
    setenv("PATH", (dir.string() + ":" + old_path).c_str(), 1);
  }
  ~BrokenBwrapOnPath() { setenv("PATH", old_path.c_str(), 1); }
};

}  // namespace

// Where no sandbox can be made, grade refuses — clearly, with the fix, exit 2 — unless the instructor passes
// --no-sandbox; then it grades and the report says how little confined the code.
TEST(Grade, RefusesWithoutASandboxUnlessToldToGoOn) {
  BrokenBwrapOnPath broken;
  auto dir = submission("no_sandbox", {{"echo_server.c", student_c("echo_server")}, {"echo_client.c", student_c("echo_client")}});
  Child refused("socklab", {"grade", "--lab", "1", dir.string()});
  auto status = refused.wait_exit(60s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 2");
  EXPECT_NE(refused.stderr_text().find("cannot confine student code: the sandbox could not start it: bwrap: No "
                                       "permissions to creating new namespace. Install bubblewrap"),
            std::string::npos)
      << refused.stderr_text();
  EXPECT_NE(refused.stderr_text().find("--no-sandbox"), std::string::npos);
  Graded g = grade(1, dir, {"--no-sandbox"});
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["score"], 100) << failed_checks(g.report);
  EXPECT_EQ(g.report["confinement"]["sandbox"].get<std::string>().rfind("none (--no-sandbox)", 0), 0u)
      << g.report["confinement"];
}

// Gradescope's container may refuse nested namespaces: run_autograder notices, grades with --no-sandbox, says what
// confines the code instead, and the student still gets results.json.
TEST(Gradescope, FallsBackWhereTheContainerRefusesTheSandbox) {
  BrokenBwrapOnPath broken;
  fs::path ag = autograder_layout("autograder_nons_", 2);
  std::ofstream(ag / "submission" / "fork_server.c") << student_c("fork_server");
  std::ofstream(ag / "submission" / "echo_server.c") << student_c("echo_server");
  ASSERT_EQ(run_autograder(ag), 0) << read_file(ag / "stdout.txt");
  std::string said = read_file(ag / "stdout.txt");
  EXPECT_NE(said.find("grading with --no-sandbox"), std::string::npos) << said;
  EXPECT_NE(said.find("Gradescope's container"), std::string::npos) << said;
  auto results = nlohmann::json::parse(read_file(ag / "results" / "results.json"));
  EXPECT_EQ(results["score"], 100) << results["output"];
}
