// The life of every TCP connection of an experiment: its state changes on one clock with the harness's own
// events (program started, line sent, output seen, signal, exit).
//
// Exact source where permitted (root): the kernel tracepoint sock:inet_sock_set_state, read by a small BPF program
// (timeline.bpf.c) that keeps the changes of the experiment's ports in a ring buffer, with CLOCK_MONOTONIC times (the
// harness's clock); where BPF is not available, the same tracepoint in a private tracefs instance (trace_clock mono,
// filtered on the ports). It reports every transition, SYN-SENT, FIN-WAIT-1, LAST-ACK and CLOSING included — but not
// TIME-WAIT: the kernel hands a closing connection over to a "timewait" mini-socket (in TIME-WAIT, or in FIN-WAIT-2
// when its process has closed first) and reports FIN-WAIT-2 -> CLOSE; the handover's time is exact, the mini-socket's
// state and end are taken from sock_diag snapshots. Fallback everywhere else: sock_diag snapshots at every harness
// event and every 100 ms (never a busy poll); transient states between two snapshots are then missed, and the
// timeline says so.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "capture/packets.h"
#include "capture/sockets.h"

namespace socklab::harness {

struct LaneState {
  double at = 0;        // seconds since the experiment started
  std::string state;    // ss names; "CLOSED" (tracepoint) or "gone" (no longer seen by sock_diag)
  std::string source;   // "tracepoint", "sock_diag", or "timewait socket" (time from the tracepoint, state from sock_diag)
  bool operator==(const LaneState&) const = default;
};

struct Lane {
  std::string local, peer;  // "127.0.0.1:40712", "127.0.0.1:8888" ("*:*" peer for a listener)
  std::string role;         // "listener", "server side", "client side"
  std::vector<LaneState> states;
  std::vector<std::string> missed;  // transient states too brief for the polling fallback, said honestly
  bool operator==(const Lane&) const = default;
};

struct Timeline {
  std::string source;  // "tracepoint sock:inet_sock_set_state (BPF)" or "(tracefs)", or "sock_diag polling (every
                       // 100 ms and at every step)"
  std::string note;    // why the exact source was not used, or what it cannot show
  std::vector<Lane> lanes;
  std::size_t transitions = 0;  // tracepoint events delivered (the exact source)
  std::uint64_t lost = 0;       // tracepoint events lost (a full buffer); the note says so too
  bool operator==(const Timeline&) const = default;
};

class TimelineRecorder {
 public:
  virtual ~TimelineRecorder() = default;
  // Every sock_diag capture the runner makes (the fallback's only source; TIME-WAIT for the tracepoint).
  virtual void observe(const std::vector<SocketInfo>& sockets, std::chrono::steady_clock::time_point when) = 0;
  virtual bool wants_polling() const = 0;  // the fallback: the runner also captures every 100 ms
  virtual Timeline finish() = 0;
};

// Tries the tracepoint (needs root: through BPF, else a tracefs instance), else the polling fallback. `ports`: the
// experiment's ports (at most 64 for BPF).
std::unique_ptr<TimelineRecorder> start_timeline(const std::set<std::uint16_t>& ports,
                                                 std::chrono::steady_clock::time_point start);
// The tracepoint read from a tracefs instance: what start_timeline falls back to where BPF is not available.
std::unique_ptr<TimelineRecorder> start_tracefs_timeline(const std::set<std::uint16_t>& ports,
                                                         std::chrono::steady_clock::time_point start);
std::unique_ptr<TimelineRecorder> start_polling_timeline(std::chrono::steady_clock::time_point start,
                                                         const std::string& why);

// The tracepoint sees the sockets of every network namespace: an experiment in a namespace of its own keeps the lanes
// of sockets it saw there ("local|peer", either way round: from its packets on lo and its sock_diag snapshots,
// listeners included) and leaves out the others (another namespace's, e.g. a parallel grading's, that happened to
// use one of its port numbers), saying so in the note. Returns how many lanes it left out.
std::size_t keep_own_connections(Timeline& timeline, const std::set<std::string>& seen);

// connect() sends its SYN before it returns, so clients connect in the order of their first SYNs. The tracepoint
// reports a connect()'s SYN-SENT before its port is chosen, and the recorder matched each to its client by time
// (sock_diag's first sighting), which several clients connecting at once (lab 3) can get crosswise; with the packets
// captured, the SYN-SENT starts of the clients of one peer are given out again in the order of their first SYNs
// (only where each start then still comes before its SYN and its next state).
void order_connects_by_syn(Timeline& timeline, const std::vector<Packet>& packets);

}  // namespace socklab::harness
