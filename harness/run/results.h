// What running an experiment produced: steps, checks with points, socket snapshots, process exits.
// Reporters (text as it happens, JSON, JUnit) render it.
#pragma once

#include <string>
#include <vector>

#include "model/experiment.h"
#include "capture/sockets.h"
#include "capture/packets.h"
#include "capture/timeline.h"

namespace socklab::harness {

struct StepRecord {
  double at = 0;  // seconds since the experiment started
  int line = 0;
  std::string text;  // "start server: echo_server 40001", "send to client: \"hello\""
  bool ok = true;    // false: an action that went wrong (shown, and the reason in text)
  bool operator==(const StepRecord&) const = default;
};

struct CheckResult {
  enum class Status { kPassed, kFailed, kNotRun };
  std::string name;
  int line = 0;
  Status status = Status::kNotRun;
  int points = 0, max_points = 0;
  double at = 0;
  std::string expected;  // "line \"olleh\" on client's stdout within 2s"
  std::string actual;    // what was seen instead
  std::string hint;
  std::string detail;    // the tail of a program's output, a socket table
  Visibility visibility = Visibility::kVisible;  // on a grading platform: shown to students now, or after the due date
  const char* status_name() const;
  bool operator==(const CheckResult&) const = default;
};

struct SnapshotRecord {
  std::string title;
  int line = 0;
  double at = 0;
  std::vector<SocketInfo> sockets;
  bool operator==(const SnapshotRecord&) const = default;
};

struct ProcessRecord {
  std::string id, program, command_line;
  int pid = 0;
  std::string ending;  // "exit 0", "killed by SIGKILL", "terminated by the harness (still running at the end)"
  std::string stdout_tail, stderr_tail;
  std::size_t stdout_bytes = 0, stderr_bytes = 0;
  bool truncated = false;
  std::vector<std::string> sanitizer_reports;  // "ERROR: AddressSanitizer: …", "… runtime error: …" lines of stderr
  bool operator==(const ProcessRecord&) const = default;
};

// What a <measure> read: one value (at its x), or a series of (x, value).
struct MeasurementRecord {
  struct Point {
    double x = 0, y = 0;
    bool operator==(const Point&) const = default;
  };
  std::string name;     // the check's name
  int line = 0;
  double at = 0;
  std::string unit;
  std::string chart, series;  // chart id (of ExperimentResult::charts) and line, or empty
  bool single = true;         // one value (its x from the measure, 0 without a chart) or a series
  std::vector<Point> points;  // never empty: a measure that read nothing failed instead
  std::string value_text() const;  // "12345 messages/s", "60 values, 11800–12500 messages/s"
  bool operator==(const MeasurementRecord&) const = default;
};

struct ExperimentResult {
  std::string file, id, title, about, lab;
  bool graded = true;
  Isolation isolation = Isolation::kHost;  // where it ran: kNetns or kHost (the notes say why)
  std::string capture;       // "sock_diag" or "procfs"
  std::vector<std::string> notes;  // e.g. sysctls not applied
  std::vector<StepRecord> steps;
  std::vector<CheckResult> checks;
  std::vector<SnapshotRecord> snapshots;
  std::vector<ProcessRecord> processes;
  double duration = 0;
  std::string error;  // why the experiment stopped early, if it did
  bool interrupted = false;
  Timeline timeline;  // every TCP state change of the experiment's connections
  std::vector<Packet> packets;                 // every TCP segment on lo (in its own network namespace only)
  std::vector<std::uint16_t> listening_ports;  // ports that had a LISTEN socket: the server side of the ladder
  std::string pcap;                            // where the packets were written (--pcap DIR), or empty
  std::vector<ChartSpec> charts;               // as the experiment declares them
  std::vector<MeasurementRecord> measurements;

  int points() const;
  int max_points() const;
  bool passed() const;  // every check passed and no error
  bool operator==(const ExperimentResult&) const = default;
};

// A result that says which experiment it is (file, id, title, about, lab, graded) and nothing else yet.
ExperimentResult result_header(const Experiment& experiment);

// The checks an experiment will report, in order, as its model says, none run yet: what the runner fills in, and
// what socklab reports as not run when the experiment's process dies before it could.
std::vector<CheckResult> planned_checks(const Experiment& experiment);

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void begin(const Experiment&, const ExperimentResult&) {}
  virtual void step(const StepRecord&) {}
  virtual void check(const CheckResult&) {}
  virtual void snapshot(const SnapshotRecord&) {}
  virtual void end(const ExperimentResult&) {}
  // After the last experiment: write the whole record (JSON, JUnit) or the summary (text).
  virtual void finish(const std::vector<ExperimentResult>&) {}
};

}  // namespace socklab::harness
