#include "report/events.h"

#include <algorithm>
#include <functional>
#include <iomanip>
#include <map>
#include <sstream>

#include "model/durations.h"
#include "report/text.h"

namespace socklab::harness {
namespace {

using Kind = TimelineEvent::Kind;

// Within this much, a segment and a state change count as simultaneous when finding which segment caused
// which change (both times are the kernel's; this only absorbs the conversion of the packet's clock).
constexpr double kSlack = 0.0002;

bool closed(const std::string& state) {
  return state == "CLOSED" || state == "gone";
}

// Which way a cause's segment went, seen from the lane that changed state.
enum class Way { kNone, kReceived, kSent };

struct Rule {
  std::string (*cause)();
  Way way = Way::kNone;
  std::function<bool(const Packet&)> segment;  // the segment that caused it
};

bool syn_only(const Packet& p) {
  return p.syn && !p.ack;
}
bool syn_ack(const Packet& p) {
  return p.syn && p.ack;
}
bool plain_ack(const Packet& p) {
  return p.ack && !p.syn && !p.rst;
}
bool fin(const Packet& p) {
  return p.fin;
}
bool rst(const Packet& p) {
  return p.rst;
}

// The edges of the TCP state diagram (RFC 9293, figure 5), and what causes each.
const std::map<std::pair<std::string, std::string>, Rule>& rules() {
  static const std::map<std::pair<std::string, std::string>, Rule> table{
      {{"CLOSED", "LISTEN"}, {text::cause_listen, Way::kNone, nullptr}},
      {{"CLOSED", "SYN-SENT"}, {text::cause_connect, Way::kSent, syn_only}},
      {{"LISTEN", "SYN-RECV"}, {text::cause_syn_received, Way::kReceived, syn_only}},
      {{"LISTEN", "SYN-SENT"}, {text::cause_connect, Way::kSent, syn_only}},
      {{"SYN-SENT", "SYN-RECV"}, {text::cause_simultaneous_open, Way::kReceived, syn_only}},
      {{"SYN-SENT", "ESTAB"}, {text::cause_syn_ack_received, Way::kReceived, syn_ack}},
      {{"SYN-RECV", "ESTAB"}, {text::cause_ack_of_syn, Way::kReceived, plain_ack}},
      {{"ESTAB", "FIN-WAIT-1"}, {text::cause_close_sends_fin, Way::kSent, fin}},
      {{"SYN-RECV", "FIN-WAIT-1"}, {text::cause_close_sends_fin, Way::kSent, fin}},
      {{"ESTAB", "CLOSE-WAIT"}, {text::cause_fin_received, Way::kReceived, fin}},
      {{"FIN-WAIT-1", "FIN-WAIT-2"}, {text::cause_ack_of_fin, Way::kReceived, plain_ack}},
      {{"FIN-WAIT-1", "CLOSING"}, {text::cause_fin_received, Way::kReceived, fin}},
      {{"FIN-WAIT-1", "TIME-WAIT"}, {text::cause_fin_and_ack_received, Way::kReceived, fin}},
      {{"FIN-WAIT-2", "TIME-WAIT"}, {text::cause_fin_received, Way::kReceived, fin}},
      {{"CLOSING", "TIME-WAIT"}, {text::cause_ack_of_fin, Way::kReceived, plain_ack}},
      {{"TIME-WAIT", "CLOSED"}, {text::cause_time_wait_over, Way::kNone, nullptr}},
      {{"CLOSE-WAIT", "LAST-ACK"}, {text::cause_close_sends_fin, Way::kSent, fin}},
      {{"LAST-ACK", "CLOSED"}, {text::cause_ack_of_fin, Way::kReceived, plain_ack}},
      {{"LISTEN", "CLOSED"}, {text::cause_close, Way::kNone, nullptr}},
      {{"SYN-SENT", "CLOSED"}, {text::cause_syn_timeout, Way::kNone, nullptr}},
  };
  return table;
}

bool sent_by(const Packet& p, const Lane& l) {
  return p.src == l.local && p.dst == l.peer;
}
bool received_by(const Packet& p, const Lane& l) {
  return p.src == l.peer && p.dst == l.local;
}

// The segment (an index into packets) that caused a lane's change at `at`: a received one at or before it
// (after the lane's previous change), or a sent one at or after it (before its next change).
std::optional<std::size_t> find_segment(const std::vector<Packet>& packets, const Lane& lane, Way way,
                                        const std::function<bool(const Packet&)>& matches, double previous,
                                        double at, double next) {
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const Packet& p = packets[i];
    if (!matches(p)) continue;
    if (way == Way::kReceived && received_by(p, lane) && p.at >= previous - kSlack && p.at <= at + kSlack)
      found = i;  // the latest
    if (way == Way::kSent && sent_by(p, lane) && p.at >= at - kSlack && p.at <= next + kSlack)
      return i;  // the first
  }
  return found;
}

// Why the lane went from `from` to `to` at state `k`, and which segment did it.
std::pair<std::string, std::optional<std::size_t>> cause_of(const ExperimentResult& r, const Lane& lane,
                                                            std::size_t k, const std::string& from,
                                                            const std::string& to) {
  const LaneState& s = lane.states[k];
  double previous = k > 0 ? lane.states[k - 1].at : 0,
         next = k + 1 < lane.states.size() ? lane.states[k + 1].at : 1e300;
  std::string target = closed(to) ? "CLOSED" : to;
  if (closed(to) && from != "TIME-WAIT" && from != "LISTEN") {  // the figure has no RST: look for one first
    if (auto i = find_segment(r.packets, lane, Way::kReceived, rst, previous, s.at, next))
      return {text::cause_rst_received(), i};
    if (auto i = find_segment(r.packets, lane, Way::kSent, rst, previous - 1, previous, s.at))
      return {text::cause_rst_sent(), i};
  }
  auto it = rules().find({from, target});
  if (it != rules().end()) {
    const Rule& rule = it->second;
    std::optional<std::size_t> segment;
    if (rule.way != Way::kNone)
      segment = find_segment(r.packets, lane, rule.way, rule.segment, previous, s.at, next);
    return {rule.cause(), segment};
  }
  if (to == "gone") return {text::cause_gone(), std::nullopt};
  if (target == "CLOSED" && (from == "FIN-WAIT-2" || from == "CLOSING") && s.source == "tracepoint") {
    return {text::cause_handover(), std::nullopt};
  }
  return {text::cause_unknown(), std::nullopt};
}

std::string tag_of(std::size_t lane) {
  return lane < 26 ? std::string(1, static_cast<char>('A' + lane)) : "L" + std::to_string(lane + 1);
}

// Right-aligned in `width` characters (code points: "µ" is one, as a terminal shows it).
std::string pad_left(const std::string& text, std::size_t width) {
  std::size_t characters = 0;
  for (char c : text) characters += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return characters < width ? std::string(width - characters, ' ') + text : text;
}

TimelineEvent event(Kind kind, double at, std::size_t index) {
  TimelineEvent e;
  e.kind = kind;
  e.at = at;
  e.index = index;
  return e;
}

int rank(Kind k) {  // at the same instant: what the harness did, then what the kernel did
  switch (k) {
    case Kind::kStep:
      return 0;
    case Kind::kCheck:
      return 1;
    case Kind::kSnapshot:
      return 2;
    case Kind::kState:
      return 3;
    case Kind::kSegment:
      return 4;
  }
  return 5;
}

}  // namespace

