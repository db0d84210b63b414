#include "report/html.h"

#include "model/durations.h"
#include "report/charts.h"
#include "report/events.h"
#include "report/html_assets.h"
#include "report/html_parts.h"
#include "report/html_timeline.h"
#include "report/state_diagram.h"
#include "report/text.h"

#include <algorithm>
#include <map>
#include <set>

namespace socklab::harness {
namespace {

using html::esc;

void checks_table(std::ostream& out, const ExperimentResult& r) {
  out << "<table class=\"checks\">\n";
  for (const CheckResult& c : r.checks) {
    const char* cls = c.status == CheckResult::Status::kPassed ? "passed" : c.status == CheckResult::Status::kFailed ? "failed" : "notrun";
    out << "<tr class=\"check " << cls << "\"><td class=\"mark\">"
        << (c.status == CheckResult::Status::kPassed ? "✔" : c.status == CheckResult::Status::kFailed ? "✘" : "–")
        << "</td><td>" << esc(c.name) << "</td><td>" << (c.max_points ? std::to_string(c.points) + "/" + std::to_string(c.max_points) : "")
        << "</td><td class=\"why\">";
    if (c.status != CheckResult::Status::kPassed) {
      out << esc(text::expected(c.expected)) << "\n" << esc(text::but_was(c.actual.substr(0, 400)));
      if (!c.hint.empty()) out << "\n" << esc(text::hint(c.hint));
    } else {
      out << esc(c.actual);  // what a counting check counted ("171 such lines"); empty for the others
    }
    out << "</td></tr>\n";
  }
  out << "</table>\n";
}

void socket_table(std::ostream& out, const SnapshotRecord& s) {
  out << "<h3>" << esc(s.title) << " <small>(" << moment_text(s.at) << ")</small></h3>\n<table class=\"sockets\">"
      << "<tr><th>Proto</th><th>State</th><th>Recv-Q</th><th>Send-Q</th><th>Local</th><th>Peer</th>";
  // TCP's retransmissions (tcp_info), as the text table shows them: a column only when some socket has any.
  bool retrans = std::any_of(s.sockets.begin(), s.sockets.end(), [](const SocketInfo& x) { return x.retrans > 0; });
  out << (retrans ? "<th>Retrans</th>" : "") << "<th>Process</th></tr>\n";
  for (const SocketInfo& x : s.sockets) {
    std::string owners;
    for (const SocketOwner& o : x.owners) owners += (owners.empty() ? "" : ", ") + o.command + " (" + std::to_string(o.pid) + ")";
    out << "<tr><td>" << x.protocol_name() << "</td><td>" << esc(x.state) << "</td><td>" << x.recv_q << "</td><td>" << x.send_q
        << "</td><td>" << esc(x.local()) << "</td><td>" << esc(x.peer()) << "</td><td>";
    if (retrans) out << (x.protocol == Protocol::kTcp ? std::to_string(x.retrans) : "") << "</td><td>";
    out << esc(owners) << "</td></tr>\n";
  }
  out << "</table>\n";
}

// One ladder per connection, its segments in order; each is the same event (data-e) as its arrow on the timeline.
void ladder_svg(std::ostream& out, const ExperimentResult& r, const EventOrder& events) {
  if (r.packets.empty()) return;
  std::map<const Packet*, std::size_t> event_of;
  for (std::size_t i = 0; i < events.events.size(); ++i) {
    if (events.events[i].kind == TimelineEvent::Kind::kSegment) event_of[&r.packets[events.events[i].index]] = i + 1;
  }
  std::set<std::uint16_t> servers(r.listening_ports.begin(), r.listening_ports.end());
  out << "<h3>" << esc(text::packets_title()) << "</h3>\n<p class=\"meta\">" << esc(text::segments_on_lo(r.packets.size()))
      << (r.pcap.empty() ? "" : " — " + esc(text::pcap(r.pcap))) << "</p>\n";
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
        << "<text x=\"" << cx - 80 << "\" y=\"14\">" << esc(text::client(key.first)) << "</text><text x=\"" << sx - 80 << "\" y=\"14\">"
        << esc(text::server(key.second)) << "</text><line class=\"wire\" x1=\"" << cx << "\" y1=\"20\" x2=\"" << cx << "\" y2=\"" << height
        << "\"/><line class=\"wire\" x1=\"" << sx << "\" y1=\"20\" x2=\"" << sx << "\" y2=\"" << height << "\"/>";
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Packet& p = *list[i];
      double y = 34 + static_cast<double>(i) * 20;
      bool to_server = p.src == key.first;
      std::string label = segment_text(p);
      out << "<g data-e=\"" << event_of[&p] << "\" data-flags=\"" << esc(p.flags()) << "\"><text x=\"4\" y=\""
          << y + 4 << "\">" << moment_text(p.at) << "</text>"
          << "<line class=\"segment" << (p.rst ? " rst" : "") << (p.retransmission ? " retransmission" : "") << "\" x1=\""
          << (to_server ? cx : sx) << "\" y1=\"" << y << "\" x2=\"" << (to_server ? sx : cx) << "\" y2=\"" << y + 8
          << "\"/><text x=\"" << (cx + sx) / 2 - 70 << "\" y=\"" << y - 1 << "\">" << esc(label) << "</text>"
          << "<title>seq " << p.seq << " ack " << p.ack_number << "</title></g>";
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
  // Also well-formed XML (self-closed empty elements, everything escaped, the script in CDATA), so tools and tests
  // can parse it. The script's words are the body's data-t-* attributes.
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>" << esc(text::report_title()) << "</title><style>"
      << kReportStyle << "</style></head><body data-t-step=\"" << esc(text::step_of()) << "\" data-t-play=\"" << esc(text::step_play())
      << "\" data-t-pause=\"" << esc(text::step_pause()) << "\" data-t-as-of=\"" << esc(text::at_step_pattern()) << "\">\n<h1>" << esc(text::report_title())
      << "</h1>\n";
  // What every experiment's drawings share, once: arrowheads and the state diagram's figure.
  out << "<svg class=\"shared\" xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs>"
      << "<marker id=\"packet-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerUnits=\"userSpaceOnUse\" "
      << "markerWidth=\"8\" markerHeight=\"8\" "
      << "orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker><marker id=\"ladder-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" "
      << "refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker>\n";
  write_diagram_definitions(out);
  out << "</defs></svg>\n<p class=\"summary\" id=\"summary\">" << esc(text::summary(results.size(), passed, points, max_points)) << "</p>\n";
  if (std::any_of(results.begin(), results.end(), [](const ExperimentResult& r) { return !r.timeline.lanes.empty(); })) {
    out << "<p class=\"meta\">" << esc(text::timeline_about()) << "</p>\n";
  }
  for (const ExperimentResult& r : results) {
    EventOrder events = order_events(r);
    out << "<section class=\"experiment\" id=\"" << esc(r.id) << "\" data-points=\"" << r.points() << "\" data-max=\"" << r.max_points()
        << "\">\n<h2>" << esc(r.title) << "</h2>\n<p class=\"meta\">" << esc(r.file) << " · " << esc(isolation_name(r.isolation)) << " · "
        << esc(text::sockets_via(r.capture)) << " · " << seconds_text(r.duration, 2) << " · "
        << esc(r.max_points() ? text::points_of(r.points(), r.max_points()) : text::observation_only()) << "</p>\n";
    if (!r.about.empty()) out << "<p class=\"about\">" << esc(r.about) << "</p>\n";
    if (!r.error.empty()) out << "<p class=\"why\">" << esc(text::stopped(r.error)) << "</p>\n";
    checks_table(out, r);
    write_measurements_html(out, r);
    if (!r.timeline.lanes.empty()) write_html_timeline(out, r, events);
    for (const SnapshotRecord& s : r.snapshots) socket_table(out, s);
    ladder_svg(out, r, events);
    out << "</section>\n";
  }
  out << "<script>//<![CDATA[" << kReportScript << "//]]></script>\n</body></html>\n";
}

}  // namespace socklab::harness
