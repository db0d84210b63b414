// The checks of an experiment, one function per kind. Each waits — on events, or by polling kernel state — until
// its condition holds or its deadline passes, and on failure says what was expected, what was seen instead, and
// the output or socket table that shows why.
#include <string.h>  // sigabbrev_np

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <set>
#include <regex>

#include "model/numbers.h"
#include "run/experiment_run.h"

namespace socklab::harness {
namespace {

void fail(CheckResult& c, std::string expected, std::string actual, std::string detail = "") {
  c.status = CheckResult::Status::kFailed;
  c.expected = std::move(expected);
  c.actual = std::move(actual);
  c.detail = std::move(detail);
}

// A line=/regex=/contains= test, the regular expression compiled once (not for every line it is tried on: a
// program's output can be a million lines).
class LineMatcher {
 public:
  LineMatcher(Match match, std::string expected) : match_(match), expected_(std::move(expected)) {
    if (match_ == Match::kRegex) regex_.emplace(expected_);
  }
  bool operator()(const std::string& candidate) const {
    switch (match_) {
      case Match::kExact: return candidate == expected_;
      case Match::kContains: return candidate.find(expected_) != std::string::npos;
      case Match::kRegex: return std::regex_search(candidate, *regex_);
    }
    return false;
  }

 private:
  Match match_;
  std::string expected_;
  std::optional<std::regex> regex_;
};

std::string describe_match(Match match, const std::string& expected, const char* noun) {
  switch (match) {
    case Match::kExact: return std::string("a ") + noun + " " + quoted(expected);
    case Match::kContains: return std::string("a ") + noun + " containing " + quoted(expected);
    case Match::kRegex: return std::string("a ") + noun + " matching /" + expected + "/";
  }
  return "";
}

std::string seen_lines(const std::vector<std::string>& lines, std::size_t from) {
  if (from >= lines.size()) return "no new line";
  std::string out;
  std::size_t shown = 0;
  for (std::size_t i = from; i < lines.size() && shown < 5; ++i, ++shown) out += (out.empty() ? "" : ", ") + quoted(lines[i]);
  if (lines.size() - from > shown) out += ", … (" + std::to_string(lines.size() - from) + " lines)";
  return out;
}

// From `cursor` on, the first line that matches: the cursor moves past it. Lines between `cursor` and `scanned` were
// already found not to match: a wait asks again at every event, and without this every unread line would be tried
// again each time (quadratic in a busy program's output).
bool take_match(const std::vector<std::string>& lines, std::size_t& cursor, std::size_t& scanned, const LineMatcher& matches) {
  for (std::size_t i = std::max(cursor, scanned); i < lines.size(); ++i) {
    if (matches(lines[i])) {
      cursor = i + 1;
      scanned = cursor;
      return true;
    }
  }
  scanned = lines.size();
  return false;
}

// The count= / min= / max= and distinct-owners= of an expect-socket, for the sockets that match its filter.
bool socket_count_holds(const ExpectSocketStep& step, const std::vector<SocketInfo>& matching) {
  int n = static_cast<int>(matching.size());
  if (step.count && n != *step.count) return false;
  if (step.min_count && n < *step.min_count) return false;
  if (step.max_count && n > *step.max_count) return false;
  if (!step.distinct_owners) return true;
  std::set<int> pids;
  for (const SocketInfo& s : matching) {
    if (s.owners.size() != 1) return false;  // each held by exactly one process...
    pids.insert(s.owners.front().pid);
  }
  return pids.size() == matching.size();  // ...and no two by the same one
}

// "exactly 1 tcp socket in TIME-WAIT, peer port 40001", for a failed expect-socket.
std::string describe_sockets(const ExpectSocketStep& step, const std::string& local, const std::string& peer) {
  std::string what = std::string(proto_name(step.proto)) + " socket";
  if (!step.states.empty()) {
    what += " in ";
    for (std::size_t i = 0; i < step.states.size(); ++i) what += (i ? " or " : "") + step.states[i];
  }
  if (!local.empty()) what += ", local port " + local;
  if (!peer.empty()) what += ", peer port " + peer;
  if (step.recv_q) what += ", Recv-Q " + step.recv_q->text();
  if (step.send_q) what += ", Send-Q " + step.send_q->text();
  if (!step.owner.empty()) what += ", owned by " + step.owner + " (or its children)";
  if (step.min_retrans) what += ", at least " + std::to_string(*step.min_retrans) + " segment(s) retransmitted";
  if (step.distinct_owners) what += ", each held by a different process";
  std::string how_many = step.count ? (*step.count == 0 ? "no " : "exactly " + std::to_string(*step.count) + " ")
                         : step.min_count && step.max_count ? "between " + std::to_string(*step.min_count) + " and " + std::to_string(*step.max_count) + " "
                         : step.min_count ? "at least " + std::to_string(*step.min_count) + " "
                                          : "at most " + std::to_string(*step.max_count) + " ";
  return how_many + what;
}

}  // namespace

void ExperimentRun::evaluate_check(const Check& check, CheckResult& c) {
  check_limits();
  c.status = CheckResult::Status::kPassed;
  std::visit([&](const auto& step) { evaluate(step, c); }, check);  // one evaluate() per kind: a missing one does not compile
}

// --- program output ----------------------------------------------------------------------------------------

// A matching line after the last one an earlier check looked at, on every listed process.
void ExperimentRun::evaluate(const ExpectOutputStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.check.timeout);
  std::string expected = repeated(placeholders_.fill(step.expected.text), step.expected.repeat);
  bool err = step.stream == Stream::kStderr;
  for (const std::string& id : step.processes) {
    ProcState& p = proc(id);
    const OutputStream& stream = err ? p.process->err() : p.process->out();
    std::size_t& cursor = err ? p.cursor_err : p.cursor_out;
    std::size_t from = cursor;
    LineMatcher matches(step.expected.match, expected);
    std::size_t scanned = cursor;
    bool found = wait_event([&] { return take_match(stream.lines, cursor, scanned, matches) || stream.closed; },
                            deadline) && cursor > from;
    if (!found) {
      fail(c, describe_match(step.expected.match, expected, "line") + " on " + id + "'s " + stream_name(step.stream) +
                  " within " + seconds(scaled(step.check.timeout)),
           seen_lines(stream.lines, from) + exit_note(p), output_detail(p));
      cursor = stream.lines.size();  // those lines were looked at: the next check starts after them
      return;
    }
  }
}