int lane_of(const Timeline& timeline, const std::string& local, const std::string& peer, std::optional<double> at) {
  std::string port = local.substr(local.rfind(':') + 1);
  int listener = -1;
  for (std::size_t i = 0; i < timeline.lanes.size(); ++i) {
    const Lane& l = timeline.lanes[i];
    bool born = !at || (!l.states.empty() && l.states.front().at <= *at);
    if (l.local == local && l.peer == peer && born) return static_cast<int>(i);
    if (listener < 0 && l.peer == "*:*" && l.local.substr(l.local.rfind(':') + 1) == port)
      listener = static_cast<int>(i);
  }
  return listener;
}

EventOrder order_events(const ExperimentResult& r) {
  EventOrder order;
  std::vector<TimelineEvent>& events = order.events;
  for (std::size_t i = 0; i < r.steps.size(); ++i) events.push_back(event(Kind::kStep, r.steps[i].at, i));
  for (std::size_t i = 0; i < r.checks.size(); ++i) {
    if (r.checks[i].status != CheckResult::Status::kNotRun)
      events.push_back(event(Kind::kCheck, r.checks[i].at, i));
  }
  for (std::size_t i = 0; i < r.snapshots.size(); ++i)
    events.push_back(event(Kind::kSnapshot, r.snapshots[i].at, i));
  for (std::size_t i = 0; i < r.packets.size(); ++i) {
    TimelineEvent e = event(Kind::kSegment, r.packets[i].at, i);
    e.lane = lane_of(r.timeline, r.packets[i].src, r.packets[i].dst, e.at);
    e.to_lane = lane_of(r.timeline, r.packets[i].dst, r.packets[i].src, e.at);
    events.push_back(e);
  }
  for (std::size_t l = 0; l < r.timeline.lanes.size(); ++l) {
    const Lane& lane = r.timeline.lanes[l];
    order.lane_tags.push_back(tag_of(l));
    for (std::size_t k = 0; k < lane.states.size(); ++k) {
      TimelineEvent e = event(Kind::kState, lane.states[k].at, k);
      e.lane = static_cast<int>(l);
      e.shown = lane.states[k].state;
      e.to = closed(e.shown) ? "CLOSED" : e.shown;
      if (e.shown == "SYN-RECV" || (k == 0 && lane.role == "server side")) {
        e.from = "LISTEN";  // a server side is born of its listener
      } else if (e.shown == "SYN-SENT" || k == 0) {
        e.from = "CLOSED";  // a new socket: the same four addresses and ports again (lab 4), its old one in TIME-WAIT
      } else {
        e.from = closed(lane.states[k - 1].state) ? "CLOSED" : lane.states[k - 1].state;
      }
      events.push_back(e);
    }
  }
  std::stable_sort(events.begin(), events.end(), [](const TimelineEvent& a, const TimelineEvent& b) {
    return a.at != b.at ? a.at < b.at : rank(a.kind) < rank(b.kind);
  });
  // Causes, now that every segment has its place.
  std::map<std::size_t, std::size_t> event_of_packet;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].kind == Kind::kSegment) event_of_packet[events[i].index] = i;
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    TimelineEvent& e = events[i];
    e.since = i ? e.at - events[i - 1].at : 0;
    e.idle_before = i > 0 && e.since >= kIdleGap;
    if (e.kind != Kind::kState) continue;
    auto [cause, segment] =
        cause_of(r, r.timeline.lanes[static_cast<std::size_t>(e.lane)], e.index, e.from, e.shown);
    e.cause = cause;
    if (segment) e.cause_event = static_cast<int>(event_of_packet[*segment]);
  }
  return order;
}

