// The experiment model: what an XML file in experiments/ describes, already validated.
//
// An experiment is a list of steps run in order. Actions (start a program, type a line, send a signal, open a
// raw socket, ...) make things happen; checks (expect-*) wait, with a deadline, for something to be true and
// earn points when it is. See docs/experiments.md for the vocabulary.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace socklab::harness {

using Millis = std::chrono::milliseconds;

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

enum class StepKind {
  // actions
  kStart, kSend, kCloseStdin, kSignal, kWait, kSnapshot, kTcpConnect, kTcpSend, kTcpClose, kUdpSend,
  // checks
  kExpectOutput, kExpectNoOutput, kExpectExit, kExpectRunning, kExpectSocket, kExpectFdCount,
  kExpectNoZombies, kExpectTcpLine, kExpectTcpEof, kExpectDatagram,
};

bool is_check(StepKind kind);
const char* step_element(StepKind kind);  // its XML element name

// Text with placeholders still in it ("{port}", "{pid:server}"), filled in when the step runs.
using Template = std::string;

struct Step {
  StepKind kind{};
  int line = 0;  // in the XML file, for messages

  // check: name, points, hint (shown when it fails), fatal (stop the experiment when it fails)
  std::string check_name;
  int points = 0;
  std::string hint;
  bool fatal = false;

  std::string process;  // the process an action or check is about (its id)
  std::vector<std::string> processes;  // expect-output / expect-exit: every one of these (process="c1 c2 c3")
  Template text;        // send / tcp-send / udp-send / expect-output line, with escapes already decoded
  std::size_t repeat = 1;
  bool newline = true;  // send: append '\n'
  Millis timeout{0};    // checks and readiness: how long to wait; wait/expect-no-output: how long to watch

  // start
  std::string program;
  std::vector<Template> args;
  std::vector<std::pair<std::string, Template>> env;
  bool stdout_pty = true;
  Template working_dir;  // empty: socklab's own
  Template ready_listen;  // a TCP LISTEN socket on this port owned by the process
  Template ready_bound;   // a UDP socket bound to this port owned by the process
  std::string ready_output;  // a stdout line matching this regex

  // send-signal
  int signal = 0;

  // expect-output / expect-datagram / expect-tcp-line
  std::string stream = "stdout";
  enum class Match { kExact, kRegex, kContains } match = Match::kExact;
  bool only_matching = false;  // expect-no-output: only lines matching text count

  // expect-exit: an exit code or a signal
  std::optional<int> exit_code;
  std::optional<int> exit_signal;
  bool any_exit_code_but_zero = false;  // code="nonzero"

  // expect-socket (filter + count)
  std::string protocol = "tcp";
  std::vector<std::string> states;  // any of these; empty: any state
  Template local_port, peer_port;
  std::string owner;                // process id: owned by it or by a process of its group
  std::optional<std::uint32_t> recv_q, send_q;
  std::optional<int> count, min_count, max_count;
  bool distinct_owners = false;     // the matching sockets are held by as many different processes

  // expect-fd-count: compared with the count recorded when the process became ready
  std::optional<int> fd_change;

  // raw actors
  std::string conn;     // tcp-connect id / tcp-send, tcp-close, expect-tcp-* target; udp socket id
  Template port;        // destination port
  Template from_port;   // tcp-connect: bind this local port first
  bool reuseaddr = false;
  int conn_count = 1;   // tcp-connect: how many connections
  bool reset = false;   // tcp-close: RST instead of FIN

  // wait / snapshot
  std::string title;
};

struct Experiment {
  std::string file;   // path as given
  std::string id;
  std::string title;
  std::string about;  // what to observe, shown before it runs
  std::string lab;    // "1".."5" (from the lab attribute)
  bool graded = true; // false: observation only, never run against submissions, no points
  Isolation isolation = Isolation::kAuto;
  std::vector<std::pair<std::string, std::string>> sysctls;  // applied in the experiment's namespace
  Millis timeout{30000};  // the whole experiment
  std::vector<Step> steps;

  int max_points() const;
};

}  // namespace socklab::harness