// Nothing unread may be there now, nor arrive during the whole duration: a line that came before the check started
// counts as much as one that comes during it. With line=/regex=/contains=, only lines matching that count.
void ExperimentRun::evaluate(const ExpectNoOutputStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.duration);
  ProcState& p = proc(step.process);
  bool err = step.stream == Stream::kStderr;
  const OutputStream& stream = err ? p.process->err() : p.process->out();
  std::size_t cursor = err ? p.cursor_err : p.cursor_out;
  std::string unwanted = step.only ? placeholders_.fill(step.only->text) : "";
  std::optional<LineMatcher> only;
  if (step.only) only.emplace(step.only->match, unwanted);
  std::size_t scanned = cursor;  // lines before this were tried already (see take_match)
  auto offending = [&]() -> std::optional<std::string> {
    for (std::size_t i = scanned; i < stream.lines.size(); ++i) {
      if (!only || (*only)(stream.lines[i])) return stream.lines[i];
    }
    scanned = stream.lines.size();
    if (!step.only && !stream.partial.empty()) return stream.partial;
    return std::nullopt;
  };
  wait_event([&] { return offending().has_value(); }, deadline);
  if (auto line = offending()) {
    std::string what = step.only ? "no " + describe_match(step.only->match, unwanted, "line").substr(2) : "no output";
    fail(c, what + " on " + step.process + "'s " + stream_name(step.stream) + " for " + seconds(scaled(step.duration)),
         quoted(*line), output_detail(p));
  }
}

