// Hostile submissions against the grading sandbox: one test per attack a student (or a classmate) might try.
// Each attack is a small submission written here, as strong as we could make it (it is told the real paths it
// would go for: the reference programs, the source tree, the reports); each test proves by evidence that the
// attack failed (the attack's own printed findings, host files and sockets, the score), that grading still
// ended with a clear verdict, and that nothing is left running or lying around.
//
// The attacks print their findings on stderr (fork_server prints nothing there, and the report keeps each
// stream's last 20 lines) or, at build time, into the build log.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "child.h"
#include "grade_support.h"

using namespace testing_support;
using namespace grade_support;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Every file an attack leaves on purpose starts with this (per test process: ctest runs each test on its
// own).
const std::string kToken = "socklab-hostile-" + std::to_string(getpid());

// What every attack's C source starts with: the headers, and say() for one line of findings on stderr.
constexpr const char* kPrelude = R"C(#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* One line of findings on stderr (unbuffered: it is there even if we are killed next). */
__attribute__((unused)) static void say(const char *format, ...) {
  char text[600];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  fprintf(stderr, "%s\n", text);
}

/* A whole file (NULs turned into spaces), at most 1 MiB; NULL if it cannot be read. */
__attribute__((unused)) static char *slurp(const char *path) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return NULL;
  }
  size_t cap = 1 << 20, n = 0;
  char *text = malloc(cap + 1);
  for (ssize_t got; n < cap && (got = read(fd, text + n, cap - n)) > 0;) n += (size_t)got;
  close(fd);
  for (size_t i = 0; i < n; i++)
    if (text[i] == 0) text[i] = ' ';
  text[n] = 0;
  return text;
}
)C";

// A C string literal for `text`.
std::string c_literal(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// "#define NAME "value"" lines: how an attack is told the real paths (in its source, so the build log does
// not show them).
std::string defines(const std::vector<std::pair<std::string, std::string>>& macros) {
  std::string out;
  for (const auto& [name, value] : macros) out += "#define " + name + " " + c_literal(value) + "\n";
  return out;
}

// The student-style fork_server (full marks) with `attack` (C functions, after the prelude) and a call at the
// start of main().
std::string fork_server_attacking(const std::string& macros, const std::string& attack,
                                  const std::string& call) {
  return std::string(kPrelude) + macros + attack + fork_server_with("  " + call);
}

// Everything a program printed, over every experiment: the kept tails of its stdout and stderr.
std::string output_of(const nlohmann::json& report, const std::string& program) {
  std::string out;
  if (!report.contains("experiments")) return out;
  for (const auto& e : report["experiments"]) {
    for (const auto& p : e["processes"]) {
      if (p["program"] != program) continue;
      out += p["stdout_tail"].get<std::string>() + p["stderr_tail"].get<std::string>();
    }
  }
  return out;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Text for a failure message: control bytes shown as \xNN, so that a failing test does not itself clear the
// screen of whoever reads its output.
std::string shown(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\n' || (c >= 0x20 && c != 0x7f && c != 0xc2)) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

// Entries in the host's shared writable places whose name starts with kToken: what an attack left behind.
std::vector<std::string> markers_on_host() {
  std::vector<std::string> found;
  for (const char* dir : {"/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/run", "/"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().filename().string().rfind(kToken, 0) == 0) found.push_back(entry.path().string());
    }
  }
  return found;
}

// Grading directories whose socklab has ended: /run/socklab/grade-PID-* and /tmp/socklab-UID/grade-PID-*, or
// those in `only`.
std::vector<std::string> stale_workspaces(const std::vector<fs::path>& only = {}) {
  std::vector<fs::path> dirs = only;
  std::error_code ec;
  if (dirs.empty()) {
    dirs.push_back("/run/socklab");
    for (const auto& entry : fs::directory_iterator("/tmp", ec)) {
      if (entry.path().filename().string().rfind("socklab-", 0) == 0) dirs.push_back(entry.path());
    }
  }
  std::vector<std::string> stale;
  for (const fs::path& dir : dirs) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("grade-", 0) != 0) continue;
      pid_t owner = atoi(name.c_str() + 6);
      if (owner > 0 && kill(owner, 0) != 0 && errno == ESRCH) stale.push_back(entry.path().string());
    }
  }
  return stale;
}

// Those of `now` not already in `before` (another test's socklab killed meanwhile is not this test's
// business).
std::vector<std::string> added(const std::vector<std::string>& before, const std::vector<std::string>& now) {
  std::vector<std::string> out;
  for (const auto& s : now) {
    if (std::find(before.begin(), before.end(), s) == before.end()) out.push_back(s);
  }
  return out;
}

// Waits (at most `limit`) until no process runs as uid: a killed process may take a moment to be gone.
std::vector<std::string> wait_no_process_of(int uid, std::chrono::milliseconds limit = 3000ms) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    auto left = processes_of(uid);
    if (left.empty() || Clock::now() > deadline) return left;
    std::this_thread::sleep_for(
        20ms);  // polling kernel state (the process table), not synchronising with anyone
  }
}

std::string random_word() {
  std::random_device device;
  std::ostringstream out;
  out << std::hex << device() << device();
  return out.str();
}

// A program run to its end with stdout and stderr read meanwhile; the environment is exactly `env`.
struct Ran {
  bool finished = false;
  int exit_code = -1;
  std::string out, err;
};

Ran run(const std::vector<std::string>& argv, const std::vector<std::string>& env, const fs::path& cwd,
        std::chrono::seconds limit = 180s) {
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    syscall(SYS_close_range, 3u, ~0u, 0u);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  Ran r;
  auto deadline = Clock::now() + limit;
  bool exited = false, out_open = true, err_open = true;
  std::optional<Clock::time_point> drain_until;
  while (out_open || err_open || !exited) {
    auto now = Clock::now();
    auto until = drain_until ? std::min(*drain_until, deadline) : deadline;
    if (now >= until) break;
    pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0},
                     {err_open ? err[0] : -1, POLLIN, 0},
                     {exited ? -1 : pidfd, POLLIN, 0}};
    poll(fds, 3,
         static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()) + 1);
    char buffer[65536];
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) (i == 0 ? r.out : r.err).append(buffer, static_cast<std::size_t>(n));
      if (n <= 0) (i == 0 ? out_open : err_open) = false;
    }
    if (fds[2].revents && !exited) {
      exited = true;
      drain_until =
          Clock::now() + 2s;  // what it wrote last; a descendant holding the pipes does not hold us up
    }
  }
  if (!exited) kill(-pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  r.finished = exited;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  close(out[0]);
  close(err[0]);
  close(pidfd);
  return r;
}

std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------------
// 1. Full marks without a solution: find the reference programs (through /proc, the sandbox's own command
// line, the
//    real paths) and exec them in place of one's own.
// ---------------------------------------------------------------------------------------------------------------------

constexpr const char* kStealReference = R"C(
/* Run the reference ROLE (echo_server or echo_client) instead of writing one: look for socklab's and the reference
   programs' paths everywhere /proc shows, add the real ones, and exec each candidate in turn. */
static char candidates[96][600];
static int count;

static void candidate(const char *path) {
  if (path[0] != '/' || count == 96) return;
  for (int i = 0; i < count; i++)
    if (!strcmp(candidates[i], path)) return;
  snprintf(candidates[count++], sizeof candidates[0], "%s", path);
}

/* Every absolute path in the text that could lead to socklab or a lab program: ROLE beside it and inside it. */
static void harvest(const char *text) {
  for (const char *p = text; (p = strchr(p, '/'));) {
    size_t n = strcspn(p, " \t\n:=;,\"'()");
    char path[512], c[600];
    snprintf(path, sizeof path, "%.*s", (int)n, p);
    if (strstr(path, "socklab") || strstr(path, "echo_") || strstr(path, "fork_server") || strstr(path, "bin")) {
      char *slash = strrchr(path, '/');
      snprintf(c, sizeof c, "%.*s/%s", (int)(slash - path), path, ROLE);
      candidate(c);
      snprintf(c, sizeof c, "%s/%s", path, ROLE);
      candidate(c);
    }
    p += n ? n : 1;
  }
}

