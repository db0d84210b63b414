#include "capture/sockets.h"

#include "capture/names.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

namespace socklab::harness {
namespace {

std::system_error errno_error(const std::string& what) {
  return std::system_error(errno, std::generic_category(), what);
}

// --- NETLINK_SOCK_DIAG -------------------------------------------------------------------------------------
//
// What a dump costs is the kernel's walk of its hash tables, not the sockets found: a TCP dump walks the whole
// established hash (262144 buckets on this machine, shared by every namespace without a private one), whatever the
// family asked for. So one snapshot is three dumps: TCP for both families at once, UDP for IPv4 and for IPv6 (the
// UDP table is small). See docs/harness.md, "Sockets".

// Every TCP state ss -a shows: ESTABLISHED (1) .. NEW_SYN_RECV (12). Not TCP_BOUND_INACTIVE (13, Linux 6.8): those
// sockets (bound, neither listening nor connecting) are not in ss's or /proc/net/tcp's lists either, and asking for
// them makes every TCP dump also walk the kernel's bind hash (65536 buckets here, shared by all namespaces: ~0.3 ms
// even in a namespace with a small private established hash).
constexpr std::uint32_t kStates = ((1u << 13) - 1) & ~1u;

// Each TCP socket's tcp_info too (INET_DIAG_INFO): its total retransmissions. A few hundred bytes more per socket.
constexpr std::uint8_t kTcpInfo = 1u << (INET_DIAG_INFO - 1);

class NetlinkSource : public SocketSource {
 public:
  explicit NetlinkSource(bool tcp_in_one_dump) : tcp_both_families_(tcp_in_one_dump) {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd_ < 0) throw errno_error("socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
    // Ask for no state at all: the kernel walks no table and answers at once, so this costs microseconds and
    // says which request this kernel takes, or that sock_diag is refused here (then make_best_source uses /proc).
    try {
      if (tcp_both_families_ && dump_tcp_both_families(0, nullptr) != 0) tcp_both_families_ = false;
      if (!tcp_both_families_) check(dump_v2(AF_INET, IPPROTO_TCP, 0, nullptr));
    } catch (...) {
      close(fd_);
      throw;
    }
  }
  ~NetlinkSource() override { close(fd_); }

  std::vector<SocketInfo> snapshot() override {
    std::vector<SocketInfo> result;
    result.reserve(last_count_ + 16);
    if (tcp_both_families_) {
      check(dump_tcp_both_families(kStates, &result));
      // One walk lists IPv4 and IPv6 sockets mixed, in hash order: IPv4 first, as ss and the fallback list them.
      auto is_ipv4 = [](const SocketInfo& s) { return s.family == AF_INET; };
      if (!std::is_partitioned(result.begin(), result.end(), is_ipv4)) {
        std::stable_partition(result.begin(), result.end(), is_ipv4);
      }
    } else {
      check(dump_v2(AF_INET, IPPROTO_TCP, kStates, &result));
      check(dump_v2(AF_INET6, IPPROTO_TCP, kStates, &result));
    }
    for (int family : {AF_INET, AF_INET6}) {
      int error = dump_v2(family, IPPROTO_UDP, kStates, &result);
      // UDP diag may be missing (module not loaded): treat as "no sockets" rather than failing.
      if (error != ENOENT && error != EOPNOTSUPP) check(error);
    }
    last_count_ = result.size();
    return result;
  }
  std::string name() const override { return "sock_diag"; }

 private:
  static void check(int error) {
    if (error == 0) return;
    errno = error;
    throw errno_error("sock_diag dump");
  }

  // TCP of both families in one walk of the established hash: the original inet_diag request (TCPDIAG_GETSOCK),
  // which the kernel serves with family AF_UNSPEC. The newer SOCK_DIAG_BY_FAMILY request needs one family, hence
  // two walks (ss makes those two).
  int dump_tcp_both_families(std::uint32_t states, std::vector<SocketInfo>* out) {
    struct {
      nlmsghdr header;
      inet_diag_req request;
    } message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = TCPDIAG_GETSOCK;
    message.request.idiag_states = states;
    message.request.idiag_ext = kTcpInfo;
    return dump(message.header, IPPROTO_TCP, out);
  }

