#include "run/child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "run/serialize.h"

namespace socklab::harness {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// How long a stopped (Ctrl-C) child may take to clean up and report before it is killed.
constexpr std::chrono::seconds kStopGrace{30};
// Beyond the experiment's own time: ending its programs (a grace period each), the last capture, the report.
constexpr std::chrono::seconds kCleanupAllowance{120};

// One end of a pipe, closed when its owner goes.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// The stop line: a socket pair rather than a pipe, so that telling a child that has just ended gives EPIPE
// from send(MSG_NOSIGNAL), never a SIGPIPE in socklab.
Pipe make_stop_line() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::system_error(errno, std::generic_category(), "socketpair");
  }
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// All of `bytes`, over short writes and EINTR (see write(2)); false when the reader is gone (EPIPE) or on an
// error.
bool write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// SIGINT and SIGTERM held back across fork(): the child ignores them before one can reach it, the parent gets
// any that arrived meanwhile once this ends.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, &saved_);
  }
  ~SignalsHeld() { sigprocmask(SIG_SETMASK, &saved_, nullptr); }
  const sigset_t& saved() const { return saved_; }

 private:
  sigset_t saved_{};
};

// --- the child's side --------------------------------------------------------------------------------------

// The experiment's reporter in the child: every event goes to the parent at once. Never throws: when the
// parent is gone (EPIPE), the stop pipe has told the experiment to stop, and nobody is left to tell.
class EventWriter : public Reporter {
 public:
  explicit EventWriter(int fd) : fd_(fd) {}
  void begin(const Experiment&, const ExperimentResult& r) override { send("begin", r); }
  void step(const StepRecord& s) override { send("step", s); }
  void check(const CheckResult& c) override { send("check", c); }
  void snapshot(const SnapshotRecord& s) override { send("snapshot", s); }
  void end(const ExperimentResult& r) override { send("end", r); }
  void send(const char* event, json data) {
    if (broken_) return;
    if (!write_all(fd_, frame(to_bytes(json{{"event", event}, {"data", std::move(data)}})))) broken_ = true;
  }

 private:
  int fd_;
  bool broken_ = false;
};

[[noreturn]] void child_main(EventLoop& loop, Fd events, Fd stop, const sigset_t& mask, bool& interrupted,
                             const ExperimentChild::Body& body) {
  signal(SIGINT, SIG_IGN);  // Ctrl-C arrives through `stop`, from socklab, which the terminal signalled too
  signal(SIGTERM, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);                  // a parent that is gone is a failed write, not our death
  sigprocmask(SIG_SETMASK, &mask, nullptr);  // (the parent held SIGINT and SIGTERM back across the fork)
  // Not inherited across fork: a grandchild that leaves its group must come back to this process, whose
  // cleanup kills it (and the sandbox reaps bwrap's pid 1 as a subreaper).
  become_subreaper();
  asio::posix::stream_descriptor stop_reader(loop.context(), stop.release());
  char byte = 0;
  stop_reader.async_read_some(asio::buffer(&byte, 1), [&](boost::system::error_code ec, std::size_t) {
    if (ec != asio::error::operation_aborted) interrupted = true;  // a byte, or end of file: socklab is gone
  });
  EventWriter writer(events.get());
  int code = 0;
  try {
    body(writer);  // its reporter's end() has sent the result
  } catch (const std::exception& e) {
    writer.send("failed", std::string("internal error: ") + e.what());
    code = 1;
  } catch (...) {
    writer.send("failed", "internal error: an exception of unknown type");
    code = 1;
  }
  std::cout.flush();  // (the parent flushed before the fork: nothing is written twice)
  std::cerr.flush();
  // Not exit(): the parent's objects in this copy of memory (a sandbox's cgroup, a test framework) are the
  // parent's to clean up, not ours.
  _exit(code);
}

// --- the parent's side -------------------------------------------------------------------------------------


// The child's events, replayed to the real reporter; what the parent knows of the experiment if no result
// comes.
class Replay {
 public:
  Replay(const Experiment& experiment, Reporter& reporter)
      : experiment_(experiment), reporter_(reporter), partial_(result_header(experiment)) {}