int main(int argc, char **argv) {
  (void)argc;
  char path[300], link[600];
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)getppid());
  char *text = slurp(path);
  say("%s: parent %d runs: %.120s", ROLE, (int)getppid(), text ? text : strerror(errno));
  int processes = 0;
  DIR *proc = opendir("/proc");
  for (struct dirent *e; proc && (e = readdir(proc));) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    processes++;
    const char *files[] = {"cmdline", "environ", "maps", "mountinfo"};
    for (int i = 0; i < 4; i++) {
      snprintf(path, sizeof path, "/proc/%s/%s", e->d_name, files[i]);
      if ((text = slurp(path))) harvest(text), free(text);
    }
    const char *links[] = {"exe", "cwd", "root"};
    for (int i = 0; i < 3; i++) {
      snprintf(path, sizeof path, "/proc/%s/%s", e->d_name, links[i]);
      ssize_t n = readlink(path, link, sizeof link - 1);
      if (n > 0) link[n] = 0, harvest(link);
    }
  }
  int from_proc = count;
  candidate(SOCKLAB_BIN_DIR "/" ROLE);
  candidate(SOCKLAB_SOURCE_DIR "/build/bin/" ROLE);
  candidate("/proc/1/root" SOCKLAB_BIN_DIR "/" ROLE);
  candidate("/proc/1/cwd/" ROLE);
  candidate("/usr/local/bin/" ROLE);
  say("%s: %d processes looked at, %d candidates from /proc, %d in all", ROLE, processes, from_proc, count);
  struct stat self, other;
  stat("/proc/self/exe", &self);
  for (int i = 0; i < count; i++) {
    if (stat(candidates[i], &other) == 0 && other.st_dev == self.st_dev && other.st_ino == self.st_ino) continue;
    argv[0] = candidates[i];
    execv(candidates[i], argv);
    if (!strncmp(candidates[i], SOCKLAB_BIN_DIR, strlen(SOCKLAB_BIN_DIR)) || i < 6)
      say("exec %s failed: %s", candidates[i], strerror(errno));
  }
  say("%s: no reference program to run (%d tried)", ROLE, count);
  return 1;
}
)C";

// Running our reference programs as one's own would score 100 with no solution: they must be out of reach.
TEST(Hostile, ReferenceProgramsCannotBeStolenForFullMarks) {
  std::string source =
      std::string(kPrelude) +
      defines({{"SOCKLAB_BIN_DIR", SOCKLAB_BIN_DIR}, {"SOCKLAB_SOURCE_DIR", SOCKLAB_SOURCE_DIR}}) +
      kStealReference;
  std::string bin = SOCKLAB_BIN_DIR;
  auto dir = submission("steal", {{"steal.c", source},
                                  {"Makefile",
                                   "all: echo_server echo_client\n"
                                   "echo_server echo_client: steal.c\n"
                                   "\t@echo \"build: reference programs found by find: $$(find / \\( -path "
                                   "/proc -o -path /sys -o -path /usr \\) -prune "
                                   "-o \\( -name 'echo_server*' -o -name 'echo_client*' -o -name 'socklab*' "
                                   "\\) -print 2>/dev/null | tr '\\n' ' ')\"\n"
                                   "\t@cp " +
                                       bin +
                                       "/$@ $@ 2>&1 && echo \"build: COPIED the reference $@\" || "
                                       "cc -O2 -w -DROLE='\"$@\"' -o $@ steal.c\n"}});
  Graded g = grade(1, dir);
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["build"], "ok") << g.report["build_log"];
  std::string log = g.report["build_log"];
  EXPECT_FALSE(has(log, "COPIED")) << log;
  EXPECT_TRUE(has(log, "cp: cannot stat '" + bin + "/echo_server'")) << log;
  EXPECT_LT(g.report["score"].get<int>(), 30)
      << "the reference programs earned points for a submission without a solution"
      << failed_checks(g.report);
  std::string server = output_of(g.report, "echo_server"), client = output_of(g.report, "echo_client");
  EXPECT_TRUE(has(server, "exec " + bin + "/echo_server failed: No such file or directory")) << server;
  EXPECT_TRUE(has(client, "exec " + bin + "/echo_client failed: No such file or directory")) << client;
  EXPECT_TRUE(has(server, "echo_server: no reference program to run")) << server;
}

// ---------------------------------------------------------------------------------------------------------------------
// 2. TIOCSTI: type a command into the terminal socklab runs in (the grader's shell would run it after socklab
// ends).
// ---------------------------------------------------------------------------------------------------------------------

constexpr const char* kTiocsti = R"C(
/* Types TYPED (a shell command) into whatever terminal is behind fd, one byte at a time. */
static void type_into(const char *when, const char *what, int fd) {
  const char *typed = TYPED;
  size_t n = 0;
  while (typed[n] && ioctl(fd, TIOCSTI, &typed[n]) == 0) n++;
  if (typed[n]) say("%s: TIOCSTI on %s failed: %s", when, what, strerror(errno));
  else say("%s: TIOCSTI on %s: typed %zu bytes", when, what, n);
}

static void tiocsti_attack(const char *when) {
  int fd = open("/dev/tty", O_RDWR);
  if (fd < 0) say("%s: open(\"/dev/tty\") failed: %s", when, strerror(errno));
  else type_into(when, "/dev/tty", fd), close(fd);
  for (int i = 0; i < 3; i++) {
    char what[32];
    snprintf(what, sizeof what, "fd %d", i);
    if (isatty(i)) type_into(when, what, i);
  }
  const char *paths[] = {"/dev/console", "/dev/pts/0", "/dev/pts/1", "/proc/1/fd/0", "/proc/1/fd/1", "/proc/1/fd/2"};
  for (int i = 0; i < 6; i++) {
    fd = open(paths[i], O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) say("%s: open %s: %s", when, paths[i], strerror(errno));
    else if (isatty(fd)) type_into(when, paths[i], fd), close(fd);
    else close(fd);
  }
  /* Make a terminal we hold our controlling one (a new session first), then type into it. */
  pid_t child = fork();
  if (child == 0) {
    setsid();
    for (int i = 0; i < 3; i++) {
      if (!isatty(i)) continue;
      if (ioctl(i, TIOCSCTTY, 1) != 0) {
        say("%s: TIOCSCTTY on fd %d failed: %s", when, i, strerror(errno));
        continue;
      }
      char what[64];
      snprintf(what, sizeof what, "fd %d, made our controlling terminal", i);
      type_into(when, what, i);
    }
    fd = open("/dev/tty", O_RDWR);
    if (fd >= 0) type_into(when, "/dev/tty after TIOCSCTTY", fd);
    _exit(0);
  }
  waitpid(child, NULL, 0);
}
)C";

// A command typed into the grader's terminal runs in the grader's shell: the sandbox has no terminal.
TEST(Hostile, TiocstiCannotTypeIntoTheGradersTerminal) {
  std::string typed_marker = "/tmp/" + kToken + "-tiocsti";
  std::string macros = defines({{"TYPED", "touch " + typed_marker + "\n"}});
  std::string attack = std::string(kPrelude) + macros + kTiocsti;
  auto dir = submission(
      "tiocsti",
      {{"tiocsti.c", attack + "int main(void) { tiocsti_attack(\"build\"); return 0; }\n"},
       {"fork_server.c", fork_server_attacking(macros, kTiocsti, "tiocsti_attack(\"fork_server\");")},
       {"echo_server.c", student_c("echo_server")},
       {"Makefile",
        "fork_server: fork_server.c tiocsti.c\n"
        "\t@cc -O2 -o tiocsti tiocsti.c && ./tiocsti\n"
        "\tcc -O2 -o fork_server fork_server.c\n"}});
  fs::path json = dir.parent_path() / "tiocsti.json";

  // socklab with a terminal of its own as controlling terminal, stdin, stdout and stderr: as in a grader's
  // shell.
  int master = -1, slave = -1;
  termios raw{};
  cfmakeraw(&raw);  // every byte typed is readable at once (no line discipline waiting for a newline)
  ASSERT_EQ(openpty(&master, &slave, nullptr, &raw, nullptr), 0) << strerror(errno);
  std::string socklab = bin_dir() + "/socklab";
  std::vector<std::string> argv{socklab,    "grade", "--lab", "2",          dir.string(),
                                "--report", "json",  "--out", json.string()};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setsid();
    if (ioctl(slave, TIOCSCTTY, 0) != 0) _exit(125);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    syscall(SYS_close_range, 3u, ~0u, 0u);
    execv(args[0], args.data());
    _exit(127);
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  fcntl(master, F_SETFL, O_NONBLOCK);
  fcntl(slave, F_SETFL, O_NONBLOCK);
  std::string
      screen;  // what socklab wrote to its terminal: read as it comes, or socklab would block on a full pty
  auto drain = [&] {
    char buffer[65536];
    for (ssize_t n; (n = read(master, buffer, sizeof buffer)) > 0;)
      screen.append(buffer, static_cast<std::size_t>(n));
  };
  auto deadline = Clock::now() + 180s;
  bool exited = false;
  while (!exited && Clock::now() < deadline) {
    pollfd fds[2] = {{master, POLLIN, 0}, {pidfd, POLLIN, 0}};
    poll(fds, 2, 1000);
    drain();
    exited = fds[1].revents != 0;
  }
  if (!exited) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  drain();
  close(pidfd);
  ASSERT_TRUE(exited) << "socklab did not finish:\n" << shown(screen);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << shown(screen);

  // Nothing was typed into the terminal: its input queue is empty...
  char typed[512];
  ssize_t n = read(slave, typed, sizeof typed);
  int error = errno;
  EXPECT_EQ(n, -1) << "typed into the grader's terminal: \"" << std::string(typed, n > 0 ? n : 0) << "\"";
  EXPECT_EQ(error, EAGAIN) << strerror(error);
  // ... and this check would have seen typing (as root we may TIOCSTI into any terminal ourselves).
  if (getuid() == 0) {
    char probe = 'x';
    ASSERT_EQ(ioctl(slave, TIOCSTI, &probe), 0) << strerror(errno);
    EXPECT_EQ(read(slave, typed, sizeof typed), 1) << "the check cannot see typed input: " << strerror(errno);
  }
  close(master);
  close(slave);
  EXPECT_FALSE(fs::exists(typed_marker));

  auto report = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(report["score"], 100) << failed_checks(report);
  std::string log = report["build_log"], server = output_of(report, "fork_server");
  EXPECT_TRUE(has(log, "build: open(\"/dev/tty\") failed: No such device or address")) << log;
  EXPECT_TRUE(has(server, "fork_server: open(\"/dev/tty\") failed: No such device or address")) << server;
  EXPECT_TRUE(survivors(report["sandbox_uid"]).empty());
}

