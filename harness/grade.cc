#include "grade.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <boost/asio/signal_set.hpp>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "reports.h"

namespace socklab::harness {

namespace fs = std::filesystem;

const std::vector<std::string>& lab_programs(int lab) {
  static const std::map<int, std::vector<std::string>> programs{
      {1, {"echo_server", "echo_client"}}, {2, {"fork_server"}}, {3, {"echo_server"}},
      {4, {"echo_client"}},                {5, {"udp_chat_server", "udp_chat_client"}}};
  static const std::vector<std::string> none;
  auto it = programs.find(lab);
  return it == programs.end() ? none : it->second;
}

int GradeResult::score() const {
  int total = 0;
  for (const auto& e : experiments) total += e.points();
  return graded() ? total : 0;
}

int GradeResult::max_score() const {
  int total = 0;
  for (const auto& e : experiments) total += e.max_points();
  return total > 0 ? total : 100;
}

namespace {

// Limits for code we did not write: a fork bomb, an endless loop, a memory hog or a disk filler stops there.
ResourceLimits student_limits(bool sanitize) {
  ResourceLimits l;
  l.cpu_seconds = 30;
  l.address_space = sanitize ? 0 : 2ul << 30;
  l.processes = 128;
  l.open_files = 256;
  l.file_size = 64ul << 20;
  return l;
}

ResourceLimits build_limits() {
  ResourceLimits l;
  l.cpu_seconds = 300;
  l.processes = 512;
  l.file_size = 512ul << 20;
  return l;
}

// A grading's private directory, removed whole however grading ends. Under /tmp rather than $TMPDIR: the sandbox
// uid must be able to reach it, and a private TMPDIR often is 0700.
struct WorkDir {
  WorkDir() {
    char pattern[] = "/tmp/socklab-grade-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error(std::string("cannot create a work directory in /tmp: ") + std::strerror(errno));
    path = pattern;
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

// Processes (not zombies) whose real uid is `uid`.
std::vector<pid_t> processes_of(int uid) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry.path().filename().c_str()));
    if (pid <= 0) continue;
    std::ifstream status(entry.path() / "status");
    bool zombie = false;
    int real_uid = -1;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("State:", 0) == 0) zombie = line.find('Z') != std::string::npos;
      if (line.rfind("Uid:", 0) == 0) real_uid = std::atoi(line.c_str() + 4);
    }
    if (real_uid == uid && !zombie) found.push_back(pid);
  }
  return found;
}

// As root, student code (its build too) runs as an unprivileged user of its own, so RLIMIT_NPROC applies and it
// cannot touch the instructor's files. Each grading holds its uid (64000-64999) alone: a uid is taken only with an
// flock on /run/lock/socklab-uid-N (the kernel drops it when socklab ends, however it ends) and only when no process
// runs as it, so concurrent gradings never share a process limit or can signal each other's programs. That makes
// the sweeps safe: whatever runs as the uid after the build or at the end is this submission's, and is killed.
class SandboxUser {
 public:
  SandboxUser(int first, int last) {
    if (getuid() != 0) return;
    std::string dir = access("/run/lock", W_OK) == 0 ? "/run/lock" : "/tmp";
    long count = static_cast<long>(last) - first + 1;
    for (long i = 0; i < count && uid_ < 0; ++i) {
      int uid = first + static_cast<int>((getpid() + i) % count);
      int fd = open((dir + "/socklab-uid-" + std::to_string(uid)).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0) continue;
      if (flock(fd, LOCK_EX | LOCK_NB) == 0 && processes_of(uid).empty()) {
        uid_ = uid;
        lock_ = fd;
      } else {
        close(fd);
      }
    }
    if (uid_ < 0) {
      throw std::runtime_error("no free sandbox uid in " + std::to_string(first) + "-" + std::to_string(last) +
                               " (each is held by another grading or used by a running process; see --sandbox-uids)");
    }
  }
  SandboxUser(const SandboxUser&) = delete;
  SandboxUser& operator=(const SandboxUser&) = delete;
  ~SandboxUser() {
    end_all();
    if (lock_ >= 0) close(lock_);
  }
  int uid() const { return uid_; }

