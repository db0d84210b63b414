// Process control for the harness: start a lab program, type into it, read it, signal it, end it.
//
// Every program runs in its own session and process group (setsid in the child before exec), with stdout on a
// pseudo-terminal (so a student's printf() output arrives line by line even if the program never calls
// fflush(): stdio line-buffers a terminal) and stderr on a pipe. All I/O is asynchronous on one
// asio::io_context driven by EventLoop; nothing blocks except EventLoop::run_until(), which has a deadline.
// Ending a process ends its whole group: SIGTERM, then SIGKILL after a grace period, then reaping.
#pragma once

#include "process/clock.h"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "process/proc.h"  // read_proc_file, which callers of this header have long used

namespace boost::asio {
class io_context;
}

namespace socklab::harness {


// The one event loop of the harness (one io_context, one thread).
class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  boost::asio::io_context& context() { return *context_; }
  // Runs handlers until done() is true or the deadline passes; returns done(). Never sleeps past an event.
  bool run_until(const std::function<bool()>& done, Clock::time_point deadline);
  // Runs whatever handlers are ready now, without waiting.
  void poll();

 private:
  std::unique_ptr<boost::asio::io_context> context_;
};

// How a process ended: an exit code, or a signal (which exit_code() of Boost cannot tell apart).
struct ExitStatus {
  bool exited = false;
  int code = -1;
  int signal = 0;
  static ExitStatus from_wait_status(int status);
  std::string describe() const;  // "exit 0", "killed by SIGKILL"
};

// One output stream of a process, kept line by line, capped.
struct OutputStream {
  std::vector<std::string> lines;  // complete lines, without '\n' (a trailing '\r' is removed)
  std::string partial;             // bytes after the last '\n'
  std::size_t kept_bytes = 0, total_bytes = 0;
  bool truncated = false;          // more arrived than the cap: the rest was counted, not kept
  bool closed = false;
  std::string tail(std::size_t max_lines) const;  // the last lines, for failure messages
};

// Limits for untrusted programs (setrlimit in the child, inherited by everything it forks). 0: no limit.
struct ResourceLimits {
  unsigned long cpu_seconds = 0;
  unsigned long address_space = 0;  // bytes (keep 0 for AddressSanitizer builds: they reserve terabytes)
  unsigned long processes = 0;      // RLIMIT_NPROC: counts the uid's processes; root is exempt, hence `uid`
  unsigned long open_files = 0;
  unsigned long file_size = 0;      // bytes
};

struct ProcessSpec {
  std::string name;                 // the experiment's id for it, e.g. "server"
  std::string path;                 // executable
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to the harness's environment (or all of it: inherit_env false)
  bool inherit_env = true;
  std::string working_dir;          // empty: the harness's
  bool stdout_pty = true;           // false: a plain pipe
  std::size_t output_cap = 8u << 20;
  ResourceLimits limits;
  int uid = -1, gid = -1;           // run as this user (only when the harness is root); -1: as the harness
  std::vector<std::string> cgroup_procs;  // cgroup.procs files the child joins before it drops privileges
  std::vector<int> keep_fds;        // descriptors (>= 3) the program inherits; every other one is closed
};

class Process {
 public:
  virtual ~Process() = default;
  virtual const ProcessSpec& spec() const = 0;
  virtual pid_t pid() const = 0;
  virtual void write_stdin(std::string data) = 0;  // queued, written asynchronously, in order
  virtual void close_stdin() = 0;                  // after the queued data is written
  virtual void send_signal(int sig) = 0;           // to the process only
  virtual const OutputStream& out() const = 0;
  virtual const OutputStream& err() const = 0;
  virtual std::optional<ExitStatus> exit_status() const = 0;
  // SIGTERM to the group, SIGKILL after `grace` (or at once if grace is 0), wait for the exit. Idempotent.
  virtual void terminate_group(std::chrono::milliseconds grace) = 0;
  virtual bool stdin_write_failed() const = 0;  // the program closed its stdin (EPIPE)
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  // Throws std::runtime_error with a clear message if the program cannot be started.
  virtual std::unique_ptr<Process> start(const ProcessSpec& spec) = 0;
};

std::unique_ptr<Launcher> make_boost_launcher(EventLoop& loop);

// Makes the harness the reaper of orphaned descendants (prctl PR_SET_CHILD_SUBREAPER), so a grandchild that
// left its process group still comes back to us; kill_stray_children() then ends and reaps every child of
// ours whose pid is not in `keep`.
void become_subreaper();
int kill_stray_children(const std::vector<pid_t>& keep);

}  // namespace socklab::harness
