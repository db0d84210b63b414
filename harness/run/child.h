// Each experiment runs in a child process of its own (fork): socklab loads and schedules; the child enters
// the experiment's network namespace, starts its programs, runs its steps and hands back what happened.
// Whatever the experiment does to its process — a namespace, a subreaper, threads, a crash — stays in that
// process.
//
// The protocol, child to parent, on one pipe: frames (a 4-byte length in host order, both ends being one
// machine, then that many bytes), each a MessagePack map {"event": E, "data": D} (run/serialize.h): "begin",
// "step", "check" and "snapshot" as the experiment's reporter sees them, as they happen, and finally "end"
// with the whole ExperimentResult; or "failed" with the message of an exception that escaped the experiment.
// The parent replays every event to its own reporter, so the live report prints as the experiment runs. A
// child that ends without "end" (a signal, an exit) gives the experiment that error; its checks not yet
// reported are not run.
//
// Parent to child, on a second pipe: one byte means "stop at once" (Ctrl-C in socklab); end of file (socklab
// gone) means the same. The child ignores SIGINT and SIGTERM itself, so a Ctrl-C at the terminal, which
// signals the whole process group, stops it through socklab, in order.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "model/experiment.h"
#include "process/process.h"
#include "run/results.h"

namespace socklab::harness {

// Splits a byte stream into the frames written by frame(), however the reads cut it.
class FrameDecoder {
 public:
  static constexpr std::size_t kMaxFrame = 1u
                                           << 30;  // a length beyond this is a broken stream, not a message
  void feed(const char* data, std::size_t size);
  // The next complete frame's bytes, or nullopt until more arrive. Throws std::runtime_error on a length
  // beyond kMaxFrame.
  std::optional<std::string> next();
  std::size_t buffered() const { return buffer_.size() - start_; }

 private:
  std::string buffer_;
  std::size_t start_ = 0;
};

std::string frame(const std::string& payload);

class ExperimentChild {
 public:
  explicit ExperimentChild(EventLoop& loop) : loop_(loop) {}
  ~ExperimentChild();
  ExperimentChild(const ExperimentChild&) = delete;
  ExperimentChild& operator=(const ExperimentChild&) = delete;

  using Body = std::function<ExperimentResult(Reporter& events)>;
  // Runs body in a new child process and returns its result, its events replayed to `reporter` meanwhile. In
  // the child, `interrupted` turns true when stop() is called here (the same flag in the child's copy of
  // memory). Never throws for what happens in the child: a crash, an escaped exception, a child that does not
  // finish in the experiment's time (scaled) plus two minutes of cleanup, or a failed fork is the result's
  // error.
  ExperimentResult run(const Experiment& experiment, Reporter& reporter, bool& interrupted, double time_scale,
                       const Body& body);
  // Ctrl-C: tells the running child, if any, to stop at once (it cleans up and reports).
  void stop();

 private:
  EventLoop& loop_;
  int stop_fd_ = -1;  // the write end of the running child's stop pipe
};

}  // namespace socklab::harness