  int dump_v2(int family, int protocol, std::uint32_t states, std::vector<SocketInfo>* out) {
    struct {
      nlmsghdr header;
      inet_diag_req_v2 request;
    } message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.request.sdiag_family = static_cast<std::uint8_t>(family);
    message.request.sdiag_protocol = static_cast<std::uint8_t>(protocol);
    message.request.idiag_states = states;
    if (protocol == IPPROTO_TCP) message.request.idiag_ext = kTcpInfo;
    return dump(message.header, protocol, out);
  }

  // Sends one dump request (header followed by its body) and reads the answer, several datagrams until
  // NLMSG_DONE, appending the sockets to *out. Returns 0, or the kernel's error (an errno value).
  int dump(nlmsghdr& header, int protocol, std::vector<SocketInfo>* out) {
    header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.nlmsg_seq = ++sequence_;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    while (sendto(fd_, &header, header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
      if (errno != EINTR) throw errno_error("sendto sock_diag");
    }
    for (;;) {
      ssize_t n = recv(fd_, buffer_, sizeof buffer_, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw errno_error("recv sock_diag");
      }
      int length = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buffer_); NLMSG_OK(h, length); h = NLMSG_NEXT(h, length)) {
        if (h->nlmsg_seq != sequence_) continue;
        if (h->nlmsg_type == NLMSG_DONE) return 0;
        if (h->nlmsg_type == NLMSG_ERROR) {
          if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) throw std::runtime_error("sock_diag: truncated error");
          int error = -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
          // The error ends the answer, unless it is an acknowledgement (error 0), which we never ask for.
          if (error != 0) return error;
          continue;
        }
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg)) || !out) continue;
        SocketInfo& s = out->emplace_back();
        convert(*static_cast<inet_diag_msg*>(NLMSG_DATA(h)), protocol, s);
        read_attributes(h, s);
      }
    }
  }

  static void convert(const inet_diag_msg& m, int protocol, SocketInfo& s) {
    s.protocol = protocol == IPPROTO_TCP ? Protocol::kTcp : Protocol::kUdp;
    s.family = m.idiag_family;
    s.state = tcp_state_name(m.idiag_state, s.protocol);
    s.local_address = address_text(m.idiag_family, m.id.idiag_src);
    s.peer_address = address_text(m.idiag_family, m.id.idiag_dst);
    s.local_port = ntohs(m.id.idiag_sport);
    s.peer_port = ntohs(m.id.idiag_dport);
    s.recv_q = m.idiag_rqueue;
    s.send_q = m.idiag_wqueue;
    s.inode = m.idiag_inode;
    static const char* kTimers[] = {"", "on", "keepalive", "timewait", "persist"};
    if (m.idiag_timer > 0 && m.idiag_timer < 5) {
      s.timer = kTimers[m.idiag_timer];
      s.timer_ms = m.idiag_expires;
    }
  }

  // The attributes after the message: INET_DIAG_INFO, a struct tcp_info (full sockets only: not TIME-WAIT nor a
  // request socket), possibly shorter or longer than ours (older or newer kernel): what both know is read.
  static void read_attributes(const nlmsghdr* h, SocketInfo& s) {
    auto* attribute = reinterpret_cast<const rtattr*>(static_cast<const char*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(inet_diag_msg)));
    int length = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(inet_diag_msg))));
    for (; RTA_OK(attribute, length); attribute = RTA_NEXT(attribute, length)) {
      if (attribute->rta_type != INET_DIAG_INFO) continue;
      tcp_info info{};
      std::memcpy(&info, RTA_DATA(attribute), std::min<std::size_t>(RTA_PAYLOAD(attribute), sizeof info));
      s.retrans = info.tcpi_total_retrans;
    }
  }

  int fd_ = -1;
  std::uint32_t sequence_ = 0;
  bool tcp_both_families_;
  std::size_t last_count_ = 0;
  alignas(nlmsghdr) char buffer_[32768];  // the kernel fills datagrams of up to 32 KiB in a dump
};

// --- /proc/net/{tcp,udp}{,6} ----------------------------------------------------------------------------------