// The matching lines from the last one an earlier check looked at, counted until the stream ends or for= has passed
// (a count that is final: no line may still come); with only min= it passes as soon as that many came, and a count
// above max= fails at once. It says how many it counted, passed or not.
void ExperimentRun::evaluate(const ExpectOutputCountStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.duration);
  ProcState& p = proc(step.process);
  bool err = step.stream == Stream::kStderr;
  const OutputStream& stream = err ? p.process->err() : p.process->out();
  std::size_t& cursor = err ? p.cursor_err : p.cursor_out;
  std::string expected = placeholders_.fill(step.expected.text);
  LineMatcher matches(step.expected.match, expected);
  std::size_t count = 0;
  auto settled = [&] {  // counts the new lines; true once the verdict cannot change
    for (; cursor < stream.lines.size(); ++cursor) count += matches(stream.lines[cursor]) ? 1 : 0;
    if (step.max) return *step.max < count || stream.closed;
    return count >= step.min || stream.closed;
  };
  wait_event(settled, deadline);
  settled();
  std::string how_many = step.max && *step.max == step.min ? "exactly " + std::to_string(step.min)
                         : step.max ? "between " + std::to_string(step.min) + " and " + std::to_string(*step.max)
                                    : "at least " + std::to_string(step.min);
  c.actual = std::to_string(count) + " such line" + (count == 1 ? "" : "s");
  if (count < step.min || (step.max && count > *step.max)) {
    fail(c, how_many + " lines " + describe_match(step.expected.match, expected, "line").substr(7) + " on " + step.process +
                "'s " + stream_name(step.stream) + " within " + seconds(scaled(step.duration)),
         c.actual + exit_note(p), output_detail(p));
  }
}

// --- process ends ------------------------------------------------------------------------------------------

void ExperimentRun::evaluate(const ExpectExitStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.check.timeout);
  using Want = ExpectExitStep::Want;
  std::string expected = step.want == Want::kSignal      ? std::string("killed by SIG") + sigabbrev_np(step.value)
                         : step.want == Want::kNonzeroCode ? "a non-zero exit code"
                                                           : "exit " + std::to_string(step.value);
  for (const std::string& id : step.processes) {
    ProcState& p = proc(id);
    wait_event([&] { return p.process->exit_status().has_value(); }, deadline);
    auto status = p.process->exit_status();
    std::string what = id + " ends with " + expected + " within " + seconds(scaled(step.check.timeout));
    if (!status) {
      fail(c, what, "still running", output_detail(p));
      return;
    }
    // Exit codes and deaths by signal are told apart: code="1" fails for a death by SIGPIPE.
    bool as_wanted = step.want == Want::kSignal        ? !status->exited && status->signal == step.value
                     : step.want == Want::kNonzeroCode ? status->exited && status->code != 0
                                                       : status->exited && status->code == step.value;
    if (!as_wanted) {
      fail(c, what, status->describe(), output_detail(p));
      return;
    }
  }
}

void ExperimentRun::evaluate(const ExpectRunningStep& step, CheckResult& c) {
  ProcState& p = proc(step.process);
  loop_.poll();
  if (auto status = p.process->exit_status()) {
    fail(c, step.process + " still running", "it has exited (" + status->describe() + ")", output_detail(p));
  }
}

// --- kernel state (polled: it announces nothing) -----------------------------------------------------------

void ExperimentRun::evaluate(const ExpectFdCountStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.check.timeout);
  ProcState& p = proc(step.process);
  int want = p.fd_baseline + step.change;
  int now = -1;
  bool ok = wait_polling([&] { return (now = open_fd_count(p.process->pid())) == want; }, deadline);
  if (!ok) {
    fail(c, step.process + " has " + std::to_string(want) + " open file descriptors (" + std::to_string(p.fd_baseline) +
                " when it became ready, change " + (step.change >= 0 ? "+" : "") + std::to_string(step.change) + ")",
         now < 0 ? "cannot read /proc/" + std::to_string(p.process->pid()) + "/fd" + exit_note(p)
                 : std::to_string(now) + " open file descriptors");
  }
}

