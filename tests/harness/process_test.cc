// Process control with real child processes: output however large, stubborn and forking children, exit
// statuses, and the promise that nothing survives.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>
#include <fstream>

#include "process/process.h"

using namespace socklab::harness;
using namespace std::chrono_literals;

namespace {

bool alive(pid_t pid) { return kill(pid, 0) == 0; }

class ProcessTest : public ::testing::Test {
 protected:
  std::unique_ptr<Process> start(std::vector<std::string> args, bool pty = true, std::size_t cap = 8u << 20) {
    ProcessSpec spec;
    spec.name = "test";
    spec.path = args[0];
    spec.args.assign(args.begin() + 1, args.end());
    spec.stdout_pty = pty;
    spec.output_cap = cap;
    return launcher->start(spec);
  }
  std::unique_ptr<Process> sh(const std::string& script, bool pty = true, std::size_t cap = 8u << 20) {
    return start({"/bin/sh", "-c", script}, pty, cap);
  }
  bool wait_exit(Process& p, std::chrono::milliseconds timeout = 5000ms) {
    return loop.run_until([&] { return p.exit_status().has_value(); }, Clock::now() + timeout);
  }
  bool wait_line(Process& p, std::chrono::milliseconds timeout = 5000ms) {
    return loop.run_until([&] { return !p.out().lines.empty(); }, Clock::now() + timeout);
  }
  EventLoop loop;
  std::unique_ptr<Launcher> launcher = make_boost_launcher(loop);
};

}  // namespace

// 10 MB on stdout and stderr at once: no pipe deadlock, everything counted, the kept part capped and flagged.
TEST_F(ProcessTest, ReadsTenMegabytesWithoutDeadlockAndCapsWhatItKeeps) {
  auto p = sh("head -c 10000000 /dev/zero | tr '\\0' x; head -c 10000000 /dev/zero >&2", true, 1u << 20);
  ASSERT_TRUE(wait_exit(*p, 20s)) << "the child blocked on a full pipe?";
  loop.run_until([&] { return p->out().closed && p->err().closed; }, Clock::now() + 5s);
  EXPECT_EQ(p->exit_status()->describe(), "exit 0");
  EXPECT_EQ(p->out().total_bytes, 10000000u);
  EXPECT_EQ(p->err().total_bytes, 10000000u);
  EXPECT_EQ(p->out().kept_bytes, 1u << 20);
  EXPECT_TRUE(p->out().truncated);
  EXPECT_NE(p->out().tail(1).find("output cut after 1048576 bytes"), std::string::npos);
}

// A child that ignores SIGTERM is killed with SIGKILL after the grace period.
TEST_F(ProcessTest, EscalatesToSigkillWhenSigtermIsIgnored) {
  auto p = sh("trap '' TERM; echo ready; while :; do sleep 1; done");
  ASSERT_TRUE(wait_line(*p));
  pid_t pid = p->pid();
  auto before = Clock::now();
  p->terminate_group(200ms);
  ASSERT_TRUE(p->exit_status().has_value());
  EXPECT_EQ(p->exit_status()->describe(), "killed by SIGKILL");
  EXPECT_GE(Clock::now() - before, 200ms) << "SIGKILL came before the grace period ended";
  EXPECT_FALSE(alive(pid));
}

