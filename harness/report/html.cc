#include "report/html.h"

#include "report/reports.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace socklab::harness {
namespace {

std::string esc(const std::string& text) { return xml_escape(text); }

std::string num(double v, int precision = 1) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(precision) << v;
  return o.str();
}

std::string css_class(const std::string& state) {  // "FIN-WAIT-1" -> "s-FIN-WAIT-1"
  std::string c = "s-";
  for (char ch : state) c += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ? ch : '_';
  return c;
}

const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 2px solid #ddd; }
.summary, .meta { color: #555; } .about { white-space: pre-line; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 2px 8px; text-align: left; vertical-align: top; }
table.checks tr.passed td.mark { color: #1a7f37; } table.checks tr.failed td.mark, table.checks tr.notrun td.mark { color: #c62828; }
table.checks tr.failed { background: #fff0f0; } .why { font-size: 12px; color: #555; white-space: pre-wrap; }
table.sockets { font: 12px monospace; } table.sockets th { border-bottom: 1px solid #ccc; }
svg text { font: 11px monospace; fill: #222; } .axis line { stroke: #bbb; } .event line { stroke: #666; stroke-dasharray: 2 2; }
.event circle { fill: #444; } .legend rect { stroke: #999; }
.s-LISTEN { fill: #b0bec5; } .s-SYN-SENT { fill: #ffe082; } .s-SYN-RECV { fill: #ffcc80; } .s-ESTAB { fill: #81c784; }
.s-FIN-WAIT-1 { fill: #90caf9; } .s-FIN-WAIT-2 { fill: #64b5f6; } .s-TIME-WAIT { fill: #ce93d8; } .s-CLOSE-WAIT { fill: #ef9a9a; }
.s-LAST-ACK { fill: #e57373; } .s-CLOSING { fill: #4fc3f7; } .s-CLOSED, .s-gone { fill: #eeeeee; }
.ladder line.wire { stroke: #999; } .ladder line.segment { stroke: #333; } .ladder line.rst { stroke: #c62828; }
.ladder line.retransmission { stroke-dasharray: 4 3; }
.packets line { stroke: #455a64; } .packets line.syn { stroke: #e6a100; } .packets line.fin { stroke: #1565c0; }
.packets line.rst { stroke: #c62828; stroke-width: 2; } .packets path { fill: #455a64; }
)";

void checks_table(std::ostream& out, const ExperimentResult& r) {
  out << "<table class=\"checks\">\n";
  for (const CheckResult& c : r.checks) {
    const char* cls = c.status == CheckResult::Status::kPassed ? "passed" : c.status == CheckResult::Status::kFailed ? "failed" : "notrun";
    out << "<tr class=\"check " << cls << "\"><td class=\"mark\">"
        << (c.status == CheckResult::Status::kPassed ? "✔" : c.status == CheckResult::Status::kFailed ? "✘" : "–")
        << "</td><td>" << esc(c.name) << "</td><td>" << (c.max_points ? std::to_string(c.points) + "/" + std::to_string(c.max_points) : "")
        << "</td><td class=\"why\">";
    if (c.status != CheckResult::Status::kPassed) {
      out << "expected: " << esc(c.expected) << "\nbut was: " << esc(c.actual.substr(0, 400));
      if (!c.hint.empty()) out << "\nhint: " << esc(c.hint);
    }
    out << "</td></tr>\n";
  }
  out << "</table>\n";
}

void socket_table(std::ostream& out, const SnapshotRecord& s) {
  out << "<h3>" << esc(s.title) << " <small>(" << num(s.at, 3) << " s)</small></h3>\n<table class=\"sockets\">"
      << "<tr><th>Proto</th><th>State</th><th>Recv-Q</th><th>Send-Q</th><th>Local</th><th>Peer</th><th>Process</th></tr>\n";
  for (const SocketInfo& x : s.sockets) {
    std::string owners;
    for (const SocketOwner& o : x.owners) owners += (owners.empty() ? "" : ", ") + o.command + " (" + std::to_string(o.pid) + ")";
    out << "<tr><td>" << x.protocol_name() << "</td><td>" << esc(x.state) << "</td><td>" << x.recv_q << "</td><td>" << x.send_q
        << "</td><td>" << esc(x.local()) << "</td><td>" << esc(x.peer()) << "</td><td>" << esc(owners) << "</td></tr>\n";
  }
  out << "</table>\n";
}

std::string lane_label(const Lane& l) {  // in characters, not bytes: "→" is one
  std::string label = l.role + " " + l.local + " → " + l.peer;
  return label.size() > 70 ? label.substr(0, 70) : label;
}

void timeline_svg(std::ostream& out, const ExperimentResult& r) {
  // The lane labels (11 px monospace, about 6.7 px a character) left of the time axis, never over it.
  std::size_t longest = 0;
  for (const Lane& l : r.timeline.lanes) longest = std::max(longest, lane_label(l).size() - 2);  // "→" is 3 bytes
  const double left = std::max(250.0, 16 + 6.7 * static_cast<double>(longest)), width = std::max(600.0, 1030 - left);
  double end = std::max(r.duration, 0.001);
  for (const Lane& l : r.timeline.lanes) {
    for (const LaneState& s : l.states) end = std::max(end, s.at);
  }
  for (const Packet& p : r.packets) end = std::max(end, p.at);
  auto x = [&](double t) { return left + t / end * width; };
  const int lane_height = 22, top = 24;
  int height = top + static_cast<int>(r.timeline.lanes.size()) * lane_height + 60;
  out << "<h3>Timeline</h3>\n<p class=\"meta\">source: " << esc(r.timeline.source) << (r.timeline.note.empty() ? "" : " — " + esc(r.timeline.note))
      << (r.packets.empty() ? "" : ". Arrows between lanes: TCP segments, sender to receiver (SYN yellow, FIN blue, RST red, "
                                   "others grey); hover for details")
      << "</p>\n<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << left + width + 20 << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << left + width + 20 << " " << height << "\">\n<g class=\"axis\">";
  for (int i = 0; i <= 10; ++i) {
    double t = end * i / 10;
    out << "<line x1=\"" << x(t) << "\" y1=\"" << top - 6 << "\" x2=\"" << x(t) << "\" y2=\"" << height - 50 << "\"/><text x=\"" << x(t) - 12
        << "\" y=\"" << top - 10 << "\">" << num(t, 3) << "s</text>";
  }
  out << "</g>\n";
  std::set<std::string> used;
  for (std::size_t i = 0; i < r.timeline.lanes.size(); ++i) {
    const Lane& l = r.timeline.lanes[i];
    int y = top + static_cast<int>(i) * lane_height;
    out << "<g class=\"lane\" data-role=\"" << esc(l.role) << "\" data-local=\"" << esc(l.local) << "\" data-peer=\"" << esc(l.peer) << "\">"
        << "<text x=\"4\" y=\"" << y + 15 << "\">" << esc(lane_label(l)) << "</text>";
    for (std::size_t k = 0; k < l.states.size(); ++k) {
      const LaneState& s = l.states[k];
      if (s.state == "CLOSED" || s.state == "gone") continue;  // the lane ends there
      double until = k + 1 < l.states.size() ? l.states[k + 1].at : end;
      used.insert(s.state);
      out << "<rect class=\"state " << css_class(s.state) << "\" data-state=\"" << esc(s.state) << "\" x=\"" << x(s.at) << "\" y=\"" << y + 3
          << "\" width=\"" << std::max(1.5, x(until) - x(s.at)) << "\" height=\"" << lane_height - 6 << "\"><title>" << esc(s.state) << " "
          << num(s.at, 4) << " s – " << num(until, 4) << " s (" << esc(s.source) << ")</title></rect>";
    }
    out << "</g>\n";
  }
  // The segments on the wire, on the same time axis: an arrow from the sender's lane to the receiver's at the
  // moment it was captured (the ladder below lists them in order, with details).
  std::map<std::string, double> lane_middle;  // "local|peer" -> y
  for (std::size_t i = 0; i < r.timeline.lanes.size(); ++i) {
    const Lane& l = r.timeline.lanes[i];
    lane_middle.emplace(l.local + "|" + l.peer, top + static_cast<double>(i) * lane_height + lane_height / 2.0);
  }
  auto middle_of = [&](const std::string& local, const std::string& peer, std::uint16_t local_port) -> std::optional<double> {
    for (const std::string& key : {local + "|" + peer, "*:" + std::to_string(local_port) + "|*:*"}) {  // else the listener
      if (auto it = lane_middle.find(key); it != lane_middle.end()) return it->second;
    }
    return std::nullopt;
  };
  std::string arrow = "packet-arrow-" + esc(r.id);
  out << "<defs><marker id=\"" << arrow << "\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"5\" "
      << "markerHeight=\"5\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>\n<g class=\"packets\">";
  for (const Packet& p : r.packets) {
    auto from = middle_of(p.src, p.dst, p.sport), to = middle_of(p.dst, p.src, p.dport);
    if (!from || !to || *from == *to) continue;
    std::string cls = p.rst ? "rst" : p.syn ? "syn" : p.fin ? "fin" : "data";
    out << "<g class=\"packet\" data-flags=\"" << esc(p.flags()) << "\"><line class=\"" << cls << "\" x1=\"" << x(p.at) << "\" y1=\""
        << *from << "\" x2=\"" << x(p.at) << "\" y2=\"" << *to << "\" marker-end=\"url(#" << arrow << ")\"/><title>" << num(p.at, 4)
        << " s " << esc(p.src + " → " + p.dst + " " + p.flags()) << (p.payload ? " " + std::to_string(p.payload) + " B" : "")
        << (p.retransmission ? " (retransmission)" : "") << "</title></g>";
  }
  out << "</g>\n";
  int events_y = top + static_cast<int>(r.timeline.lanes.size()) * lane_height + 8;
  out << "<g class=\"events\">";
  for (const StepRecord& s : r.steps) {
    out << "<g class=\"event\"><line x1=\"" << x(s.at) << "\" y1=\"" << top << "\" x2=\"" << x(s.at) << "\" y2=\"" << events_y << "\"/><circle cx=\""
        << x(s.at) << "\" cy=\"" << events_y << "\" r=\"3\"><title>" << num(s.at, 4) << " s: " << esc(s.text) << "</title></circle></g>";
  }
  out << "</g>\n<g class=\"legend\">";
  double lx = left;
  for (const std::string& state : used) {
    out << "<rect class=\"" << css_class(state) << "\" x=\"" << lx << "\" y=\"" << height - 28 << "\" width=\"12\" height=\"12\"/><text x=\""
        << lx + 16 << "\" y=\"" << height - 18 << "\">" << esc(state) << "</text>";
    lx += 24 + 7.0 * static_cast<double>(state.size());
  }
  out << "</g>\n</svg>\n";
}

void ladder_svg(std::ostream& out, const ExperimentResult& r) {
  if (r.packets.empty()) return;
  std::set<std::uint16_t> servers(r.listening_ports.begin(), r.listening_ports.end());
  out << "<h3>Packets on the wire</h3>\n<p class=\"meta\">" << r.packets.size() << " TCP segments on lo"
      << (r.pcap.empty() ? "" : " — pcap: " + esc(r.pcap)) << "</p>\n";
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, std::vector<const Packet*>> by;
  for (const Packet& p : r.packets) {
    bool from_server = servers.count(p.sport) && !servers.count(p.dport);
    auto key = from_server ? std::pair{p.dst, p.src} : std::pair{p.src, p.dst};
    if (!by.count(key)) order.push_back(key);
    by[key].push_back(&p);
  }
  for (const auto& key : order) {
    const auto& list = by[key];
    const double cx = 200, sx = 700;
    int height = 40 + static_cast<int>(list.size()) * 20;
    out << "<svg class=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"" << height << "\">"
        << "<defs><marker id=\"ladder-arrow-" << esc(r.id) << "-" << (&key - order.data()) << "\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">"
        << "<path d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>"
        << "<text x=\"" << cx - 80 << "\" y=\"14\">client " << esc(key.first) << "</text><text x=\"" << sx - 80 << "\" y=\"14\">server "
        << esc(key.second) << "</text><line class=\"wire\" x1=\"" << cx << "\" y1=\"20\" x2=\"" << cx << "\" y2=\"" << height
        << "\"/><line class=\"wire\" x1=\"" << sx << "\" y1=\"20\" x2=\"" << sx << "\" y2=\"" << height << "\"/>";
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Packet& p = *list[i];
      double y = 34 + static_cast<double>(i) * 20;
      bool to_server = p.src == key.first;
      std::string label = p.flags() + (p.payload ? " " + std::to_string(p.payload) + " B \"" + p.preview + "\"" : "") +
                          (p.retransmission ? " (retransmission)" : "");
      out << "<g class=\"segment-group\" data-flags=\"" << esc(p.flags()) << "\"><text x=\"4\" y=\"" << y + 4 << "\">" << num(p.at, 4) << "s</text>"
          << "<line class=\"segment" << (p.rst ? " rst" : "") << (p.retransmission ? " retransmission" : "") << "\" x1=\""
          << (to_server ? cx : sx) << "\" y1=\"" << y << "\" x2=\"" << (to_server ? sx : cx) << "\" y2=\"" << y + 8
          << "\" marker-end=\"url(#ladder-arrow-" << esc(r.id) << "-" << (&key - order.data()) << ")\"/><text x=\"" << (cx + sx) / 2 - 70 << "\" y=\"" << y - 1 << "\">" << esc(label) << "</text>"
          << "<title>" << num(p.at, 4) << " s " << esc(p.src + " → " + p.dst + " " + label) << " seq " << p.seq << " ack " << p.ack_number
          << "</title></g>";
    }
    out << "</svg>\n";
  }
}

}  // namespace

void write_html_report(std::ostream& out, const std::vector<ExperimentResult>& results) {
  int points = 0, max_points = 0, passed = 0;
  for (const ExperimentResult& r : results) {
    points += r.points();
    max_points += r.max_points();
    passed += r.passed();
  }
  // Also well-formed XML (self-closed empty elements, everything escaped), so tools and tests can parse it.
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>socklab report</title><style>" << kStyle
      << "</style></head><body>\n<h1>socklab report</h1>\n<p class=\"summary\" id=\"summary\">" << results.size() << " experiments, "
      << passed << " passed; points " << points << "/" << max_points << "</p>\n";
  for (const ExperimentResult& r : results) {
    out << "<section class=\"experiment\" id=\"" << esc(r.id) << "\" data-points=\"" << r.points() << "\" data-max=\"" << r.max_points()
        << "\">\n<h2>" << esc(r.title) << "</h2>\n<p class=\"meta\">" << esc(r.file) << " · " << esc(isolation_name(r.isolation)) << " · sockets via "
        << esc(r.capture) << " · " << num(r.duration, 2) << " s" << (r.max_points() ? " · " + std::to_string(r.points()) + "/" +
        std::to_string(r.max_points()) + " points" : " · observation only") << "</p>\n";
    if (!r.about.empty()) out << "<p class=\"about\">" << esc(r.about) << "</p>\n";
    if (!r.error.empty()) out << "<p class=\"why\">stopped: " << esc(r.error) << "</p>\n";
    checks_table(out, r);
    for (const SnapshotRecord& s : r.snapshots) socket_table(out, s);
    if (!r.timeline.lanes.empty()) timeline_svg(out, r);
    ladder_svg(out, r);
    out << "</section>\n";
  }
  out << "</body></html>\n";
}

}  // namespace socklab::harness