// ---------------------------------------------------------------------------------------------------------------------
// 3. A classmate's code: in a batch, search everything reachable for another student's sources and the
// reference
//    solution, and print what is found (into one's own report, which the attacker gets back).
// ---------------------------------------------------------------------------------------------------------------------

constexpr const char* kSpy = R"C(
/* Everything reachable, searched for a classmate's secret (NEEDLE_VICTIM) and the reference sources
   (NEEDLE_REFERENCE): each find is printed, with the line around it. */
static int dirs, files, processes, found;
static char unreachable[4096];

static void look_in(const char *where, const char *text) {
  const char *needles[] = {NEEDLE_VICTIM, NEEDLE_REFERENCE};
  for (int i = 0; i < 2; i++) {
    const char *at = strstr(text, needles[i]);
    if (!at) continue;
    const char *start = at, *end = at;
    while (start > text && start[-1] != '\n') start--;
    while (*end && *end != '\n') end++;
    found++;
    say("FOUND in %s: %.*s", where, (int)(end - start > 150 ? 150 : end - start), start);
  }
}

/* Each directory once, whatever path leads there; not /usr (the system's, read-only and huge), /proc, /sys. */
static struct { dev_t dev; ino_t ino; } seen[20000];
static int nseen, sources;

static int already_seen(const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0) return 0;
  for (int i = 0; i < nseen; i++)
    if (seen[i].dev == st.st_dev && seen[i].ino == st.st_ino) return 1;
  if (nseen < 20000) seen[nseen].dev = st.st_dev, seen[nseen++].ino = st.st_ino;
  return 0;
}

static void walk(const char *dir, int depth) {
  if (nseen == 0) already_seen("/usr"), already_seen("/proc"), already_seen("/sys");
  if (depth > 16 || already_seen(dir)) return;
  DIR *d = opendir(dir);
  if (!d) {
    size_t n = strlen(unreachable);
    snprintf(unreachable + n, sizeof unreachable - n, " %s (%s);", dir, strerror(errno));
    return;
  }
  dirs++;
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
    struct stat st;
    if (lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      walk(path, depth + 1);
    } else if (S_ISREG(st.st_mode) && st.st_size < (8 << 20)) {
      char *text = slurp(path);
      if (!text) continue;
      files++;
      if (strncmp(path, "/work/", 6)) look_in(path, text); /* not our own files (they hold the needles) */
      const char *dot = strrchr(path, '.');
      if (dot && (!strcmp(dot, ".c") || !strcmp(dot, ".cc")) && strncmp(path, "/work/", 6) && sources++ < 8)
        say("SOURCE %s: %.100s", path, text);
      free(text);
    }
  }
  closedir(d);
}

static void spy(const char *when) {
  const char *places[] = {"/", "/dev/shm", "..", "../..", "/run/socklab", "/run", "/home", "/root", "/var", OUT_DIR,
                          BATCH_ROOT, BATCH_ROOT "/victim", LABS_DIR, "/proc/1/root" BATCH_ROOT, "/proc/1/cwd/.."};
  for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) walk(places[i], 0);
  DIR *proc = opendir("/proc");
  for (struct dirent *e; proc && (e = readdir(proc));) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    processes++;
    const char *what[] = {"cmdline", "environ"};
    for (int i = 0; i < 2; i++) {
      char path[300];
      snprintf(path, sizeof path, "/proc/%s/%s", e->d_name, what[i]);
      char *text = slurp(path);
      if (text) look_in(path, text), free(text);
    }
  }
  int fd = open(OUT_DIR "/victim.json", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  say("%s: overwrite the victim's report: %s", when, fd >= 0 ? "DONE" : strerror(errno));
  for (size_t at = 0; at < strlen(unreachable); at += 150) say("%s: unreachable:%.150s", when, unreachable + at);
  say("SPY %s: %d directories, %d files, %d processes read; found %d", when, dirs, files, processes, found);
}
)C";

// A classmate graded alongside must not get another's sources (or ours) into the report it gets back.
TEST(Hostile, AClassmateCannotReadAnotherSubmissionInABatch) {
  fs::path root = fs::path(testing::TempDir()) / ("hostile_class_" + std::to_string(getpid()));
  fs::path out = root.string() + "_grades";
  fs::remove_all(root);
  fs::remove_all(out);
  std::string secret = "VICTIM-SECRET-" + random_word();
  std::string macros = defines({{"NEEDLE_VICTIM", "VICTIM-SECRET"},
                                {"NEEDLE_REFERENCE", "TCP echo server"},
                                {"OUT_DIR", out.string()},
                                {"BATCH_ROOT", root.string()},
                                {"LABS_DIR", kSource + "/labs"}});
  std::map<std::string, std::map<std::string, std::string>> students{
      {"victim",
       {{"fork_server.c", "/* " + secret + ": my own work, do not copy */\n" + student_c("fork_server")},
        {"echo_server.c", student_c("echo_server")}}},
      {"attacker",
       {{"spy.c", std::string(kPrelude) + macros + kSpy + "int main(void) { spy(\"build\"); return 0; }\n"},
        {"fork_server.c", fork_server_attacking(macros, kSpy, "spy(\"fork_server\");")},
        {"echo_server.c", student_c("echo_server")},
        {"Makefile",
         "fork_server: fork_server.c spy.c\n"
         "\t@cc -O2 -w -o spy spy.c && ./spy\n"
         "\t@cc -O2 -w -o fork_server fork_server.c\n"}}}};
  for (const auto& [name, files] : students) {
    fs::create_directories(root / name);
    for (const auto& [file, text] : files) std::ofstream(root / name / file) << text;
  }
  Child socklab("socklab",
                {"grade", "--lab", "2", "--batch", root.string(), "-j", "2", "--out-dir", out.string()});
  auto status = socklab.wait_exit(240s);
  ASSERT_TRUE(status.has_value()) << "the batch did not finish";
  EXPECT_EQ(status->describe(), "exit 0") << socklab.stderr_text();

  auto victim = nlohmann::json::parse(read_file(out / "victim.json"));
  EXPECT_EQ(victim["student"], "victim");
  EXPECT_EQ(victim["score"], 100) << failed_checks(victim);
  auto attacker = nlohmann::json::parse(read_file(out / "attacker.json"));
  std::string log = attacker["build_log"], program = output_of(attacker, "fork_server");
  EXPECT_TRUE(has(log, "SPY build:")) << "the attack did not run at build time:\n" << log;
  EXPECT_TRUE(has(program, "SPY fork_server:")) << "the attack did not run in the program:\n" << program;
  EXPECT_FALSE(has(log + program, "FOUND")) << log << program;
  EXPECT_TRUE(has(program, "overwrite the victim's report: No such file or directory")) << program;

  std::vector<std::string> reference_lines;  // what the reference solution would look like in a report
  std::istringstream reference(read_file(kSource + "/labs/lab1/echo_server.cc"));
  for (std::string line; std::getline(reference, line);) {
    line.erase(0, line.find_first_not_of(' '));
    if (line.size() >= 40) reference_lines.push_back(line);
  }
  ASSERT_FALSE(reference_lines.empty());
  for (const char* file : {"attacker.json", "attacker.txt"}) {
    std::string text = read_file(out / file);
    ASSERT_FALSE(text.empty()) << file;
    EXPECT_FALSE(has(text, secret)) << file << " holds the victim's secret:\n" << text;
    for (const std::string& line : reference_lines)
      EXPECT_FALSE(has(text, line)) << file << " holds reference source: " << line;
  }
  for (const auto& report : {victim, attacker}) EXPECT_TRUE(survivors(report["sandbox_uid"]).empty());
}