  // Kills everything still running as the uid (a daemon the build started, anything that escaped its experiment's
  // sweep) and waits until it is gone (at most 5 s). Returns how many processes were found.
  std::size_t end_all() {
    if (uid_ < 0) return 0;
    std::set<pid_t> seen;
    auto deadline = Clock::now() + std::chrono::seconds(5);
    for (;;) {
      std::vector<pid_t> left = processes_of(uid_);
      if (left.empty()) break;
      if (Clock::now() > deadline) {
        std::cerr << "socklab: warning: " << left.size() << " process(es) of sandbox uid " << uid_
                  << " could not be killed within 5 s (first: pid " << left.front() << ")\n";
        break;
      }
      seen.insert(left.begin(), left.end());
      // kill(-1) as the uid itself reaches exactly the processes of that uid (and not the killer).
      pid_t killer = fork();
      if (killer == 0) {
        if (setgid(static_cast<gid_t>(uid_)) == 0 && setuid(static_cast<uid_t>(uid_)) == 0) kill(-1, SIGKILL);
        _exit(0);
      }
      if (killer > 0) waitpid(killer, nullptr, 0);
      for (pid_t pid : left) waitpid(pid, nullptr, WNOHANG);  // ours to reap when we were their subreaper
      usleep(10'000);
    }
    for (pid_t pid : seen) waitpid(pid, nullptr, WNOHANG);  // the last ones to die, if they were ours
    return seen.size();
  }

 private:
  int uid_ = -1;
  int lock_ = -1;
};

void chown_tree(const fs::path& root, int uid) {
  if (uid < 0) return;
  lchown(root.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(uid));
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    lchown(it->path().c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(uid));
  }
}