class ProcfsSource : public SocketSource {
 public:
  std::vector<SocketInfo> snapshot() override {
    std::vector<SocketInfo> result;
    read("/proc/net/tcp", AF_INET, Protocol::kTcp, result);
    read("/proc/net/tcp6", AF_INET6, Protocol::kTcp, result);
    read("/proc/net/udp", AF_INET, Protocol::kUdp, result);
    read("/proc/net/udp6", AF_INET6, Protocol::kUdp, result);
    // /proc/net/tcp is read in chunks and resumes by position: while sockets come and go it can list one twice
    // (seen here under a parallel test run) — or skip one, which no reader can repair. Drop the duplicates.
    std::set<std::string> seen;
    std::erase_if(result, [&](const SocketInfo& s) {
      return !seen.insert(s.protocol_name() + s.local() + s.peer() + s.state + std::to_string(s.inode)).second;
    });
    return result;
  }
  std::string name() const override { return "procfs"; }

 private:
  // "0100007F:22B8" -> 127.0.0.1, 8888. The address is the kernel's in-memory words printed in hex.
  static void parse_endpoint(const std::string& text, int family, std::string& address, std::uint16_t& port) {
    std::size_t colon = text.find(':');
    std::string hex = text.substr(0, colon);
    port = static_cast<std::uint16_t>(std::stoul(text.substr(colon + 1), nullptr, 16));
    unsigned char raw[16] = {};
    std::size_t words = hex.size() / 8;
    for (std::size_t w = 0; w < words && w < 4; ++w) {
      std::uint32_t value = static_cast<std::uint32_t>(std::stoul(hex.substr(w * 8, 8), nullptr, 16));
      std::memcpy(raw + w * 4, &value, 4);  // printed from a host-order u32: copy back as is
    }
    address = address_text(family, raw);
  }

  static void read(const char* path, int family, Protocol protocol, std::vector<SocketInfo>& out) {
    std::ifstream file(path);
    if (!file) return;  // e.g. no IPv6 in this kernel
    std::string line;
    std::getline(file, line);  // header
    while (std::getline(file, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode)) {
        continue;
      }
      SocketInfo s;
      s.protocol = protocol;
      s.family = family;
      s.state = tcp_state_name(static_cast<int>(std::stoul(state, nullptr, 16)), protocol);
      parse_endpoint(local, family, s.local_address, s.local_port);
      parse_endpoint(remote, family, s.peer_address, s.peer_port);
      std::size_t colon = queues.find(':');
      s.send_q = static_cast<std::uint32_t>(std::stoul(queues.substr(0, colon), nullptr, 16));
      s.recv_q = static_cast<std::uint32_t>(std::stoul(queues.substr(colon + 1), nullptr, 16));
      if (s.state == "LISTEN") s.send_q = 0;  // /proc does not show the backlog
      s.inode = std::stoull(inode);
      out.push_back(s);
    }
  }
};

std::string comm_of(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(file, comm);
  return comm;
}

}  // namespace

std::string SocketInfo::local() const { return endpoint_text(family, local_address, local_port); }
std::string SocketInfo::peer() const { return endpoint_text(family, peer_address, peer_port); }

std::string tcp_state_name(int state, Protocol protocol) {
  if (protocol == Protocol::kUdp) return state == TCP_ESTABLISHED ? "ESTAB" : "UNCONN";
  return state == TCP_CLOSE ? "UNCONN" : tcp_state_name(state);  // ss shows a closed TCP socket as UNCONN
}

std::unique_ptr<SocketSource> make_netlink_source(bool tcp_in_one_dump) {
  return std::make_unique<NetlinkSource>(tcp_in_one_dump);
}
std::unique_ptr<SocketSource> make_procfs_source() { return std::make_unique<ProcfsSource>(); }

std::unique_ptr<SocketSource> make_best_source() {
  try {
    return make_netlink_source();  // fails here if sock_diag is not permitted (its constructor asks, cheaply)
  } catch (const std::exception&) {
    return make_procfs_source();
  }
}