void ExperimentRun::evaluate(const ExpectNoZombiesStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.check.timeout);
  ProcState& p = proc(step.process);
  std::vector<int> zombies;
  bool ok = wait_polling([&] { return (zombies = zombie_children(p.process->pid())).empty(); }, deadline);
  if (!ok) {
    std::string list;
    for (int z : zombies) list += (list.empty() ? "" : ", ") + std::to_string(z);
    fail(c, "no zombie (exited but not reaped) children of " + step.process + " within " + seconds(scaled(step.check.timeout)),
         std::to_string(zombies.size()) + " zombie(s): pid " + list);
  }
}

// That many of the experiment's sockets match the filter.
void ExperimentRun::evaluate(const ExpectSocketStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.check.timeout);
  std::string local = placeholders_.fill(step.local_port), peer = placeholders_.fill(step.peer_port);
  std::vector<SocketInfo> seen, matching;
  bool ok = wait_polling([&] {
    seen = capture();
    matching.clear();
    std::copy_if(seen.begin(), seen.end(), std::back_inserter(matching),
                 [&](const SocketInfo& s) { return socket_matches(step, s, local, peer); });
    return socket_count_holds(step, matching);
  }, deadline);
  if (ok) return;
  fail(c, describe_sockets(step, local, peer) + " within " + seconds(scaled(step.check.timeout)),
       std::to_string(matching.size()) + " matching", "the experiment's sockets at the deadline:\n" + format_table(seen));
}

bool ExperimentRun::socket_matches(const ExpectSocketStep& step, const SocketInfo& s, const std::string& local,
                                   const std::string& peer) {
  if (s.protocol_name() != proto_name(step.proto)) return false;
  if (!step.states.empty() && std::find(step.states.begin(), step.states.end(), s.state) == step.states.end()) return false;
  if (!local.empty() && std::to_string(s.local_port) != local) return false;
  if (!peer.empty() && std::to_string(s.peer_port) != peer) return false;
  if (step.recv_q && !step.recv_q->holds(s.recv_q)) return false;
  if (step.send_q && !step.send_q->holds(s.send_q)) return false;
  if (step.min_retrans && s.retrans < *step.min_retrans) return false;
  return step.owner.empty() || owned_by(s, step.owner);
}

// --- the harness's raw sockets -----------------------------------------------------------------------------

// Every connection of step.conn received such a line.
void ExperimentRun::evaluate(const ExpectTcpLineStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.check.timeout);
  std::string expected = repeated(placeholders_.fill(step.expected.text), step.expected.repeat);
  LineMatcher matches(step.expected.match, expected);
  for (auto& conn : connections(step.conn, deadline)) {
    RawTcp* r = conn.get();
    std::size_t from = r->cursor, scanned = r->cursor;
    bool found = wait_event([&] {
      return take_match(r->lines, r->cursor, scanned, matches) || r->eof || !r->error.empty();
    }, deadline) && r->cursor > from;
    if (!found) {
      fail(c, describe_match(step.expected.match, expected, "line") + " on connection " + step.conn + " within " +
                  seconds(scaled(step.check.timeout)),
           seen_lines(r->lines, from) + (r->partial.empty() ? "" : "; then " + quoted(r->partial) + " without \\n") +
               (r->eof ? "; the peer closed the connection" : "") + (r->error.empty() ? "" : "; " + r->error));
      return;
    }
  }
}

void ExperimentRun::evaluate(const ExpectTcpEofStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.check.timeout);
  for (auto& conn : connections(step.conn, deadline)) {
    RawTcp* r = conn.get();
    if (!wait_event([&] { return r->eof || !r->error.empty(); }, deadline) || !r->error.empty()) {
      fail(c, "the peer closes connection " + step.conn + " (EOF) within " + seconds(scaled(step.check.timeout)),
           r->error.empty() ? "no EOF" : r->error);
      return;
    }
  }
}