std::vector<std::size_t> lane_transitions(const EventOrder& order, int lane) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < order.events.size(); ++i) {
    if (order.events[i].kind == Kind::kState && order.events[i].lane == lane) out.push_back(i);
  }
  return out;
}

std::vector<std::vector<SocketRow>> socket_rows(const ExperimentResult& r, const EventOrder& order) {
  const std::size_t lanes = r.timeline.lanes.size();
  std::vector<std::vector<SocketRow>> rows(lanes);
  std::vector<std::string> state(lanes);
  // What the latest snapshot said of each lane's socket: state, Recv-Q, Send-Q, process.
  std::vector<std::optional<SocketRow>> seen(lanes);
  auto emit = [&](std::size_t l, std::size_t event) {
    SocketRow row{event, state[l], "", "", "", std::nullopt};
    if (!row.state.empty()) {
      bool known = seen[l] && seen[l]->state == row.state;
      row.recv_q = known ? seen[l]->recv_q : "?";
      row.send_q = known ? seen[l]->send_q : "?";
      row.process = known ? seen[l]->process : "";
      if (known) row.seen_at = seen[l]->event;
    }
    auto& list = rows[l];
    bool same = !list.empty() && list.back().state == row.state && list.back().recv_q == row.recv_q &&
                list.back().send_q == row.send_q && list.back().process == row.process &&
                list.back().seen_at == row.seen_at;
    if (!same && !(list.empty() && row.state.empty())) list.push_back(row);
  };
  for (std::size_t i = 0; i < order.events.size(); ++i) {
    const TimelineEvent& e = order.events[i];
    if (e.kind == Kind::kState) {
      auto l = static_cast<std::size_t>(e.lane);
      state[l] = closed(e.shown) ? "" : e.shown;
      emit(l, i);
    } else if (e.kind == Kind::kSnapshot) {
      for (const SocketInfo& s : r.snapshots[e.index].sockets) {
        if (s.protocol != Protocol::kTcp) continue;
        int l = -1;
        for (std::size_t k = 0; k < lanes; ++k) {
          if (r.timeline.lanes[k].local == s.local() && r.timeline.lanes[k].peer == s.peer())
            l = static_cast<int>(k);
        }
        if (l < 0) continue;
        std::string owners;
        for (const SocketOwner& o : s.owners)
          owners += (owners.empty() ? "" : ",") + o.command + "(" + std::to_string(o.pid) + ")";
        seen[static_cast<std::size_t>(l)] =
            SocketRow{i, s.state, std::to_string(s.recv_q), std::to_string(s.send_q), owners, i};
        emit(static_cast<std::size_t>(l), i);
      }
    }
  }
  return rows;
}