namespace {

void scan_process_fds(int pid, std::map<std::uint64_t, std::vector<SocketInfo*>>& by_inode) {
  std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* fds = opendir(fd_dir.c_str());
  if (!fds) return;  // gone, or another user's process
  std::string comm;
  while (dirent* fd_entry = readdir(fds)) {
    if (fd_entry->d_name[0] == '.') continue;
    char target[64];
    ssize_t n = readlinkat(dirfd(fds), fd_entry->d_name, target, sizeof target - 1);
    if (n < 0 && errno == EACCES) break;  // listed but not ours to read (e.g. another user namespace's): none is
    if (n <= 8 || std::strncmp(target, "socket:[", 8) != 0) continue;
    target[n] = '\0';
    auto it = by_inode.find(std::strtoull(target + 8, nullptr, 10));
    if (it == by_inode.end()) continue;
    if (comm.empty()) comm = comm_of(pid);
    for (SocketInfo* s : it->second) s->owners.push_back({pid, comm, atoi(fd_entry->d_name)});
  }
  closedir(fds);
}

void attribute(std::vector<SocketInfo>& sockets, const std::vector<int>* only) {
  std::map<std::uint64_t, std::vector<SocketInfo*>> by_inode;
  for (SocketInfo& s : sockets) {
    s.owners.clear();
    if (s.inode != 0) by_inode[s.inode].push_back(&s);
  }
  if (by_inode.empty()) return;
  if (only) {
    for (int pid : *only) scan_process_fds(pid, by_inode);
  } else if (DIR* proc = opendir("/proc")) {
    while (dirent* entry = readdir(proc)) {
      int pid = atoi(entry->d_name);
      if (pid > 0) scan_process_fds(pid, by_inode);
    }
    closedir(proc);
  }
  for (SocketInfo& s : sockets) {
    std::sort(s.owners.begin(), s.owners.end(), [](auto& a, auto& b) { return a.pid < b.pid; });
  }
}

}  // namespace

void attribute_owners(std::vector<SocketInfo>& sockets) { attribute(sockets, nullptr); }
void attribute_owners(std::vector<SocketInfo>& sockets, const std::vector<int>& pids) { attribute(sockets, &pids); }

std::vector<int> process_tree(int root) {
  std::vector<int> tree{root};
  for (std::size_t i = 0; i < tree.size() && tree.size() < 100000; ++i) {
    std::string task_dir = "/proc/" + std::to_string(tree[i]) + "/task";
    DIR* tasks = opendir(task_dir.c_str());
    if (!tasks) continue;
    while (dirent* t = readdir(tasks)) {
      if (t->d_name[0] == '.') continue;
      std::ifstream children(task_dir + "/" + t->d_name + "/children");
      for (int child; children >> child;) tree.push_back(child);
    }
    closedir(tasks);
  }
  return tree;
}

bool SocketFilter::matches(const SocketInfo& s) const {
  if (ports.empty() && pids.empty()) return true;
  if (ports.count(s.local_port) || ports.count(s.peer_port)) return true;
  return std::any_of(s.owners.begin(), s.owners.end(), [&](const SocketOwner& o) { return pids.count(o.pid) > 0; });
}

std::vector<SocketInfo> filtered(const std::vector<SocketInfo>& sockets, const SocketFilter& filter) {
  std::vector<SocketInfo> result;
  std::copy_if(sockets.begin(), sockets.end(), std::back_inserter(result),
               [&](const SocketInfo& s) { return filter.matches(s); });
  return result;
}

std::string format_table(const std::vector<SocketInfo>& sockets) {
  std::vector<std::vector<std::string>> rows{{"Proto", "State", "Recv-Q", "Send-Q", "Local", "Peer", "Timer", "Process"}};
  bool retrans = std::any_of(sockets.begin(), sockets.end(), [](const SocketInfo& s) { return s.retrans > 0; });
  if (retrans) rows[0].insert(rows[0].end() - 1, "Retrans");  // only then: most tables have none
  for (const SocketInfo& s : sockets) {
    std::string timer;
    if (!s.timer.empty()) {
      std::ostringstream t;
      t << s.timer << "," << (s.timer_ms >= 1000 ? std::to_string(s.timer_ms / 1000) + "sec"
                                                   : std::to_string(s.timer_ms) + "ms");
      timer = t.str();
    }
    std::string owners;
    for (const SocketOwner& o : s.owners) {
      if (!owners.empty()) owners += ",";
      owners += "(\"" + o.command + "\",pid=" + std::to_string(o.pid) + ",fd=" + std::to_string(o.fd) + ")";
    }
    rows.push_back({s.protocol_name(), s.state, std::to_string(s.recv_q), std::to_string(s.send_q), s.local(),
                    s.peer(), timer, owners});
    if (retrans) rows.back().insert(rows.back().end() - 1, s.protocol == Protocol::kTcp ? std::to_string(s.retrans) : "");
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace socklab::harness
