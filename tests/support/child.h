// Test support: a program under test as a child process, driven through pipes, with deadlines everywhere.
//
// The child runs in its own process group; the destructor SIGKILLs the whole group and reaps the child, so a
// failing test never leaves a server (or a forked grandchild) behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace testing_support {

using namespace std::chrono_literals;
using Duration = std::chrono::milliseconds;

// How a process ended: exited with a code, or killed by a signal.
struct ExitStatus {
  bool exited = false;
  int code = -1;    // exit code when exited
  int signal = 0;   // signal number when killed
  std::string describe() const;
};

class Child {
 public:
  // Starts bin_dir()/program with args. Throws std::runtime_error if it cannot be started.
  Child(const std::string& program, const std::vector<std::string>& args);
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }

  void write(std::string_view data);
  void close_stdin();
  void signal(int sig);

  // The next stdout line (without '\n'), or nullopt if none arrives before the deadline or stdout ends.
  std::optional<std::string> next_line(Duration timeout = 5000ms);
  // Reads stdout lines until one equals / starts with `prefix`; returns it, or nullopt at the deadline.
  std::optional<std::string> wait_for_line_starting(std::string_view prefix, Duration timeout = 5000ms);
  // True if stdout stays silent (no complete line) for the whole duration: for "nothing happens" checks.
  bool silent_for(Duration duration);

  // Waits for the process to end (draining its output meanwhile); nullopt at the deadline.
  std::optional<ExitStatus> wait_exit(Duration timeout = 5000ms);

  // Everything read from stderr so far (reads what is available now, without waiting).
  const std::string& stderr_text();
  // Every stdout line read so far, for failure messages.
  const std::vector<std::string>& stdout_lines() const { return lines_; }

 private:
  // Reads stdout/stderr until a stdout line is complete (or, with until_exit, the process has ended),
  // both streams are closed, or the deadline passes.
  enum class Pump { kLine, kExited, kClosed, kTimeout };
  Pump pump(std::chrono::steady_clock::time_point deadline, bool until_exit);
  void reap_group();

  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1, pidfd_ = -1;
  std::string out_buffer_, err_;
  std::vector<std::string> lines_;
  std::size_t next_unread_ = 0;
  std::optional<ExitStatus> status_;
};

// The directory where the build puts the programs (build/bin).
std::string bin_dir();

// A TCP/UDP port that is free right now (bind to port 0, ask the kernel which port it gave, release it).
unsigned short free_tcp_port();
unsigned short free_udp_port();

}  // namespace testing_support
