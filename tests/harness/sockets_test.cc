// Socket capture against sockets this test opens itself, on loopback, with known states.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "capture/names.h"
#include "capture/sockets.h"

using namespace socklab::harness;

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

std::uint16_t port_of(int fd) {
  sockaddr_in a{};
  socklen_t n = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  return ntohs(a.sin_port);
}

Fd listener(int backlog) {
  Fd l(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  EXPECT_EQ(bind(l.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(listen(l.fd, backlog), 0);
  return l;
}

Fd connect_to(std::uint16_t port) {
  Fd c(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(port);
  EXPECT_EQ(connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
  return c;
}

std::vector<SocketInfo> sockets_on(SocketSource& source, std::uint16_t port) {
  auto all = source.snapshot();
  attribute_owners(all);
  SocketFilter f;
  f.ports = {port};
  return filtered(all, f);
}

const SocketInfo* find(const std::vector<SocketInfo>& v, const std::string& state, std::uint16_t local, std::uint16_t peer) {
  auto it = std::find_if(v.begin(), v.end(), [&](const SocketInfo& s) {
    return s.state == state && s.local_port == local && (peer == 0 || s.peer_port == peer);
  });
  return it == v.end() ? nullptr : &*it;
}

class Capture : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<SocketSource> source() {
    if (GetParam() == "netlink") return make_netlink_source();
    if (GetParam() == "netlink-per-family") return make_netlink_source(/*tcp_in_one_dump=*/false);
    return make_procfs_source();
  }
};

}  // namespace

// A listener that never accepts: two connections wait in its accept queue (Recv-Q 2); sock_diag also shows
// the backlog as Send-Q (like ss). Both ends of each connection are ESTAB; the queued server sides have no
// owner yet (inode 0), the listener and the clients are ours.
TEST_P(Capture, SeesAListenerWithQueuedConnections) {
  Fd l = listener(3);
  std::uint16_t port = port_of(l.fd);
  Fd a = connect_to(port), b = connect_to(port);
  auto s = sockets_on(*source(), port);
  const SocketInfo* listen_row = find(s, "LISTEN", port, 0);
  ASSERT_NE(listen_row, nullptr) << format_table(s);
  EXPECT_EQ(listen_row->recv_q, 2u) << "accept-queue length";
  if (GetParam() != "procfs") {
    EXPECT_EQ(listen_row->send_q, 3u) << "the backlog";
  }
  ASSERT_EQ(listen_row->owners.size(), 1u);
  EXPECT_EQ(listen_row->owners[0].pid, getpid());
  EXPECT_EQ(listen_row->owners[0].fd, l.fd);
  const SocketInfo* client = find(s, "ESTAB", port_of(a.fd), port);
  ASSERT_NE(client, nullptr) << format_table(s);
  EXPECT_EQ(client->local(), "127.0.0.1:" + std::to_string(port_of(a.fd)));
  const SocketInfo* queued = find(s, "ESTAB", port, port_of(b.fd));
  ASSERT_NE(queued, nullptr) << format_table(s);
  EXPECT_EQ(queued->inode, 0u) << "not accepted yet: no file, no owner";
  EXPECT_TRUE(queued->owners.empty());
}

// The side that closes first ends in TIME-WAIT (with its timer, via sock_diag); the other side is gone.
TEST_P(Capture, SeesTimeWaitOnTheSideThatClosedFirst) {
  Fd l = listener(1);
  std::uint16_t port = port_of(l.fd);
  std::uint16_t client_port;
  {
    Fd c = connect_to(port);
    client_port = port_of(c.fd);
    Fd server_side(accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_GE(server_side.fd, 0);
    close(c.fd);  // the client closes first...
    c.fd = -1;
    char x;
    ASSERT_EQ(read(server_side.fd, &x, 1), 0);  // ...the server sees EOF, then closes too
  }
  std::vector<SocketInfo> s;
  for (int i = 0; i < 200 && !find(s, "TIME-WAIT", client_port, port); ++i) {  // the last ACK is in flight
    s = sockets_on(*source(), port);
    if (!find(s, "TIME-WAIT", client_port, port)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const SocketInfo* tw = find(s, "TIME-WAIT", client_port, port);
  ASSERT_NE(tw, nullptr) << format_table(s);
  EXPECT_EQ(tw->inode, 0u);
  if (GetParam() != "procfs") {
    EXPECT_EQ(tw->timer, "timewait");
    EXPECT_GT(tw->timer_ms, 50000u);
  }
  EXPECT_EQ(find(s, "ESTAB", port, client_port), nullptr) << format_table(s);
}

// UDP: a bound socket is UNCONN, a connected one ESTAB; IPv6 loopback shows as [::1].
TEST_P(Capture, SeesUdpSocketsAndIpv6) {
  Fd u(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  ASSERT_EQ(bind(u.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::uint16_t port = port_of(u.fd);
  Fd c(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to = loopback(port);
  ASSERT_EQ(connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  auto s = sockets_on(*source(), port);
  auto is_udp = [](const SocketInfo* x) { return x && x->protocol == Protocol::kUdp; };
  EXPECT_TRUE(is_udp(find(s, "UNCONN", port, 0))) << format_table(s);
  EXPECT_TRUE(is_udp(find(s, "ESTAB", port_of(c.fd), port))) << format_table(s);

  Fd six(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 a6{};
  a6.sin6_family = AF_INET6;
  a6.sin6_addr = in6addr_loopback;
  if (bind(six.fd, reinterpret_cast<sockaddr*>(&a6), sizeof a6) != 0) GTEST_SKIP() << "no IPv6 loopback here";
  ASSERT_EQ(listen(six.fd, 1), 0);
  sockaddr_in6 bound{};
  socklen_t n = sizeof bound;
  getsockname(six.fd, reinterpret_cast<sockaddr*>(&bound), &n);
  std::uint16_t port6 = ntohs(bound.sin6_port);
  auto s6 = sockets_on(*source(), port6);
  const SocketInfo* l6 = find(s6, "LISTEN", port6, 0);
  ASSERT_NE(l6, nullptr) << format_table(s6);
  EXPECT_EQ(l6->local(), "[::1]:" + std::to_string(port6));
}

// Addresses as ss writes them: the wildcard as *, IPv4 dotted with every octet (one, two and three digits, 0).
TEST_P(Capture, WritesAddressesAsSsDoes) {
  Fd l(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in any{};
  any.sin_family = AF_INET;
  ASSERT_EQ(bind(l.fd, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  ASSERT_EQ(listen(l.fd, 1), 0);
  std::uint16_t port = port_of(l.fd);
  Fd c(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in from = loopback(0);
  inet_pton(AF_INET, "127.0.10.200", &from.sin_addr);  // all of 127/8 is loopback
  ASSERT_EQ(bind(c.fd, reinterpret_cast<sockaddr*>(&from), sizeof from), 0) << strerror(errno);
  sockaddr_in to = loopback(port);
  ASSERT_EQ(connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0) << strerror(errno);
  auto s = sockets_on(*source(), port);
  const SocketInfo* listen_row = find(s, "LISTEN", port, 0);
  ASSERT_NE(listen_row, nullptr) << format_table(s);
  EXPECT_EQ(listen_row->local(), "*:" + std::to_string(port));
  EXPECT_EQ(listen_row->peer(), "*:*");
  const SocketInfo* client = find(s, "ESTAB", port_of(c.fd), port);
  ASSERT_NE(client, nullptr) << format_table(s);
  EXPECT_EQ(client->local(), "127.0.10.200:" + std::to_string(port_of(c.fd)));
  EXPECT_EQ(client->peer(), "127.0.0.1:" + std::to_string(port));
}

// A TCP socket that is only bound (neither listening nor connecting) is listed by neither source, as by ss -tan:
// asking the kernel for such sockets would make every TCP dump walk its whole bind hash as well.
TEST_P(Capture, LeavesOutTcpSocketsThatAreOnlyBound) {
  Fd bound(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  ASSERT_EQ(bind(bound.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::uint16_t port = port_of(bound.fd);
  Fd l = listener(1);  // a socket the same snapshot does list, so an empty answer cannot pass for this one
  auto all = source()->snapshot();
  EXPECT_NE(find(all, "LISTEN", port_of(l.fd), 0), nullptr) << format_table(all);
  SocketFilter f;
  f.ports = {port};
  auto s = filtered(all, f);
  EXPECT_TRUE(s.empty()) << "expected no socket on the bound-only port " << port << ", but was:\n" << format_table(s);
}

// netlink-per-family: the requests the netlink source falls back to where the kernel lacks the one-dump request.
INSTANTIATE_TEST_SUITE_P(BothSources, Capture, ::testing::Values("netlink", "netlink-per-family", "procfs"));

// The fallback agrees with sock_diag on everything /proc shows (state, addresses, queues except the
// backlog, inode) for the same sockets; so does sock_diag asked once per family.
TEST(Capture, ProcfsAgreesWithNetlink) {
  Fd l = listener(4);
  std::uint16_t port = port_of(l.fd);
  Fd a = connect_to(port), b = connect_to(port);
  Fd accepted(accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC));
  auto key = [](const SocketInfo& s) {
    return s.protocol_name() + " " + s.state + " " + s.local() + " " + s.peer() + " rq=" + std::to_string(s.recv_q) +
           " ino=" + std::to_string(s.inode);
  };
  auto rows = [&](SocketSource& src) {
    std::vector<std::string> out;
    for (const SocketInfo& s : sockets_on(src, port)) out.push_back(key(s));
    std::sort(out.begin(), out.end());
    return out;
  };
  auto netlink = make_netlink_source();
  auto procfs = make_procfs_source();
  auto from_netlink = rows(*netlink);
  EXPECT_EQ(from_netlink.size(), 5u) << "1 listener + 2 connections x 2 ends";
  EXPECT_EQ(rows(*procfs), from_netlink);
  EXPECT_EQ(rows(*make_netlink_source(/*tcp_in_one_dump=*/false)), from_netlink);
}

// The ss-style table has a header and one row per socket, with the owner.
TEST(Capture, FormatsAnSsStyleTable) {
  SocketInfo s;
  s.family = AF_INET;
  s.state = "LISTEN";
  s.local_address = "*";
  s.local_port = 8888;
  s.peer_address = "*";
  s.send_q = 5;
  s.owners.push_back({42, "echo_server", 3});
  std::string table = format_table({s});
  EXPECT_NE(table.find("State"), std::string::npos);
  EXPECT_NE(table.find("tcp    LISTEN  0       5       *:8888  *:*"), std::string::npos) << table;
  EXPECT_NE(table.find("(\"echo_server\",pid=42,fd=3)"), std::string::npos) << table;
}

// One way of naming what capture sees: endpoints as ss prints them, and the kernel's TCP state numbers by ss's names
// (with the tracepoint's own names mapped to the same numbers).
TEST(Names, EndpointsAndStatesAsSsPrintsThem) {
  EXPECT_EQ(socklab::harness::endpoint_text(AF_INET, "127.0.0.1", 8888), "127.0.0.1:8888");
  EXPECT_EQ(socklab::harness::endpoint_text(AF_INET6, "::1", 8888), "[::1]:8888");
  EXPECT_EQ(socklab::harness::endpoint_text(AF_INET, "0.0.0.0", 8888), "*:8888");
  EXPECT_EQ(socklab::harness::endpoint_text(AF_INET6, "*", 0), "*:*");
  unsigned char any[4] = {0, 0, 0, 0}, lo[4] = {127, 0, 0, 1};
  EXPECT_EQ(socklab::harness::address_text(AF_INET, any), "*");
  EXPECT_EQ(socklab::harness::address_text(AF_INET, lo), "127.0.0.1");
  EXPECT_EQ(socklab::harness::tcp_state_name(TCP_FIN_WAIT1), "FIN-WAIT-1");
  EXPECT_EQ(socklab::harness::tcp_state_name(12), "SYN-RECV");  // TCP_NEW_SYN_RECV: a request socket
  EXPECT_EQ(socklab::harness::tcp_state_name(99), "UNKNOWN-99");
  EXPECT_EQ(socklab::harness::tcp_state_from_kernel_name("TCP_TIME_WAIT"), TCP_TIME_WAIT);
  EXPECT_FALSE(socklab::harness::tcp_state_from_kernel_name("TCP_BOUND_INACTIVE").has_value());
  EXPECT_EQ(socklab::harness::tcp_state_name(TCP_CLOSE, socklab::harness::Protocol::kTcp), "UNCONN");  // as ss shows it
}
