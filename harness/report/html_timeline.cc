#include "report/html_timeline.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "model/durations.h"
#include "report/html_parts.h"
#include "report/state_diagram.h"
#include "report/text.h"

namespace socklab::harness {
namespace {

using html::esc;
using html::num;
using Kind = TimelineEvent::Kind;

// The event axis: one column per event, idle stretches a little wider; lanes below the time labels.
constexpr double kColumn = 18, kIdle = 26, kTimeLabels = 78, kLaneHeight = 22, kLabelChars = 30;

// "127.0.0.1:40712" -> ":40712" in the SVG's lane labels (every lab runs on loopback; the full text is in the
// tooltip).
std::string short_endpoint(const std::string& endpoint) {
  return endpoint.rfind("127.0.0.1:", 0) == 0 ? endpoint.substr(9) : endpoint;
}

std::string lane_label(const EventOrder& order, const Lane& l, std::size_t i) {
  return order.lane_tags[i] + " " + l.role + " " + short_endpoint(l.local) + " → " + short_endpoint(l.peer);
}

// For an attribute in single quotes, which JSON's double quotes need not be escaped in (a third of the
// bytes).
std::string single_quoted(const std::string& text) {
  std::string out;
  for (char c : text)
    out += c == '\''  ? std::string("&apos;")
           : c == '&' ? std::string("&amp;")
           : c == '<' ? std::string("&lt;")
                      : std::string(1, c);
  return out;
}

std::string segment_class(const Packet& p) {
  return p.rst ? "rst" : p.syn ? "syn" : p.fin ? "fin" : "data";
}

// A short line per event for under the axis: what happened in that column.
std::string column_label(const ExperimentResult& r, const EventOrder& order, const TimelineEvent& e) {
  auto tag = [&](int lane) {
    return lane >= 0 ? order.lane_tags[static_cast<std::size_t>(lane)] : std::string("?");
  };
  switch (e.kind) {
    case Kind::kSegment:
      return tag(e.lane) + "→" + tag(e.to_lane) + " " + segment_text(r.packets[e.index]);
    case Kind::kState:
      return tag(e.lane) + " " + e.shown;
    default:
      return event_text(r, order, e);
  }
}

std::string kind_class(Kind k) {
  switch (k) {
    case Kind::kStep:
      return "k-step";
    case Kind::kCheck:
      return "k-check";
    case Kind::kSnapshot:
      return "k-snapshot";
    case Kind::kSegment:
      return "k-segment";
    case Kind::kState:
      return "k-state";
  }
  return "";
}

// Where each event sits on one of the two axes, and where the axis ends.
struct Axis {
  std::vector<double> x;  // per event
  double right = 0;
  std::string xs() const {
    std::string text;
    for (double v : x) text += (text.empty() ? "" : " ") + num(v);
    return text;
  }
};

// One column per event, idle stretches a little wider.
Axis event_axis(const EventOrder& order, double left) {
  Axis a;
  double x = left + 14;
  for (const TimelineEvent& e : order.events) {
    if (e.idle_before) x += kIdle;
    a.x.push_back(x);
    x += kColumn;
  }
  a.right = x;
  return a;
}

double linear_end(const ExperimentResult& r, const EventOrder& order) {
  double end = std::max(r.duration, 0.001);
  for (const TimelineEvent& e : order.events) end = std::max(end, e.at);
  return end;
}

// Time, linearly, over the whole experiment (the script's other view).
Axis linear_axis(const ExperimentResult& r, const EventOrder& order, double left, double labels) {
  Axis a;
  const double end = linear_end(r, order), width = std::max(600.0, 1300 - labels);
  for (const TimelineEvent& e : order.events) a.x.push_back(left + 10 + e.at / end * width);
  a.right = left + 10 + width;
  return a;
}

// The lanes, drawn on the event axis. What moves between the two views (state bands: data-e to data-to;
// segments and harness marks: a translate) is placed by the script from data-xs / data-xl; what belongs to
// one view only is in g.by-col (event order: column times, idle marks, what each column is) or g.ticks
// (linear: seconds).
void lanes_svg(std::ostream& out, const ExperimentResult& r, const EventOrder& order, double labels) {
  const double left = 0;  // the lanes' names are an SVG of their own beside it, which does not scroll away
  const Axis axis = event_axis(order, left), linear = linear_axis(r, order, left, labels);
  const std::size_t lanes = r.timeline.lanes.size();
  const double top = kTimeLabels, bottom = top + static_cast<double>(lanes) * kLaneHeight,
               marks = bottom + 12;
  const double width = axis.right + 20, height = marks + 22 + 6.6 * kLabelChars;
  out << "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width)
      << "\" height=\"" << num(height) << "\" viewBox=\"0 0 " << num(width) << " " << num(height)
      << "\" data-xs=\"" << axis.xs() << "\" data-xl=\"" << linear.xs() << "\" data-r=\"" << num(axis.right)
      << "\" data-rl=\"" << num(linear.right) << "\">\n<g class=\"by-col\"><path class=\"grid\" d=\"";
  for (double x : axis.x) out << "M" << num(x) << "," << top - 2 << "V" << num(marks);
  out << "\"/>";
  // Each column's time, rotated (the group turns x into -y): in full first and after an idle stretch, else
  // the span since the previous event; and the idle stretches, marked.
  for (std::size_t i = 0; i < order.events.size(); ++i) {
    const TimelineEvent& e = order.events[i];
    if (!e.idle_before) continue;
    double middle = axis.x[i] - kColumn / 2 - kIdle / 2;
    out << "<rect class=\"idle\" x=\"" << num(middle - kIdle / 2 + 3, 0) << "\" y=\"" << top - 4
        << "\" width=\"" << kIdle - 6 << "\" height=\"" << num(bottom - top + 8, 0) << "\"/>";
  }
  out << "<g transform=\"rotate(-90)\">";
  for (std::size_t i = 0; i < order.events.size(); ++i) {
    const TimelineEvent& e = order.events[i];
    if (e.idle_before) {
      out << "<text class=\"idle\" x=\"" << -(top - 6) << "\" y=\""
          << num(axis.x[i] - kColumn / 2 - kIdle / 2 + 4, 0) << "\">" << esc(text::idle(span_text(e.since)))
          << "</text>";
    }
    bool full = i == 0 || e.idle_before;
    out << "<text class=\"t" << (full ? " full" : "") << "\" x=\"" << -(top - 6) << "\" y=\""
        << num(axis.x[i] + 4, 0) << "\">" << esc(full ? moment_text(e.at) : "+" + span_text(e.since))
        << "</text>";
  }
  out << "</g><g transform=\"rotate(90)\">";
  for (std::size_t i = 0; i < order.events.size(); ++i) {  // what happened in each column, in words
    const TimelineEvent& e = order.events[i];
    out << "<text class=\"what " << kind_class(e.kind) << "\" data-e=\"" << i + 1 << "\" x=\""
        << num(marks + 10, 0) << "\" y=\"" << num(-(axis.x[i] - 4), 0) << "\">"
        << esc(html::shorten(column_label(r, order, e), kLabelChars)) << "</text>";
  }
  out << "</g>";
  out << "</g>\n<g class=\"ticks\">";
  const double end = linear_end(r, order);
  for (int i = 0; i <= 10; ++i) {
    double x = left + 10 + (linear.right - left - 10) * i / 10;
    out << "<line x1=\"" << num(x) << "\" y1=\"" << top - 6 << "\" x2=\"" << num(x) << "\" y2=\""
        << num(marks) << "\"/><text x=\"" << num(x - 12) << "\" y=\"" << top - 10 << "\">"
        << seconds_text(end * i / 10) << "</text>";
  }
  out << "</g>\n";
  // The lanes: a band per state, from its event to the lane's next one.
  std::vector<std::vector<std::size_t>> states(lanes);
  for (std::size_t i = 0; i < order.events.size(); ++i) {
    if (order.events[i].kind == Kind::kState)
      states[static_cast<std::size_t>(order.events[i].lane)].push_back(i);
  }
  for (std::size_t l = 0; l < lanes; ++l) {
    const Lane& lane = r.timeline.lanes[l];
    double y = top + static_cast<double>(l) * kLaneHeight;
    out << "<g class=\"lane\" data-lane=\"" << l << "\" data-role=\"" << esc(lane.role) << "\" data-local=\""
        << esc(lane.local) << "\" data-peer=\"" << esc(lane.peer) << "\">";
    for (std::size_t k = 0; k < states[l].size(); ++k) {
      const TimelineEvent& e = order.events[states[l][k]];
      if (e.to == "CLOSED") continue;  // the lane ends there
      bool last = k + 1 == states[l].size();
      double from = axis.x[states[l][k]], until = last ? axis.right : axis.x[states[l][k + 1]];
      double until_at = last ? r.duration : order.events[states[l][k + 1]].at;
      out << "<rect class=\"state " << html::css_class(e.shown) << "\" data-state=\"" << esc(e.shown)
          << "\" data-e=\"" << states[l][k] + 1 << "\""
          << (last ? "" : " data-to=\"" + std::to_string(states[l][k + 1] + 1) + "\"") << " x=\"" << num(from)
          << "\" y=\"" << num(y + 3) << "\" width=\"" << num(std::max(1.5, until - from)) << "\" height=\""
          << kLaneHeight - 6 << "\"><title>" << esc(e.shown) << " " << moment_text(e.at) << " – "
          << moment_text(until_at) << " (" << esc(lane.states[e.index].source) << ")</title></rect>";
    }
    out << "</g>\n";
  }
  // The segments: an arrow from the sender's lane to the receiver's, in the segment's column.
  out << "<g class=\"packets\">";
  auto middle = [&](int lane) { return top + lane * kLaneHeight + kLaneHeight / 2; };
  for (std::size_t i = 0; i < order.events.size(); ++i) {
    const TimelineEvent& e = order.events[i];
    if (e.kind != Kind::kSegment || e.lane < 0 || e.to_lane < 0 || e.lane == e.to_lane) continue;
    const Packet& p = r.packets[e.index];
    out << "<line class=\"packet " << segment_class(p) << (p.retransmission ? " retransmission" : "") << "\" data-e=\""
        << i + 1 << "\" data-flags=\"" << esc(p.flags()) << "\" x1=\"" << num(axis.x[i]) << "\" y1=\""
        << num(middle(e.lane)) << "\" x2=\"" << num(axis.x[i]) << "\" y2=\"" << num(middle(e.to_lane)) << "\"/>";
  }
  out << "</g>\n<g class=\"events\">";
  // The harness's own events: a dot under the lanes (the column's words say what it was).
  for (std::size_t i = 0; i < order.events.size(); ++i) {
    const TimelineEvent& e = order.events[i];
    if (e.kind != Kind::kStep && e.kind != Kind::kCheck && e.kind != Kind::kSnapshot) continue;
    out << "<circle class=\"event " << kind_class(e.kind) << "\" data-e=\"" << i + 1 << "\" cx=\""
        << num(axis.x[i]) << "\" cy=\"" << num(marks) << "\" r=\"3.5\"/>";
  }
  double x = axis.x.empty() ? left : axis.x.back();
  out << "</g>\n<line class=\"cursor\" x1=\"" << num(x) << "\" y1=\"" << top - 4 << "\" x2=\"" << num(x)
      << "\" y2=\"" << num(marks + 4) << "\"/>\n</svg>\n";
}

void controls(std::ostream& out, std::size_t events) {
  out << "<div class=\"controls\" role=\"group\" aria-label=\"" << esc(text::step_controls()) << "\">";
  struct Button {
    const char* action;
    std::string symbol, label;
  };
  for (const Button& b :
       {Button{"first", "|◀", text::step_first()}, Button{"prev", "◀", text::step_previous()},
        Button{"play", text::step_play(), text::step_play()}, Button{"next", "▶", text::step_next()},
        Button{"last", "▶|", text::step_last()}}) {
    out << "<button type=\"button\" data-do=\"" << b.action << "\" title=\"" << esc(b.label)
        << "\" aria-label=\"" << esc(b.label) << "\">" << esc(b.symbol) << "</button>";
  }
  out << "<input type=\"range\" class=\"slider\" min=\"1\" max=\"" << std::max<std::size_t>(events, 1)
      << "\" value=\"" << std::max<std::size_t>(events, 1) << "\" aria-label=\"" << esc(text::step_slider())
      << "\"/><span class=\"views\">"
      << "<button type=\"button\" data-view=\"events\" aria-pressed=\"true\">" << esc(text::view_events())
      << "</button>"
      << "<button type=\"button\" data-view=\"linear\" aria-pressed=\"false\">" << esc(text::view_linear())
      << "</button></span></div>\n";
}

void sockets_now(std::ostream& out, const ExperimentResult& r, const EventOrder& order) {
  auto rows = socket_rows(r, order);
  out << "<div class=\"now\"><h4>" << esc(text::sockets_now())
      << "</h4><table class=\"sockets at-step\"><tr><th></th><th>State</th>"
      << "<th>Recv-Q</th><th>Send-Q</th><th>Local</th><th>Peer</th><th>Process</th><th>" << esc(text::queues_as_of())
      << "</th></tr>";
  for (std::size_t l = 0; l < rows.size(); ++l) {
    nlohmann::json changes = nlohmann::json::array();
    for (const SocketRow& row : rows[l])
      changes.push_back({row.event + 1, row.state, row.recv_q, row.send_q, row.process, row.seen_at ? *row.seen_at + 1 : 0});
    SocketRow last = rows[l].empty() ? SocketRow{} : rows[l].back();
    const Lane& lane = r.timeline.lanes[l];
    out << "<tr data-lane=\"" << l << "\" data-rows='"
        << single_quoted(changes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) << "'"
        << (last.state.empty() ? " class=\"absent\"" : "") << "><td>" << esc(order.lane_tags[l])
        << "</td><td class=\"st\">" << esc(last.state) << "</td><td class=\"rq\">" << esc(last.recv_q)
        << "</td><td class=\"sq\">" << esc(last.send_q) << "</td><td>" << esc(lane.local) << "</td><td>"
        << esc(lane.peer) << "</td><td class=\"pr\">" << esc(last.process) << "</td><td class=\"as\">"
        << (last.seen_at ? esc(text::at_step(*last.seen_at + 1)) : "") << "</td></tr>";
  }
  out << "</table><p class=\"meta\">" << esc(text::sockets_now_about()) << "</p></div>\n";
}

void event_list(std::ostream& out, const ExperimentResult& r, const EventOrder& order) {
  out << "<details class=\"event-list\"><summary>" << esc(text::all_events(order.events.size()))
      << "</summary><ol>";
  for (std::size_t i = 0; i < order.events.size(); ++i) {
    const TimelineEvent& e = order.events[i];
    out << "<li data-e=\"" << i + 1 << "\">"
        << (e.idle_before ? "<i>" + esc(text::idle(span_text(e.since))) + "</i> " : "") << moment_text(e.at)
        << (i && !e.idle_before ? " <i>+" + esc(span_text(e.since)) + "</i> " : " ")
        << esc(event_text(r, order, e)) << "</li>";
  }
  out << "</ol></details>\n";
}

void legend(std::ostream& out, const ExperimentResult& r) {
  std::set<std::string> used;
  for (const Lane& l : r.timeline.lanes) {
    for (const LaneState& s : l.states) {
      if (s.state != "CLOSED" && s.state != "gone") used.insert(s.state);
    }
  }
  out << "<p class=\"legend\">" << esc(text::legend());
  for (const std::string& s : used)
    out << " <span class=\"swatch " << html::css_class(s) << "\"></span>" << esc(s);
  out << "</p>\n";
}

}  // namespace

void write_html_timeline(std::ostream& out, const ExperimentResult& r, const EventOrder& order) {
  std::size_t longest = 0;
  for (std::size_t i = 0; i < r.timeline.lanes.size(); ++i)
    longest = std::max(longest, html::characters(lane_label(order, r.timeline.lanes[i], i)));
  const double left = std::max(120.0, 12 + 6.7 * static_cast<double>(longest));
  out << "<div class=\"stepper\" tabindex=\"0\" data-events=\"" << order.events.size() << "\"><h3>"
      << esc(text::timeline_title()) << "</h3>\n<p class=\"meta\">" << esc(text::source(r.timeline.source))
      << (r.timeline.note.empty() ? "" : " — " + esc(r.timeline.note)) << "</p>\n";
  controls(out, order.events.size());
  out << "<p class=\"status\" aria-live=\"polite\"></p>\n";
  legend(out, r);
  // The lanes' names, beside the timeline (which scrolls), at the same heights.
  const double height = kTimeLabels + static_cast<double>(r.timeline.lanes.size()) * kLaneHeight + 34 + 6.6 * kLabelChars;
  out << "<div class=\"lanes-box\"><svg class=\"lane-labels\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(left)
      << "\" height=\"" << num(height) << "\">";
  for (std::size_t l = 0; l < r.timeline.lanes.size(); ++l) {
    const Lane& lane = r.timeline.lanes[l];
    out << "<text data-lane=\"" << l << "\" x=\"4\" y=\"" << num(kTimeLabels + static_cast<double>(l) * kLaneHeight + 15)
        << "\"><title>" << esc(lane_text(lane)) << "</title>" << esc(lane_label(order, lane, l)) << "</text>";
  }
  out << "</svg><div class=\"scroll\">";
  lanes_svg(out, r, order, left);
  out << "</div></div>\n<div class=\"stepview\">";
  write_state_diagram(out, r, order, default_lane(r.timeline));
  out << "<div class=\"side\">";
  write_state_paths(out, r, order, default_lane(r.timeline));
  sockets_now(out, r, order);
  out << "</div></div>\n";
  event_list(out, r, order);
  out << "</div>\n";
}

}  // namespace socklab::harness