// ---------------------------------------------------------------------------------------------------------------------
// 4. Outliving the grading: files in every shared writable place, a setuid copy of a shell, a daemon
// recreating them.
// ---------------------------------------------------------------------------------------------------------------------

constexpr const char* kLeaveBehind = R"C(
/* Leaves TOKEN-* files wherever a machine shares writable places, a setuid copy of a shell in /tmp and /dev/shm, and
   a detached daemon that keeps making them. */
static const char *places[] = {"/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/run", "/"};

static void copy_setuid(const char *when, const char *to) {
  int from = open("/bin/sh", O_RDONLY), fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  char buffer[65536];
  for (ssize_t n; from >= 0 && fd >= 0 && (n = read(from, buffer, sizeof buffer)) > 0;)
    if (write(fd, buffer, (size_t)n) != n) break;
  struct stat st;
  if (fd < 0 || fchmod(fd, 06755) != 0 || fstat(fd, &st) != 0) say("%s: setuid %s: %s", when, to, strerror(errno));
  else say("%s: made %s mode %o", when, to, (unsigned)(st.st_mode & 07777));
  if (fd >= 0) close(fd);
  if (from >= 0) close(from);
}

static void leave_behind(const char *when) {
  char path[256], made[1024] = "";
  for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
    snprintf(path, sizeof path, "%s/%s-%s", strcmp(places[i], "/") ? places[i] : "", TOKEN, when);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) close(fd), strcat(made, " "), strcat(made, path);
    else say("%s: %s: %s", when, path, strerror(errno));
  }
  say("%s: made%s", when, made);
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s-suid-%s", places[i], TOKEN, when);
    copy_setuid(when, path);
  }
  if (fork() == 0) { /* a daemon: its own session, reparented, silent, making the files again and again */
    setsid();
    if (fork() != 0) _exit(0);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    for (int round = 0; round < 600; round++) {
      for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        snprintf(path, sizeof path, "%s/%s-daemon", strcmp(places[i], "/") ? places[i] : "", TOKEN);
        close(open(path, O_WRONLY | O_CREAT, 0644));
      }
      usleep(100000);
    }
    _exit(0);
  }
  wait(NULL);
}

/* The next grading: run the setuid copies the last one left (euid would be the other grading's uid), read its files. */
static void use_leftovers(const char *when) {
  char path[256];
  for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
    const char *suffixes[] = {"suid-build", "suid-fork_server", "build", "fork_server", "daemon"};
    for (int k = 0; k < 5; k++) {
      snprintf(path, sizeof path, "%s/%s-%s", strcmp(places[i], "/") ? places[i] : "", TOKEN, suffixes[k]);
      if (k < 2) {
        pid_t child = fork();
        if (child == 0) {
          execl(path, path, "-c", "id", (char *)NULL);
          say("%s: exec %s failed: %s", when, path, strerror(errno));
          _exit(127);
        }
        int status = 0;
        waitpid(child, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) say("%s: RAN %s", when, path);
      } else if (access(path, F_OK) == 0) {
        say("%s: FOUND %s", when, path);
      }
    }
  }
  say("%s: done with the leftovers", when);
}
)C";

// Files and a setuid shell left behind would outlive the grading and serve the next one: nothing may stay.
TEST(Hostile, NothingOutlivesTheGrading) {
  auto stale_before = stale_workspaces();
  std::string macros = defines({{"TOKEN", kToken}});
  auto attack = [&](const std::string& call) {
    return std::map<std::string, std::string>{
        {"attack.c", std::string(kPrelude) + macros + kLeaveBehind + "int main(void) { " + call +
                         "(\"build\"); return 0; }\n"},
        {"fork_server.c", fork_server_attacking(macros, kLeaveBehind, call + "(\"fork_server\");")},
        {"echo_server.c", student_c("echo_server")},
        {"Makefile",
         "fork_server: fork_server.c attack.c\n"
         "\t@cc -O2 -w -o attack attack.c && ./attack\n"
         "\t@setsid sh -c 'while :; do touch /tmp/" +
             kToken +
             "-make; sleep 0.1; done' </dev/null >/dev/null 2>&1 &\n"
             "\t@cc -O2 -w -o fork_server fork_server.c\n"}};
  };
  Graded first = grade(2, submission("leave_behind", attack("leave_behind")));
  EXPECT_EQ(first.exit_code, 0) << first.text;
  EXPECT_EQ(first.report["score"], 100) << failed_checks(first.report) << first.report["build_log"];
  std::string log = first.report["build_log"], program = output_of(first.report, "fork_server");
  EXPECT_TRUE(has(log, "build: made /tmp/" + kToken + "-build /dev/shm/" + kToken + "-build")) << log;
  EXPECT_TRUE(has(log, "build: made /tmp/" + kToken + "-suid-build mode 6755")) << log;
  EXPECT_TRUE(has(program, "fork_server: made /tmp/" + kToken + "-suid-fork_server mode 6755")) << program;
  EXPECT_TRUE(has(program, "fork_server: /var/tmp/" + kToken + "-fork_server: No such file or directory"))
      << program;
  auto left = markers_on_host();
  EXPECT_TRUE(left.empty()) << "left on the host: " << left.front();
  auto stale = added(stale_before, stale_workspaces());
  EXPECT_TRUE(stale.empty()) << "grading directory left: " << stale.front();

  Graded second = grade(2, submission("use_leftovers", attack("use_leftovers")));
  EXPECT_EQ(second.exit_code, 0) << second.text;
  EXPECT_EQ(second.report["score"], 100) << failed_checks(second.report);
  log = second.report["build_log"];
  program = output_of(second.report, "fork_server");
  for (const std::string& output : {log, program}) {
    EXPECT_TRUE(has(output, "exec /tmp/" + kToken + "-suid-build failed: No such file or directory"))
        << output;
    EXPECT_TRUE(has(output, "exec /tmp/" + kToken + "-suid-fork_server failed: No such file or directory"))
        << output;
    EXPECT_TRUE(has(output, "done with the leftovers")) << output;
    EXPECT_FALSE(has(output, "RAN ")) << output;
    EXPECT_FALSE(has(output, "FOUND ")) << output;
  }
  left = markers_on_host();
  EXPECT_TRUE(left.empty()) << "left on the host: " << left.front();
}

// ---------------------------------------------------------------------------------------------------------------------
// 5. Forged grades when socklab is not root: student code runs as the grader's own uid; a detached process
// waits for
//    socklab to write the report, then rewrites it.
// ---------------------------------------------------------------------------------------------------------------------

constexpr const char* kForger = R"C(
/* A detached process (double fork, its own session) that rewrites REPORT with full marks, again and again, for a
   minute: long after the grading, if it survives. */
