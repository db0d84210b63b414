// The grading sandbox's parts: the submission copy, the bwrap command line, cgroup placement, report hygiene, and a
// real sandboxed process (its pid, signals and exit status are the program's own; ending it leaves nothing).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "process/process.h"
#include "report/reports.h"
#include "sandbox/bwrap.h"
#include "sandbox/cgroup.h"
#include "sandbox/copy.h"
#include "sandbox/sandbox.h"

using namespace socklab;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(testing::TempDir()) / ("sandbox_" + std::to_string(getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

}  // namespace

// A submission's links are never followed, special files and oversized files are left out and said so; a 2 GiB
// sparse file costs nothing (refused by its size before a byte is read); the rest arrives intact, private.
TEST(SandboxCopy, LeavesOutLinksSpecialAndHugeFilesAndSaysSo) {
  fs::path from = scratch("from"), to = scratch("to");
  std::ofstream(from / "echo_server.c") << "int main(void) { return 0; }\n";
  fs::create_directories(from / "src" / "deeper");
  std::ofstream(from / "src" / "deeper" / "util.h") << "#pragma once\n";
  fs::create_symlink("/etc/shadow", from / "shadow");
  ASSERT_EQ(mkfifo((from / "pipe").c_str(), 0600), 0);
  { std::ofstream(from / "giant.bin"); }
  fs::resize_file(from / "giant.bin", 2ull << 30);  // sparse
  std::ofstream(from / "run.sh") << "#!/bin/sh\n";
  fs::permissions(from / "run.sh", fs::perms::owner_all);

  sandbox::CopyReport r = sandbox::copy_submission(from, to, {}, -1, -1);
  EXPECT_EQ(r.files, 3u) << joined(r.left_out);
  EXPECT_TRUE(fs::exists(to / "src" / "deeper" / "util.h"));
  EXPECT_FALSE(fs::exists(to / "shadow"));
  EXPECT_FALSE(fs::exists(to / "pipe"));
  EXPECT_FALSE(fs::exists(to / "giant.bin"));
  EXPECT_TRUE(contains(r.left_out, "shadow: a symbolic link (links are never followed)")) << joined(r.left_out);
  EXPECT_TRUE(contains(r.left_out, "pipe: not a regular file or directory")) << joined(r.left_out);
  EXPECT_TRUE(contains(r.left_out, "giant.bin: 2 GiB, over the 16 MiB limit per file")) << joined(r.left_out);
  EXPECT_EQ(fs::status(to / "src").permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_NE(fs::status(to / "run.sh").permissions() & fs::perms::owner_exec, fs::perms::none) << "executable kept";
  EXPECT_EQ(fs::status(to / "echo_server.c").permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

// Past the file count, the total or the depth, copying stops there and the report says where.
TEST(SandboxCopy, StopsAtTheLimitsItIsGiven) {
  fs::path from = scratch("many"), to = scratch("many_to");
  for (int i = 0; i < 10; ++i) std::ofstream(from / ("f" + std::to_string(i))) << std::string(1000, 'x');
  fs::create_directories(from / "a" / "b" / "c");
  sandbox::CopyLimits limits;
  limits.max_files = 5;
  limits.max_depth = 2;
  sandbox::CopyReport r = sandbox::copy_submission(from, to, limits, -1, -1);
  EXPECT_EQ(r.files, 5u);
  EXPECT_TRUE(contains(r.left_out, "a/b/c/: directories nested deeper than 2")) << joined(r.left_out);
  EXPECT_TRUE(std::any_of(r.left_out.begin(), r.left_out.end(),
                          [](const std::string& l) { return l.find("more than 5 files") != std::string::npos; }))
      << joined(r.left_out);

  fs::path to2 = scratch("total_to");
  limits = {};
  limits.max_total_bytes = 3500;
  r = sandbox::copy_submission(from, to2, limits, -1, -1);
  EXPECT_EQ(r.bytes, 3000u);
  EXPECT_EQ(r.left_out.size(), 7u) << joined(r.left_out);
}

// The bwrap command line: every namespace, no terminal, dies with socklab, nothing of socklab's environment, system
// directories read-only, and the network only when asked (programs), never for the build.
TEST(SandboxBwrap, ArgumentsConfineTheCommand) {
  sandbox::HostLayout host;
  host.directories = {"/usr"};
  host.symlinks = {{"usr/bin", "/bin"}};
  host.etc_entries = {"/etc/hosts"};
  host.hidden = {"/usr/local/lib/socklab"};
  sandbox::WritablePlaces places;
  places.work_fd = 7;
  places.tmp_fd = 8;
  places.shm_fd = 9;
  sandbox::SandboxCommand command;
  command.program = "/work/echo_server";
  command.args = {"8888"};
  command.env = {{"EXTRA", "1"}};
  auto a = sandbox::bwrap_arguments(host, places, command);
  auto has = [&](std::initializer_list<const char*> seq) {
    std::vector<std::string> want(seq.begin(), seq.end());
    return std::search(a.begin(), a.end(), want.begin(), want.end()) != a.end();
  };
  for (const char* flag : {"--unshare-all", "--unshare-user", "--disable-userns", "--new-session", "--die-with-parent",
                           "--clearenv"}) {
    EXPECT_TRUE(has({flag})) << flag << " missing:\n" << joined(a);
  }
  EXPECT_TRUE(has({"--cap-drop", "ALL"}));
  EXPECT_FALSE(has({"--share-net"})) << "the build gets no network";
  EXPECT_TRUE(has({"--ro-bind", "/usr", "/usr"}));
  EXPECT_TRUE(has({"--symlink", "usr/bin", "/bin"}));
  EXPECT_TRUE(has({"--ro-bind", "/etc/hosts", "/etc/hosts"}));
  EXPECT_TRUE(has({"--tmpfs", "/usr/local/lib/socklab", "--remount-ro", "/usr/local/lib/socklab"}))
      << "socklab installed under /usr stays out of sight";
  EXPECT_TRUE(has({"--bind-fd", "7", "/work"}));
  EXPECT_TRUE(has({"--bind-fd", "8", "/tmp"}));
  EXPECT_TRUE(has({"--bind-fd", "9", "/dev/shm"}));
  EXPECT_TRUE(has({"--remount-ro", "/"}));
  EXPECT_TRUE(has({"--setenv", "EXTRA", "1"}));
  EXPECT_TRUE(has({"--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin"}));
  EXPECT_TRUE(has({"--chdir", "/work", "--", "/work/echo_server", "8888"}));
  EXPECT_FALSE(has({"--bind", "/", "/"}));
  int writable_binds = static_cast<int>(std::count(a.begin(), a.end(), "--bind") + std::count(a.begin(), a.end(), "--dev-bind"));
  EXPECT_EQ(writable_binds, 0) << "nothing of the host is writable except the grading's own directories";

  command.network = sandbox::Network::kShared;
  a = sandbox::bwrap_arguments(host, places, command);
  EXPECT_TRUE(has({"--share-net"})) << "programs share the experiment's network namespace";
}

// Only directories inside what is bound need covering; the build tree elsewhere is simply not there.
TEST(SandboxBwrap, HidesSocklabWhereItLiesUnderUsr) {
  fs::path outside = scratch("bin");
  auto host = sandbox::HostLayout::probe({"/usr/lib", outside.string(), "/usr/no-such-dir"});
  EXPECT_EQ(host.hidden, (std::vector<std::string>{"/usr/lib"}));
}

// Where the group goes: under socklab's own group, per controller on v1, in the unified tree on v2; a v2 tree
// without the memory controller is said plainly.
TEST(SandboxCgroup, PlacesTheGroupUnderSocklabsOwn) {
  fs::path v1 = scratch("v1");
  fs::create_directories(v1 / "memory" / "job" / "42");
  fs::create_directories(v1 / "pids");
  std::string why;
  auto p = sandbox::place_cgroup(v1, "9:name=systemd:/\n8:pids:/\n4:memory:/job/42\n3:cpu,cpuacct:/\n0::/\n", why);
  ASSERT_TRUE(p.has_value()) << why;
  EXPECT_EQ(p->version, sandbox::CgroupVersion::kV1);
  EXPECT_EQ(p->parents, (std::vector<std::string>{(v1 / "memory/job/42").string(), (v1 / "pids").string()}));

  fs::path v2 = scratch("v2");
  fs::create_directories(v2 / "user.slice" / "grader");
  std::ofstream(v2 / "cgroup.controllers") << "cpu memory pids io\n";
  std::ofstream(v2 / "user.slice" / "grader" / "cgroup.controllers") << "memory pids\n";
  p = sandbox::place_cgroup(v2, "0::/user.slice/grader\n", why);
  ASSERT_TRUE(p.has_value()) << why;
  EXPECT_EQ(p->version, sandbox::CgroupVersion::kV2);
  EXPECT_EQ(p->parents, (std::vector<std::string>{(v2 / "user.slice/grader").string()}));

  std::ofstream(v2 / "user.slice" / "grader" / "cgroup.controllers") << "pids\n";
  EXPECT_FALSE(sandbox::place_cgroup(v2, "0::/user.slice/grader\n", why).has_value());
  EXPECT_NE(why.find("the memory controller is not available"), std::string::npos) << why;
  EXPECT_FALSE(sandbox::place_cgroup(scratch("none"), "0::/\n", why).has_value());
}

// A real group on this machine: a process that joins it (as the launcher's child does) is counted, killed with the
// group, and cannot hold more memory than the limit (the kernel's OOM killer ends it inside the group).
TEST(SandboxCgroup, ConfinesAndKillsItsMembers) {
  if (getuid() != 0) GTEST_SKIP() << "creating a cgroup needs root here";
  std::string self;
  {
    std::ifstream f("/proc/self/cgroup");
    self.assign(std::istreambuf_iterator<char>(f), {});
  }
  sandbox::CgroupLimits limits;
  limits.memory_bytes = 64ull << 20;
  limits.pids = 16;
  std::optional<sandbox::Cgroup> group;
  try {
    group.emplace(sandbox::Cgroup::create("/sys/fs/cgroup", self, "socklab-" + std::to_string(getpid()) + "-test", limits));
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no usable cgroup here: " << e.what();
  }
  harness::EventLoop loop;
  auto launcher = harness::make_boost_launcher(loop);
  harness::ProcessSpec hog;
  hog.name = "hog";
  hog.path = "/usr/bin/python3";
  hog.args = {"-c", "import sys; b = bytearray(256 << 20); print('held'); sys.stdout.flush()"};
  hog.stdout_pty = false;
  hog.cgroup_procs = group->procs_files();
  auto p = launcher->start(hog);
  ASSERT_TRUE(loop.run_until([&] { return p->exit_status().has_value(); }, harness::Clock::now() + 20s));
  EXPECT_EQ(p->exit_status()->describe(), "killed by SIGKILL") << "256 MiB in a 64 MiB group: " << p->out().tail(3);
  EXPECT_GE(group->oom_kills(), 1u);

  harness::ProcessSpec sleeper = hog;
  sleeper.path = "/bin/sh";
  sleeper.args = {"-c", "sleep 60 & sleep 60 & wait"};
  auto s = launcher->start(sleeper);
  auto deadline = harness::Clock::now() + 10s;  // kernel state has no events: look every 5 ms
  while (group->members().size() != 3 && harness::Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(group->members().size(), 3u);
  EXPECT_EQ(group->kill_all(), 3u);
  EXPECT_TRUE(group->members().empty());
  EXPECT_TRUE(loop.run_until([&] { return s->exit_status().has_value(); }, harness::Clock::now() + 10s));
  EXPECT_NE(group->describe().find("memory 64 MiB (tmpfs included), 16 processes"), std::string::npos) << group->describe();
}

// Program output is printed escaped: no escape sequence, bell, backspace or C1 control reaches the terminal raw,
// while ordinary UTF-8 text stays as it is.
TEST(ReportHygiene, TerminalSafeEscapesControlsAndBrokenUtf8) {
  EXPECT_EQ(harness::terminal_safe("\x1b[2J\x1b[Hscore: 100/100\a"), "\\x1b[2J\\x1b[Hscore: 100/100\\x07");
  EXPECT_EQ(harness::terminal_safe("a\rb\bc\x7f"), "a\\x0db\\x08c\\x7f");
  EXPECT_EQ(harness::terminal_safe("\xc2\x9b" "31m"), "\\u009b31m");
  EXPECT_EQ(harness::terminal_safe("b\xfe\xff" "a"), "b\\xfe\\xffa");
  EXPECT_EQ(harness::terminal_safe("héllo 世界 🙂\tok\n"), "héllo 世界 🙂\tok\n");
  EXPECT_EQ(harness::terminal_safe("\xe4\xb8"), "\\xe4\\xb8") << "a cut sequence";
}

// CSV cells: formulas neutralised (OWASP), quoting where needed.
TEST(ReportHygiene, CsvCellsCannotBeFormulas) {
  EXPECT_EQ(harness::csv_cell("=1+1"), "'=1+1");
  EXPECT_EQ(harness::csv_cell("+cmd"), "'+cmd");
  EXPECT_EQ(harness::csv_cell("-2"), "'-2");
  EXPECT_EQ(harness::csv_cell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(harness::csv_cell("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(harness::csv_cell("alice"), "alice");
  EXPECT_EQ(harness::csv_cell("a,b"), "\"a,b\"");
  EXPECT_EQ(harness::csv_cell("x\x1b[2Jy"), "x\\x1b[2Jy") << "no raw escape for `cat gradebook.csv`";
}

namespace {

// A sandbox of the real kind, and a launcher for programs under its build directory.
struct Sandboxed {
  sandbox::SandboxOptions options;
  std::optional<sandbox::Sandbox> box;
  harness::EventLoop loop;
  std::unique_ptr<harness::Launcher> plain, launcher;
  std::string skip;

  Sandboxed() {
    options.uid_first = 65300;
    options.uid_last = 65309;
    try {
      box.emplace(options);
    } catch (const std::exception& e) {
      skip = e.what();
      return;
    }
    plain = harness::make_boost_launcher(loop);
    launcher = box->program_launcher(loop, *plain);
  }

  // A shell script in the build directory (bwrap runs it as the program).
  std::string script(const std::string& name, const std::string& body) {
    std::string path = box->build_dir() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0755);
    if (box->uid() >= 0) chown(path.c_str(), static_cast<uid_t>(box->uid()), static_cast<gid_t>(box->uid()));
    return path;
  }

  // Starts a script (written as by script()) through the sandbox's launcher.
  std::unique_ptr<harness::Process> start(const std::string& name, const std::string& body) {
    harness::ProcessSpec spec;
    spec.name = name;
    spec.path = script(name, body);
    return launcher->start(spec);
  }
};

}  // namespace

// The sandboxed process is the program itself to the harness: its pid is the program's (its children are its own),
// a signal reaches the program (not bwrap), and how it ended is told exactly (exit code, or the signal).
TEST(SandboxedProcess, PidSignalsAndExitStatusAreTheProgramsOwn) {
  Sandboxed s;
  if (!s.skip.empty()) GTEST_SKIP() << s.skip;
  auto p = s.start("trap", "trap 'echo got TERM; exit 3' TERM\necho ready $$\nwhile :; do sleep 0.05; done\n");
  ASSERT_TRUE(s.loop.run_until([&] { return !p->out().lines.empty(); }, harness::Clock::now() + 10s));
  EXPECT_EQ(p->out().lines[0], "ready 2") << "pid 2 inside its own pid namespace";
  std::error_code ec;
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(p->pid()) + "/exe", ec).filename(), "dash")
      << "pid() is the program (/bin/sh), not bwrap";
  EXPECT_EQ(p->spec().path, s.box->build_dir() + "/trap") << "the harness sees the spec it asked for";
  p->send_signal(SIGTERM);
  ASSERT_TRUE(s.loop.run_until([&] { return p->exit_status().has_value(); }, harness::Clock::now() + 10s));
  EXPECT_EQ(p->exit_status()->describe(), "exit 3");
  EXPECT_TRUE(s.loop.run_until([&] { return p->out().closed; }, harness::Clock::now() + 5s));
  EXPECT_EQ(p->out().lines.back(), "got TERM");

  auto q = s.start("segv", "kill -SEGV $$\n");
  ASSERT_TRUE(s.loop.run_until([&] { return q->exit_status().has_value(); }, harness::Clock::now() + 10s));
  EXPECT_EQ(q->exit_status()->describe(), "killed by SIGSEGV");
}

// Ending a sandboxed program ends everything it started, daemons included (they share its pid namespace), and
// stdin reaches it.
TEST(SandboxedProcess, EndingItEndsEverythingItStarted) {
  Sandboxed s;
  if (!s.skip.empty()) GTEST_SKIP() << s.skip;
  auto p = s.start("spawner", "setsid sleep 300 &\nsleep 300 &\nread line\necho \"read $line\"\nwait\n");
  p->write_stdin("hello\n");
  ASSERT_TRUE(s.loop.run_until([&] { return !p->out().lines.empty(); }, harness::Clock::now() + 10s));
  EXPECT_EQ(p->out().lines[0], "read hello");
  pid_t program = p->pid();
  std::error_code ec;
  auto pid_ns = [&](pid_t pid) { return fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/pid", ec).string(); };
  std::string sandbox_ns = pid_ns(program);
  std::vector<pid_t> sleepers;  // the program's two, in its pid namespace (other tests may run sleeps of their own)
  auto deadline = harness::Clock::now() + 10s;  // until both have exec'd sleep: kernel state, looked at every 5 ms
  while (sleepers.size() != 2 && harness::Clock::now() < deadline) {
    sleepers.clear();
    for (const auto& entry : fs::directory_iterator("/proc")) {
      pid_t pid = std::atoi(entry.path().filename().c_str());
      if (pid <= 0) continue;
      std::ifstream stat(entry.path() / "stat");
      std::string text((std::istreambuf_iterator<char>(stat)), {});
      if (text.find("(sleep)") != std::string::npos && pid_ns(pid) == sandbox_ns) sleepers.push_back(pid);
    }
    if (sleepers.size() != 2) std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(sleepers.size(), 2u);
  p->terminate_group(100ms);
  EXPECT_TRUE(p->exit_status().has_value());
  EXPECT_NE(kill(program, 0), 0) << "the program is gone";
  for (pid_t sleeper : sleepers) EXPECT_NE(kill(sleeper, 0), 0) << "sleep " << sleeper << " outlived its sandbox";
}

// A program that cannot be started in the sandbox (not executable there) fails the start with bwrap's reason.
TEST(SandboxedProcess, AStartThatFailsSaysWhy) {
  Sandboxed s;
  if (!s.skip.empty()) GTEST_SKIP() << s.skip;
  harness::ProcessSpec spec;
  spec.name = "broken";
  spec.path = s.script("broken", "");
  chmod(spec.path.c_str(), 0644);
  try {
    auto p = s.launcher->start(spec);
    FAIL() << "started a file that is not executable";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("the sandbox could not start it: bwrap: execvp /work/broken"), std::string::npos)
        << e.what();
  }
}
