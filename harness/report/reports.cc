#include "report/reports.h"

#include "model/durations.h"
#include "report/charts.h"
#include "report/events.h"

#include <iomanip>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace socklab::harness {
namespace {

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) out += prefix + terminal_safe(line) + "\n";
  return out;
}

std::string fixed(double seconds) { return seconds_text(seconds, 2); }

class TextReporter : public Reporter {
 public:
  TextReporter(std::ostream& out, bool colour, bool verbose, bool timeline)
      : out_(out), colour_(colour), verbose_(verbose), timeline_(timeline) {}

  void begin(const Experiment& e, const ExperimentResult&) override {
    file_ = e.file;
    steps_.clear();
    out_ << "\n" << paint("1", "━━ " + e.title) << paint("2", "  (" + e.file + ")") << "\n";
    if (!e.about.empty()) out_ << indent(e.about, "   ");
    if (!e.graded) out_ << paint("2", "   observation only: no points") << "\n";
  }

  void step(const StepRecord& s) override {
    steps_.push_back(s);
    if (!s.ok) {
      out_ << "   " << paint("33", "! " + terminal_safe(s.text)) << "\n";
    } else if (verbose_) {
      out_ << paint("2", "   ▸ " + terminal_safe(s.text) + "  [" + fixed(s.at) + "]") << "\n";
    }
    out_.flush();
  }

  void check(const CheckResult& c) override {
    std::string points = c.max_points > 0 ? " (" + std::to_string(c.points) + "/" + std::to_string(c.max_points) + ")" : "";
    if (c.status == CheckResult::Status::kPassed) {
      // (a check that counts says what it counted even when it passed: "171 such lines")
      out_ << "   " << paint("32", "✔ " + c.name) << points << (c.actual.empty() ? "" : paint("2", "  " + terminal_safe(c.actual))) << "\n";
    } else if (c.status == CheckResult::Status::kNotRun) {
      out_ << "   " << paint("33", "– " + c.name) << points << paint("2", "  " + terminal_safe(c.actual.substr(0, c.actual.find('\n')))) << "\n";
    } else {
      out_ << "   " << paint("31", "✘ " + c.name) << points << paint("2", "  " + file_ + ":" + std::to_string(c.line)) << "\n";
      out_ << "      expected: " << terminal_safe(c.expected) << "\n";
      out_ << "      but was:  " << terminal_safe(c.actual) << "\n";
      if (!c.hint.empty()) out_ << "      " << paint("36", "hint: " + c.hint) << "\n";
      if (!c.detail.empty()) out_ << indent(c.detail, "      │ ");
      if (!verbose_ && !steps_.empty()) {  // what led there, as CS144's tests list the steps before a failure
        out_ << "      after these steps:\n";
        std::size_t first = steps_.size() > 6 ? steps_.size() - 6 : 0;
        if (first > 0) out_ << "        …\n";
        for (std::size_t i = first; i < steps_.size(); ++i) {
          out_ << "        " << file_ << ":" << steps_[i].line << "  " << terminal_safe(steps_[i].text) << "  [" << fixed(steps_[i].at) << "]\n";
        }
      }
    }
    out_.flush();
  }

  void snapshot(const SnapshotRecord& s) override {
    out_ << "   " << paint("1", "┌ " + s.title) << paint("2", "  [" + fixed(s.at) + "]") << "\n";
    if (s.sockets.empty()) {
      out_ << "   │ (no sockets)\n";
    } else {
      out_ << indent(format_table(s.sockets), "   │ ");
    }
    out_ << "   └\n";
    out_.flush();
  }

  void end(const ExperimentResult& r) override {
    if (!r.error.empty()) {
      std::string first = r.error.substr(0, r.error.find('\n'));
      out_ << "   " << paint("31", "stopped: " + terminal_safe(first)) << "\n";
      if (first.size() < r.error.size()) out_ << indent(r.error.substr(first.size() + 1), "      │ ");
    }
    for (const std::string& note : r.notes) out_ << paint("2", "   note: " + note) << "\n";
    if (!r.measurements.empty()) out_ << indent(measurements_text(r), "   ");
    if (timeline_ && !r.timeline.lanes.empty()) {
      out_ << indent(render_event_timeline(r), "   ");
    }
    if (timeline_ && !r.packets.empty()) {
      out_ << "   packets on the wire (" << r.packets.size() << " TCP segments on lo"
           << (r.pcap.empty() ? "" : "; pcap for Wireshark: " + r.pcap) << "):\n";
      out_ << indent(render_ladder(r.packets, std::set<std::uint16_t>(r.listening_ports.begin(), r.listening_ports.end())), "   ");
    }
    std::string score = r.max_points() > 0 ? std::to_string(r.points()) + "/" + std::to_string(r.max_points()) + " points, " : "";
    out_ << paint("2", "   " + score + fixed(r.duration) + ", " + isolation_name(r.isolation) + ", sockets via " + r.capture) << "\n";
    out_.flush();
  }