std::string tail_of(const std::string& text, std::size_t max_lines) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  if (first > 0) out += "… (" + std::to_string(first) + " earlier lines)\n";
  for (std::size_t i = first; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

std::string find_program(const fs::path& dir, const std::string& name) {
  for (const char* sub : {"", "build", "bin", "build/bin"}) {
    fs::path p = dir / sub / name;
    std::error_code ec;
    if (fs::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

struct Build {
  std::string status, method, log;
};

// Runs one build command (sh -c "... 2>&1") in dir with limits and a deadline.
bool run_build_command(EventLoop& loop, Launcher& launcher, const std::string& command, const fs::path& dir,
                       const std::map<std::string, std::string>& env, Clock::time_point deadline, int uid,
                       std::string& log, bool& timed_out) {
  ProcessSpec spec;
  spec.name = "build";
  spec.path = "/bin/sh";
  spec.args = {"-c", command + " 2>&1"};
  spec.working_dir = dir.string();
  spec.stdout_pty = false;
  spec.env = env;
  spec.limits = build_limits();
  spec.uid = uid;
  spec.gid = uid;
  spec.output_cap = 4u << 20;
  log += "$ " + command + "\n";
  std::unique_ptr<Process> p;
  try {
    p = launcher.start(spec);
  } catch (const std::exception& e) {
    log += std::string(e.what()) + "\n";
    return false;
  }
  bool ended = loop.run_until([&] { return p->exit_status().has_value(); }, deadline);
  loop.run_until([&] { return p->out().closed; }, Clock::now() + std::chrono::milliseconds(500));
  for (const std::string& l : p->out().lines) log += l + "\n";
  if (!p->out().partial.empty()) log += p->out().partial + "\n";
  if (!ended) {
    timed_out = true;
    p->terminate_group(std::chrono::milliseconds(500));
    log += "(stopped: the build took too long)\n";
    return false;
  }
  auto status = p->exit_status();
  if (!status->exited || status->code != 0) log += "(" + status->describe() + ")\n";
  return status->exited && status->code == 0;
}

Build build_submission(const GradeOptions& o, const fs::path& work, int uid) {
  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  Build b;
  auto deadline = Clock::now() + o.build_timeout;
  std::map<std::string, std::string> env;
  std::string sanitize = o.sanitize ? " -g -fsanitize=address,undefined -fno-omit-frame-pointer" : "";
  if (o.sanitize) {
    env["CFLAGS"] = "-O1" + sanitize;
    env["CXXFLAGS"] = "-O1" + sanitize;
    env["LDFLAGS"] = sanitize;
  }
  env["HOME"] = work.string();  // some tools want a writable home
  bool timed_out = false, ok = true;
  auto has = [&](const char* f) { return fs::exists(work / f); };
  if (has("Makefile") || has("makefile") || has("GNUmakefile")) {
    b.method = "make";
    ok = run_build_command(loop, *launcher, "make", work, env, deadline, uid, b.log, timed_out);
  } else if (has("CMakeLists.txt")) {
    b.method = "cmake";
    std::string flags = o.sanitize ? " -DCMAKE_C_FLAGS='" + sanitize + "' -DCMAKE_CXX_FLAGS='" + sanitize + "'" : "";
    ok = run_build_command(loop, *launcher, "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release" + flags, work, env,
                           deadline, uid, b.log, timed_out) &&
         run_build_command(loop, *launcher, "cmake --build build -j 2", work, env, deadline, uid, b.log, timed_out);
  } else {
    b.method = "cc/c++ per program";
    bool any = false;
    for (const std::string& program : lab_programs(o.lab)) {
      std::string command;
      if (fs::exists(work / (program + ".c"))) {
        command = "cc -O2 -Wall" + sanitize + " -o " + program + " " + program + ".c";
      } else {
        for (const char* ext : {".cpp", ".cc", ".cxx"}) {
          if (fs::exists(work / (program + ext))) {
            command = "c++ -std=c++20 -O2 -Wall" + sanitize + " -o " + program + " " + program + ext;
            break;
          }
        }
      }
      if (command.empty()) continue;
      any = true;
      ok = run_build_command(loop, *launcher, command, work, env, deadline, uid, b.log, timed_out) && ok;
    }
    if (!any) {
      b.status = "no sources";
      b.log = "no Makefile, no CMakeLists.txt, and none of these sources: ";
      for (const std::string& program : lab_programs(o.lab)) b.log += program + ".c/.cpp ";
      b.log += "\n";
      return b;
    }
  }
  b.status = timed_out ? "timed out" : ok ? "ok" : "failed";
  return b;
}

}  // namespace

GradeResult grade_submission(const GradeOptions& o, Reporter& live, const bool* interrupted) {
  auto started = Clock::now();
  GradeResult r;
  r.lab = o.lab;
  r.student = fs::path(o.submission).lexically_normal().filename().string();
  if (r.student.empty() || r.student == ".") r.student = fs::absolute(o.submission).lexically_normal().parent_path().filename().string();

  // A private copy: the build and the programs never write into the submission itself. Declared first, so it is
  // removed last: after the sandbox user's processes are gone.
  WorkDir work_dir;
  fs::path work = work_dir.path;
  SandboxUser sandbox(o.sandbox_uid_first, o.sandbox_uid_last);
  int uid = sandbox.uid();
  r.sandbox_uid = uid;
  std::error_code ec;
  fs::copy(o.submission, work / "submission", fs::copy_options::recursive | fs::copy_options::skip_symlinks, ec);
  fs::path src = work / "submission";
  become_subreaper();  // before the build: a daemon it starts is reparented to us, not to init
  chmod(work.c_str(), 0755);
  chown_tree(src, uid);
  r.sandbox = "rlimits (CPU 30 s, processes 128, files 256, file size 64 MiB" +
              std::string(o.sanitize ? "" : ", address space 2 GiB") + ")" +
              (uid >= 0 ? ", as unprivileged uid " + std::to_string(uid) : ", as the grader's own user") +
              ", own process group, each experiment in its own network namespace when possible";

  Build b = build_submission(o, src, uid);
  r.leftovers_killed = sandbox.end_all();  // nothing the build started runs on into the experiments
  r.build = b.status;
  r.build_method = b.method;
  r.build_log = tail_of(b.log, 40);

  if (r.graded()) {
    std::vector<LoadError> errors;
    std::vector<Experiment> experiments;
    for (const std::string& f : experiment_files({o.experiments_dir + "/lab" + std::to_string(o.lab)}, errors)) {
      if (auto e = load_experiment(f, errors); e && e->graded) experiments.push_back(std::move(*e));
    }
    if (!errors.empty()) throw std::runtime_error(errors.front().text());
    RunOptions run;
    run.bin_dir = o.reference_bin_dir;
    run.time_scale = o.time_scale;
    run.isolation = o.isolation;
    run.verbose = o.verbose;
    run.limits = student_limits(o.sanitize);
    run.uid = uid;
    run.gid = uid;
    for (const std::string& program : lab_programs(o.lab)) {
      std::string path = find_program(src, program);
      r.programs[program] = path;
      if (path.empty()) {
        run.missing[program] = "was not found in the submission (looked in ., build/, bin/ and build/bin/)";
      } else {
        run.bins[program] = path;
      }
    }
    EventLoop loop;
    auto launcher = make_boost_launcher(loop);
    Runner runner(loop, *launcher, run, live);
    boost::asio::signal_set stop(loop.context(), SIGINT, SIGTERM);  // Ctrl-C: stop, clean up, report
    stop.async_wait([&](const boost::system::error_code& error, int) {
      if (!error) runner.interrupt();
    });
    for (const Experiment& e : experiments) {
      if (runner.interrupted() || (interrupted && *interrupted)) break;
      r.experiments.push_back(runner.run(e));
    }
    r.interrupted = runner.interrupted();
    stop.cancel();
    loop.poll();
  }
  // Sanitizer reports go to a program's stderr, whichever check failed because of them: collect them all.
  for (const auto& e : r.experiments) {
    for (const auto& p : e.processes) {
      for (const std::string& report : p.sanitizer_reports) {
        std::string finding = e.id + ": " + p.program + ": " + report;
        if (std::find(r.findings.begin(), r.findings.end(), finding) == r.findings.end()) r.findings.push_back(finding);
      }
    }
  }
  r.leftovers_killed += sandbox.end_all();
  r.duration = std::chrono::duration<double>(Clock::now() - started).count();
  return r;
}

static std::string left_running(const GradeResult& r) {
  return std::to_string(r.leftovers_killed) + " process" + (r.leftovers_killed == 1 ? " was" : "es were") +
         " left running (started in the background by the build, or detached from the programs) and killed";
}

void write_grade_text(std::ostream& out, const GradeResult& r, bool colour) {
  auto bold = [&](const std::string& s) { return colour ? "\033[1m" + s + "\033[0m" : s; };
  out << "\n" << bold("socklab grade: lab " + std::to_string(r.lab) + ", submission " + r.student) << "\n";
  out << "  build: " << r.build << (r.build_method.empty() ? "" : " (" + r.build_method + ")") << "\n";
  if (r.build != "ok") {
    std::istringstream lines(r.build_log);
    for (std::string l; std::getline(lines, l);) out << "    │ " << l << "\n";
  }
  for (const auto& [program, path] : r.programs) {
    out << "  " << program << ": " << (path.empty() ? "MISSING" : path.substr(path.find("/submission/") + 12)) << "\n";
  }
  for (const auto& e : r.experiments) {
    out << "  " << std::setw(3) << e.points() << "/" << std::setw(3) << std::left << e.max_points() << std::right << "  "
        << e.title << "\n";
  }
  for (const std::string& f : r.findings) out << "  sanitizer finding: " << f << "\n";
  if (r.leftovers_killed) out << "  " << left_running(r) << "\n";
  out << bold("  score: " + std::to_string(r.score()) + "/" + std::to_string(r.max_score())) << "  ("
      << std::fixed << std::setprecision(1) << r.duration << " s)\n";
}

void write_grade_json(std::ostream& out, const GradeResult& r) {
  nlohmann::json j{{"tool", "socklab grade"}, {"student", r.student}, {"lab", r.lab}, {"score", r.score()},
                   {"max_score", r.max_score()}, {"build", r.build}, {"build_method", r.build_method},
                   {"build_log", r.build_log}, {"sandbox", r.sandbox}, {"duration_s", r.duration},
                   {"interrupted", r.interrupted}, {"programs", r.programs}, {"findings", r.findings},
                   {"sandbox_uid", r.sandbox_uid}, {"leftovers_killed", r.leftovers_killed}};
  j["checks"] = nlohmann::json::array();
  for (const auto& e : r.experiments) {
    for (const auto& c : e.checks) {
      j["checks"].push_back({{"experiment", e.id}, {"name", c.name}, {"status", c.status_name()}, {"points", c.points},
                             {"max_points", c.max_points}, {"expected", c.expected}, {"actual", c.actual},
                             {"hint", c.hint}, {"detail", c.detail}});
    }
  }
  j["experiments"] = nlohmann::json::array();
  for (const auto& e : r.experiments) j["experiments"].push_back(experiment_json(e));
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void write_grade_junit(std::ostream& out, const GradeResult& r) {
  auto reporter = make_junit_reporter(out);
  reporter->finish(r.experiments);
}

void write_gradescope(std::ostream& out, const GradeResult& r) {
  nlohmann::json j;
  j["score"] = r.score();
  j["execution_time"] = static_cast<int>(r.duration + 0.5);
  std::string summary = "Lab " + std::to_string(r.lab) + ": build " + r.build +
                        (r.build_method.empty() ? "" : " (" + r.build_method + ")") + ".";
  if (r.build != "ok") summary += "\n\nBuild log (end):\n" + r.build_log;
  for (const auto& [program, path] : r.programs) {
    if (path.empty()) summary += "\n" + program + " was not found in your submission.";
  }
  for (const std::string& f : r.findings) summary += "\nSanitizer finding (a memory or undefined-behaviour bug): " + f;
  if (r.leftovers_killed) summary += "\n" + left_running(r);
  j["output"] = summary;
  j["visibility"] = "visible";
  j["stdout_visibility"] = "hidden";
  j["tests"] = nlohmann::json::array();
  for (const auto& e : r.experiments) {
    for (const auto& c : e.checks) {
      if (c.max_points == 0) continue;  // steps without points are context, not tests
      std::string text;
      if (c.status != CheckResult::Status::kPassed) {
        text = "Expected: " + c.expected + "\nBut was: " + c.actual;
        if (!c.hint.empty()) text += "\nHint: " + c.hint;
        if (!c.detail.empty()) text += "\n\n" + c.detail;
      }
      j["tests"].push_back({{"name", e.title + ": " + c.name}, {"score", c.points}, {"max_score", c.max_points},
                            {"status", c.status == CheckResult::Status::kPassed ? "passed" : "failed"},
                            {"output", text}, {"visibility", "visible"}});
    }
  }
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

bool write_gradebook(const std::vector<std::string>& json_files, std::ostream& csv, std::string& error) {
  std::vector<nlohmann::json> reports;
  std::vector<std::string> columns;  // "experiment/check", in first-seen order
  std::set<std::string> seen;
  for (const std::string& f : json_files) {
    std::ifstream in(f);
    try {
      reports.push_back(nlohmann::json::parse(in));
    } catch (const std::exception& e) {
      error = f + ": not a socklab grade report (" + e.what() + ")";
      return false;
    }
    if (!reports.back().contains("student") || !reports.back().contains("checks")) {
      error = f + ": not a socklab grade report (no student/checks)";
      return false;
    }
    for (const auto& c : reports.back()["checks"]) {
      std::string key = c["experiment"].get<std::string>() + "/" + c["name"].get<std::string>();
      if (c["max_points"].get<int>() > 0 && seen.insert(key).second) columns.push_back(key);
    }
  }
  auto field = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  csv << "student,lab,score,max_score,build,duration_s";
  for (const auto& c : columns) csv << "," << field(c);
  csv << "\n";
  std::sort(reports.begin(), reports.end(), [](auto& a, auto& b) { return a["student"] < b["student"]; });
  for (const auto& r : reports) {
    std::map<std::string, int> points;
    for (const auto& c : r["checks"]) points[c["experiment"].get<std::string>() + "/" + c["name"].get<std::string>()] = c["points"];
    std::ostringstream duration;
    duration << std::fixed << std::setprecision(1) << r["duration_s"].get<double>();
    csv << field(r["student"]) << "," << r["lab"].get<int>() << "," << r["score"].get<int>() << ","
        << r["max_score"].get<int>() << "," << field(r["build"]) << "," << duration.str();
    for (const auto& c : columns) csv << "," << (points.count(c) ? std::to_string(points[c]) : "0");
    csv << "\n";
  }
  return true;
}

}  // namespace socklab::harness