std::string lane_text(const Lane& l) {
  return l.role + " " + l.local + " → " + l.peer;
}

std::string segment_text(const Packet& p) {
  std::string label = p.flags();
  if (p.payload > 0)
    label += " " + text::bytes(p.payload) + " \"" + p.preview + (p.payload > 16 ? "…" : "") + "\"";
  if (p.retransmission) label += " " + text::retransmission();
  return label;
}

std::string event_text(const ExperimentResult& r, const EventOrder& order, const TimelineEvent& e) {
  auto tag = [&](int lane) {
    return lane >= 0 ? order.lane_tags[static_cast<std::size_t>(lane)] : std::string("?");
  };
  switch (e.kind) {
    case Kind::kStep:
      return "▸ " + r.steps[e.index].text;
    case Kind::kCheck: {
      const CheckResult& c = r.checks[e.index];
      return c.status == CheckResult::Status::kPassed ? text::check_passed(c.name)
                                                      : text::check_failed(c.name);
    }
    case Kind::kSnapshot:
      return text::snapshot_taken(r.snapshots[e.index].title);
    case Kind::kSegment:
      return tag(e.lane) + " ── " + segment_text(r.packets[e.index]) + " ──▶ " + tag(e.to_lane);
    case Kind::kState:
      return tag(e.lane) + "  " + e.from + " → " + e.shown + "   " + e.cause;
  }
  return "";
}

std::string render_event_timeline(const ExperimentResult& r) {
  const Timeline& timeline = r.timeline;
  EventOrder order = order_events(r);
  std::ostringstream out;
  out << text::timeline_heading(timeline.source) << "\n";
  if (!timeline.note.empty()) out << "  (" << timeline.note << ")\n";
  out << "  " << text::timeline_connections() << "\n";
  for (std::size_t i = 0; i < timeline.lanes.size(); ++i) {
    const Lane& l = timeline.lanes[i];
    out << "  " << std::left << std::setw(3) << order.lane_tags[i] << std::setw(11) << l.role << " "
        << l.local << " → " << l.peer << "\n        ";
    for (std::size_t k = 0; k < l.states.size(); ++k) {
      out << (k ? " → " : "") << l.states[k].state << " " << moment_text(l.states[k].at);
      if (l.states[k].source == "sock_diag" && timeline.source.rfind("tracepoint", 0) == 0)
        out << " " << text::seen_by_sock_diag();
      if (l.states[k].source == "timewait socket") out << " " << text::timewait_mini_socket();
    }
    out << "\n";
    for (const std::string& m : l.missed) out << "        " << text::not_caught(m) << "\n";
  }
  out << "  " << text::timeline_in_order() << "\n";
  const int number_width = static_cast<int>(std::to_string(order.events.size()).size());
  for (std::size_t i = 0; i < order.events.size(); ++i) {
    const TimelineEvent& e = order.events[i];
    if (e.idle_before)
      out << "  " << std::string(static_cast<std::size_t>(number_width), ' ') << "  "
          << text::idle(span_text(e.since)) << "\n";
    std::string since = i && !e.idle_before ? "+" + span_text(e.since) : "";
    out << "  " << std::right << std::setw(number_width) << i + 1 << "  " << std::setw(10)
        << moment_text(e.at) << " " << pad_left(since, 9) << "  " << event_text(r, order, e) << "\n";
  }
  return out.str();
}

}  // namespace socklab::harness
