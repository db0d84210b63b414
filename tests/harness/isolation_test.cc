// Experiment namespaces: small private hash tables (so a snapshot walks tens of buckets, not the host's 262144),
// with the TIME-WAIT and SYN-backlog limits of any other new namespace, and the host's sysctls untouched.
// Each test enters namespaces in a forked child, so this test process stays where it is.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "capture/isolation.h"
#include "capture/sockets.h"
#include "in_child.h"

using namespace socklab::harness;

namespace {

std::string sysctl(const std::string& name) {
  std::ifstream file("/proc/sys/net/ipv4/" + name);
  std::string value;
  file >> value;
  return value.empty() ? "(none)" : value;
}

std::string namespace_id() {
  struct stat st{};
  stat("/proc/thread-self/ns/net", &st);
  return std::to_string(st.st_ino);
}

}  // namespace

// Two experiment namespaces in a row: each has a private TCP table of 1024 buckets (and UDP of 128 where the
// kernel has them per namespace), TIME-WAIT and SYN-backlog limits as a namespace made the ordinary way has, and
// the host's tcp_child_ehash_entries is what it was.
TEST(Isolation, ExperimentNamespacesHaveSmallTablesAndUsualLimits) {
  std::string host_child_ehash = sysctl("tcp_child_ehash_entries");
  auto plain = in_child([] {
    if (unshare(CLONE_NEWNET) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return std::string("error=no namespaces\n");
    return "tw=" + sysctl("tcp_max_tw_buckets") + "\nsyn=" + sysctl("tcp_max_syn_backlog") + "\n";
  });
  if (plain.count("error")) GTEST_SKIP() << "no network namespaces here: " << plain["error"];

  auto experiments = in_child([] {
    std::string text, why_not;
    for (int i = 1; i <= 2; ++i) {
      if (!enter_new_network_namespace(why_not)) return "error=" + why_not + "\n";
      std::string n = std::to_string(i);
      text += "ns" + n + "=" + namespace_id() + "\nehash" + n + "=" + sysctl("tcp_ehash_entries") + "\nudp" + n + "=" +
              sysctl("udp_hash_entries") + "\ntw" + n + "=" + sysctl("tcp_max_tw_buckets") + "\nsyn" + n + "=" +
              sysctl("tcp_max_syn_backlog") + "\n";
    }
    return text;
  });
  ASSERT_EQ(experiments.count("error"), 0u) << experiments["error"];
  EXPECT_NE(experiments["ns1"], experiments["ns2"]) << "each experiment gets a namespace of its own";
  for (std::string n : {"1", "2"}) {
    EXPECT_EQ(experiments["ehash" + n], "1024") << "namespace " << n << ": a private TCP table of 1024 buckets";
    if (experiments["udp" + n] != "(none)") {  // Linux 6.2+
      EXPECT_EQ(experiments["udp" + n], "128") << "namespace " << n << ": a private UDP table";
    }
    EXPECT_EQ(experiments["tw" + n], plain["tw"]) << "namespace " << n << ": tcp_max_tw_buckets as usual";
    EXPECT_EQ(experiments["syn" + n], plain["syn"]) << "namespace " << n << ": tcp_max_syn_backlog as usual";
  }
  EXPECT_EQ(sysctl("tcp_child_ehash_entries"), host_child_ehash) << "the host's sysctl was changed";
}

// 600 connections closed by their client: every one of the client ends is seen in TIME-WAIT. With the limit a
// private table of 1024 buckets brings along (512), the rest would silently never exist.
TEST(Isolation, ExperimentNamespaceKeepsEveryTimeWaitSocket) {
  constexpr int kConnections = 600;
  auto seen = in_child([] {
    std::string why_not;
    if (!enter_new_network_namespace(why_not)) return "skip=" + why_not + "\n";
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    if (bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listener, 16) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&a), &length) != 0) {
      return std::string("error=listener: ") + strerror(errno) + "\n";
    }
    for (int i = 0; i < kConnections; ++i) {
      int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        return "error=connect " + std::to_string(i) + ": " + strerror(errno) + "\n";
      }
      int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      close(client);  // the client closes first: its end goes to TIME-WAIT once the server's FIN arrives
      char x;
      if (server < 0 || read(server, &x, 1) != 0) return std::string("error=no EOF at the server\n");
      close(server);
    }
    std::uint16_t port = ntohs(a.sin_port);
    auto source = make_netlink_source();
    int count = 0;
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);;) {  // the last ACKs in flight
      count = 0;
      for (const SocketInfo& s : source->snapshot()) count += s.state == "TIME-WAIT" && s.peer_port == port;
      if (count >= kConnections || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "time_wait=" + std::to_string(count) + "\n";
  });
  if (seen.count("skip")) GTEST_SKIP() << "no network namespace here: " << seen["skip"];
  ASSERT_EQ(seen.count("error"), 0u) << seen["error"];
  EXPECT_EQ(seen["time_wait"], std::to_string(kConnections))
      << "expected every client end in TIME-WAIT, but some were never kept";
}
