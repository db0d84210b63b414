// An experiment's events in the order they happened, for timelines a student can read: every segment on the
// wire, every TCP state change and every harness step gets a place of its own, in order, with its real time
// beside it. On loopback a connection lives well under a millisecond, so a linear time axis over a whole
// experiment shows it as a sliver; ordered events show "client sends FIN → client FIN-WAIT-1 → server
// CLOSE-WAIT" one after the other, and the idle stretches between them are compressed and labelled with their
// length.
//
// Built from an ExperimentResult alone (no I/O): the text timeline (--timeline), the HTML report's axis, its
// state-diagram paths and its step-through socket table all read this.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "run/results.h"

namespace socklab::harness {

// A gap between two events at least this long is "idle": the event axis compresses it and says how long it
// was.
constexpr double kIdleGap = 0.005;

struct TimelineEvent {
  enum class Kind { kStep, kCheck, kSnapshot, kSegment, kState };
  Kind kind = Kind::kStep;
  double at = 0;             // seconds since the experiment started
  double since = 0;          // seconds since the previous event (0 for the first)
  bool idle_before = false;  // since >= kIdleGap: the axis marks a compressed gap before this event
  std::size_t index =
      0;             // into result.steps, .checks, .snapshots, .packets; for kState: into its lane's states
  int lane = -1;     // kState: its lane; kSegment: the sender's lane (-1 if no lane is the sender's)
  int to_lane = -1;  // kSegment: the receiver's lane (the listener's for a SYN nobody has accepted yet)
  // kState: the transition in the TCP state diagram's terms. `from` is the state before ("CLOSED" before a
  // client's first, "LISTEN" before a server side's first); `to` is the state entered ("gone", as sock_diag
  // saw a socket vanish, counts as CLOSED). `shown` is the state as recorded ("gone" stays "gone").
  std::string from, to, shown;
  std::string cause;     // kState: the call or segment that caused it: "connect(): SYN sent", "FIN received"
  int cause_event = -1;  // kState: the segment event that caused it, when one was captured
};

struct EventOrder {
  std::vector<TimelineEvent>
      events;  // in time order; ties keep the order step, check, snapshot, state, segment
  std::vector<std::string> lane_tags;  // per lane: "A", "B", … (the text timeline's short names)
};

EventOrder order_events(const ExperimentResult& result);

// The lane of the socket `local` → `peer` ("local|peer"), else the listener on `local`'s port; -1 if none. With `at`,
// a lane not yet born then does not count: a server side is born when the handshake's last ACK arrives, so the SYN
// before it went to the listener, and its SYN,ACK came from the listener's request socket (a SYN dropped by a full
// accept queue never reaches a lane of its own).
int lane_of(const Timeline& timeline, const std::string& local, const std::string& peer,
            std::optional<double> at = std::nullopt);

// A lane's state changes as transitions of the TCP state diagram, in order: indexes into EventOrder::events.
std::vector<std::size_t> lane_transitions(const EventOrder& order, int lane);

// The socket table (ss's view) after each event, as changes per lane: from event `event` on, the lane's
// socket is in `state` with these queues and owner, or absent (state empty: not yet opened, or closed). The
// state comes from the timeline; queues and owners from the latest snapshot at or before that event that
// shows the socket in that state ("?" when none does).
struct SocketRow {
  std::size_t event = 0;
  std::string state, recv_q, send_q, process;
  std::optional<std::size_t> seen_at;  // the snapshot's event the queues and owner are from: they may have changed since
  bool operator==(const SocketRow&) const = default;
};
std::vector<std::vector<SocketRow>> socket_rows(const ExperimentResult& result, const EventOrder& order);

// For people: a lane as "client side 127.0.0.1:40712 → 127.0.0.1:8888"; a segment as "SYN", "PSH,ACK 6 B
// \"hello\\n\"".
std::string lane_text(const Lane& lane);
std::string segment_text(const Packet& packet);
// What an event says, in one line (the text timeline and the HTML step-through): a step's text, a check's
// verdict, a snapshot's title, "A ── SYN ──▶ B", "A  ESTAB → FIN-WAIT-1  close(): FIN sent".
std::string event_text(const ExperimentResult& result, const EventOrder& order, const TimelineEvent& event);

// The terminal's timeline (--timeline): each connection with its states and exact times, then every event in
// order, numbered as in the HTML report's step-through, with its time, the span since the previous one, and
// the idle gaps marked ("⋯ 0.50 s ⋯"). Plain text: readable without colour.
std::string render_event_timeline(const ExperimentResult& result);

}  // namespace socklab::harness
