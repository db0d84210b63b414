#include "process/process.h"

#include "process/proc.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <pty.h>
#include <signal.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <boost/asio.hpp>
// Boost 1.81 with BOOST_PROCESS_USE_STD_FS forgets these two includes (header bug): include them first.
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>
#include <boost/process/v2.hpp>
#include <boost/process/v2/src.hpp>  // header-only mode: the non-template parts, compiled in this one file
#include <cerrno>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <algorithm>
#include <stdexcept>

namespace socklab::harness {

namespace asio = boost::asio;
namespace bp = boost::process::v2;

EventLoop::EventLoop() : context_(std::make_unique<asio::io_context>(1)) {}
EventLoop::~EventLoop() = default;

bool EventLoop::run_until(const std::function<bool()>& done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    if (context_->stopped()) context_->restart();
    // Handles one event, or returns at the deadline (or at once when there is nothing to wait for).
    if (context_->run_one_until(deadline) == 0 && context_->stopped() && !done()) {
      // No pending work at all: nothing can change done() by itself any more, except time.
      return done();
    }
  }
  return true;
}

void EventLoop::poll() {
  if (context_->stopped()) context_->restart();
  context_->poll();
}

ExitStatus ExitStatus::from_wait_status(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}

std::string ExitStatus::describe() const {
  if (exited) return "exit " + std::to_string(code);
  const char* name = sigabbrev_np(signal);
  return std::string("killed by ") + (name ? std::string("SIG") + name : "signal " + std::to_string(signal));
}

std::string OutputStream::tail(std::size_t max_lines) const {
  std::string out;
  std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (std::size_t i = first; i < lines.size(); ++i) {
    std::string line = lines[i].size() > 200 ? lines[i].substr(0, 200) + "… (" + std::to_string(lines[i].size()) +
                                                   " bytes)"
                                             : lines[i];
    out += line + "\n";
  }
  if (!partial.empty()) out += partial.substr(0, 200) + " (no line end)\n";
  if (truncated) out += "(output cut after " + std::to_string(kept_bytes) + " bytes)\n";
  return out;
}

namespace {

// Runs in the child between fork() and exec(): only async-signal-safe calls. A step that fails fails the start with
// its errno (a limit silently missing would leave untrusted code unconfined).
struct ChildSetup {
  ResourceLimits limits;
  int uid = -1, gid = -1;
  const std::vector<std::string>* cgroup_procs = nullptr;  // owned by the spec, alive until the start returns
  const std::vector<int>* keep_fds = nullptr;

  static bool limit(int resource, unsigned long value) {
    if (value == 0) return true;
    rlimit r{value, value};
    return setrlimit(resource, &r) == 0;
  }

  static bp::error_code failed() { return bp::error_code(errno, bp::system_category()); }

  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&, const char* const*) {
    // A session of its own (and so a process group the harness ends whole), without a controlling terminal: nothing
    // it starts can open /dev/tty and type into the terminal socklab runs in (TIOCSTI).
    if (setsid() < 0) return failed();
    for (const std::string& procs : *cgroup_procs) {  // "0": the writing process itself; before it drops root
      int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return failed();
      bool ok = write(fd, "0", 1) == 1;
      close(fd);
      if (!ok) return failed();
    }
    if (!limit(RLIMIT_CPU, limits.cpu_seconds) || !limit(RLIMIT_AS, limits.address_space) ||
        !limit(RLIMIT_NPROC, limits.processes) || !limit(RLIMIT_NOFILE, limits.open_files) ||
        !limit(RLIMIT_FSIZE, limits.file_size)) {
      return failed();
    }
    if (gid >= 0) {
      if (setgroups(0, nullptr) != 0 || setgid(static_cast<gid_t>(gid)) != 0) return failed();
    }
    if (uid >= 0 && setuid(static_cast<uid_t>(uid)) != 0) return failed();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return failed();  // if the harness itself is killed, take the child along
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGQUIT}) signal(sig, SIG_DFL);  // SIG_IGN survives exec
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Boost.Process 1.81 does not close inherited descriptors: make sure none but 0-2 (and those asked for) reach
    // the program.
    if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) return failed();
    for (int fd : *keep_fds) {
      if (fcntl(fd, F_SETFD, 0) != 0) return failed();
    }
    return {};
  }
};