static void forge(const char *when) {
  const char *targets[] = {REPORT, "/proc/1/root" REPORT, "../../.." REPORT, SCRATCH "/forged-by-" TOKEN};
  for (int i = 0; i < 4; i++) {
    int fd = open(targets[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    say("%s: write %s now: %s", when, targets[i], fd >= 0 ? "DONE" : strerror(errno));
    if (fd >= 0) close(fd);
  }
  pid_t child = fork();
  if (child == 0) {
    setsid();
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    if (fork() != 0) _exit(0);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    const char *forged = "{\"tool\": \"socklab grade\", \"student\": \"FORGED\", \"score\": 100, \"max_score\": 100}\n";
    for (int round = 0; round < 600; round++) {
      for (int i = 0; i < 4; i++) {
        int fd = open(targets[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) write(fd, forged, strlen(forged)), close(fd);
      }
      usleep(100000);
    }
    _exit(0);
  }
  waitpid(child, NULL, 0);
  say("%s: detached forger started", when);
}
)C";

// Not as root, student code runs as the grader: a process left behind could rewrite the report afterwards.
TEST(Hostile, NoForgedReportWhenNotRoot) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to switch to a fresh unprivileged uid (setpriv)";
  int uid = 60000 + getpid() % 1000;
  while (!processes_of(uid).empty()) ++uid;
  std::string setpriv = "/usr/bin/setpriv";
  std::vector<std::string> as_uid{setpriv, "--reuid=" + std::to_string(uid), "--regid=" + std::to_string(uid),
                                  "--clear-groups"};
  fs::path scratch = fs::path(testing::TempDir()) / ("nonroot_" + std::to_string(getpid()));
  fs::remove_all(scratch);
  fs::create_directories(scratch / "run");
  fs::path report = scratch / "report.json";
  std::string macros =
      defines({{"REPORT", report.string()}, {"SCRATCH", scratch.string()}, {"TOKEN", kToken}});
  std::map<std::string, std::string> files{
      {"forge.c",
       std::string(kPrelude) + macros + kForger + "int main(void) { forge(\"build\"); return 0; }\n"},
      {"fork_server.c", fork_server_attacking(macros, kForger, "forge(\"fork_server\");")},
      {"echo_server.c", student_c("echo_server")},
      {"Makefile",
       "fork_server: fork_server.c forge.c\n"
       "\t@cc -O2 -w -o forge forge.c && ./forge\n"
       "\t@setsid sh -c 'trap \"\" TERM HUP; while :; do echo FORGED > " +
           report.string() +
           "; sleep 0.1; done' "
           "</dev/null >/dev/null 2>&1 &\n"
           "\t@cc -O2 -w -o fork_server fork_server.c\n"}};
  fs::create_directories(scratch / "sub");
  for (const auto& [file, text] : files) std::ofstream(scratch / "sub" / file) << text;
  for (const auto& entry : fs::recursive_directory_iterator(scratch)) {
    ASSERT_EQ(lchown(entry.path().c_str(), uid, uid), 0) << entry.path();
  }
  ASSERT_EQ(chown(scratch.c_str(), uid, uid), 0);
  chmod((scratch / "run").c_str(), 0700);
  std::vector<std::string> env{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + scratch.string(),
                               "LANG=C.UTF-8", "XDG_RUNTIME_DIR=" + (scratch / "run").string()};

  // Can this machine give an unprivileged user namespaces of its own (what socklab needs when not root)?
  std::vector<std::string> probe = as_uid;
  probe.insert(probe.end(), {"/usr/bin/unshare", "--user", "--map-root-user", "--mount", "--net", "--pid",
                             "--fork", "/bin/true"});
  Ran probed = run(probe, env, scratch, 30s);
  if (probed.exit_code != 0) {
    fs::remove_all(scratch);
    GTEST_SKIP() << "unprivileged user namespaces are not available here: " << probed.err;
  }

  std::vector<std::string> argv = as_uid;
  argv.insert(argv.end(), {bin_dir() + "/socklab", "grade", "--lab", "2", (scratch / "sub").string(),
                           "--report", "json", "--out", report.string()});
  Ran socklab = run(argv, env, scratch);
  ASSERT_TRUE(socklab.finished) << socklab.out << socklab.err;
  EXPECT_EQ(socklab.exit_code, 0) << socklab.out << socklab.err;
  std::string written = read_file(report);  // the moment socklab has exited

  auto left = wait_no_process_of(uid);
  EXPECT_TRUE(left.empty()) << "still running as uid " << uid << " after socklab exited: " << left.front();
  std::string now = read_file(report);
  EXPECT_EQ(now, written) << "the report changed after socklab exited";
  EXPECT_FALSE(has(now, "FORGED")) << now;
  EXPECT_FALSE(fs::exists(scratch / ("forged-by-" + kToken)));
  auto j = nlohmann::json::parse(now);
  EXPECT_EQ(j["student"], "sub");
  EXPECT_EQ(j["sandbox_uid"], -1) << "not root: no sandbox uid";
  EXPECT_TRUE(has(j["confinement"]["identity"], "user namespaces")) << j["confinement"];
  EXPECT_EQ(j["score"], 100) << failed_checks(j) << j["build_log"];
  std::string log = j["build_log"], program = output_of(j, "fork_server");
  EXPECT_TRUE(has(log, "build: detached forger started")) << log;
  EXPECT_TRUE(has(program, "fork_server: detached forger started")) << program;
  EXPECT_TRUE(has(program, "fork_server: write " + report.string() + " now: No such file or directory"))
      << program;
  EXPECT_TRUE(stale_workspaces({scratch / "run" / ("socklab-" + std::to_string(uid))}).empty());
}

// ---------------------------------------------------------------------------------------------------------------------
// 6. Memory: three processes each touching 600 MiB, and /dev/shm (tmpfs pages, which no process's RSS shows)
// filled.
// ---------------------------------------------------------------------------------------------------------------------

constexpr const char* kMemoryHog = R"C(
/* Three hogs and a /dev/shm filler; returns once each has got as far as it could (or was killed on the way). */
static void hog(void) {
  int done[2];
  pipe(done);
  for (int i = 0; i < 4; i++) {
    if (fork() != 0) continue;
    close(done[0]);
    if (i == 3) goto fill;
    size_t held = 0, step = 8u << 20;
    while (held < (600u << 20)) {
      char *block = malloc(step);
      if (!block) {
        say("hog %d: malloc failed at %zu MiB: %s", i, held >> 20, strerror(errno));
        break;
      }
      memset(block, 0x5a, step); /* touched: real pages */
      held += step;
    }
    say("hog %d: holding %zu MiB", i, held >> 20);
    write(done[1], "", 1), close(done[1]);
    for (;;) pause();
  fill:; /* /dev/shm, 60 MiB a file (the per-file size limit is 64 MiB) */
    static char block[1 << 20];
    memset(block, 0x5a, sizeof block);
    size_t mib = 0;
    for (int file = 0; file < 40; file++) {
      char path[128];
      snprintf(path, sizeof path, "/dev/shm/%s-fill-%d", TOKEN, file);
      int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), k = 0;
      if (fd < 0) {
        say("shm: open %s: %s", path, strerror(errno));
        break;
      }
      while (k < 60 && write(fd, block, sizeof block) == (ssize_t)sizeof block) k++;
      mib += (size_t)k;
      int error = errno;
      close(fd);
      if (k < 60) {
        say("shm: write failed after %zu MiB: %s", mib, strerror(error));
        break;
      }
    }
    say("shm: %zu MiB in /dev/shm", mib);
    write(done[1], "", 1), close(done[1]);
    for (;;) pause();
  }
  close(done[1]);
  char byte;
  while (read(done[0], &byte, 1) > 0) {
  }
  close(done[0]);
}
)C";

// Memory is every grading's: a student's processes and tmpfs pages together must stay under --memory.
TEST(Hostile, MemoryHogsStayUnderTheLimit) {
  std::string macros = defines({{"TOKEN", kToken}});
  auto dir = fork_submission("memory_hog", fork_server_attacking(macros, kMemoryHog, "hog();"));
  Graded g = grade(2, dir, {"--memory", "512M", "--disk", "1G"});
  EXPECT_EQ(g.exit_code, 0) << g.text;
  ASSERT_TRUE(g.report.contains("confinement")) << g.text;
  const auto& c = g.report["confinement"];
  std::string program = output_of(g.report, "fork_server");
  EXPECT_EQ(c["memory_limit_bytes"], 512ull << 20) << c;
  EXPECT_GT(c["peak_memory_bytes"].get<std::uint64_t>(), 256ull << 20)
      << "the hogs got nowhere near the limit: " << c << program;
  EXPECT_LE(c["peak_memory_bytes"].get<std::uint64_t>(), 512ull << 20) << c;
  EXPECT_TRUE(c["oom_kills"].get<int>() > 0 || has(program, "failed")) << c << program;
  EXPECT_FALSE(has(program, "hog 0: holding 600 MiB") && has(program, "hog 1: holding 600 MiB") &&
               has(program, "hog 2: holding 600 MiB"))
      << program;
  EXPECT_TRUE(g.report["score"].is_number());
  auto left = markers_on_host();
  EXPECT_TRUE(left.empty()) << "left on the host: " << left.front();
}

// ---------------------------------------------------------------------------------------------------------------------
// 7. Disk: a build that writes 480 MiB; a submission holding a 2 GiB (sparse) file.
// ---------------------------------------------------------------------------------------------------------------------

