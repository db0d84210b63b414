#include "child.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace testing_support {
namespace {

std::runtime_error errno_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

unsigned short free_port(int type) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) throw errno_error("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    throw errno_error("bind port 0");
  }
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exit " + std::to_string(code);
  return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

std::string bin_dir() { return SOCKLAB_BIN_DIR; }
unsigned short free_tcp_port() { return free_port(SOCK_STREAM); }
unsigned short free_udp_port() { return free_port(SOCK_DGRAM); }

Child::Child(const std::string& program, const std::vector<std::string>& args) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    throw errno_error("pipe2");
  }
  std::string path = bin_dir() + "/" + program;
  std::vector<char*> argv;
  argv.push_back(path.data());
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw errno_error("fork");
  if (pid_ == 0) {
    setpgid(0, 0);  // own process group: the destructor kills the child and everything it forked
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    ::signal(SIGPIPE, SIG_DFL);
    syscall(SYS_close_range, 3u, ~0u, 0u);  // nothing of the test runner's (ctest leaks fd 3) reaches the program
    execv(path.c_str(), argv.data());
    dprintf(STDERR_FILENO, "exec %s: %s\n", path.c_str(), std::strerror(errno));
    _exit(127);
  }
  setpgid(pid_, pid_);  // also from the parent, so the group exists before we might signal it
  close(in[0]);
  close(out[1]);
  close(err[1]);
  stdin_ = in[1];
  stdout_ = out[0];
  stderr_ = err[0];
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd_ < 0) throw errno_error("pidfd_open");
  ::signal(SIGPIPE, SIG_IGN);  // writing to a child that exited must fail with EPIPE, not kill the test
}

Child::~Child() {
  reap_group();
  for (int fd : {stdin_, stdout_, stderr_, pidfd_}) {
    if (fd >= 0) close(fd);
  }
}

void Child::reap_group() {
  if (pid_ <= 0) return;
  kill(-pid_, SIGKILL);  // the whole group: forked children of a server included
  if (!status_) {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void Child::write(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(stdin_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw errno_error("write to child stdin");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Child::close_stdin() {
  if (stdin_ >= 0) close(stdin_);
  stdin_ = -1;
}

void Child::signal(int sig) { kill(pid_, sig); }

Child::Pump Child::pump(std::chrono::steady_clock::time_point deadline, bool until_exit) {
  for (;;) {
    // fd -1 is ignored by poll(2): closed streams and, unless asked, the process's exit
    pollfd fds[3] = {{stdout_, POLLIN, 0}, {stderr_, POLLIN, 0}, {until_exit ? pidfd_ : -1, POLLIN, 0}};
    if (fds[0].fd < 0 && fds[1].fd < 0 && fds[2].fd < 0) return Pump::kClosed;
    int ready = poll(fds, 3, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return Pump::kTimeout;
    char buffer[65536];
    if (fds[1].revents != 0) {
      ssize_t n = read(stderr_, buffer, sizeof buffer);
      if (n > 0) err_.append(buffer, static_cast<std::size_t>(n));
      if (n == 0) {
        close(stderr_);
        stderr_ = -1;
      }
    }
    if (fds[0].revents != 0) {
      ssize_t n = read(stdout_, buffer, sizeof buffer);
      if (n == 0) {
        close(stdout_);
        stdout_ = -1;
      }
      if (n > 0) {
        out_buffer_.append(buffer, static_cast<std::size_t>(n));
        bool got_line = false;
        for (std::size_t newline; (newline = out_buffer_.find('\n')) != std::string::npos;) {
          lines_.push_back(out_buffer_.substr(0, newline));
          out_buffer_.erase(0, newline + 1);
          got_line = true;
        }
        if (got_line && !until_exit) return Pump::kLine;
      }
    }
    if (fds[2].revents != 0) return Pump::kExited;
  }
}

std::optional<std::string> Child::next_line(Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (next_unread_ == lines_.size()) {
    if (pump(deadline, false) != Pump::kLine) return std::nullopt;
  }
  return lines_[next_unread_++];
}

std::optional<std::string> Child::wait_for_line_starting(std::string_view prefix, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (auto line = next_line(std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now()))) {
    if (line->rfind(prefix, 0) == 0) return line;
  }
  return std::nullopt;
}

bool Child::silent_for(Duration duration) {
  return !next_line(duration).has_value();
}

std::optional<ExitStatus> Child::wait_exit(Duration timeout) {
  if (status_) return status_;
  // Drain output meanwhile, so a chatty child cannot block on a full pipe.
  if (pump(std::chrono::steady_clock::now() + timeout, true) != Pump::kExited) return std::nullopt;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) throw errno_error("waitpid");
  }
  ExitStatus result;
  result.exited = WIFEXITED(status);
  result.code = result.exited ? WEXITSTATUS(status) : -1;
  result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  status_ = result;
  // collect what is still in the pipes (a forked grandchild may hold them open: do not wait for EOF)
  while (pump(std::chrono::steady_clock::now(), false) == Pump::kLine) {
  }
  return status_;
}

const std::string& Child::stderr_text() {
  while (stderr_ >= 0) {
    pollfd p{stderr_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    char buffer[65536];
    ssize_t n = read(stderr_, buffer, sizeof buffer);
    if (n <= 0) {
      close(stderr_);
      stderr_ = -1;
      break;
    }
    err_.append(buffer, static_cast<std::size_t>(n));
  }
  return err_;
}

}  // namespace testing_support