void append_output(OutputStream& stream, const char* data, std::size_t n, std::size_t cap) {
  stream.total_bytes += n;
  if (stream.kept_bytes + n > cap) {
    n = cap > stream.kept_bytes ? cap - stream.kept_bytes : 0;
    stream.truncated = true;
  }
  if (n == 0) return;
  stream.kept_bytes += n;
  // Only the new bytes can hold a line end: the partial line before them was searched already. (Searching it all
  // again for every read made a program printing megabytes without a newline cost seconds of CPU.)
  std::size_t searched = stream.partial.size();
  stream.partial.append(data, n);
  std::size_t start = 0;
  for (std::size_t newline; (newline = stream.partial.find('\n', std::max(start, searched))) != std::string::npos;
       start = newline + 1) {
    std::size_t end = newline;
    if (end > start && stream.partial[end - 1] == '\r') --end;
    stream.lines.emplace_back(stream.partial, start, end - start);
  }
  stream.partial.erase(0, start);
}

class BoostProcess : public Process {
 public:
  BoostProcess(EventLoop& loop, const ProcessSpec& spec)
      : loop_(loop), spec_(spec), in_(loop.context()), out_pipe_(loop.context()), out_pty_(loop.context()),
        err_(loop.context()) {
    int out_fd = -1;
    int pty_slave = -1;
    if (spec.stdout_pty) {
      int master = -1;
      termios raw{};
      cfmakeraw(&raw);  // no "\n" -> "\r\n", no echo, no line editing: bytes pass unchanged
      if (openpty(&master, &pty_slave, nullptr, &raw, nullptr) < 0) {
        throw std::runtime_error(std::string("openpty: ") + std::strerror(errno));
      }
      fcntl(master, F_SETFD, FD_CLOEXEC);
      fcntl(pty_slave, F_SETFD, FD_CLOEXEC);
      out_pty_.assign(master);
      out_fd = pty_slave;
    }
    std::vector<std::string> env;
    for (char** e = environ; spec.inherit_env && *e; ++e) {
      std::string entry = *e;
      if (!spec.env.count(entry.substr(0, entry.find('=')))) env.push_back(entry);
    }
    for (const auto& [key, value] : spec.env) env.push_back(key + "=" + value);

    bp::error_code ec;
    std::filesystem::path dir = spec.working_dir.empty() ? std::filesystem::current_path()
                                                         : std::filesystem::path(spec.working_dir);
    if (spec.stdout_pty) {
      process_.emplace(bp::posix::default_launcher()(loop.context(), ec, spec.path, spec.args,
                                                     bp::process_stdio{in_, out_fd, err_},
                                                     bp::process_environment(env), bp::process_start_dir(dir),
                                                     ChildSetup{spec.limits, spec.uid, spec.gid, &spec_.cgroup_procs, &spec_.keep_fds}));
    } else {
      process_.emplace(bp::posix::default_launcher()(loop.context(), ec, spec.path, spec.args,
                                                     bp::process_stdio{in_, out_pipe_, err_},
                                                     bp::process_environment(env), bp::process_start_dir(dir),
                                                     ChildSetup{spec.limits, spec.uid, spec.gid, &spec_.cgroup_procs, &spec_.keep_fds}));
    }
    if (pty_slave >= 0) close(pty_slave);  // the child has its copy; EOF comes when all copies are closed
    if (ec) throw std::runtime_error("cannot start " + spec.path + ": " + ec.message());
    pid_ = process_->id();
    process_->async_wait([this](bp::error_code, int) {
      status_ = ExitStatus::from_wait_status(process_->native_exit_code());
    });
    if (spec.stdout_pty) {
      read_loop(out_pty_, out_, out_buffer_);
    } else {
      read_loop(out_pipe_, out_, out_buffer_);
    }
    read_loop(err_, err_stream_, err_buffer_);
  }

  ~BoostProcess() override {
    terminate_group(std::chrono::milliseconds(0));
    // Pending reads hold `this` in their handlers: cancel them by closing the streams, then let the handlers
    // run (with operation_aborted) while this object still exists. Destroying a stream with a read still
    // pending would leave its handler to run later on freed memory.
    bp::error_code ignored;
    out_pty_.close(ignored);
    out_pipe_.close(ignored);
    err_.close(ignored);
    in_.close(ignored);
    while (reads_pending_ > 0 || writing_) {
      if (loop_.context().stopped()) loop_.context().restart();
      if (loop_.context().poll() == 0 && (reads_pending_ > 0 || writing_)) loop_.context().run_one_for(std::chrono::milliseconds(10));
    }
    if (process_ && !status_) process_->detach();  // never let a destructor block or throw
  }

  const ProcessSpec& spec() const override { return spec_; }
  pid_t pid() const override { return pid_; }
  const OutputStream& out() const override { return out_; }
  const OutputStream& err() const override { return err_stream_; }
  std::optional<ExitStatus> exit_status() const override { return status_; }
  bool stdin_write_failed() const override { return stdin_failed_; }