// A build filling the disk would fill the grader's: it gets ENOSPC on the grading's own --disk instead.
TEST(Hostile, ADiskFillingBuildRunsOutOfItsOwnDisk) {
  std::string fill;
  for (int i = 0; i < 8; ++i) {
    std::string where = i % 3 == 0 ? "/work" : i % 3 == 1 ? "/tmp" : "/dev/shm";
    fill += "\t-@dd if=/dev/zero of=" + where + "/" + kToken + "-big" + std::to_string(i) +
            " bs=1M count=60 2>&1 | grep -v records\n";
  }
  auto dir = submission("disk_fill", {{"fork_server.c", student_c("fork_server")},
                                      {"echo_server.c", student_c("echo_server")},
                                      {"Makefile", "fork_server: fork_server.c\n" + fill +
                                                       "\t@echo \"written in all: $$(cat /work/" + kToken +
                                                       "-big* /tmp/" + kToken + "-big* /dev/shm/" + kToken +
                                                       "-big* | wc -c) bytes\"\n"
                                                       "\tcc -O2 -o fork_server fork_server.c\n"}});
  auto stale_before = stale_workspaces();
  auto started = Clock::now();
  Graded g = grade(2, dir, {"--disk", "64M"});
  EXPECT_LT(Clock::now() - started, 60s);
  EXPECT_EQ(g.exit_code, 2) << g.text;
  EXPECT_EQ(g.report["build"], "failed");
  EXPECT_EQ(g.report["score"], 0);
  std::string log = g.report["build_log"];
  EXPECT_TRUE(has(log, "No space left on device")) << log;
  auto at = log.find("written in all: ");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_LE(std::stoull(log.substr(at + 16)), 64ull << 20) << log;
  EXPECT_TRUE(has(g.text, "could not grade")) << g.text;
  auto left = markers_on_host();
  EXPECT_TRUE(left.empty()) << "left on the host: " << left.front();
  auto stale = added(stale_before, stale_workspaces());
  EXPECT_TRUE(stale.empty()) << "grading directory left: " << stale.front();
}

// A sparse 2 GiB file costs the student nothing, the grader 2 GiB and minutes: left out, the rest graded.
TEST(Hostile, AGiantSparseFileIsLeftOutAndTheRestGraded) {
  auto dir = fork_submission("sparse", student_c("fork_server"));
  { std::ofstream giant(dir / "giant.bin"); }
  ASSERT_EQ(truncate((dir / "giant.bin").c_str(), 2ll << 30), 0) << strerror(errno);
  auto started = Clock::now();
  Graded g = grade(2, dir);
  auto took = Clock::now() - started;
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["score"], 100) << failed_checks(g.report);
  ASSERT_EQ(g.report["left_out"].size(), 1u) << g.report["left_out"];
  EXPECT_EQ(g.report["left_out"][0].get<std::string>().rfind("giant.bin: 2 GiB, over the 16 MiB limit", 0),
            0u)
      << g.report["left_out"];
  EXPECT_TRUE(has(g.text, "not copied: giant.bin")) << g.text;
  EXPECT_LT(took, 20s);
  EXPECT_LT(g.report["duration_s"].get<double>(), 10.0);
}

// ---------------------------------------------------------------------------------------------------------------------
// 8. The grader's environment and working directory: secrets in variables, private files next to where
// socklab runs.
// ---------------------------------------------------------------------------------------------------------------------

constexpr const char* kSnoop = R"C(
/* Prints the environment, where we are, and whatever of the grader's we can open: PRIVATE_FILE by name (relative to
   the working directory, and absolute) and every process's environment. */
extern char **environ;
static void snoop(const char *when) {
  for (char **e = environ; *e; e++) say("%s: env %.150s", when, *e);
  char cwd[4096];
  say("%s: cwd %s", when, getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
  const char *names[] = {PRIVATE_NAME, PRIVATE_FILE, "../" PRIVATE_NAME, "/proc/1/cwd/" PRIVATE_NAME,
                         "/proc/1/root" PRIVATE_FILE};
  for (int i = 0; i < 5; i++) {
    char *text = slurp(names[i]);
    if (text) say("%s: READ %s: %.100s", when, names[i], text), free(text);
    else say("%s: open(\"%s\") failed: %s", when, names[i], strerror(errno));
  }
  int found = 0;
  DIR *proc = opendir("/proc");
  for (struct dirent *e; proc && (e = readdir(proc));) {
    char path[300];
    snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
    char *text = e->d_name[0] >= '0' && e->d_name[0] <= '9' ? slurp(path) : NULL;
    char *secret = text ? strstr(text, SECRET_NAME) : NULL;
    if (secret) found++, say("%s: FOUND in %s: %.100s", when, path, secret);
    free(text);
  }
  say("%s: %d environments hold " SECRET_NAME, when, found);
}
)C";

// socklab's environment (tokens) and working directory (the grader's files) must not reach student code.
TEST(Hostile, TheGradersEnvironmentAndDirectoryAreOutOfReach) {
  std::string secret = "hush-" + random_word();
  fs::path cwd = fs::path(testing::TempDir()) / ("grader_cwd_" + std::to_string(getpid()));
  fs::remove_all(cwd);
  fs::create_directories(cwd);
  std::string contents = "PRIVATE-" + random_word();
  std::ofstream(cwd / "grader_notes.txt") << contents << "\n";
  std::string macros = defines({{"PRIVATE_NAME", "grader_notes.txt"},
                                {"PRIVATE_FILE", (cwd / "grader_notes.txt").string()},
                                {"SECRET_NAME", "SOCKLAB_HOSTILE_SECRET"}});
  auto dir = submission("snoop",
                        {{"snoop.c", std::string(kPrelude) + macros + kSnoop +
                                         "int main(void) { snoop(\"build\"); return 0; }\n"},
                         {"fork_server.c", fork_server_attacking(macros, kSnoop, "snoop(\"fork_server\");")},
                         {"echo_server.c", student_c("echo_server")},
                         {"Makefile",
                          "fork_server: fork_server.c snoop.c\n"
                          "\t@cc -O2 -w -o snoop snoop.c && ./snoop\n"
                          "\t@echo \"make sees: $$(env | tr '\\n' ' ')\"\n"
                          "\t@cc -O2 -w -o fork_server fork_server.c\n"}});
  fs::path json = dir.parent_path() / "snoop.json";
  Ran socklab = run({bin_dir() + "/socklab", "grade", "--lab", "2", dir.string(), "--report", "json", "--out",
                     json.string()},
                    environment_with({"SOCKLAB_HOSTILE_SECRET=" + secret}), cwd);
  ASSERT_TRUE(socklab.finished);
  EXPECT_EQ(socklab.exit_code, 0) << socklab.out << socklab.err;
  std::string body = read_file(json);
  auto report = nlohmann::json::parse(body);
  EXPECT_EQ(report["score"], 100) << failed_checks(report) << report["build_log"];
  EXPECT_TRUE(survivors(report["sandbox_uid"]).empty());
  for (const std::string& text : {body, socklab.out, socklab.err}) {
    EXPECT_FALSE(has(text, secret)) << "the secret reached the student:\n" << text;
    EXPECT_FALSE(has(text, contents)) << "the grader's private file reached the student:\n" << text;
  }
  std::string log = report["build_log"], program = output_of(report, "fork_server");
  for (const auto& [when, output] :
       {std::pair{std::string("build"), log}, std::pair{std::string("fork_server"), program}}) {
    EXPECT_TRUE(has(output, when + ": env PATH=/usr/local/bin:/usr/bin:/bin\n")) << output;
    EXPECT_TRUE(has(output, when + ": env HOME=/tmp\n")) << output;
    EXPECT_TRUE(has(output, when + ": cwd /work\n")) << output;
    EXPECT_TRUE(has(output, when + ": open(\"grader_notes.txt\") failed: No such file or directory"))
        << output;
    EXPECT_TRUE(has(output, when + ": open(\"" + (cwd / "grader_notes.txt").string() +
                                "\") failed: No such file or directory"))
        << output;
    EXPECT_TRUE(has(output, when + ": 0 environments hold SOCKLAB_HOSTILE_SECRET")) << output;
    EXPECT_FALSE(has(output, "READ ")) << output;
    EXPECT_FALSE(has(output, "SOCKLAB_HOSTILE_SECRET=")) << output;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// 9. The network: the grader's own services on loopback and on the machine's addresses, and its Unix sockets.
// ---------------------------------------------------------------------------------------------------------------------

constexpr const char* kConnect = R"C(
/* Connects (1 s at most each) to PORT on loopback and on every address of the machine (HOST_ADDRESSES), to the Unix
   socket UNIX_PATH, to the abstract Unix socket ABSTRACT_NAME; says what came of each. */
static int attempt(int family, const struct sockaddr *address, socklen_t length) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return errno;
  int error = 0;
  if (connect(fd, address, length) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      struct pollfd p = {fd, POLLOUT, 0};
      socklen_t size = sizeof error;
      if (poll(&p, 1, 1000) == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
      else error = ETIMEDOUT;
    }
  }
  close(fd);
  return error;
}

static void reach_out(const char *when) {
  char addresses[1024] = HOST_ADDRESSES, *saveptr = NULL;
  int connected = 0;
  for (char *ip = strtok_r(addresses, ",", &saveptr); ip; ip = strtok_r(NULL, ",", &saveptr)) {
    int error;
    if (strchr(ip, ':')) {
      struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(PORT)};
      inet_pton(AF_INET6, ip, &a.sin6_addr);
      error = attempt(AF_INET6, (struct sockaddr *)&a, sizeof a);
    } else {
      struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
      inet_pton(AF_INET, ip, &a.sin_addr);
      error = attempt(AF_INET, (struct sockaddr *)&a, sizeof a);
    }
    connected += !error;
    say("%s: tcp %s port %d: %s", when, ip, PORT, error ? strerror(error) : "CONNECTED");
  }
  struct sockaddr_un u = {.sun_family = AF_UNIX};
  snprintf(u.sun_path, sizeof u.sun_path, "%s", UNIX_PATH);
  int error = attempt(AF_UNIX, (struct sockaddr *)&u, sizeof u);
  connected += !error;
  say("%s: unix %s: %s", when, UNIX_PATH, error ? strerror(error) : "CONNECTED");
  memset(u.sun_path, 0, sizeof u.sun_path);
  snprintf(u.sun_path + 1, sizeof u.sun_path - 1, "%s", ABSTRACT_NAME);
  error = attempt(AF_UNIX, (struct sockaddr *)&u, offsetof(struct sockaddr_un, sun_path) + 1 + strlen(ABSTRACT_NAME));
  connected += !error;
  say("%s: abstract unix @%s: %s", when, ABSTRACT_NAME, error ? strerror(error) : "CONNECTED");
  say("%s: %d connections made", when, connected);
}
)C";

