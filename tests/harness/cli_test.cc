// The socklab command end to end: real experiments against the real lab programs, the reports, file errors,
// and Ctrl-C leaving nothing behind.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "child.h"
#include "tracefs.h"

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

std::string source_path(const std::string& relative) { return std::string(SOCKLAB_SOURCE_DIR) + "/" + relative; }

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

bool alive(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  return text.find(") Z") == std::string::npos;  // a zombie is dead, just not yet reaped
}

}  // namespace

// A real lab-1 experiment against the reference programs: every check passes, the JSON report says so.
TEST(SocklabRun, RunsALab1ExperimentEndToEnd) {
  std::string json = testing::TempDir() + "socklab_run.json";
  Child socklab("socklab", {"run", source_path("experiments/lab1/01-reverse.xml"), "--report", "json", "--out", json});
  auto status = socklab.wait_exit(30s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0") << socklab.stderr_text();
  auto report = nlohmann::json::parse(read_file(json));
  ASSERT_EQ(report["experiments"].size(), 1u);
  const auto& e = report["experiments"][0];
  EXPECT_EQ(e["points"], e["max_points"]);
  EXPECT_GT(e["max_points"].get<int>(), 0);
  for (const auto& c : e["checks"]) EXPECT_EQ(c["status"], "passed") << c.dump(2);
  EXPECT_FALSE(e["snapshots"].empty());
  for (const auto& p : e["processes"]) EXPECT_FALSE(alive(p["pid"].get<int>())) << p["id"] << " survived";
}

// The same experiment with a broken client: the run exits 1 and the failing check says expected vs seen.
TEST(SocklabRun, ReportsAFailedCheckWithExpectedAndActual) {
  Child socklab("socklab", {"run", source_path("experiments/lab1/01-reverse.xml"), "--bin", "echo_client=/bin/cat"});
  auto status = socklab.wait_exit(30s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 1");
  std::string text;
  for (const std::string& line : socklab.stdout_lines()) text += line + "\n";
  EXPECT_NE(text.find("✘ ASCII line reversed (0/3)"), std::string::npos) << text;
  EXPECT_NE(text.find("expected: a line \"olleh\" on client's stdout within 2s"), std::string::npos) << text;
  EXPECT_NE(text.find("hint: reply with the characters of the line in reverse order"), std::string::npos) << text;
}

// JUnit: one testcase per check, failures with a message.
TEST(SocklabRun, WritesJunitXml) {
  std::string path = testing::TempDir() + "socklab_run.xml";
  Child socklab("socklab", {"run", source_path("experiments/lab1/01-reverse.xml"), "--report", "junit", "--out", path,
                            "--bin", "echo_client=/bin/cat"});
  ASSERT_TRUE(socklab.wait_exit(30s).has_value());
  std::string xml = read_file(path);
  EXPECT_NE(xml.find("<testsuite name=\"lab1.reverse\" tests=\"6\" failures=\"6\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"expected a line &quot;olleh&quot;"), std::string::npos) << xml;
}

// A bad file: FILE:LINE: message on stderr, exit 2, nothing started.
TEST(SocklabValidate, RefusesABadFileWithItsLine) {
  std::string bad = testing::TempDir() + "bad_experiment.xml";
  std::ofstream(bad) << read_file(source_path("tests/harness/experiments/bad_file.xml.txt"));
  for (std::string command : {"validate", "run"}) {
    Child socklab("socklab", {command, bad});
    auto status = socklab.wait_exit(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->describe(), "exit 2") << command;
    EXPECT_EQ(socklab.stderr_text(), "socklab: " + bad + ":3: unknown element <sned>\n") << command;
    EXPECT_TRUE(socklab.stdout_lines().empty()) << command << ": " << socklab.stdout_lines()[0];
  }
}

// validate and list on the project's own experiments.
TEST(SocklabValidate, AcceptsTheProjectsExperimentsAndListsThem) {
  Child validate("socklab", {"validate", source_path("experiments")});
  auto status = validate.wait_exit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0") << validate.stderr_text();
  Child list("socklab", {"list", source_path("experiments")});
  ASSERT_TRUE(list.wait_exit(10s).has_value());
  ASSERT_FALSE(list.stdout_lines().empty());
  EXPECT_EQ(list.stdout_lines()[0].rfind("lab 1 (", 0), 0u) << list.stdout_lines()[0];
}

// snapshot shows a listening echo_server with its owner.
TEST(SocklabSnapshot, ShowsAListenerWithItsOwner) {
  unsigned short port = free_tcp_port();
  Child server("echo_server", {std::to_string(port)});
  ASSERT_TRUE(server.next_line().has_value());
  Child snapshot("socklab", {"snapshot", "--port", std::to_string(port)});
  ASSERT_TRUE(snapshot.wait_exit(10s).has_value());
  ASSERT_EQ(snapshot.stdout_lines().size(), 2u) << snapshot.stderr_text();
  EXPECT_TRUE(std::regex_search(snapshot.stdout_lines()[1],
                                std::regex("^tcp +LISTEN +0 +5 +\\*:" + std::to_string(port) + " .*\\(\"echo_server\",pid=" +
                                           std::to_string(server.pid()) + ",fd=3\\)")))
      << snapshot.stdout_lines()[1];
}

// Ctrl-C in the middle of an experiment: socklab stops, reports, and every program it started (a fork
// server, its child, a client) is gone.
TEST(SocklabRun, CtrlCLeavesNothingRunning) {
  Child socklab("socklab", {"run", source_path("tests/harness/experiments/long_wait.xml"), "--verbose"});
  auto waiting = socklab.wait_for_line_starting("   ▸ wait", 15s);
  ASSERT_TRUE(waiting.has_value()) << socklab.stderr_text();
  std::vector<pid_t> started;
  std::regex pid_pattern("\\(pid ([0-9]+)\\)");
  for (const std::string& line : socklab.stdout_lines()) {
    std::smatch m;
    if (std::regex_search(line, m, pid_pattern)) started.push_back(std::stoi(m[1]));
  }
  ASSERT_EQ(started.size(), 2u);
  socklab.signal(SIGINT);
  auto status = socklab.wait_exit(10s);
  ASSERT_TRUE(status.has_value()) << "socklab did not stop on Ctrl-C";
  EXPECT_EQ(status->describe(), "exit 130");
  for (pid_t pid : started) EXPECT_FALSE(alive(pid)) << "pid " << pid << " survived Ctrl-C";
  for (const std::string& left : testing_support::tracefs_instances_of(socklab.pid())) ADD_FAILURE() << "left behind: " << left;
  EXPECT_NE(socklab.stderr_text().find("interrupted"), std::string::npos);
}

// watch, piped: prints sockets as they appear and vanish; Ctrl-C ends it with exit 0.
TEST(SocklabWatch, PrintsChangesAndStopsOnCtrlC) {
  unsigned short port = free_tcp_port();
  Child watch("socklab", {"watch", "--port", std::to_string(port), "--interval", "50"});
  ASSERT_TRUE(watch.next_line().has_value());  // the banner: it is running
  auto server = std::make_unique<Child>("echo_server", std::vector<std::string>{std::to_string(port)});
  ASSERT_TRUE(server->next_line().has_value());
  auto appeared = watch.wait_for_line_starting("", 5s);
  ASSERT_TRUE(appeared.has_value());
  EXPECT_NE(appeared->find("new   tcp *:" + std::to_string(port) + " *:*  LISTEN  echo_server (pid " +
                           std::to_string(server->pid()) + ")"), std::string::npos) << *appeared;
  server.reset();  // killed: the listener goes away
  auto gone = watch.next_line(5s);
  ASSERT_TRUE(gone.has_value());
  EXPECT_NE(gone->find("gone  tcp *:" + std::to_string(port) + " *:*  (was LISTEN)"), std::string::npos) << *gone;
  watch.signal(SIGINT);
  auto status = watch.wait_exit(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0");
}
