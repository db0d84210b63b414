// Socket-state capture: what `ss -tanup` shows, from the harness's own code.
//
// Two sources behind one interface: NETLINK_SOCK_DIAG (inet_diag; fast, has the LISTEN backlog, timers, and
// SYN-RECV request sockets) and /proc/net/{tcp,tcp6,udp,udp6} (the fallback where netlink is unavailable).
// Owners (pid, command, fd) are found as `ss -p` finds them: by socket inode in /proc/PID/fd.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace socklab::harness {

enum class Protocol { kTcp, kUdp };

struct SocketOwner {
  int pid = 0;
  std::string command;  // /proc/PID/comm
  int fd = -1;
  bool operator==(const SocketOwner&) const = default;
};

struct SocketInfo {
  Protocol protocol = Protocol::kTcp;
  int family = 0;          // AF_INET or AF_INET6
  std::string state;       // ss names: ESTAB, LISTEN, TIME-WAIT, SYN-RECV, CLOSE-WAIT, ... UNCONN for idle UDP
  std::string local_address, peer_address;  // "127.0.0.1", "::1", "*" for any
  std::uint16_t local_port = 0, peer_port = 0;
  std::uint32_t recv_q = 0, send_q = 0;  // LISTEN: accept-queue length and backlog
  std::uint64_t inode = 0;               // 0 for TIME-WAIT, orphans and not-yet-accepted connections
  std::string timer;                     // "timewait", "on" (retransmit), "keepalive", "persist", or empty
  std::uint32_t timer_ms = 0;            // time left on that timer
  std::vector<SocketOwner> owners;
  std::uint32_t retrans = 0;             // TCP: segments retransmitted over the connection's life (tcp_info's
                                         // tcpi_total_retrans, as ss -ti's retrans:x/TOTAL); sock_diag only

  std::string protocol_name() const { return protocol == Protocol::kTcp ? "tcp" : "udp"; }
  std::string local() const;  // "127.0.0.1:8888", "[::1]:8888", "*:8888"
  std::string peer() const;
  bool operator==(const SocketInfo&) const = default;
};

// Converts a kernel TCP state number (include/net/tcp_states.h) to the name ss prints.
std::string tcp_state_name(int state, Protocol protocol);

class SocketSource {
 public:
  virtual ~SocketSource() = default;
  // All TCP and UDP sockets, IPv4 and IPv6, of the current network namespace (owners not filled in): TCP IPv4,
  // TCP IPv6, UDP IPv4, UDP IPv6. A TCP socket that is only bound (not listening, not connecting) is not one.
  virtual std::vector<SocketInfo> snapshot() = 0;
  virtual std::string name() const = 0;
};

// NETLINK_SOCK_DIAG: three dumps per snapshot (TCP of both families in one, with each socket's tcp_info for its
// retransmissions; UDP per family). Throws std::system_error if the netlink socket cannot be opened or sock_diag
// does not answer. tcp_in_one_dump = false asks for TCP once per family, as it does by itself on a kernel without
// the one-dump request (for tests).
std::unique_ptr<SocketSource> make_netlink_source(bool tcp_in_one_dump = true);
// /proc/net/{tcp,tcp6,udp,udp6}. The LISTEN backlog (Send-Q) and timers are not available there (reported 0), and
// while sockets change during the read it may repeat (removed here) or miss one.
std::unique_ptr<SocketSource> make_procfs_source();
// Netlink if it works here, else /proc.
std::unique_ptr<SocketSource> make_best_source();

// Fills in `owners` of each socket from /proc/PID/fd, as ss -p does: of every process (about 7 ms on this
// machine: it walks all of /proc), or only of `pids` (what the harness does during an experiment).
// Processes we may not inspect are skipped.
void attribute_owners(std::vector<SocketInfo>& sockets);
void attribute_owners(std::vector<SocketInfo>& sockets, const std::vector<int>& pids);

// pid and all its descendants (from /proc/PID/task/*/children).
std::vector<int> process_tree(int pid);

// What an experiment owns: its ports and its processes. A socket matches when either port is one of `ports`
// or one of its owners is in `pids`; an empty filter matches everything.
struct SocketFilter {
  std::set<std::uint16_t> ports;
  std::set<int> pids;
  bool matches(const SocketInfo& s) const;
};
std::vector<SocketInfo> filtered(const std::vector<SocketInfo>& sockets, const SocketFilter& filter);

// An ss-style table: State Recv-Q Send-Q Local Peer Timer Process, and Retrans when any socket retransmitted.
std::string format_table(const std::vector<SocketInfo>& sockets);

}  // namespace socklab::harness
