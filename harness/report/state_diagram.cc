#include "report/state_diagram.h"

#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "model/durations.h"
#include "report/html_parts.h"
#include "report/text.h"

namespace socklab::harness {
namespace {

using html::esc;
using html::num;

// The figure's layout: where each state's box is (its centre). CLOSED appears twice, as in the RFC's figure:
// where connections begin (top) and where closing ones end (bottom right).
struct Node {
  const char* id;
  const char* state;
  double x, y;
};
constexpr double kWidth = 700, kHeight = 586, kBoxW = 112, kBoxH = 28;
const std::vector<Node>& nodes() {
  static const std::vector<Node> list{
      {"CLOSED", "CLOSED", 350, 24},          {"LISTEN", "LISTEN", 350, 120},
      {"SYN-RECV", "SYN-RECV", 100, 210},     {"SYN-SENT", "SYN-SENT", 600, 210},
      {"ESTAB", "ESTAB", 350, 300},           {"FIN-WAIT-1", "FIN-WAIT-1", 100, 390},
      {"CLOSE-WAIT", "CLOSE-WAIT", 600, 390}, {"FIN-WAIT-2", "FIN-WAIT-2", 100, 480},
      {"CLOSING", "CLOSING", 350, 480},       {"LAST-ACK", "LAST-ACK", 600, 480},
      {"TIME-WAIT", "TIME-WAIT", 350, 566},   {"CLOSED-end", "CLOSED", 600, 566}};
  return list;
}
const Node& node(const std::string& id) {
  for (const Node& n : nodes()) {
    if (id == n.id) return n;
  }
  return nodes().front();
}

// The figure's edges, by node: label, and how far the curve bends (two edges between the same boxes bend
// apart).
struct Edge {
  const char* from;
  const char* to;
  std::string (*label)();
  double bend;
};
const std::vector<Edge>& edges() {
  static const std::vector<Edge> list{
      {"CLOSED", "LISTEN", text::edge_listen, -30},
      {"LISTEN", "CLOSED", text::edge_close, -30},
      {"CLOSED", "SYN-SENT", text::edge_connect, -35},
      {"SYN-SENT", "CLOSED", text::edge_syn_sent_close, -35},
      {"LISTEN", "SYN-RECV", text::edge_syn_received, 0},
      {"LISTEN", "SYN-SENT", text::edge_send_from_listen, 0},
      {"SYN-SENT", "SYN-RECV", text::edge_simultaneous_open, 0},
      {"SYN-RECV", "ESTAB", text::edge_ack_of_syn, 0},
      {"SYN-SENT", "ESTAB", text::edge_syn_ack, 0},
      {"SYN-RECV", "FIN-WAIT-1", text::edge_close_fin, 0},
      {"ESTAB", "FIN-WAIT-1", text::edge_close_fin, 0},
      {"ESTAB", "CLOSE-WAIT", text::edge_fin, 0},
      {"FIN-WAIT-1", "FIN-WAIT-2", text::edge_ack_of_fin, 0},
      {"FIN-WAIT-1", "CLOSING", text::edge_fin, 0},
      {"FIN-WAIT-1", "TIME-WAIT", text::edge_fin_and_ack, 0},
      {"FIN-WAIT-2", "TIME-WAIT", text::edge_fin, 0},
      {"CLOSING", "TIME-WAIT", text::edge_ack_of_fin, 0},
      {"TIME-WAIT", "CLOSED-end", text::edge_two_msl, 0},
      {"CLOSE-WAIT", "LAST-ACK", text::edge_close_fin, 0},
      {"LAST-ACK", "CLOSED-end", text::edge_ack_of_fin, 0},
  };
  return list;
}

// A transition's boxes: a connection starts at the top CLOSED and ends at the bottom one, except a listener's
// or a connect()'s that never got anywhere, which go back up, as in the figure.
std::pair<std::string, std::string> nodes_of(const TimelineEvent& e) {
  std::string to = e.to;
  if (to == "CLOSED" && e.from != "LISTEN" && e.from != "SYN-SENT" && e.from != "CLOSED") to = "CLOSED-end";
  return {e.from, to};
}

struct Point {
  double x, y;
};

// Where the line from a box's centre towards `towards` leaves the box (plus a small gap for the arrowhead).
Point border(const Node& n, Point towards, double gap) {
  double dx = towards.x - n.x, dy = towards.y - n.y;
  double scale = std::min(dx == 0 ? 1e9 : (kBoxW / 2 + gap) / std::abs(dx),
                          dy == 0 ? 1e9 : (kBoxH / 2 + gap) / std::abs(dy));
  return {n.x + dx * scale, n.y + dy * scale};
}

struct Curve {
  Point start, control, end;
  Point at(double t) const {
    double a = (1 - t) * (1 - t), b = 2 * (1 - t) * t, c = t * t;
    return {a * start.x + b * control.x + c * end.x, a * start.y + b * control.y + c * end.y};
  }
  std::string d() const {
    return "M" + num(start.x) + "," + num(start.y) + " Q" + num(control.x) + "," + num(control.y) + " " +
           num(end.x) + "," + num(end.y);
  }
};

Curve curve(const std::string& from, const std::string& to, double bend) {
  const Node &a = node(from), &b = node(to);
  double dx = b.x - a.x, dy = b.y - a.y, length = std::max(1.0, std::hypot(dx, dy));
  Point control{(a.x + b.x) / 2 - dy / length * bend, (a.y + b.y) / 2 + dx / length * bend};
  return {border(a, control, 0), control, border(b, control, 3)};
}

const Edge* figure_edge(const std::string& from, const std::string& to) {
  for (const Edge& e : edges()) {
    if (from == e.from && to == e.to) return &e;
  }
  return nullptr;
}

void box(std::ostream& out, const Node& n, const std::string& cls) {
  out << "<g class=\"" << cls << "\" data-state=\"" << n.state << "\"><rect x=\"" << num(n.x - kBoxW / 2)
      << "\" y=\"" << num(n.y - kBoxH / 2) << "\" width=\"" << kBoxW << "\" height=\"" << kBoxH
      << "\" rx=\"5\"/><text x=\"" << num(n.x) << "\" y=\"" << num(n.y + 4) << "\">" << n.state
      << "</text></g>";
}

}  // namespace

int default_lane(const Timeline& timeline) {
  for (std::size_t i = 0; i < timeline.lanes.size(); ++i) {
    if (timeline.lanes[i].role == "client side") return static_cast<int>(i);
  }
  return timeline.lanes.empty() ? -1 : 0;
}

void write_diagram_definitions(std::ostream& out) {
  out << "<marker id=\"diagram-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"6\" "
         "markerHeight=\"6\" "
      << "orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker><marker id=\"diagram-arrow-lit\" "
         "class=\"lit\" "
      << "viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"13\" "
         "markerHeight=\"13\" "
      << "orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker>\n<g id=\"tcp-figure\" class=\"figure\">";
  for (const Edge& e : edges()) {
    Curve c = curve(e.from, e.to, e.bend);
    Point label = c.at(0.5);
    out << "<g class=\"edge\" data-edge=\"" << e.from << ">" << e.to << "\"><path d=\"" << c.d()
        << "\"/><text x=\"" << num(label.x) << "\" y=\"" << num(label.y - 3) << "\">" << esc(e.label())
        << "</text></g>";
  }
  for (const Node& n : nodes()) box(out, n, "node");
  out << "</g>\n";
  for (const Node& n : nodes()) {  // a visited state's frame, over the figure's box, its text showing through
    out << "<rect id=\"visited-" << n.id << "\" class=\"visited\" x=\"" << num(n.x - kBoxW / 2) << "\" y=\""
        << num(n.y - kBoxH / 2) << "\" width=\"" << kBoxW << "\" height=\"" << kBoxH << "\" rx=\"5\"/>";
  }
  out << "\n";
}

void write_state_diagram(std::ostream& out, const ExperimentResult& r, const EventOrder& order, int shown) {
  out << "<div class=\"diagram\"><h4>" << esc(text::diagram_heading())
      << "</h4>\n<svg class=\"state-diagram\" "
      << "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"" << esc(text::diagram_aria())
      << "\" width=\"" << kWidth << "\" height=\"" << kHeight << "\" viewBox=\"0 0 " << kWidth << " "
      << kHeight << "\"><use href=\"#tcp-figure\"/>\n";
  // One overlay per lane: the boxes it visited, lit; the edges it took, thick, numbered in order.
  for (std::size_t l = 0; l < r.timeline.lanes.size(); ++l) {
    std::vector<std::size_t> path = lane_transitions(order, static_cast<int>(l));
    out << "<g class=\"lane-path" << (static_cast<int>(l) == shown ? " shown" : "") << "\" data-lane=\"" << l
        << "\">";
    std::set<std::string> visited;
    for (std::size_t i : path) {
      auto [from, to] = nodes_of(order.events[i]);
      visited.insert(from);
      visited.insert(to);
    }
    for (const Node& n : nodes()) {
      if (!visited.count(n.id)) continue;
      out << "<use class=\"visited\" data-state=\"" << n.state << "\" href=\"#visited-" << n.id << "\"/>";
    }
    std::map<std::string, int> uses;  // a listener restarted takes the same edges again
    for (std::size_t k = 0; k < path.size(); ++k) {
      const TimelineEvent& e = order.events[path[k]];
      auto [from, to] = nodes_of(e);
      const Edge* figure = figure_edge(from, to);
      Curve c = curve(from, to, figure ? figure->bend : 70);
      int use = uses[from + ">" + to]++;
      Point badge = c.at(use == 0 ? 0.5 : use % 2 ? 0.3 : 0.7);
      out << "<g class=\"taken" << (figure ? "" : " extra") << "\" data-e=\"" << path[k] + 1
          << "\"><path d=\"" << c.d() << "\"/><circle cx=\"" << num(badge.x) << "\" cy=\"" << num(badge.y)
          << "\" r=\"8\"/><text x=\"" << num(badge.x) << "\" y=\"" << num(badge.y + 3.5) << "\">" << k + 1
          << "</text></g>";
    }
    out << "</g>\n";
  }
  out << "</svg></div>\n";
}

void write_state_paths(std::ostream& out, const ExperimentResult& r, const EventOrder& order, int shown) {
  out << "<div class=\"paths\"><p class=\"meta\">" << esc(text::diagram_about())
      << "</p><select class=\"lane-choice\" aria-label=\"" << esc(text::diagram_aria()) << "\">";
  for (std::size_t l = 0; l < r.timeline.lanes.size(); ++l) {
    out << "<option value=\"" << l << "\"" << (static_cast<int>(l) == shown ? " selected=\"selected\"" : "")
        << ">" << esc(order.lane_tags[l] + "  " + lane_text(r.timeline.lanes[l])) << "</option>";
  }
  out << "</select>\n";
  for (std::size_t l = 0; l < r.timeline.lanes.size(); ++l) {
    out << "<ol class=\"path-list" << (static_cast<int>(l) == shown ? " shown" : "") << "\" data-lane=\"" << l
        << "\">";
    for (std::size_t i : lane_transitions(order, static_cast<int>(l))) {
      const TimelineEvent& e = order.events[i];
      out << "<li data-e=\"" << i + 1 << "\"><b>" << esc(text::path_item(e.from, e.shown)) << "</b> "
          << esc(e.cause) << " <small>" << moment_text(e.at) << " · " << esc(text::at_step(i + 1))
          << "</small></li>";
    }
    out << "</ol>\n";
  }
  out << "</div>\n";
}

}  // namespace socklab::harness