// A connection to the grader's machine reaches its services (databases, X, D-Bus): none may get out.
TEST(Hostile, NoConnectionReachesTheHost) {
  int tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;  // every address of the machine, 127.0.0.1 among them
  socklen_t length = sizeof any;
  ASSERT_EQ(bind(tcp, reinterpret_cast<sockaddr*>(&any), sizeof any), 0) << strerror(errno);
  ASSERT_EQ(getsockname(tcp, reinterpret_cast<sockaddr*>(&any), &length), 0);
  ASSERT_EQ(listen(tcp, 16), 0);
  int port = ntohs(any.sin_port);
  int tcp6 = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);  // ::1 and the machine's IPv6 addresses
  sockaddr_in6 any6{};
  any6.sin6_family = AF_INET6;
  any6.sin6_port = htons(port);
  int v6only = 1;
  setsockopt(tcp6, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  bool have_v6 =
      tcp6 >= 0 && bind(tcp6, reinterpret_cast<sockaddr*>(&any6), sizeof any6) == 0 && listen(tcp6, 16) == 0;

  fs::path unix_path = fs::path(testing::TempDir()) / ("hostile_" + std::to_string(getpid()) + ".sock");
  fs::remove(unix_path);
  int unix_socket = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un u{};
  u.sun_family = AF_UNIX;
  ASSERT_LT(unix_path.string().size(), sizeof u.sun_path);
  strcpy(u.sun_path, unix_path.c_str());
  ASSERT_EQ(bind(unix_socket, reinterpret_cast<sockaddr*>(&u), sizeof u), 0) << strerror(errno);
  ASSERT_EQ(listen(unix_socket, 16), 0);
  chmod(unix_path.c_str(), 0777);  // only its being out of sight may keep the sandbox out
  std::string abstract_name = kToken;
  int abstract_socket = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path + 1, abstract_name.data(), abstract_name.size());
  ASSERT_EQ(bind(abstract_socket, reinterpret_cast<sockaddr*>(&a),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_name.size())),
            0)
      << strerror(errno);
  ASSERT_EQ(listen(abstract_socket, 16), 0);

  std::string addresses = "127.0.0.1,127.0.1.1";
  ifaddrs* interfaces = nullptr;
  getifaddrs(&interfaces);
  for (ifaddrs* i = interfaces; i; i = i->ifa_next) {
    if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)) continue;
    if (i->ifa_addr->sa_family == AF_INET6 && !have_v6) continue;
    char text[INET6_ADDRSTRLEN] = "";
    if (i->ifa_addr->sa_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    } else {
      auto* a6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr))
        continue;  // needs a scope id: not reachable by address alone
      inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text);
    }
    if (!has("," + addresses + ",", "," + std::string(text) + ",")) addresses += "," + std::string(text);
  }
  freeifaddrs(interfaces);

  std::string macros = defines({{"HOST_ADDRESSES", addresses},
                                {"UNIX_PATH", unix_path.string()},
                                {"ABSTRACT_NAME", abstract_name}}) +
                       "#define PORT " + std::to_string(port) + "\n#include <stddef.h>\n";
  auto dir = submission(
      "network", {{"connect.c", std::string(kPrelude) + macros + kConnect +
                                    "int main(void) { reach_out(\"build\"); return 0; }\n"},
                  {"fork_server.c", fork_server_attacking(macros, kConnect, "reach_out(\"fork_server\");")},
                  {"echo_server.c", student_c("echo_server")},
                  {"Makefile",
                   "fork_server: fork_server.c connect.c\n"
                   "\t@cc -O2 -w -o connect connect.c && ./connect\n"
                   "\t@cc -O2 -w -o fork_server fork_server.c\n"}});
  Graded g = grade(2, dir, {"--time-scale", "3"});  // each attempt may take its 1 s before the server listens
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["score"], 100) << failed_checks(g.report);

  for (int listener : {tcp, have_v6 ? tcp6 : -1, unix_socket, abstract_socket}) {
    if (listener < 0) continue;
    int accepted = accept(listener, nullptr, nullptr);
    EXPECT_EQ(accepted, -1) << "a connection from the sandbox arrived on a host socket";
    EXPECT_EQ(errno, EAGAIN) << strerror(errno);
    if (accepted >= 0) close(accepted);
    close(listener);
  }
  fs::remove(unix_path);
  std::string log = g.report["build_log"], program = output_of(g.report, "fork_server");
  for (const auto& [when, output] :
       {std::pair{std::string("build"), log}, std::pair{std::string("fork_server"), program}}) {
    EXPECT_TRUE(has(output, when + ": tcp 127.0.0.1 port " + std::to_string(port) + ": ")) << output;
    EXPECT_TRUE(has(output, when + ": unix " + unix_path.string() + ": No such file or directory")) << output;
    EXPECT_TRUE(has(output, when + ": abstract unix @" + abstract_name + ": Connection refused")) << output;
    EXPECT_TRUE(has(output, when + ": 0 connections made")) << output;
    EXPECT_FALSE(has(output, "CONNECTED")) << output;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// 10. The reference programs used alongside: lab 2's echo_client (ours, outside the sandbox) talking to the
// student's
//     fork_server. Stop it, or take its descriptors, and the grade is the student's to write.
// ---------------------------------------------------------------------------------------------------------------------

constexpr const char* kHunt = R"C(
/* Called in the child serving a connection (the client is alive and waiting for its echo): look for echo_client in
   /proc, ask the connection who is at the other end, try every pid number there is; then SIGSTOP, pidfd_open and
   pidfd_getfd every echo_client found and every process /proc does not list. */
static int hunted;

static void hunt(int connection) {
  pid_t targets[64];
  int ntargets = 0, listed = 0, clients = 0, stopped = 0, opened = 0, taken = 0;
  char seen[160] = "";
  DIR *proc = opendir("/proc");
  for (struct dirent *e; proc && (e = readdir(proc));) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    listed++;
    char path[300], exe[512] = "";
    snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
    char *comm = slurp(path);
    snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
    char *cmdline = slurp(path);
    snprintf(path, sizeof path, "/proc/%s/exe", e->d_name);
    readlink(path, exe, sizeof exe - 1);
    size_t n = strlen(seen);
    snprintf(seen + n, sizeof seen - n, " %s:%.20s", e->d_name, comm ? strtok(comm, "\n") : "?");
    if ((comm && strstr(comm, "echo_client")) || (cmdline && strstr(cmdline, "echo_client")) || strstr(exe, "echo_client"))
      clients++, targets[ntargets++] = atoi(e->d_name);
    free(comm), free(cmdline);
  }
  say("hunt: /proc lists %d processes:%s", listed, seen);
  struct ucred peer;
  socklen_t size = sizeof peer;
  if (getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &size) == 0 && peer.pid > 0)
    targets[ntargets++] = peer.pid, say("hunt: the connection's peer is pid %d", (int)peer.pid);
  else
    say("hunt: the connection does not say who the peer is");
  int max = 4194304, answered = 0, unlisted = 0;
  char *text = slurp("/proc/sys/kernel/pid_max");
  if (text) max = atoi(text), free(text);
  for (int pid = 1; pid <= max; pid++) { /* kill(pid, 0): ESRCH unless this pid namespace can name the process */
    if (kill(pid, 0) != 0 && errno != EPERM) continue;
    answered++;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", pid);
    if (access(path, F_OK) != 0) {
      unlisted++;
      if (ntargets < 64) targets[ntargets++] = pid;
    }
  }
  say("hunt: pids 1-%d: %d answer kill(0), %d of them not in /proc", max, answered, unlisted);
  for (int i = 0; i < ntargets; i++) {
    pid_t pid = targets[i];
    if (kill(pid, SIGSTOP) == 0) stopped++, say("hunt: SIGSTOP %d delivered", (int)pid);
    else say("hunt: SIGSTOP %d: %s", (int)pid, strerror(errno));
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
      say("hunt: pidfd_open %d: %s", (int)pid, strerror(errno));
      continue;
    }
    opened++;
    for (int fd = 0; fd < 16; fd++) {
      int got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
      if (got >= 0) taken++, close(got);
    }
    close(pidfd);
  }
  say("hunt: %d echo_client found, %d SIGSTOP delivered, %d pidfds opened, %d descriptors taken", clients, stopped,
      opened, taken);
}
)C";