// A child forks a grandchild and exits; the grandchild (same process group) dies with the group.
TEST_F(ProcessTest, KillsTheGrandchildOfAChildThatExited) {
  auto p = sh("sleep 1000 & echo $!; exit 0");
  ASSERT_TRUE(wait_line(*p));
  pid_t grandchild = std::stoi(p->out().lines[0]);
  ASSERT_TRUE(wait_exit(*p));
  EXPECT_TRUE(alive(grandchild)) << "the grandchild should outlive its parent until the group is ended";
  EXPECT_FALSE(p->out().closed) << "the grandchild still holds stdout: EOF cannot come";
  p->terminate_group(200ms);
  // Dying takes the kernel a moment (the process is still "R" while it exits), and its reaper is init, so
  // no event tells us: look until it is gone or a zombie, with a deadline.
  std::string state;
  auto dead = [&] {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    state.clear();
    std::getline(stat, state);
    return state.empty() || state.find(") Z") != std::string::npos;
  };
  auto deadline = Clock::now() + 2s;
  while (!dead() && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(dead()) << "the grandchild survived the group kill: " << state;
}

// A grandchild that escaped the group (setsid) comes back to the subreaper and is ended by the sweep.
TEST_F(ProcessTest, SweepsAGrandchildThatLeftTheGroup) {
  become_subreaper();
  auto p = sh("setsid sleep 1000 & echo $!; exit 0");
  ASSERT_TRUE(wait_line(*p));
  pid_t escaped = std::stoi(p->out().lines[0]);
  ASSERT_TRUE(wait_exit(*p));
  p->terminate_group(100ms);
  EXPECT_TRUE(alive(escaped)) << "setsid left the group: the group kill cannot reach it";
  EXPECT_GE(kill_stray_children({}), 1);
  EXPECT_FALSE(alive(escaped));
}

// A program that uses printf() and never fflush(): on the pty its line arrives while it runs; on a pipe
// it would sit in the program's buffer.
TEST_F(ProcessTest, SeesOutputOfAProgramThatNeverFlushes) {
  std::string no_flush = std::string(SOCKLAB_TEST_BIN_DIR) + "/no_flush";
  auto on_pty = start({no_flush}, true);
  ASSERT_TRUE(wait_line(*on_pty, 3s)) << "printf output did not arrive through the pty";
  EXPECT_EQ(on_pty->out().lines[0], "hello");
  auto on_pipe = start({no_flush}, false);
  EXPECT_FALSE(wait_line(*on_pipe, 300ms)) << "on a pipe stdio buffers it: this is why the harness uses a pty";
}

// Exit codes and deaths by signal are told apart (Boost's exit_code() cannot).
TEST_F(ProcessTest, TellsExitCodesFromSignals) {
  auto nine = sh("exit 9");
  auto killed = sh("kill -KILL $$");
  auto piped = sh("kill -PIPE $$");
  ASSERT_TRUE(wait_exit(*nine) && wait_exit(*killed) && wait_exit(*piped));
  EXPECT_EQ(nine->exit_status()->describe(), "exit 9");
  EXPECT_EQ(killed->exit_status()->describe(), "killed by SIGKILL");
  EXPECT_EQ(piped->exit_status()->describe(), "killed by SIGPIPE") << "SIGPIPE must be at its default in the child";
}

// Lines typed into stdin arrive in order; closing stdin gives the program EOF.
TEST_F(ProcessTest, WritesStdinAndClosesIt) {
  auto cat = start({"/bin/cat"});
  cat->write_stdin("one\n");
  cat->write_stdin(std::string(200000, 'x') + "\n");
  cat->write_stdin("three\n");
  cat->close_stdin();
  ASSERT_TRUE(wait_exit(*cat));
  loop.run_until([&] { return cat->out().closed; }, Clock::now() + 2s);
  ASSERT_EQ(cat->out().lines.size(), 3u);
  EXPECT_EQ(cat->out().lines[1].size(), 200000u);
  EXPECT_EQ(cat->out().lines[2], "three");
}

// Environment, working directory, and no descriptor of the harness leaks into the program.
TEST_F(ProcessTest, PassesEnvironmentAndDirectoryAndNoExtraDescriptors) {
  ProcessSpec spec;
  spec.name = "env";
  spec.path = "/bin/sh";
  spec.args = {"-c", "echo $SOCKLAB_TEST; pwd; ls /proc/self/fd | tr '\\n' ' '"};
  spec.env["SOCKLAB_TEST"] = "42";
  spec.working_dir = "/tmp";
  auto p = launcher->start(spec);
  ASSERT_TRUE(wait_exit(*p));
  loop.run_until([&] { return p->out().closed; }, Clock::now() + 2s);
  ASSERT_GE(p->out().lines.size(), 3u);
  EXPECT_EQ(p->out().lines[0], "42");
  EXPECT_EQ(p->out().lines[1], "/tmp");
  EXPECT_EQ(p->out().lines[2], "0 1 2 3 ") << "only stdin/out/err (3 is ls's own directory handle)";
}

// A program that does not exist is a clear error, not a crash.
TEST_F(ProcessTest, RefusesAMissingProgramClearly) {
  try {
    start({"/nonexistent/echo_server"});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/echo_server: No such file or directory"), std::string::npos) << e.what();
  }
}

// A process can end between open() and read() of its /proc file: read() then fails with ESRCH. The harness's reader
// says "nothing" instead of throwing (std::ifstream through istreambuf_iterator throws there: a socklab once died of
// it while sweeping strays under load).
TEST(ProcFiles, AProcessEndingAfterOpenIsNotAnError) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  std::string path = "/proc/" + std::to_string(child) + "/stat";
  EXPECT_NE(read_proc_file(path).find("(harness_test)"), std::string::npos) << "a running process reads fine";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  kill(child, SIGKILL);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  errno = 0;
  EXPECT_FALSE(read_to_end(fd).has_value());
  EXPECT_EQ(errno, ESRCH) << std::strerror(errno);
  close(fd);
  EXPECT_EQ(read_proc_file(path), "") << "ended and reaped: no file";
}

// A limit that cannot be set fails the start with its errno (it used to be ignored: untrusted code would have run
// without it). RLIMIT_NOFILE above fs.nr_open is refused even for root.
TEST_F(ProcessTest, ALimitThatCannotBeSetFailsTheStart) {
  ProcessSpec spec;
  spec.name = "limited";
  spec.path = "/bin/true";
  spec.limits.open_files = 1ul << 40;
  try {
    auto p = launcher->start(spec);
    FAIL() << "started without its limit";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Operation not permitted"), std::string::npos) << e.what();
  }
}

// Every program gets a session of its own: no controlling terminal to type into, its own process group.
TEST_F(ProcessTest, AProgramHasASessionOfItsOwn) {
  auto p = sh("ps -o sid= -o pgid= -p $$; (exec 3</dev/tty) 2>/dev/null && echo has-tty || echo no-tty");
  ASSERT_TRUE(wait_exit(*p));
  loop.run_until([&] { return p->out().closed; }, Clock::now() + 5s);
  ASSERT_EQ(p->out().lines.size(), 2u) << p->out().tail(5) << p->err().tail(5);
  pid_t sid = 0, pgid = 0;
  std::istringstream(p->out().lines[0]) >> sid >> pgid;
  EXPECT_EQ(sid, p->pid()) << "its own session: " << p->out().lines[0];
  EXPECT_EQ(pgid, p->pid()) << "its own process group: " << p->out().lines[0];
  EXPECT_EQ(p->out().lines[1], "no-tty");
}
