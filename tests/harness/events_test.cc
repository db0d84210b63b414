// Ordering an experiment's events for the timelines (report/events): segments, state changes and steps each
// in a place of their own, idle stretches marked, each state change with its cause, and the socket table at
// any step — from hand-made results of known shape, no kernel needed.
#include "report/events.h"

#include <gtest/gtest.h>

#include "model/durations.h"
#include "report/text.h"

namespace socklab::harness {
namespace {

using Kind = TimelineEvent::Kind;

const std::string kClient = "127.0.0.1:40000", kServer = "127.0.0.1:8888";

Packet segment(double at, bool from_client, const std::string& flags, std::size_t payload = 0) {
  Packet p;
  p.at = at;
  p.src = from_client ? kClient : kServer;
  p.dst = from_client ? kServer : kClient;
  p.sport = from_client ? 40000 : 8888;
  p.dport = from_client ? 8888 : 40000;
  p.syn = flags.find("SYN") != std::string::npos;
  p.fin = flags.find("FIN") != std::string::npos;
  p.rst = flags.find("RST") != std::string::npos;
  p.ack = flags.find("ACK") != std::string::npos;
  p.psh = flags.find("PSH") != std::string::npos;
  p.payload = payload;
  if (payload) p.preview = "bye\\n";
  return p;
}

Lane lane(const std::string& role, const std::string& local, const std::string& peer,
          std::vector<LaneState> states) {
  return Lane{local, peer, role, std::move(states), {}};
}

// A client that connects, sends "bye", and closes first (times as a loopback run has them: microseconds
// apart), then 0.5 s later a snapshot of its TIME-WAIT.
ExperimentResult client_closes_first() {
  ExperimentResult r;
  r.steps = {{0.010, 1, "start server: echo_server 8888", true},
             {0.050, 2, "start client: echo_client -p 8888", true},
             {0.060, 3, "send to client: \"bye\"", true}};
  r.timeline.source = "tracepoint sock:inet_sock_set_state (BPF)";
  r.timeline.lanes = {lane("listener", "*:8888", "*:*", {{0.011, "LISTEN", "tracepoint"}}),
                      lane("client side", kClient, kServer,
                           {{0.051000, "SYN-SENT", "tracepoint"},
                            {0.051030, "ESTAB", "tracepoint"},
                            {0.060100, "FIN-WAIT-1", "tracepoint"},
                            {0.060140, "FIN-WAIT-2", "tracepoint"},
                            {0.060200, "TIME-WAIT", "timewait socket"}}),
                      lane("server side", kServer, kClient,
                           {{0.051040, "SYN-RECV", "tracepoint"},
                            {0.051041, "ESTAB", "tracepoint"},
                            {0.060120, "CLOSE-WAIT", "tracepoint"},
                            {0.060180, "LAST-ACK", "tracepoint"},
                            {0.060210, "CLOSED", "tracepoint"}})};
  r.packets = {segment(0.051010, true, "SYN"),      segment(0.051020, false, "SYN,ACK"),
               segment(0.051035, true, "ACK"),      segment(0.060050, true, "PSH,ACK", 4),
               segment(0.060110, true, "FIN,ACK"),  segment(0.060130, false, "ACK"),
               segment(0.060190, false, "FIN,ACK"), segment(0.060205, true, "ACK")};
  SocketInfo tw;
  tw.protocol = Protocol::kTcp;
  tw.family = 2;  // AF_INET
  tw.state = "TIME-WAIT";
  tw.local_address = "127.0.0.1";
  tw.local_port = 40000;
  tw.peer_address = "127.0.0.1";
  tw.peer_port = 8888;
  r.snapshots = {{"TIME-WAIT", 4, 0.560, {tw}}};
  return r;
}

// The index of the first event of `kind` whose text contains `what`; fails the test if there is none.
std::size_t find_event(const ExperimentResult& r, const EventOrder& order, Kind kind,
                       const std::string& what) {
  for (std::size_t i = 0; i < order.events.size(); ++i) {
    if (order.events[i].kind == kind && event_text(r, order, order.events[i]).find(what) != std::string::npos)
      return i;
  }
  ADD_FAILURE() << "no event of kind " << static_cast<int>(kind) << " says \"" << what << "\"";
  return order.events.size();
}

// Every segment, state change, step and snapshot has a place of its own, in time order.
TEST(Events, EveryEventInTimeOrder) {
  ExperimentResult r = client_closes_first();
  EventOrder order = order_events(r);
  EXPECT_EQ(order.events.size(), r.steps.size() + r.packets.size() + 1 + 5 + 5 + 1)
      << "steps, segments, states, snapshot";
  for (std::size_t i = 1; i < order.events.size(); ++i) {
    EXPECT_LE(order.events[i - 1].at, order.events[i].at)
        << "event " << i << " is earlier than the one before it";
  }
  EXPECT_EQ(order.lane_tags, (std::vector<std::string>{"A", "B", "C"}));
}

// "client sends FIN → client FIN-WAIT-1 → server CLOSE-WAIT" reads in that order, and each change knows its
// cause.
TEST(Events, CloseReadsLeftToRightWithCauses) {
  ExperimentResult r = client_closes_first();
  EventOrder order = order_events(r);
  std::size_t fin_wait = find_event(r, order, Kind::kState, "ESTAB → FIN-WAIT-1"),
              fin = find_event(r, order, Kind::kSegment, "B ── FIN,ACK ──▶ C"),
              close_wait = find_event(r, order, Kind::kState, "ESTAB → CLOSE-WAIT");
  EXPECT_LT(fin_wait, fin);
  EXPECT_LT(fin, close_wait);
  EXPECT_EQ(order.events[fin_wait].cause, text::cause_close_sends_fin());
  EXPECT_EQ(order.events[fin_wait].cause_event, static_cast<int>(fin)) << "the FIN it sent";
  EXPECT_EQ(order.events[close_wait].cause, text::cause_fin_received());
  EXPECT_EQ(order.events[close_wait].cause_event, static_cast<int>(fin)) << "the FIN it received";
  std::size_t syn_sent = find_event(r, order, Kind::kState, "CLOSED → SYN-SENT");
  EXPECT_EQ(order.events[syn_sent].cause, text::cause_connect());
  std::size_t syn_recv = find_event(r, order, Kind::kState, "LISTEN → SYN-RECV");  // born of the listener
  EXPECT_EQ(order.events[syn_recv].cause, text::cause_syn_received());
  std::size_t last_ack_closed = find_event(r, order, Kind::kState, "LAST-ACK → CLOSED");
  EXPECT_EQ(order.events[last_ack_closed].cause, text::cause_ack_of_fin());
  std::size_t time_wait = find_event(r, order, Kind::kState, "FIN-WAIT-2 → TIME-WAIT");
  EXPECT_EQ(order.events[time_wait].cause, text::cause_fin_received());
}

// Idle stretches are marked with their length; events microseconds apart are not.
TEST(Events, IdleGapsAreMarked) {
  ExperimentResult r = client_closes_first();
  EventOrder order = order_events(r);
  std::size_t snapshot = find_event(r, order, Kind::kSnapshot, "TIME-WAIT");
  EXPECT_TRUE(order.events[snapshot].idle_before);
  EXPECT_NEAR(order.events[snapshot].since, 0.560 - 0.060210, 1e-9);
  std::size_t close_wait = find_event(r, order, Kind::kState, "ESTAB → CLOSE-WAIT");
  EXPECT_FALSE(order.events[close_wait].idle_before);
}

// A SYN that nobody has accepted yet (lab 3: the accept queue is full) goes to the listener's lane, and its
// retransmissions each have a place of their own.
TEST(Events, SynToAFullQueueGoesToTheListener) {
  ExperimentResult r;
  r.timeline.lanes = {lane("listener", "*:8888", "*:*", {{0.001, "LISTEN", "tracepoint"}}),
                      lane("client side", kClient, kServer, {{0.010, "SYN-SENT", "tracepoint"}})};
  Packet again = segment(1.020, true, "SYN");
  again.retransmission = true;
  r.packets = {segment(0.010, true, "SYN"), again};
  EventOrder order = order_events(r);
  ASSERT_EQ(order.events.size(), 4u);
  EXPECT_EQ(order.events[2].kind, Kind::kSegment);
  EXPECT_EQ(order.events[2].lane, 1);
  EXPECT_EQ(order.events[2].to_lane, 0) << "to the listener";
  EXPECT_TRUE(order.events[3].idle_before);
  EXPECT_NE(event_text(r, order, order.events[3]).find("(retransmission)"), std::string::npos);
}

// A server side is born of the handshake's last ACK: the SYN before it went to the listener, whose request socket
// answered SYN,ACK; from then on the connection's segments are its own.
TEST(Events, AServerSideIsBornOfTheLastAck) {
  ExperimentResult r = client_closes_first();  // server side born at 0.051040; SYN, SYN,ACK, ACK before that
  EventOrder order = order_events(r);
  std::size_t syn = find_event(r, order, Kind::kSegment, "SYN ──"), syn_ack = find_event(r, order, Kind::kSegment, "SYN,ACK"),
              ack = find_event(r, order, Kind::kSegment, "B ── ACK ──▶"),
              fin = find_event(r, order, Kind::kSegment, "B ── FIN,ACK");
  EXPECT_EQ(order.events[syn].to_lane, 0) << event_text(r, order, order.events[syn]);
  EXPECT_EQ(order.events[syn_ack].lane, 0) << event_text(r, order, order.events[syn_ack]);
  EXPECT_EQ(order.events[ack].to_lane, 0) << event_text(r, order, order.events[ack]);
  EXPECT_EQ(order.events[fin].to_lane, 2) << event_text(r, order, order.events[fin]);
}

// Lab 4 makes the very same connection again while the old one is in TIME-WAIT: the lane's next SYN-SENT is a new
// socket's connect(), from CLOSED, not a transition out of TIME-WAIT.
TEST(Events, TheSameConnectionAgainStartsFromClosed) {
  ExperimentResult r;
  r.timeline.lanes = {lane("client side", kClient, kServer,
                           {{0.01, "SYN-SENT", "tracepoint"},
                            {0.0101, "ESTAB", "tracepoint"},
                            {0.02, "TIME-WAIT", "timewait socket"},
                            {0.03, "SYN-SENT", "tracepoint"}})};
  EventOrder order = order_events(r);
  const TimelineEvent& again = order.events.back();
  EXPECT_EQ(again.from, "CLOSED");
  EXPECT_EQ(again.cause, text::cause_connect());
}

// Lab 4's RST: the client's CLOSE-WAIT ends because of the RST it received, not by the figure's rules.
TEST(Events, ResetIsTheCauseOfAnAbruptClose) {
  ExperimentResult r;
  r.timeline.lanes = {lane("client side", kClient, kServer,
                           {{0.01, "SYN-SENT", "tracepoint"},
                            {0.0101, "ESTAB", "tracepoint"},
                            {0.02, "CLOSE-WAIT", "tracepoint"},
                            {0.100020, "CLOSED", "tracepoint"}}),
                      lane("server side", kServer, kClient,
                           {{0.0101, "SYN-RECV", "tracepoint"},
                            {0.0102, "ESTAB", "tracepoint"},
                            {0.0199, "FIN-WAIT-1", "tracepoint"},
                            {0.0201, "FIN-WAIT-2", "tracepoint"},
                            {0.100030, "gone", "sock_diag"}})};
  r.packets = {segment(0.100000, true, "PSH,ACK", 4), segment(0.100010, false, "RST")};
  EventOrder order = order_events(r);
  std::size_t reset = find_event(r, order, Kind::kState, "CLOSE-WAIT → CLOSED");
  EXPECT_EQ(order.events[reset].cause, text::cause_rst_received());
  std::size_t rst = find_event(r, order, Kind::kSegment, "RST");
  EXPECT_EQ(order.events[reset].cause_event, static_cast<int>(rst));
  std::size_t gone = find_event(r, order, Kind::kState, "FIN-WAIT-2 → gone");
  EXPECT_EQ(order.events[gone].to, "CLOSED") << "gone counts as CLOSED in the state diagram";
  EXPECT_EQ(order.events[gone].cause, text::cause_rst_sent());
}

// A lane's transitions, in order, for its path through the state diagram.
TEST(Events, LaneTransitionsInOrder) {
  ExperimentResult r = client_closes_first();
  EventOrder order = order_events(r);
  auto path = lane_transitions(order, 1);
  ASSERT_EQ(path.size(), 5u);
  std::vector<std::string> to;
  for (std::size_t i : path) to.push_back(order.events[i].to);
  EXPECT_EQ(to, (std::vector<std::string>{"SYN-SENT", "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"}));
  EXPECT_EQ(order.events[path[0]].from, "CLOSED");
}

// The socket table at any event: the state from the timeline, queues from the latest snapshot that shows the
// same state ("?" before one does), and the row gone once the socket is closed.
TEST(Events, SocketTableAtEachEvent) {
  ExperimentResult r = client_closes_first();
  EventOrder order = order_events(r);
  auto rows = socket_rows(r, order);
  ASSERT_EQ(rows.size(), 3u);
  const auto& client = rows[1];
  ASSERT_GE(client.size(), 6u);
  EXPECT_EQ(client[0].state, "SYN-SENT");
  EXPECT_EQ(client[0].recv_q, "?");
  EXPECT_EQ(client[4].state, "TIME-WAIT");
  EXPECT_EQ(client[4].recv_q, "?") << "no snapshot yet";
  EXPECT_EQ(client[5].state, "TIME-WAIT");
  EXPECT_EQ(client[5].recv_q, "0") << "from the snapshot";
  EXPECT_EQ(order.events[client[5].event].kind, Kind::kSnapshot);
  EXPECT_EQ(client[5].seen_at, client[5].event) << "the queues are as of that snapshot";
  EXPECT_FALSE(client[4].seen_at);
  EXPECT_EQ(rows[2].back().state, "") << "the server side is closed: no row in ss";
}

// The terminal's timeline: numbered events with exact times and spans, idle gaps marked, lanes by letter.
TEST(Events, TextTimelineInEventOrder) {
  ExperimentResult r = client_closes_first();
  std::string text = render_event_timeline(r);
  EXPECT_NE(text.find("B  client side 127.0.0.1:40000 → 127.0.0.1:8888"), std::string::npos) << text;
  EXPECT_NE(text.find("SYN-SENT 0.051000s → ESTAB 0.051030s"), std::string::npos) << text;
  EXPECT_NE(text.find("TIME-WAIT 0.060200s (timewait mini-socket)"), std::string::npos) << text;
  EXPECT_NE(text.find("⋯ 0.50 s ⋯"), std::string::npos) << text;
  EXPECT_NE(text.find("+50 µs  B  ESTAB → FIN-WAIT-1   close() or shutdown(): FIN sent"), std::string::npos)
      << text;
  auto fin_wait = text.find("ESTAB → FIN-WAIT-1"), fin = text.find("B ── FIN,ACK ──▶ C"),
       close_wait = text.find("ESTAB → CLOSE-WAIT");
  EXPECT_TRUE(fin_wait < fin && fin < close_wait) << text;
  EXPECT_EQ(text.find("\033["), std::string::npos) << "no colour";
}

// Times a student can tell apart: microseconds for moments, the fitting unit for spans.
TEST(Durations, MomentsToTheMicrosecondAndSpansInTheirUnit) {
  EXPECT_EQ(moment_text(0.0987123), "0.098712s");
  EXPECT_EQ(span_text(0.000012), "12 µs");
  EXPECT_EQ(span_text(0.0009994), "999 µs");
  EXPECT_EQ(span_text(0.00134), "1.3 ms");
  EXPECT_EQ(span_text(0.0123), "12 ms");
  EXPECT_EQ(span_text(0.0994), "99 ms");
  EXPECT_EQ(span_text(0.0996), "0.10 s");
  EXPECT_EQ(span_text(0.5), "0.50 s");
  EXPECT_EQ(span_text(61.5), "61.50 s");
  EXPECT_EQ(span_text(-1), "0 µs");
}

}  // namespace
}  // namespace socklab::harness