// Freezing our echo_client or taking its descriptors lets a server write its own grade: it cannot find it.
TEST(Hostile, TheReferenceClientIsOutOfTheServersReach) {
  std::string server = student_c("fork_server");
  std::string child = "      close(s);\n      serve(c);";
  std::string parent = "    printf(\"child %d serving";
  ASSERT_TRUE(has(server, child) && has(server, parent));
  server.replace(server.find(child), child.size(),
                 "      close(s);\n      if (!hunted) hunt(c);\n      serve(c);");
  server.replace(server.find(parent), parent.size(), "    hunted = 1;\n" + parent);
  auto dir = fork_submission("hunt", std::string(kPrelude) + kHunt + server);
  Graded g = grade(
      2, dir, {"--time-scale", "5"});  // the scan of 4 million pids takes a second or two before the echo
  EXPECT_EQ(g.exit_code, 0) << g.text;
  EXPECT_EQ(g.report["score"], 100) << failed_checks(g.report);
  std::string program = output_of(g.report, "fork_server");
  EXPECT_TRUE(has(program, "hunt: the connection does not say who the peer is")) << program;
  EXPECT_TRUE(has(program, " answer kill(0), 0 of them not in /proc")) << program;
  EXPECT_FALSE(has(program, ":echo_client")) << "the server saw the reference client:\n" << program;
  EXPECT_TRUE(
      has(program, "hunt: 0 echo_client found, 0 SIGSTOP delivered, 0 pidfds opened, 0 descriptors taken"))
      << program;
  for (const auto& e : g.report["experiments"]) {
    for (const auto& p : e["processes"]) {
      if (p["program"] == "echo_client") {
        EXPECT_FALSE(has(p["ending"], "SIGSTOP")) << p;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// 11. The reports: terminal escapes in a program's output (clear the screen, a fake score, hidden text, a
// bell, a C1
//     CSI), and spreadsheet formulas as student names in the gradebook.
// ---------------------------------------------------------------------------------------------------------------------

// The escapes go everywhere a report shows student text: the program's stdout and stderr (failure details:
// "did not become ready ... fork_server stdout (last lines)"), its process name (socket tables), and what it
// sends a client (the reference echo_client prints it: "expected line ..., seen ..."). With EXIT_AT_ONCE it
// exits before listening.
constexpr const char* kEscapes = R"C(
static const char *screen = "\x1b[2J\x1b[H\x1b[32m  score: 100/100\x1b[0m \x1b[8mhidden text\x1b[0m\a \xc2\x9b" "31mC1 CSI\x1b]0;title\a";

static void deface(void) {
  prctl(PR_SET_NAME, "\x1b[2J\x1b[H\a", 0, 0, 0);
  printf("%s\n", screen);
  fflush(stdout);
  say("%s", screen);
#ifdef EXIT_AT_ONCE
  exit(3);
#endif
}

static void deface_client(int connection) { write(connection, screen, strlen(screen)); } /* runs into its echo */
)C";

// Escapes a student controls would drive the grader's terminal, formulas the gradebook: both must be text.
TEST(Hostile, EscapesAndFormulasInReportsAreDefused) {
  std::string exits = fork_server_attacking("#define EXIT_AT_ONCE 1\n", kEscapes, "deface();");
  std::string serving = fork_server_attacking("", kEscapes, "deface();");
  std::string child = "      close(s);\n      serve(c);";
  ASSERT_TRUE(has(serving, child));
  serving.replace(serving.find(child), child.size(),
                  "      close(s);\n      deface_client(c);\n      serve(c);");
  auto no_raw_controls = [](const std::string& where, const std::string& text) {
    EXPECT_EQ(text.find('\x1b'), std::string::npos)
        << shown(where) << " holds a raw ESC (shown here as \\x1b):\n"
        << shown(text);
    EXPECT_EQ(text.find('\a'), std::string::npos) << shown(where) << " holds a raw BEL (shown here as \\x07)";
    EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos)
        << shown(where) << " holds a raw C1 CSI (shown here as \\xc2\\x9b)";
  };
  auto defused = [&](const std::string& where, const std::string& text) {
    no_raw_controls(where, text);
    EXPECT_TRUE(has(
        text,
        "\\x1b[2J\\x1b[H\\x1b[32m  score: 100/100\\x1b[0m \\x1b[8mhidden text\\x1b[0m\\x07 \\u009b31mC1 CSI"))
        << shown(where) << " does not show the escapes as text:\n"
        << shown(text);
  };
  auto grade_text = [](const fs::path& dir, int expected_exit) {  // the text report, on socklab's stdout
    Child socklab("socklab", {"grade", "--lab", "2", dir.string()});
    auto status = socklab.wait_exit(120s);
    EXPECT_TRUE(status.has_value());
    if (status) {
      EXPECT_EQ(status->describe(), "exit " + std::to_string(expected_exit)) << socklab.stderr_text();
    }
    std::string text;
    for (const auto& l : socklab.stdout_lines()) text += l + "\n";
    auto at = text.find("confined: uid ");  // the sandbox uid, as the text report says it (as root)
    if (at != std::string::npos) {
      EXPECT_TRUE(survivors(std::stoi(text.substr(at + 14))).empty());
    }
    return text + socklab.stderr_text();
  };
  std::string text = grade_text(fork_submission("escapes", serving), 0);
  defused("socklab's output", text);
  EXPECT_TRUE(has(text, "(\"\\x1b[2J\\x1b[H\\x07\",pid=")) << "the process name in a socket table:\n" << text;
  EXPECT_TRUE(has(text, "\\x1b[0m\\x07 \\u009b31mC1 CSI\\x1b]0;title\\x07level"))
      << "what the client received:\n"
      << text;
  EXPECT_TRUE(has(text, "✘ first client served")) << text;

  // The submission's own name, where socklab says it could not grade it (a build that fails).
  std::string escape_name = "\x1b]0;pwned\a\x1b[2J\x1b[31mpwn";
  text = grade_text(submission(escape_name, {{"fork_server.c", "int main(void) { return 0 }\n"}}), 2);
  no_raw_controls("socklab's output for a submission named with escapes", text);
  EXPECT_TRUE(has(text, "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mpwn")) << shown(text);

  // A class whose directory names are formulas (and one that is escapes): the gradebook, the reports, the
  // progress.
  fs::path root = fs::path(testing::TempDir()) / ("hostile_formulas_" + std::to_string(getpid()));
  fs::path out = root.string() + "_grades";
  fs::remove_all(root);
  fs::remove_all(out);
  std::map<std::string, std::string> cells{
      {"=1+1", "'=1+1"},
      {"=HYPERLINK(\"evil.example\",\"x\")", "\"'=HYPERLINK(\"\"evil.example\"\",\"\"x\"\")\""},
      {"@SUM(A1)", "'@SUM(A1)"},
      {escape_name, ""}};
  for (const auto& [name, cell] : cells) {
    fs::create_directories(root / name);
    std::ofstream(root / name / "fork_server.c") << exits;
    std::ofstream(root / name / "echo_server.c") << student_c("echo_server");
  }
  Child batch("socklab",
              {"grade", "--lab", "2", "--batch", root.string(), "-j", "2", "--out-dir", out.string()});
  auto status = batch.wait_exit(240s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0") << batch.stderr_text();
  std::string progress;
  for (const auto& l : batch.stdout_lines()) progress += l + "\n";
  no_raw_controls("socklab's output in batch mode", progress + batch.stderr_text());
  std::string csv = read_file(out / "gradebook.csv");
  for (const auto& [name, cell] : cells) {
    if (!cell.empty()) {
      EXPECT_TRUE(has("\n" + csv, "\n" + cell + ",2,0,100,")) << name << ":\n" << shown(csv);
    }
    auto report = nlohmann::json::parse(read_file(out / (name + ".json")));
    EXPECT_EQ(report["student"], name) << shown(name);
    EXPECT_TRUE(survivors(report["sandbox_uid"]).empty());
    defused(name + ".txt", read_file(out / (name + ".txt")));
  }
}