void ExperimentRun::evaluate(const ExpectDatagramStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.check.timeout);
  RawUdp& u = udp_socket(step.socket);
  std::string expected = placeholders_.fill(step.expected.text);
  std::size_t from = u.cursor;
  LineMatcher matches(step.expected.match, expected);
  std::size_t scanned = u.cursor;
  bool found = wait_event([&] { return take_match(u.datagrams, u.cursor, scanned, matches); }, deadline);
  if (!found) {
    fail(c, describe_match(step.expected.match, expected, "datagram") + " to socket " + step.socket + " within " +
                seconds(scaled(step.check.timeout)),
         seen_lines(u.datagrams, from));
  }
}

// --- measurements ------------------------------------------------------------------------------------------

namespace {

// A regex group as a number ("84.1", "1e6"), or nothing.
std::optional<double> number_in(const std::ssub_match& group) {
  std::string text = group.str();
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

// One group: the first matching line after the last one read, its number at the measure's x. Two groups: every
// matching line from there until the program ends, as (x, value) — a series such as a rate per second.
void ExperimentRun::evaluate(const MeasureStep& step, CheckResult& c) {
  auto deadline = deadline_after(step.check.timeout);
  ProcState& p = proc(step.process);
  bool err = step.stream == Stream::kStderr;
  const OutputStream& stream = err ? p.process->err() : p.process->out();
  std::size_t& cursor = err ? p.cursor_err : p.cursor_out;
  std::size_t from = cursor;
  const std::regex pattern(step.regex);
  MeasurementRecord m;
  m.name = step.check.name;
  m.line = step.line;
  m.unit = step.unit;
  m.chart = step.chart;
  m.series = step.series;
  m.single = pattern.mark_count() == 1;
  auto read_line = [&](const std::string& line) -> std::optional<MeasurementRecord::Point> {
    std::smatch found;
    if (!std::regex_search(line, found, pattern)) return std::nullopt;
    if (m.single) {
      std::optional<double> y = number_in(found[1]);
      if (y) return MeasurementRecord::Point{step.x.value_or(0), *y};
      return std::nullopt;
    }
    std::optional<double> x = number_in(found[1]), y = number_in(found[2]);
    if (x && y) return MeasurementRecord::Point{*x, *y};
    return std::nullopt;
  };
  std::string where = " on " + step.process + "'s " + stream_name(step.stream);
  if (m.single) {
    std::size_t scanned = cursor;
    wait_event([&] {
      for (std::size_t i = std::max(cursor, scanned); i < stream.lines.size(); ++i) {
        if (auto point = read_line(stream.lines[i])) {
          m.points.push_back(*point);
          cursor = i + 1;
          return true;
        }
      }
      scanned = stream.lines.size();
      return stream.closed;
    }, deadline);
    if (m.points.empty()) {
      fail(c, "a line matching /" + step.regex + "/ with a number" + where + " within " + seconds(scaled(step.check.timeout)),
           seen_lines(stream.lines, from) + exit_note(p), output_detail(p));
      cursor = stream.lines.size();
      return;
    }
  } else {
    bool ended = wait_event([&] { return stream.closed; }, deadline);
    for (std::size_t i = cursor; i < stream.lines.size(); ++i) {
      if (auto point = read_line(stream.lines[i])) m.points.push_back(*point);
    }
    cursor = stream.lines.size();
    if (!ended || m.points.empty()) {
      fail(c, "lines matching /" + step.regex + "/ with two numbers" + where + ", until " + step.process + " ends, within " +
                  seconds(scaled(step.check.timeout)),
           (ended ? "" : step.process + " still running; ") + std::to_string(m.points.size()) + " matching lines: " +
               seen_lines(stream.lines, from) + exit_note(p),
           output_detail(p));
      return;
    }
  }
  m.at = elapsed();
  c.actual = m.value_text();
  result_.measurements.push_back(std::move(m));
}

}  // namespace socklab::harness
