// The kernel's TCP states (include/net/tcp_states.h) by the names ss prints: one table for experiment files
// (expect-socket state="..."), snapshots and the timeline.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace socklab::harness {

// The name ss prints for a kernel TCP state number: "ESTAB", "SYN-SENT", …, "CLOSED" for TCP_CLOSE (a snapshot
// shows a closed socket as "UNCONN", as ss does: see sockets.cc), "SYN-RECV" for TCP_NEW_SYN_RECV (a request
// socket); "UNKNOWN-N" for a number this table does not know.
std::string tcp_state_name(int kernel_state);

// The kernel's own name, as the sock:inet_sock_set_state tracepoint prints it ("TCP_FIN_WAIT1"), to its number.
std::optional<int> tcp_state_from_kernel_name(const std::string& name);

// Every state name an experiment may ask for: the TCP states as ss prints them, and UNCONN (a UDP socket, or an
// unconnected TCP one).
const std::vector<std::string>& socket_state_names();

}  // namespace socklab::harness
