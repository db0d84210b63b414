// <link>: a lossy, slow loopback inside an experiment's own network namespace, really made (nftables, tbf, netem
// where the kernel has it), measured over real sockets, and gone with the namespace. Each test makes its namespace
// in a forked child (in_child.h), so this test process stays where it is.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "capture/isolation.h"
#include "capture/sockets.h"
#include "child.h"
#include "experiment_text.h"
#include "in_child.h"
#include "run/link.h"
#include "run/runner.h"

using namespace socklab::harness;
using Clock = std::chrono::steady_clock;

namespace {

// A new network namespace for the calling (forked) process; throws with the reason.
void enter_namespace() {
  std::string why_not;
  if (!enter_new_network_namespace(why_not)) throw std::runtime_error("no network namespace: " + why_not);
}

LinkStep link(std::optional<int> loss_hundredths, std::optional<std::uint64_t> rate = {}, std::optional<Millis> delay = {}) {
  LinkStep s;
  s.loss = loss_hundredths;
  s.rate = rate;
  s.delay = delay;
  return s;
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

std::uint16_t port_of(int fd) {
  sockaddr_in a{};
  socklen_t length = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
  return ntohs(a.sin_port);
}

// A TCP connection on loopback: {client fd, accepted fd}. connect() waits for the handshake (a lost SYN is sent
// again after 1 s).
std::pair<int, int> tcp_pair() {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in any = loopback(0);
  if (bind(listener, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || listen(listener, 1) != 0) {
    throw std::runtime_error("listen failed");
  }
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in server = loopback(port_of(listener));
  if (connect(client, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) throw std::runtime_error("connect failed");
  int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  close(listener);
  return {client, accepted};
}

// Sends `bytes` (a known pattern) from one end while a thread reads them at the other; the seconds it took until
// the last byte arrived, or -1 if any byte arrived wrong or missing.
double transfer(int from, int to, std::size_t bytes) {
  bool intact = true;
  std::size_t received = 0;
  std::thread reader([&] {
    char buffer[65536];
    while (received < bytes) {
      ssize_t n = recv(to, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i) intact = intact && buffer[i] == static_cast<char>((received + i) % 251);
      received += static_cast<std::size_t>(n);
    }
  });
  auto began = Clock::now();
  std::string data(bytes, '\0');
  for (std::size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>(i % 251);
  for (std::size_t sent = 0; sent < bytes;) {
    ssize_t n = send(from, data.data() + sent, std::min<std::size_t>(1000, bytes - sent), 0);  // many small writes
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  reader.join();
  double seconds = std::chrono::duration<double>(Clock::now() - began).count();
  return intact && received == bytes ? seconds : -1;
}

std::string command_output(const std::string& command) {
  std::string text;
  if (FILE* f = popen((command + " 2>&1").c_str(), "r")) {
    char buffer[4096];
    for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
    pclose(f);
  }
  return text;
}

#define SKIP_UNLESS_ROOT() \
  if (getuid() != 0) GTEST_SKIP() << "making a link needs root (tc and nft in a network namespace of our own)"

}  // namespace

// 1000 datagrams across a link that loses half its packets: between 350 and 650 arrive (the mean is 500, the
// standard deviation 16: 9 of them either side). Then the link is made clean again and nothing is lost.
TEST(Link, LossDropsThatShareOfDatagramsAndACleanLinkDropsNone) {
  SKIP_UNLESS_ROOT();
  auto result = in_child([] {
    enter_namespace();
    Link lo;
    std::string made = lo.apply(link(5000));
    int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in any = loopback(0);
    bind(rx, reinterpret_cast<sockaddr*>(&any), sizeof any);
    sockaddr_in to = loopback(port_of(rx));
    char buffer[64];
    auto drain = [&] {  // (after each send: the receive queue never overflows, the link alone drops)
      int n = 0;
      while (recv(rx, buffer, sizeof buffer, 0) > 0) ++n;
      return n;
    };
    int lossy = 0;
    for (int i = 0; i < 1000; ++i) {
      sendto(tx, "datagram", 8, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      lossy += drain();
    }
    lo.apply(LinkStep{});
    int clean = 0;
    for (int i = 0; i < 1000; ++i) {
      sendto(tx, "datagram", 8, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      clean += drain();
    }
    // The last one tells the stragglers are in: one socket pair on loopback keeps the order.
    sendto(tx, "end", 3, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    for (auto deadline = Clock::now() + std::chrono::seconds(5); Clock::now() < deadline;) {
      ssize_t n = recv(rx, buffer, sizeof buffer, 0);
      if (n == 3) break;
      if (n > 0) ++clean;
      else std::this_thread::yield();
    }
    return "made=" + made + "\nlossy=" + std::to_string(lossy) + "\nclean=" + std::to_string(clean) + "\n";
  });
  ASSERT_EQ(result.count("error"), 0u) << result["error"];
  int lossy = std::stoi(result["lossy"]);
  EXPECT_GE(lossy, 350) << "expected about half of 1000 datagrams to arrive, but " << lossy << " did (" << result["made"] << ")";
  EXPECT_LE(lossy, 650) << "expected about half of 1000 datagrams to arrive, but " << lossy << " did (" << result["made"] << ")";
  EXPECT_EQ(std::stoi(result["clean"]), 1000) << "a clean link again loses nothing";
}

// TCP over a link losing 10 %: every byte arrives intact and in order, and sock_diag's tcp_info shows the sender's
// retransmissions. (lo's MTU is set to 1500 in the namespace, so 200 kB are some 140 segments: none lost would
// happen once in two million runs.)
TEST(Link, TcpRetransmitsWhatTheLinkDropsAndSockDiagCountsIt) {
  SKIP_UNLESS_ROOT();
  auto result = in_child([] {
    enter_namespace();
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    request.ifr_mtu = 1500;
    if (ioctl(fd, SIOCSIFMTU, &request) != 0) throw std::runtime_error("setting lo's MTU failed");
    close(fd);
    Link lo;
    lo.apply(link(1000));
    auto [client, server] = tcp_pair();
    double seconds = transfer(client, server, 200000);
    std::uint32_t retrans = 0;
    bool found = false;
    for (const SocketInfo& s : make_netlink_source()->snapshot()) {
      if (s.protocol == Protocol::kTcp && s.local_port == port_of(client) && s.state == "ESTAB") {
        found = true;
        retrans = s.retrans;
      }
    }
    return "seconds=" + std::to_string(seconds) + "\nfound=" + std::to_string(found) + "\nretrans=" + std::to_string(retrans) + "\n";
  });
  ASSERT_EQ(result.count("error"), 0u) << result["error"];
  EXPECT_GE(std::stod(result["seconds"]), 0) << "expected all 200000 bytes intact, but some arrived wrong or not at all";
  ASSERT_EQ(result["found"], "1") << "the sender's socket is not in the sock_diag snapshot";
  EXPECT_GT(std::stoi(result["retrans"]), 0) << "expected the sender to have retransmitted, but tcp_info says 0";
}

// A rate of 16mbit (2 MB/s): 2 MB take about a second (the first 72 KiB pass at once, tbf's bucket), where the
// same transfer over the clean loopback takes milliseconds.
TEST(Link, RateLimitsThroughput) {
  SKIP_UNLESS_ROOT();
  auto result = in_child([] {
    enter_namespace();
    auto [client, server] = tcp_pair();
    double clean = transfer(client, server, 2000000);
    Link lo;
    std::string made = lo.apply(link(std::nullopt, 16000000));
    double limited = transfer(client, server, 2000000);
    return "made=" + made + "\nclean=" + std::to_string(clean) + "\nlimited=" + std::to_string(limited) + "\n";
  });
  ASSERT_EQ(result.count("error"), 0u) << result["error"];
  double clean = std::stod(result["clean"]), limited = std::stod(result["limited"]);
  ASSERT_GE(clean, 0);
  ASSERT_GE(limited, 0) << "bytes arrived wrong or not at all";
  EXPECT_LT(clean, 0.5) << "2 MB over the clean loopback";
  EXPECT_GE(limited, (2000000.0 - 73728) / 2000000 * 0.95) << "expected 2 MB at 2 MB/s to take about 1 s (" << result["made"] << ")";
  EXPECT_LT(limited, 8.0) << "expected 2 MB at 2 MB/s to take about 1 s, not a quarter of the rate";
}

// A delay needs netem. With it, a TCP handshake (SYN, SYN-ACK: each crosses the link once) takes at least twice the
// delay; without it, the link is an error that says the kernel lacks netem — never a link quietly without delay.
TEST(Link, DelayIsNetemsOrAnErrorThatSaysTheKernelLacksIt) {
  SKIP_UNLESS_ROOT();
  auto result = in_child([] {
    enter_namespace();
    Link lo;
    try {
      lo.apply(link(std::nullopt, std::nullopt, Millis(30)));
    } catch (const LinkError& e) {
      return std::string("error_text=") + e.what() + "\n";
    }
    auto began = Clock::now();
    auto connection = tcp_pair();  // connect() returns when the SYN-ACK came back
    double seconds = std::chrono::duration<double>(Clock::now() - began).count();
    close(connection.first), close(connection.second);
    return "handshake=" + std::to_string(seconds) + "\n";
  });
  ASSERT_EQ(result.count("error"), 0u) << result["error"];
  if (result.count("error_text")) {
    EXPECT_NE(result["error_text"].find("no netem qdisc"), std::string::npos) << result["error_text"];
  } else {
    EXPECT_GE(std::stod(result["handshake"]), 0.060) << "a handshake across a 30 ms link";
  }
}

// The link lives in the experiment's namespace: the host's lo qdisc and nftables ruleset are as they were, before
// and after a namespace with loss and a rate limit came and went.
TEST(Link, NothingReachesTheHost) {
  SKIP_UNLESS_ROOT();
  std::string qdisc = command_output("tc qdisc show dev lo"), rules = command_output("nft list ruleset");
  auto result = in_child([] {
    enter_namespace();
    Link lo;
    std::string made = lo.apply(link(1000, 8000000));
    return "made=" + made + "\nrules=" + std::to_string(command_output("nft list ruleset").find("numgen random") != std::string::npos) + "\n";
  });
  ASSERT_EQ(result.count("error"), 0u) << result["error"];
  EXPECT_EQ(result["rules"], "1") << "the namespace had the rule (" << result["made"] << ")";
  EXPECT_EQ(command_output("tc qdisc show dev lo"), qdisc);
  EXPECT_EQ(command_output("nft list ruleset"), rules);
}

// An experiment that gets no namespace of its own (here: run with isolation forced to host) never impairs the
// host: the <link> stops it with the reason, and its checks are not run.
TEST(Link, WithoutANamespaceOfItsOwnTheExperimentStops) {
  Experiment e = load_text("link_host", R"(<experiment id="t.link" title="a link" isolation="auto">
  <link loss="10%"/>
  <expect-socket name="nothing" state="LISTEN" local-port="{port}" absent="true"/>
</experiment>)");
  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  Reporter silent;
  RunOptions options;
  options.isolation = Isolation::kHost;
  Runner runner(loop, *launcher, options, silent);
  ExperimentResult r = runner.run(e);
  EXPECT_NE(r.error.find("no network namespace of its own"), std::string::npos) << r.error;
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].status, CheckResult::Status::kNotRun);
}

// Lab 5's lossy-link experiment end to end with the reference programs: every observation holds.
TEST(Link, Lab5LossyLinkExperimentEndToEnd) {
  SKIP_UNLESS_ROOT();
  using namespace testing_support;
  std::string json = testing::TempDir() + "lossy_link" + std::to_string(getpid()) + ".json";
  Child socklab("socklab", {"run", std::string(SOCKLAB_SOURCE_DIR) + "/experiments/lab5/10-lossy-link.xml", "--report",
                            "json", "--out", json});
  auto status = socklab.wait_exit(std::chrono::seconds(60));
  ASSERT_TRUE(status.has_value());
  std::ifstream file(json);
  auto report = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(file), {}));
  ASSERT_EQ(report["experiments"].size(), 1u);
  const auto& e = report["experiments"][0];
  for (const auto& c : e["checks"]) EXPECT_EQ(c["status"], "passed") << c.dump(2);
  EXPECT_EQ(status->describe(), "exit 0") << socklab.stderr_text() << e["error"];
}