  void finish(const std::vector<ExperimentResult>& all) override {
    int passed = 0, failed = 0, not_run = 0, points = 0, max_points = 0, experiments_ok = 0;
    for (const ExperimentResult& r : all) {
      for (const CheckResult& c : r.checks) {
        passed += c.status == CheckResult::Status::kPassed;
        failed += c.status == CheckResult::Status::kFailed;
        not_run += c.status == CheckResult::Status::kNotRun;
      }
      points += r.points();
      max_points += r.max_points();
      experiments_ok += r.passed();
    }
    std::ostringstream line;
    line << all.size() << " experiment" << (all.size() == 1 ? "" : "s") << ", " << experiments_ok << " passed; checks: "
         << passed << " passed, " << failed << " failed";
    if (not_run) line << ", " << not_run << " not run";
    if (max_points) line << "; points: " << points << "/" << max_points;
    out_ << "\n" << paint(failed + not_run == 0 ? "1;32" : "1;31", line.str()) << "\n";
  }

 private:
  std::string paint(const char* code, const std::string& text) const {
    return colour_ ? "\033[" + std::string(code) + "m" + text + "\033[0m" : text;
  }
  std::ostream& out_;
  bool colour_, verbose_, timeline_;
  std::string file_;
  std::vector<StepRecord> steps_;
};

nlohmann::json socket_json(const SocketInfo& s) {
  nlohmann::json owners = nlohmann::json::array();
  for (const SocketOwner& o : s.owners) owners.push_back({{"pid", o.pid}, {"command", o.command}, {"fd", o.fd}});
  return {{"proto", s.protocol_name()}, {"state", s.state}, {"recv_q", s.recv_q}, {"send_q", s.send_q},
          {"local", s.local()}, {"peer", s.peer()}, {"local_port", s.local_port}, {"peer_port", s.peer_port},
          {"inode", s.inode}, {"timer", s.timer}, {"timer_ms", s.timer_ms}, {"retrans", s.retrans}, {"owners", owners}};
}

class JsonReporter : public Reporter {
 public:
  explicit JsonReporter(std::ostream& out) : out_(out) {}
  void finish(const std::vector<ExperimentResult>& all) override {
    nlohmann::json j{{"tool", "socklab"}, {"experiments", nlohmann::json::array()}};
    int points = 0, max_points = 0;
    for (const ExperimentResult& r : all) {
      j["experiments"].push_back(experiment_json(r));
      points += r.points();
      max_points += r.max_points();
    }
    j["points"] = points;
    j["max_points"] = max_points;
    // Invalid UTF-8 from a program's output is replaced, never a crash.
    out_ << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }

 private:
  std::ostream& out_;
};

class JunitReporter : public Reporter {
 public:
  explicit JunitReporter(std::ostream& out) : out_(out) {}
  void finish(const std::vector<ExperimentResult>& all) override {
    out_ << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"socklab\">\n";
    for (const ExperimentResult& r : all) {
      int failures = 0, skipped = 0;
      for (const CheckResult& c : r.checks) {
        failures += c.status == CheckResult::Status::kFailed;
        skipped += c.status == CheckResult::Status::kNotRun;
      }
      out_ << "  <testsuite name=\"" << xml_escape(r.id) << "\" tests=\"" << r.checks.size() << "\" failures=\""
           << failures << "\" errors=\"" << skipped << "\" time=\"" << r.duration << "\">\n";
      for (const CheckResult& c : r.checks) {
        out_ << "    <testcase classname=\"" << xml_escape(r.id) << "\" name=\"" << xml_escape(c.name) << "\">\n";
        if (c.status == CheckResult::Status::kFailed) {
          out_ << "      <failure message=\"" << xml_escape("expected " + c.expected + ", but was " + c.actual) << "\">"
               << xml_escape((c.hint.empty() ? "" : "hint: " + c.hint + "\n") + c.detail) << "</failure>\n";
        } else if (c.status == CheckResult::Status::kNotRun) {
          out_ << "      <error message=\"" << xml_escape(c.actual) << "\"/>\n";
        }
        out_ << "    </testcase>\n";
      }
      out_ << "  </testsuite>\n";
    }
    out_ << "</testsuites>\n";
  }

 private:
  std::ostream& out_;
};

}  // namespace