  void write_stdin(std::string data) override {
    if (stdin_closed_ || stdin_failed_) return;
    pending_.push_back(std::move(data));
    if (pending_.size() == 1) write_next();
  }

  void close_stdin() override {
    close_after_writes_ = true;
    if (pending_.empty()) do_close_stdin();
  }

  void send_signal(int sig) override {
    if (!status_) kill(pid_, sig);
  }

  void terminate_group(std::chrono::milliseconds grace) override {
    if (pid_ <= 0) return;
    if (!status_ && grace.count() > 0) {
      kill(-pid_, SIGTERM);
      kill(pid_, SIGTERM);  // in case it had not yet made its group
      loop_.run_until([&] { return status_.has_value(); }, Clock::now() + grace);
    }
    kill(-pid_, SIGKILL);  // the whole group: children of a fork server included, whether the leader exited or not
    if (!status_) {
      kill(pid_, SIGKILL);
      loop_.run_until([&] { return status_.has_value(); }, Clock::now() + std::chrono::seconds(5));
    }
    do_close_stdin();
  }

 private:
  template <typename Stream>
  void read_loop(Stream& stream, OutputStream& output, std::array<char, 65536>& buffer) {
    ++reads_pending_;
    stream.async_read_some(asio::buffer(buffer), [this, &stream, &output, &buffer](bp::error_code ec, std::size_t n) {
      --reads_pending_;
      if (n > 0) append_output(output, buffer.data(), n, spec_.output_cap);
      if (ec) {  // EOF, or EIO on a pty whose last slave closed
        if (!output.partial.empty()) {
          output.lines.push_back(output.partial);
          output.partial.clear();
        }
        output.closed = true;
        return;
      }
      read_loop(stream, output, buffer);
    });
  }

  void write_next() {
    writing_ = true;
    asio::async_write(in_, asio::buffer(pending_.front()), [this](bp::error_code ec, std::size_t) {
      writing_ = false;
      if (ec) {
        stdin_failed_ = true;  // EPIPE: the program closed its stdin or exited
        pending_.clear();
        do_close_stdin();
        return;
      }
      pending_.pop_front();
      if (!pending_.empty()) {
        write_next();
      } else if (close_after_writes_) {
        do_close_stdin();
      }
    });
  }

  void do_close_stdin() {
    if (stdin_closed_) return;
    stdin_closed_ = true;
    bp::error_code ignored;
    in_.close(ignored);
  }

  EventLoop& loop_;
  ProcessSpec spec_;
  asio::writable_pipe in_;
  asio::readable_pipe out_pipe_;
  asio::posix::stream_descriptor out_pty_;
  asio::readable_pipe err_;
  std::optional<bp::process> process_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  OutputStream out_, err_stream_;
  std::array<char, 65536> out_buffer_{}, err_buffer_{};
  std::deque<std::string> pending_;
  bool close_after_writes_ = false, stdin_closed_ = false, stdin_failed_ = false;
  int reads_pending_ = 0;  // async reads under way (their handlers refer to this object)
  bool writing_ = false;   // an async write under way
};

class BoostLauncher : public Launcher {
 public:
  explicit BoostLauncher(EventLoop& loop) : loop_(loop) {
    signal(SIGPIPE, SIG_IGN);  // a write to a program that closed its stdin must fail (EPIPE), not kill us
  }
  std::unique_ptr<Process> start(const ProcessSpec& spec) override {
    if (access(spec.path.c_str(), X_OK) != 0) {
      throw std::runtime_error("cannot start " + spec.name + ": " + spec.path + ": " + std::strerror(errno));
    }
    return std::make_unique<BoostProcess>(loop_, spec);
  }

 private:
  EventLoop& loop_;
};

}  // namespace

std::unique_ptr<Launcher> make_boost_launcher(EventLoop& loop) { return std::make_unique<BoostLauncher>(loop); }

void become_subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

int kill_stray_children(const std::vector<pid_t>& keep) {
  int killed = 0;
  pid_t self = getpid();
  for (int round = 0; round < 10; ++round) {  // a stray may fork while we look: go round until none is left
    std::vector<pid_t> strays;
    for (pid_t pid : children_of(self)) {
      if (std::find(keep.begin(), keep.end(), pid) == keep.end()) strays.push_back(pid);
    }
    if (strays.empty()) break;
    for (pid_t pid : strays) {
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      ++killed;
    }
  }
  return killed;
}

}  // namespace socklab::harness
