// The experiment model: what an XML file in experiments/ describes, already validated.
//
// An experiment is a list of steps run in order. Actions (start a program, type a line, send a signal, open a
// raw socket, ...) make things happen; checks (expect-*) wait, with a deadline, for something to be true and
// earn points when it is. See docs/experiments.md for the vocabulary.
//
// Each kind of step is a struct of its own holding only its own fields; `Action` and `Check` are variants of them
// and a `Step` is one or the other. Whether a step is a check is thus in its type, not in an enum's order, and every
// stage (loading, running, evaluating, reporting) visits these variants without a default: a kind added here does
// not compile until each stage handles it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "model/durations.h"

namespace socklab::harness {



// Where an experiment's programs run: a network namespace of its own when the machine allows (auto), always
// (netns: the experiment fails clearly without one), or never (host).
enum class Isolation { kAuto, kHost, kNetns };
inline const char* isolation_name(Isolation i) {
  switch (i) {
    case Isolation::kAuto:
      return "auto";
    case Isolation::kHost:
      return "host";
    case Isolation::kNetns:
      return "netns";
  }
  return "?";
}
inline std::optional<Isolation> parse_isolation(const std::string& text) {
  for (Isolation i : {Isolation::kAuto, Isolation::kHost, Isolation::kNetns}) {
    if (text == isolation_name(i)) return i;
  }
  return std::nullopt;
}

// Text with placeholders still in it ("{port}", "{pid:server}"), filled in when the step runs; escapes already
// decoded, except "\{" (a literal brace), which the filler turns into "{". Grammar: model/placeholders.h.
using Template = std::string;

// A program's output stream, as the checks name it.
enum class Stream { kStdout, kStderr };
inline const char* stream_name(Stream s) { return s == Stream::kStderr ? "stderr" : "stdout"; }

// How a check compares a line (or datagram) with its text: line= / text= (exact), regex=, contains=.
enum class Match { kExact, kRegex, kContains };

// What a check compares with: the text (a regex is kept as written), repeated `repeat` times.
struct TextMatch {
  Match match = Match::kExact;
  Template text;
  std::size_t repeat = 1;
};

enum class Proto { kTcp, kUdp };
inline const char* proto_name(Proto p) { return p == Proto::kUdp ? "udp" : "tcp"; }

// Who sees a check's result on a grading platform: the student at once, or only after the due date (a test that
// would give the solution away). The instructor always sees everything.
enum class Visibility { kVisible, kAfterDueDate };
inline const char* visibility_name(Visibility v) { return v == Visibility::kAfterDueDate ? "after-due-date" : "visible"; }
inline std::optional<Visibility> parse_visibility(const std::string& text) {
  for (Visibility v : {Visibility::kVisible, Visibility::kAfterDueDate}) {
    if (text == visibility_name(v)) return v;
  }
  return std::nullopt;
}

// --- common parts ------------------------------------------------------------------------------------------

struct StepBase {
  int line = 0;  // in the XML file, for messages
};

// What every check has besides its own condition.
struct CheckInfo {
  std::string name;
  int points = 0;
  std::string hint;       // shown when it fails
  bool fatal = false;     // stop the experiment when it fails
  Millis timeout{2000};   // how long to wait for it to hold
  Visibility visibility = Visibility::kVisible;  // its own visibility="...", else its experiment's
};

struct CheckBase : StepBase {
  CheckInfo check;
};

// --- actions -----------------------------------------------------------------------------------------------

struct StartStep : StepBase {
  static constexpr const char* kElement = "start";
  std::string id;
  std::string program;
  std::vector<Template> args;
  std::vector<std::pair<std::string, Template>> env;
  bool stdout_pty = true;
  Template working_dir;      // empty: socklab's own
  Template ready_listen;     // a TCP LISTEN socket on this port owned by the process
  Template ready_bound;      // a UDP socket bound to this port owned by the process
  std::string ready_output;  // a stdout line matching this regex
  Millis timeout{5000};      // for readiness
};

struct SendStep : StepBase {
  static constexpr const char* kElement = "send";
  std::string to;
  Template text;
  std::size_t repeat = 1;
  bool newline = true;
};

struct CloseStdinStep : StepBase {
  static constexpr const char* kElement = "close-stdin";
  std::string process;
};

struct SignalStep : StepBase {
  static constexpr const char* kElement = "signal";
  std::string process;
  int signal = 0;
};

struct WaitStep : StepBase {
  static constexpr const char* kElement = "wait";
  Millis duration{0};
  std::string title;
};

struct SnapshotStep : StepBase {
  static constexpr const char* kElement = "snapshot";
  std::string title;
};

struct TcpConnectStep : StepBase {
  static constexpr const char* kElement = "tcp-connect";
  std::string conn;     // its id
  Template port;        // destination port
  Template from_port;   // bind this local port first (empty: any)
  bool reuseaddr = false;
  int count = 1;        // how many connections
  bool read = true;     // false: never reads, so its Recv-Q and the peer's Send-Q fill up
};

// The harness plays a TCP server: listens on 127.0.0.1:port and accepts the program's connection(s), which the
// tcp-* actions and expect-tcp-* checks then use by this id, like a tcp-connect's.
struct TcpListenStep : StepBase {
  static constexpr const char* kElement = "tcp-listen";
  std::string conn;       // its id, for the connections it accepts
  Template port;
  int count = 1;          // how many connections it accepts (later ones wait in its listen queue)
  Millis timeout{5000};   // a step on its connections waits this long for them to be accepted
};

struct TcpSendStep : StepBase {
  static constexpr const char* kElement = "tcp-send";
  std::string conn;
  Template text;
  std::size_t repeat = 1;
  bool newline = true;
};

// shutdown(SHUT_WR) once everything sent before has gone out: the peer reads EOF, this side still reads.
struct TcpShutdownStep : StepBase {
  static constexpr const char* kElement = "tcp-shutdown";
  std::string conn;
};

struct TcpCloseStep : StepBase {
  static constexpr const char* kElement = "tcp-close";
  std::string conn;
  bool reset = false;  // RST instead of FIN
};

struct UdpSendStep : StepBase {
  static constexpr const char* kElement = "udp-send";
  std::string socket;  // created on first use
  Template port;       // destination port
  Template text;
  std::size_t repeat = 1;
  bool newline = false;
};

// The experiment's loopback as a lossy, slow link, from now on (each <link> replaces the one before; <link/> with no
// attribute makes it clean again). Only inside the experiment's own network namespace: run/link.h says how.
struct LinkStep : StepBase {
  static constexpr const char* kElement = "link";
  std::optional<int> loss;             // in hundredths of a percent: 10% is 1000 (0 < loss <= 10000)
  std::optional<Millis> delay;         // one way, every packet (netem only)
  std::optional<std::uint64_t> rate;   // bits per second
};

// --- checks ------------------------------------------------------------------------------------------------

struct ExpectOutputStep : CheckBase {
  static constexpr const char* kElement = "expect-output";
  std::vector<std::string> processes;  // every one of these must print it (process="c1 c2 c3")
  Stream stream = Stream::kStdout;
  TextMatch expected;
};

struct ExpectNoOutputStep : CheckBase {
  static constexpr const char* kElement = "expect-no-output";
  std::string process;
  Stream stream = Stream::kStdout;
  Millis duration{0};                 // for=: how long to watch (it replaces the check's timeout)
  std::optional<TextMatch> only;      // with line= / regex= / contains=: only matching lines count
};

struct ExpectExitStep : CheckBase {
  static constexpr const char* kElement = "expect-exit";
  enum class Want { kCode, kNonzeroCode, kSignal };
  std::vector<std::string> processes;  // every one of these
  Want want = Want::kCode;
  int value = 0;                       // the exit code (kCode) or the signal (kSignal)
};

struct ExpectRunningStep : CheckBase {
  static constexpr const char* kElement = "expect-running";
  std::string process;
};

// recv-q="..." / send-q="...": a queue size as ss shows it, compared with a number ("0", ">0", ">=4096", "<10").
struct QueueSize {
  enum class Compare { kEqual, kAbove, kAtLeast, kBelow, kAtMost };
  Compare compare = Compare::kEqual;
  std::uint32_t value = 0;