nlohmann::json experiment_json(const ExperimentResult& r) {
  nlohmann::json j{{"file", r.file}, {"id", r.id}, {"title", r.title}, {"lab", r.lab}, {"graded", r.graded},
                   {"isolation", isolation_name(r.isolation)}, {"capture", r.capture}, {"notes", r.notes}, {"duration_s", r.duration},
                   {"points", r.points()}, {"max_points", r.max_points()}, {"passed", r.passed()},
                   {"error", r.error}, {"interrupted", r.interrupted}};
  j["steps"] = nlohmann::json::array();
  for (const StepRecord& s : r.steps) j["steps"].push_back({{"at_s", s.at}, {"line", s.line}, {"text", s.text}, {"ok", s.ok}});
  j["checks"] = nlohmann::json::array();
  for (const CheckResult& c : r.checks) {
    j["checks"].push_back({{"name", c.name}, {"line", c.line}, {"status", c.status_name()}, {"points", c.points},
                           {"max_points", c.max_points}, {"at_s", c.at}, {"expected", c.expected}, {"actual", c.actual},
                           {"hint", c.hint}, {"detail", c.detail}});
  }
  j["snapshots"] = nlohmann::json::array();
  for (const SnapshotRecord& s : r.snapshots) {
    nlohmann::json sockets = nlohmann::json::array();
    for (const SocketInfo& x : s.sockets) sockets.push_back(socket_json(x));
    j["snapshots"].push_back({{"title", s.title}, {"line", s.line}, {"at_s", s.at}, {"sockets", sockets}});
  }
  nlohmann::json lanes = nlohmann::json::array();
  for (const Lane& l : r.timeline.lanes) {
    nlohmann::json states = nlohmann::json::array();
    for (const LaneState& s : l.states) states.push_back({{"at_s", s.at}, {"state", s.state}, {"source", s.source}});
    lanes.push_back({{"local", l.local}, {"peer", l.peer}, {"role", l.role}, {"states", states}, {"missed", l.missed}});
  }
  j["timeline"] = {{"source", r.timeline.source}, {"note", r.timeline.note}, {"lanes", lanes}};
  nlohmann::json packets = nlohmann::json::array();
  for (const Packet& p : r.packets) {
    packets.push_back({{"at_s", p.at}, {"src", p.src}, {"dst", p.dst}, {"flags", p.flags()}, {"seq", p.seq},
                       {"ack", p.ack_number}, {"payload", p.payload}, {"preview", p.preview},
                       {"retransmission", p.retransmission}});
  }
  j["packets"] = packets;
  j["pcap"] = r.pcap;
  j["charts"] = nlohmann::json::array();
  for (const ChartSpec& c : r.charts) {
    j["charts"].push_back({{"id", c.id}, {"title", c.title}, {"x", c.x_label}, {"y", c.y_label},
                           {"x_scale", c.x_log ? "log" : "linear"}, {"baseline", c.baseline}});
  }
  j["measurements"] = nlohmann::json::array();
  for (const MeasurementRecord& m : r.measurements) {
    nlohmann::json points = nlohmann::json::array();
    for (const auto& p : m.points) points.push_back({p.x, p.y});
    j["measurements"].push_back({{"name", m.name}, {"line", m.line}, {"at_s", m.at}, {"unit", m.unit}, {"chart", m.chart},
                                 {"series", m.series}, {"single", m.single}, {"points", points}});
  }
  j["processes"] = nlohmann::json::array();
  for (const ProcessRecord& p : r.processes) {
    j["processes"].push_back({{"id", p.id}, {"program", p.program}, {"command", p.command_line}, {"pid", p.pid},
                              {"ending", p.ending}, {"stdout_tail", p.stdout_tail}, {"stderr_tail", p.stderr_tail},
                              {"stdout_bytes", p.stdout_bytes}, {"stderr_bytes", p.stderr_bytes}, {"truncated", p.truncated},
                              {"sanitizer_reports", p.sanitizer_reports}});
  }
  return j;
}

std::string terminal_safe(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  auto escape_byte = [&](unsigned char b) {
    out += "\\x";
    out += hex[b >> 4];
    out += hex[b & 15];
  };
  for (std::size_t i = 0; i < text.size();) {
    auto b = static_cast<unsigned char>(text[i]);
    if (b == '\n' || b == '\t' || (b >= 0x20 && b < 0x7f)) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    if (b < 0x80) {  // C0 controls and DEL
      escape_byte(b);
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length from the lead byte, every continuation byte 10xxxxxx, no overlong 2-byte form.
    std::size_t n = b >= 0xf0 && b < 0xf5 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
    bool valid = n > 0 && i + n <= text.size();
    for (std::size_t k = 1; valid && k < n; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (!valid) {
      escape_byte(b);
      ++i;
      continue;
    }
    if (n == 2 && b == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) {  // U+0080..U+009F: C1 controls
      out += "\\u00";
      unsigned char c = static_cast<unsigned char>(text[i + 1]);
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out.append(text, i, n);
    }
    i += n;
  }
  return out;
}

std::string csv_cell(const std::string& text) {
  std::string cell = terminal_safe(text);  // `cat gradebook.csv` must not obey a student's escapes either
  if (!cell.empty() && std::string("=+-@\t\r").find(cell.front()) != std::string::npos) cell = "'" + cell;
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char ch : cell) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return quoted + "\"";
}

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (c < 0x20 && c != '\n' && c != '\t') out += "?";  // not allowed in XML 1.0 at all
        else out += ch;
    }
  }
  return out;
}

std::unique_ptr<Reporter> make_text_reporter(std::ostream& out, bool colour, bool verbose, bool timeline) {
  return std::make_unique<TextReporter>(out, colour, verbose, timeline);
}
std::unique_ptr<Reporter> make_json_reporter(std::ostream& out) { return std::make_unique<JsonReporter>(out); }
std::unique_ptr<Reporter> make_junit_reporter(std::ostream& out) { return std::make_unique<JunitReporter>(out); }

}  // namespace socklab::harness
