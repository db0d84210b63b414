// Runs experiments: starts the programs, performs the steps, evaluates the checks, and always cleans up.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "model/experiment.h"
#include "capture/sockets.h"
#include "process/process.h"
#include "run/child.h"
#include "run/results.h"

namespace socklab::harness {

struct RunOptions {
  std::string bin_dir;                          // programs are found here by name
  std::map<std::string, std::string> bins;      // --bin NAME=PATH overrides
  double time_scale = 1.0;                      // every deadline is multiplied by this
  Isolation isolation = Isolation::kAuto;       // host or netns override the files' auto
  std::chrono::milliseconds grace{1000};        // SIGTERM -> SIGKILL
  bool verbose = false;
  bool show_timeline = false;                   // text report: print each experiment's timeline
  std::string pcap_dir;                         // write each experiment's packets to DIR/ID.pcap
  std::map<std::string, std::string> missing;   // program -> why it is not there ("not in the submission")
  // Where socket snapshots come from (default: make_best_source(), made in the experiment's namespace); tests give a
  // fake. The runner calls it in its own process, once per experiment, before the experiment's process starts.
  std::function<std::unique_ptr<SocketSource>()> socket_source;
};

class Runner {
 public:
  Runner(EventLoop& loop, Launcher& launcher, RunOptions options, Reporter& reporter);
  ~Runner();
  // Runs the experiment in a child process of its own (run/child.h), reporting as it goes; the runner's process
  // stays where it is (namespace, signals, threads).
  ExperimentResult run(const Experiment& experiment);
  // Ctrl-C: the current experiment stops at once and cleans up; further ones are not started.
  void interrupt();
  bool interrupted() const { return interrupted_; }

 private:
  EventLoop& loop_;
  Launcher& launcher_;
  RunOptions options_;
  Reporter& reporter_;
  bool interrupted_ = false;
  ExperimentChild child_;  // the running experiment's process
};

// Fills placeholders in (their grammar: model/placeholders.h): {port}, {port2}, {port:NAME} get free ports
// (allocated on first use, the same for the whole experiment); {pid:ID} the pid of a started process. "\{" stands
// for a literal brace. Implemented in run/placeholders.cc.
class Placeholders {
 public:
  explicit Placeholders(std::function<std::uint16_t()> allocate_port);
  std::string fill(const std::string& text);  // throws std::runtime_error for a {pid:ID} not started
  void set_pid(const std::string& id, int pid) { pids_[id] = pid; }
  std::vector<std::uint16_t> ports() const;

 private:
  std::uint16_t port(const std::string& key);

  std::function<std::uint16_t()> allocate_port_;
  std::map<std::string, std::uint16_t> ports_;
  std::map<std::string, int> pids_;
};

// A TCP port that is free now in the current network namespace (bind to 0, then release).
std::uint16_t free_port();

}  // namespace socklab::harness