  // One message; throws (json or runtime_error) when it is not one the protocol has.
  void handle(const std::string& bytes) {
    json message = from_bytes(bytes);
    std::string event = message.at("event").get<std::string>();
    const json& data = message.at("data");
    if (event == "begin") {
      partial_ = data.get<ExperimentResult>();
      began_ = true;
      reporter_.begin(experiment_, partial_);
    } else if (event == "step") {
      partial_.steps.push_back(data.get<StepRecord>());
      reporter_.step(partial_.steps.back());
    } else if (event == "check") {
      partial_.checks.push_back(data.get<CheckResult>());
      reporter_.check(partial_.checks.back());
    } else if (event == "snapshot") {
      partial_.snapshots.push_back(data.get<SnapshotRecord>());
      reporter_.snapshot(partial_.snapshots.back());
    } else if (event == "end") {
      result_ = data.get<ExperimentResult>();
      reporter_.end(*result_);
    } else if (event == "failed") {
      failure_ = data.get<std::string>();
    } else {
      throw std::runtime_error("no such event \"" + event + "\"");
    }
  }

  const std::optional<ExperimentResult>& result() const { return result_; }
  const std::string& failure() const { return failure_; }

  // The experiment ended without its result: the error is `reason`, the checks not yet reported are not run,
  // and the reporter hears of it as of any experiment.
  ExperimentResult give_up(const std::string& reason, bool interrupted, double duration) {
    if (!began_) reporter_.begin(experiment_, partial_);
    ExperimentResult r = partial_;
    r.error = reason;
    r.interrupted = interrupted;
    std::vector<CheckResult> planned = planned_checks(experiment_);
    for (std::size_t i = r.checks.size(); i < planned.size(); ++i) {
      CheckResult c = planned[i];
      c.status = CheckResult::Status::kNotRun;
      c.actual = "not run: " + reason;
      c.at = duration;
      r.checks.push_back(c);
      reporter_.check(c);
    }
    r.duration = duration;
    reporter_.end(r);
    return r;
  }

 private:
  const Experiment& experiment_;
  Reporter& reporter_;
  bool began_ = false;
  ExperimentResult partial_;  // begin's result, with the steps, checks and snapshots since
  std::optional<ExperimentResult> result_;
  std::string failure_;
};

// Reads the child's frames on the event loop and hands each to the Replay.
class EventReader {
 public:
  EventReader(EventLoop& loop, Fd pipe, Replay& replay)
      : loop_(loop), pipe_(loop.context(), pipe.release()), replay_(replay) {
    read();
  }
  ~EventReader() {
    boost::system::error_code ignored;
    pipe_.close(ignored);
    loop_.poll();  // a read still under way completes (aborted) while this object exists
  }
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;
  bool ended() const { return ended_; }
  const std::string& garbled() const { return garbled_; }

 private:
  void read() {
    // (asio retries a read that EINTR interrupted; a short read is the decoder's business)
    pipe_.async_read_some(asio::buffer(buffer_), [this](boost::system::error_code ec, std::size_t n) {
      if (ec) {  // end of file: the child has ended (or an error: it is as good as ended)
        ended_ = true;
        return;
      }
      decoder_.feed(buffer_.data(), n);
      try {
        while (auto message = decoder_.next()) replay_.handle(*message);
      } catch (const std::exception& e) {
        garbled_ = e.what();
        ended_ = true;
        return;
      }
      read();
    });
  }

  EventLoop& loop_;
  asio::posix::stream_descriptor pipe_;
  Replay& replay_;
  FrameDecoder decoder_;
  std::array<char, 65536> buffer_{};
  bool ended_ = false;
  std::string garbled_;
};

// Forks the experiment's process, which runs `body` and never returns here; the parent gets its pid, and
// keeps of the two lines only its own ends. Throws std::system_error when fork fails.
pid_t fork_experiment(EventLoop& loop, Pipe& events, Pipe& stop_line, bool& interrupted,
                      const ExperimentChild::Body& body) {
  std::cout.flush();  // what is buffered now would be written again by the child
  std::cerr.flush();
  SignalsHeld held;
  loop.context().notify_fork(asio::execution_context::fork_prepare);
  pid_t pid = fork();
  if (pid < 0) {
    int saved = errno;
    loop.context().notify_fork(asio::execution_context::fork_parent);
    throw std::system_error(saved, std::generic_category(), "fork");
  }
  if (pid == 0) {
    // The same event loop, now the child's: a fresh epoll instance, the same handlers (the launcher's).
    loop.context().notify_fork(asio::execution_context::fork_child);
    events.read.reset();
    stop_line.write.reset();
    child_main(loop, std::move(events.write), std::move(stop_line.read), held.saved(), interrupted, body);
  }
  loop.context().notify_fork(asio::execution_context::fork_parent);
  events.write.reset();  // ours closed: end of file comes when the child's copy goes
  stop_line.read.reset();
  return pid;
}