  bool holds(std::uint32_t size) const;
  std::string text() const;  // "0", "above 0", "at least 4096", "below 10", "at most 3"
};
std::optional<QueueSize> parse_queue_size(const std::string& text);

struct ExpectSocketStep : CheckBase {
  static constexpr const char* kElement = "expect-socket";
  Proto proto = Proto::kTcp;
  std::vector<std::string> states;  // any of these; empty: any state
  Template local_port, peer_port;   // empty: any
  std::string owner;                // process id: owned by it or by one of its descendants
  std::optional<QueueSize> recv_q, send_q;
  std::optional<int> count, min_count, max_count;
  bool distinct_owners = false;     // the matching sockets are held by as many different processes
  std::optional<std::uint32_t> min_retrans;  // TCP: at least this many segments retransmitted (tcp_info)
};

// How many lines matching it a process prints: counted from the last line an earlier check looked at, until its
// stdout ends or `duration` has passed (sooner, when only min= is given and reached).
struct ExpectOutputCountStep : CheckBase {
  static constexpr const char* kElement = "expect-output-count";
  std::string process;
  Stream stream = Stream::kStdout;
  TextMatch expected;                 // repeat is always 1
  std::size_t min = 0;
  std::optional<std::size_t> max;    // count= sets both
  Millis duration{0};                 // for=: how long to count (it replaces the check's timeout)
};

struct ExpectFdCountStep : CheckBase {
  static constexpr const char* kElement = "expect-fd-count";
  std::string process;
  int change = 0;  // compared with the count recorded when the process became ready
};

struct ExpectNoZombiesStep : CheckBase {
  static constexpr const char* kElement = "expect-no-zombies";
  std::string process;
};

struct ExpectTcpLineStep : CheckBase {
  static constexpr const char* kElement = "expect-tcp-line";
  std::string conn;
  TextMatch expected;
};

struct ExpectTcpEofStep : CheckBase {
  static constexpr const char* kElement = "expect-tcp-eof";
  std::string conn;
};

struct ExpectDatagramStep : CheckBase {
  static constexpr const char* kElement = "expect-datagram";
  std::string socket;
  TextMatch expected;  // repeat is always 1
};

// A number read from a program's output, for the report's tables and charts (a benchmark's throughput, a round
// trip): it passes when the number is there. It earns no points — the machine, not the student, sets a speed;
// grade behaviour with the other checks. With one group in its regex it takes the first matching line (a value,
// at `x` on its chart's axis); with two, every matching line until the program ends (x, then the value: a series).
struct MeasureStep : CheckBase {
  static constexpr const char* kElement = "measure";
  std::string process;
  Stream stream = Stream::kStdout;
  std::string regex;           // its groups are numbers
  std::string unit;            // of the value; on a chart: the chart's
  std::string chart;           // a <chart> id of the experiment, or empty
  std::string series;          // its line on that chart
  std::optional<double> x;     // one-group regex on a chart: where it sits on the x axis
};

// --- steps -------------------------------------------------------------------------------------------------

using Action = std::variant<StartStep, SendStep, CloseStdinStep, SignalStep, WaitStep, SnapshotStep, TcpConnectStep,
                            TcpListenStep, TcpSendStep, TcpShutdownStep, TcpCloseStep, UdpSendStep, LinkStep>;
using Check = std::variant<ExpectOutputStep, ExpectNoOutputStep, ExpectExitStep, ExpectRunningStep, ExpectSocketStep,
                           ExpectFdCountStep, ExpectNoZombiesStep, ExpectTcpLineStep, ExpectTcpEofStep,
                           ExpectDatagramStep, MeasureStep, ExpectOutputCountStep>;
using Step = std::variant<Action, Check>;

// Every check carries a CheckInfo, no action does: the variant a struct is in and its base must agree.
template <class... S>
constexpr bool all_checks(std::variant<S...>*) { return (std::is_base_of_v<CheckBase, S> && ...); }
template <class... S>
constexpr bool no_checks(std::variant<S...>*) { return (!std::is_base_of_v<CheckBase, S> && ...); }
static_assert(all_checks(static_cast<Check*>(nullptr)), "every Check alternative derives from CheckBase");
static_assert(no_checks(static_cast<Action*>(nullptr)), "no Action alternative derives from CheckBase");

inline bool is_check(const Step& step) { return std::holds_alternative<Check>(step); }
const StepBase& step_base(const Step& step);
const CheckInfo& check_info(const Check& check);
const char* step_element(const Step& step);  // its XML element name

// The step as the given kind, or nullptr: `if (auto* s = step_as<SendStep>(step)) ...`.
template <class S>
const S* step_as(const Step& step) {
  using Group = std::conditional_t<std::is_base_of_v<CheckBase, S>, Check, Action>;
  const Group* group = std::get_if<Group>(&step);
  return group ? std::get_if<S>(group) : nullptr;
}

// A chart of an experiment's measurements (<chart>): x against y, one line per series. With a baseline series, the
// report gives every other series' value as a ratio to the baseline's at the same x (a student's server against
// the reference design, under the same load on the same machine).
struct ChartSpec {
  int line = 0;
  std::string id, title;
  std::string x_label, y_label;  // axis titles with their units: "clients", "messages/s"
  bool x_log = false;            // x-scale="log": 1, 4, 16, 64 evenly spaced
  std::string baseline;          // a series name, or empty
  bool operator==(const ChartSpec&) const = default;
};

struct Experiment {
  std::string file;   // path as given
  std::string id;
  std::string title;
  std::string about;  // what to observe, shown before it runs
  std::string lab;    // "1".."5" (from the lab attribute)
  bool graded = true; // false: observation only, never run against submissions, no points
  Isolation isolation = Isolation::kAuto;
  Visibility visibility = Visibility::kVisible;  // of its checks that do not say
  std::vector<std::pair<std::string, std::string>> sysctls;  // applied in the experiment's namespace
  Millis timeout{30000};  // the whole experiment
  std::vector<ChartSpec> charts;
  std::vector<Step> steps;

  int max_points() const;
};

// Calls `visit` for every text of the step that may hold placeholders (so ports can be allocated before anything
// starts).
void for_each_template(const Step& step, const std::function<void(const Template&)>& visit);

// For std::visit with one lambda per kind: std::visit(Overloaded{[](const SendStep&) {...}, ...}, action).
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

}  // namespace socklab::harness
