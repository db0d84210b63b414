#include "grade_support.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "child.h"

namespace grade_support {

using namespace testing_support;
using namespace std::chrono_literals;

const std::string kSource = SOCKLAB_SOURCE_DIR;

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::ostringstream
      text;  // operator<< catches a read error (ESRCH from a /proc file of a process that just ended)
  text << f.rdbuf();
  return text.str();
}

fs::path submission(const std::string& name, const std::map<std::string, std::string>& files) {
  fs::path dir = fs::path(testing::TempDir()) / ("grade_" + std::to_string(getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& [file, text] : files) {
    fs::create_directories((dir / file).parent_path());
    std::ofstream(dir / file) << text;
  }
  return dir;
}

std::string student_c(const std::string& program) {
  return read_file(kSource + "/tests/mutants/" + program + ".c");
}

fs::path fork_submission(const std::string& name, const std::string& fork_server) {
  return submission(name, {{"fork_server.c", fork_server}, {"echo_server.c", student_c("echo_server")}});
}

std::string fork_server_with(const std::string& at_start_of_main) {
  std::string text = student_c("fork_server");
  std::string marker = "int main(int argc, char **argv) {\n  int leak";
  auto at = text.find(marker);
  EXPECT_NE(at, std::string::npos);
  text.insert(at + marker.size() - std::string("  int leak").size(), at_start_of_main + "\n");
  return text;
}

std::vector<std::string> processes_of(int uid) {
  std::vector<std::string> found;
  if (uid < 0) return found;
  DIR* proc = opendir("/proc");
  while (dirent* e = readdir(proc)) {
    int pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::string status = read_file("/proc/" + std::string(e->d_name) + "/status");
    auto uid_at = status.find("\nUid:\t");
    int owner = uid_at == std::string::npos ? -1 : atoi(status.c_str() + uid_at + 6);
    std::error_code ec;
    std::string exe = fs::read_symlink("/proc/" + std::string(e->d_name) + "/exe", ec).string();
    bool zombie = status.find("State:\tZ") != std::string::npos;
    if (!zombie && owner == uid) found.push_back(std::to_string(pid) + " " + exe);
  }
  closedir(proc);
  return found;
}

std::vector<std::string> survivors(int sandbox) {
  return processes_of(
      sandbox);  // not root: student code ran as us, and no uid tells it apart (sandbox is -1)
}

Graded grade(int lab, const fs::path& dir, std::vector<std::string> extra) { return grade(std::to_string(lab), dir, extra); }

Graded grade(const std::string& lab, const fs::path& dir, std::vector<std::string> extra) {
  fs::path json = dir.parent_path() / (dir.filename().string() + ".json");
  std::vector<std::string> args{"grade", "--lab", lab, dir.string(), "--report",
                                "json",  "--out", json.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  Child socklab("socklab", args);
  auto status = socklab.wait_exit(180s);
  Graded g;
  EXPECT_TRUE(status.has_value()) << "socklab grade did not finish";
  if (!status) return g;
  g.exit_code = status->exited ? status->code : -1;
  for (const auto& l : socklab.stdout_lines()) g.text += l + "\n";
  g.text += socklab.stderr_text();
  std::string body = read_file(json);
  if (!body.empty()) g.report = nlohmann::json::parse(body);
  if (getuid() == 0 && !g.report.is_null()) {
    EXPECT_GE(g.report["sandbox_uid"].get<int>(), 64000) << "as root, student code runs as a uid of its own";
    auto left = survivors(g.report["sandbox_uid"].get<int>());
    EXPECT_TRUE(left.empty()) << "left running: " << left.front();
  }
  return g;
}

std::string failed_checks(const nlohmann::json& report) {
  std::string out;
  for (const auto& c : report["checks"]) {
    if (c["status"] != "passed")
      out += "\n  " + c["experiment"].get<std::string>() + "/" + c["name"].get<std::string>() + ": " +
             c["actual"].get<std::string>().substr(0, 200);
  }
  return out;
}

void PrintTo(const Mutant& m, std::ostream* os) { *os << m.name << " (" << m.program << ")"; }

std::vector<Mutant> load_mutant_table(const std::string& path) {
  std::ifstream file(path);
  std::vector<Mutant> mutants;
  for (std::string line; std::getline(file, line);) {
    std::string trimmed = line.substr(std::min(line.find_first_not_of(' '), line.size()));
    if (trimmed.empty() || trimmed[0] == '#') continue;
    if (line.rfind("mutant ", 0) == 0) {
      std::istringstream words(line.substr(7));
      Mutant m;
      words >> m.name >> m.program;
      mutants.push_back(m);
    } else if (!mutants.empty()) {
      mutants.back().expected.insert(trimmed);
    }
  }
  return mutants;
}

}  // namespace grade_support