// Why the experiment's process ended without its result, in the report's words.
std::string why_no_result(const EventReader& reader, bool finished, const Replay& replay, int status) {
  if (!reader.garbled().empty()) {
    return "the experiment's process sent a message socklab cannot read (" + reader.garbled() + ")";
  }
  if (!finished) return "the experiment's process did not finish in time: killed";
  if (!replay.failure().empty()) return replay.failure();  // an escaped exception, with its message
  return "the experiment's process ended unexpectedly: " + ExitStatus::from_wait_status(status).describe();
}

int reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

bool is_subreaper() {
  int on = 0;
  return prctl(PR_GET_CHILD_SUBREAPER, &on) == 0 && on != 0;
}

}  // namespace

void FrameDecoder::feed(const char* data, std::size_t size) {
  if (start_ > 0 && start_ == buffer_.size()) {  // everything taken: start over instead of growing
    buffer_.clear();
    start_ = 0;
  }
  buffer_.append(data, size);
}

std::optional<std::string> FrameDecoder::next() {
  std::uint32_t length = 0;
  if (buffered() < sizeof length) return std::nullopt;
  std::memcpy(&length, buffer_.data() + start_, sizeof length);
  if (length > kMaxFrame) throw std::runtime_error("a frame of " + std::to_string(length) + " bytes");
  if (buffered() < sizeof length + length) return std::nullopt;
  std::string payload = buffer_.substr(start_ + sizeof length, length);
  start_ += sizeof length + length;
  if (start_ > (1u << 20) && start_ * 2 > buffer_.size()) {  // drop what was taken, now and then
    buffer_.erase(0, start_);
    start_ = 0;
  }
  return payload;
}

std::string frame(const std::string& payload) {
  auto length = static_cast<std::uint32_t>(payload.size());
  std::string bytes(reinterpret_cast<const char*>(&length), sizeof length);
  return bytes + payload;
}

ExperimentChild::~ExperimentChild() {
  if (stop_fd_ >= 0) close(stop_fd_);
}

void ExperimentChild::stop() {
  if (stop_fd_ < 0) return;
  char byte = 1;
  while (send(stop_fd_, &byte, 1, MSG_NOSIGNAL) < 0 && errno == EINTR) {  // (nothing queued: it never blocks)
  }
}

ExperimentResult ExperimentChild::run(const Experiment& experiment, Reporter& reporter, bool& interrupted,
                                      double time_scale, const Body& body) {
  auto started = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
  Replay replay(experiment, reporter);
  Pipe events, stop_line;
  pid_t pid = -1;
  try {
    events = make_pipe();
    stop_line = make_stop_line();
    pid = fork_experiment(loop_, events, stop_line, interrupted, body);
  } catch (const std::system_error& e) {
    return replay.give_up(std::string("cannot start the experiment's process: ") + e.what(), interrupted,
                          elapsed());
  }
  stop_fd_ = stop_line.write.get();
  if (interrupted) stop();  // Ctrl-C came before the child could hear it

  EventReader reader(loop_, std::move(events.read), replay);
  auto limit = started + std::chrono::duration_cast<Clock::duration>(
                             (experiment.timeout + kCleanupAllowance) * time_scale);
  loop_.run_until([&] { return reader.ended() || interrupted; }, limit);
  if (!reader.ended() && interrupted) {  // stopped: it cleans up and reports, or is killed
    loop_.run_until([&] { return reader.ended(); }, std::min(limit, Clock::now() + kStopGrace));
  }
  bool finished = reader.ended() && reader.garbled().empty();
  if (!finished) kill(pid, SIGKILL);
  int status = reap(pid);
  stop_fd_ = -1;                                 // (closed with `stop_line` below)
  if (replay.result()) return *replay.result();  // complete, whatever happened after

  std::string reason = interrupted ? "interrupted (Ctrl-C)" : why_no_result(reader, finished, replay, status);
  // A grandchild that left its group was reparented to the child, and on the child's death to us (a
  // subreaper): the child's cleanup did not run, so ours does.
  if (is_subreaper()) kill_stray_children({});
  return replay.give_up(reason, interrupted, elapsed());
}

}  // namespace socklab::harness
