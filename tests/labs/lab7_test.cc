// Lab 7: the four server designs under load, the idle timeout, and echo_bench itself (it must catch a server
// that answers wrong, late or not at all). Real sockets, real child processes; fake servers are threads here.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "lab_fixture.h"
#include "proc.h"

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

// echo_bench's summary as key -> value: "p50 84.1 µs" -> {"p50", "84.1"}, "timed out 0" -> {"timed out",
// "0"}.
std::map<std::string, std::string> summary(const Child& bench) {
  std::map<std::string, std::string> result;
  for (const std::string& line : bench.stdout_lines()) {
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (key == "timed" || (key == "cpu" && value == "share")) {  // the two keys of two words
      key += " " + value;
      words >> value;
    }
    result[key] = value;
  }
  return result;
}

// Runs echo_bench to the end; returns its exit status text ("exit 0").
std::string run_bench(Child& bench, Duration timeout = 30000ms) {
  auto status = bench.wait_exit(timeout);
  return status ? status->describe() : "still running after the deadline";
}

// A socket's state and ports, from /proc/net/tcp (st 06 = TIME_WAIT).
struct TcpRow {
  unsigned local_port, remote_port, state;
};
std::vector<TcpRow> tcp_rows() {
  std::vector<TcpRow> rows;
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    unsigned local_ip, local_port, remote_ip, remote_port, state;
    if (std::sscanf(line.c_str(), " %*d: %x:%x %x:%x %x", &local_ip, &local_port, &remote_ip, &remote_port,
                    &state) == 5) {
      rows.push_back({local_port, remote_port, state});
    }
  }
  return rows;
}
bool in_time_wait(unsigned local_port, unsigned remote_port) {
  for (const TcpRow& r : tcp_rows()) {
    if (r.local_port == local_port && r.remote_port == remote_port && r.state == 0x06) return true;
  }
  return false;
}

// A fake echo server on a thread, for echo_bench to measure: a listening socket on a free port whose replies
// are made by `answer` (the line without '\n' -> the bytes to send back, or nullopt to close the connection).
class FakeTcpServer {
 public:
  using Answer = std::function<std::optional<std::string>(const std::string& line, int index)>;
  explicit FakeTcpServer(Answer answer) : answer_(std::move(answer)) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    if (bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(listener_, 16) < 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &length) < 0) {
      throw std::runtime_error("fake server: bind/listen failed");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeTcpServer() {
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    for (std::thread& t : connections_) t.join();
    close(listener_);
  }
  unsigned short port() const { return port_; }

 private:
  void serve() {  // each connection on a thread of its own, each with its own count of lines
    for (;;) {
      int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      connections_.emplace_back([this, fd] { serve_connection(fd); });
    }
  }
  void serve_connection(int fd) {
    std::string buffer;
    char chunk[4096];
    int index = 0;
    for (;;) {
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<std::size_t>(n));
      std::size_t newline;
      bool open = true;
      while (open && (newline = buffer.find('\n')) != std::string::npos) {
        auto reply = answer_(buffer.substr(0, newline), index++);
        buffer.erase(0, newline + 1);
        if (!reply)
          open = false;
        else if (!reply->empty())
          ::send(fd, reply->data(), reply->size(), MSG_NOSIGNAL);
      }
      if (!open) break;
    }
    close(fd);
  }

  Answer answer_;
  int listener_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
  std::vector<std::thread> connections_;
};

// While it lives, this thread (and every child it starts) may run on one CPU only: echo_bench then has more
// connections than CPUs and runs them in its epoll loop rather than a thread each.
class OneCpu {
 public:
  OneCpu() {
    sched_getaffinity(0, sizeof saved_, &saved_);
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &saved_)) {
        CPU_SET(cpu, &one);
        break;
      }
    }
    sched_setaffinity(0, sizeof one, &one);
  }
  ~OneCpu() { sched_setaffinity(0, sizeof saved_, &saved_); }

 private:
  cpu_set_t saved_;
};

std::string reversed_line(const std::string& line) {
  return std::string(line.rbegin(), line.rend()) + "\n";
}

std::vector<std::string> bench_args(unsigned short port, std::vector<std::string> extra) {
  std::vector<std::string> args{"-a", "127.0.0.1", "-p", std::to_string(port)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

struct Design {
  std::string program;
  std::vector<std::string> extra;  // arguments after PORT
};
void PrintTo(const Design& d, std::ostream* os) {
  *os << d.program;
}

class EveryDesign : public ::testing::TestWithParam<Design> {};

}  // namespace

// 64 clients at once, 200 messages each: every one of the 12800 replies arrives and is right, on every design
// (the iterative server too, one client after the other: its listen backlog holds the 64 waiting).
TEST_P(EveryDesign, AnswersEveryByteRightUnder64Clients) {
  unsigned short port = free_tcp_port();
  std::vector<std::string> extra = GetParam().extra;
  auto server = start_server(GetParam().program, port, extra);
  Child bench("echo_bench",
              bench_args(port, {"--clients", "64", "--count", "200", "--size", "100", "--timeout", "10"}));
  EXPECT_EQ(run_bench(bench, 60000ms), "exit 0") << bench.stderr_text();
  auto s = summary(bench);
  EXPECT_EQ(s["messages"], "12800");
  EXPECT_EQ(s["errors"], "0");
  EXPECT_EQ(s["wrong"], "0");
}

// Long lines (200000 bytes: many recv()s and partial sends per line) from 8 clients at once, every byte
// checked.
TEST_P(EveryDesign, AnswersLongLinesFromManyClients) {
  unsigned short port = free_tcp_port();
  auto server = start_server(GetParam().program, port, GetParam().extra);
  Child bench("echo_bench", bench_args(port, {"--clients", "8", "--count", "20", "--size", "200000"}));
  EXPECT_EQ(run_bench(bench, 60000ms), "exit 0") << bench.stderr_text();
  EXPECT_EQ(summary(bench)["messages"], "160");
}

// --idle-timeout: a client silent for that long is let go — the server closes first ("idle IP:PORT"), so once
// the client closes too, the TIME-WAIT is the server's (local port = the server's port), not the client's.
TEST_P(EveryDesign, IdleTimeoutClosesFirstAndTimeWaitIsOnTheServerSide) {
  unsigned short port = free_tcp_port();
  std::vector<std::string> extra = GetParam().extra;
  extra.insert(extra.end(), {"--idle-timeout", "0.3"});
  auto server = start_server(GetParam().program, port, extra);
  auto client = std::make_unique<TcpPeer>(port);
  unsigned short client_port = client->local_port();
  client->send("hello\n");
  EXPECT_EQ(client->read_line(), "olleh");
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(client->wait_eof(3s)) << "the server did not close an idle connection";
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 250ms) << "closed before the idle timeout";
  EXPECT_TRUE(server->wait_for_line_starting("idle 127.0.0.1:" + std::to_string(client_port)).has_value())
      << "no 'idle' event";
  client.reset();  // our FIN: the server's side goes from FIN-WAIT-2 to TIME-WAIT
  EXPECT_TRUE(eventually([&] { return in_time_wait(port, client_port); }))
      << "no TIME-WAIT on the server's side (local port " << port << ")";
  EXPECT_FALSE(in_time_wait(client_port, port))
      << "the client's side is in TIME-WAIT: the client closed first";
  EXPECT_TRUE(
      server->wait_for_line_starting("disconnected 127.0.0.1:" + std::to_string(client_port)).has_value());
}

// A client that keeps talking is never cut off, however long it stays: the idle timeout counts silence only.
TEST_P(EveryDesign, IdleTimeoutSparesAClientThatKeepsTalking) {
  unsigned short port = free_tcp_port();
  std::vector<std::string> extra = GetParam().extra;
  extra.insert(extra.end(), {"--idle-timeout", "0.5"});
  auto server = start_server(GetParam().program, port, extra);
  TcpPeer client(port);
  for (int i = 0; i < 8; ++i) {  // 8 lines 150 ms apart: 1.2 s in all, never 0.5 s silent
    client.send("ab\n");
    ASSERT_EQ(client.read_line(), "ba") << "cut off after " << i << " lines";
    EXPECT_FALSE(client.wait_eof(150ms)) << "closed although the client spoke 150 ms ago";
  }
}

INSTANTIATE_TEST_SUITE_P(Lab7, EveryDesign,
                         ::testing::Values(Design{"echo_server", {"--backlog", "64"}},
                                           Design{"fork_server", {}}, Design{"thread_server", {}},
                                           Design{"epoll_server", {}}),
                         [](const auto& param) { return param.param.program; });

// epoll_server cuts lines out of the byte stream itself: a line in many pieces, many lines in one segment,
// \r\n.
TEST(EpollServer, FramesLinesHoweverTheBytesArrive) {
  unsigned short port = free_tcp_port();
  auto server = start_server("epoll_server", port);
  TcpPeer client(port);
  client.send("hel");
  EXPECT_FALSE(client.read_line(100ms).has_value()) << "answered half a line";
  client.send("lo");
  client.send(" wörld\none\ntwo\r\nthr");
  EXPECT_EQ(client.read_line(), "dlröw olleh");
  EXPECT_EQ(client.read_line(), "eno");
  EXPECT_EQ(client.read_line(), "owt\r");
  client.send("ee\n\n");
  EXPECT_EQ(client.read_line(), "eerht");
  EXPECT_EQ(client.read_line(), "");
}

// Other clients are served while one is in the middle of a line: nobody blocks the loop.
TEST(EpollServer, OneHalfLineDoesNotHoldUpTheOthers) {
  unsigned short port = free_tcp_port();
  auto server = start_server("epoll_server", port);
  TcpPeer slow(port), other(port);
  slow.send("no end in sight");
  other.send("abc\n");
  EXPECT_EQ(other.read_line(), "cba");
  slow.send("\n");
  EXPECT_EQ(slow.read_line(), "thgis ni dne on");
}

// bye -> eyb, then the client closes first; a last line without '\n' before EOF is answered.
TEST(EpollServer, ByeAndTheLastLineAtEof) {
  unsigned short port = free_tcp_port();
  auto server = start_server("epoll_server", port);
  auto client = std::make_unique<TcpPeer>(port);
  client->send("bye\r\n");
  EXPECT_EQ(client->read_line(), "eyb\r");
  EXPECT_FALSE(client->wait_eof(300ms)) << "the server closed first after bye";
  client.reset();
  EXPECT_TRUE(server->wait_for_line_starting("disconnected ").has_value());
  TcpPeer last(port);
  last.send("tail");
  last.shutdown_write();
  EXPECT_EQ(last.read_line(), "liat");
  EXPECT_TRUE(last.wait_eof(2s));
}

// A line over 4 MiB ends that connection only; the server goes on.
TEST(EpollServer, ATooLongLineEndsOnlyThatConnection) {
  unsigned short port = free_tcp_port();
  auto server = start_server("epoll_server", port);
  {
    TcpPeer big(port);
    big.send(std::string(4 * 1024 * 1024 + 1, 'x'));
    EXPECT_TRUE(big.wait_eof(5s)) << "a line over 4 MiB was not refused";
  }
  TcpPeer next(port);
  next.send("ok\n");
  EXPECT_EQ(next.read_line(), "ko");
}

// SIGTERM: thread_server and epoll_server exit 0 with clients connected, and the clients see the end.
TEST(Lab7Servers, ExitZeroOnSigtermWithClientsConnected) {
  for (std::string program : {"thread_server", "epoll_server"}) {
    unsigned short port = free_tcp_port();
    auto server = start_server(program, port);
    TcpPeer client(port);
    client.send("x\n");
    EXPECT_EQ(client.read_line(), "x");
    server->signal(SIGTERM);
    auto status = server->wait_exit();
    ASSERT_TRUE(status.has_value()) << program << " did not exit";
    EXPECT_EQ(status->describe(), "exit 0") << program;
    EXPECT_TRUE(client.wait_eof(2s)) << program;
  }
}

// thread_server: the descriptor count comes back to where it was once the clients have left (no leak), and
// its threads are gone (detached threads end with their client).
TEST(ThreadServer, ClientsLeaveNothingBehind) {
  unsigned short port = free_tcp_port();
  auto server = start_server("thread_server", port);
  auto threads = [&] {
    std::ifstream status("/proc/" + std::to_string(server->pid()) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    }
    return -1;
  };
  int fds = open_fd_count(server->pid());
  Child bench("echo_bench", bench_args(port, {"--clients", "16", "--count", "50"}));
  EXPECT_EQ(run_bench(bench), "exit 0") << bench.stderr_text();
  EXPECT_TRUE(eventually([&] { return threads() == 1; })) << threads() << " threads left";
  EXPECT_TRUE(eventually([&] { return open_fd_count(server->pid()) == fds; }))
      << open_fd_count(server->pid()) << " descriptors, " << fds << " before";
}

// echo_bench's summary: every key of the contract, once, in order, with its unit.
TEST(EchoBench, PrintsTheDocumentedSummary) {
  unsigned short port = free_tcp_port();
  auto server = start_server("epoll_server", port);
  Child bench("echo_bench", bench_args(port, {"--clients", "2", "--size", "10", "--duration", "0.5"}));
  EXPECT_EQ(run_bench(bench), "exit 0") << bench.stderr_text();
  std::vector<std::string> keys;
  for (const std::string& line : bench.stdout_lines()) keys.push_back(line.substr(0, line.find(' ')));
  EXPECT_EQ(keys, (std::vector<std::string>{"clients", "size", "wall", "messages", "messages/s", "bytes/s",
                                            "p50", "p90", "p99", "max", "errors", "wrong", "missing", "timed",
                                            "cpu", "cpu"}));
  auto s = summary(bench);
  EXPECT_GT(std::stol(s["messages"]), 0);
  double p50 = std::stod(s["p50"]), p99 = std::stod(s["p99"]), max = std::stod(s["max"]);
  EXPECT_GT(p50, 0);
  EXPECT_LE(p50, p99);
  EXPECT_LE(p99, max);
  EXPECT_NE(bench.stdout_lines()[6].find(" µs"), std::string::npos) << bench.stdout_lines()[6];
  double wall = std::stod(s["wall"]);
  EXPECT_GE(wall, 0.5);
  EXPECT_LT(wall, 3.0);
  // bytes/s is messages x size / wall (each byte counted once)
  EXPECT_NEAR(std::stod(s["bytes/s"]), std::stod(s["messages"]) * 10 / wall,
              std::stod(s["bytes/s"]) * 0.01 + 1);
}

// A server that echoes without reversing: every reply is wrong, and echo_bench says so (exit 3).
TEST(EchoBench, DetectsWrongReplies) {
  FakeTcpServer parrot([](const std::string& line, int) { return std::optional<std::string>(line + "\n"); });
  Child bench("echo_bench", bench_args(parrot.port(), {"--count", "25"}));
  EXPECT_EQ(run_bench(bench), "exit 3");
  auto s = summary(bench);
  EXPECT_EQ(s["wrong"], "25");
  EXPECT_EQ(s["messages"], "0");
  EXPECT_EQ(s["errors"], "25");
}

// One byte wrong in one reply out of 40 is caught: every byte is compared, not just the length.
TEST(EchoBench, DetectsOneWrongByte) {
  FakeTcpServer almost([](const std::string& line, int index) {
    std::string reply = reversed_line(line);
    if (index == 17) reply[reply.size() / 2] ^= 1;
    return std::optional<std::string>(reply);
  });
  Child bench("echo_bench", bench_args(almost.port(), {"--count", "40", "--size", "300"}));
  EXPECT_EQ(run_bench(bench), "exit 3");
  auto s = summary(bench);
  EXPECT_EQ(s["wrong"], "1");
  EXPECT_EQ(s["messages"], "39");
}

// A reply meant for another client (a server mixing up buffers) is wrong although it is a correct reversal.
TEST(EchoBench, DetectsAnotherClientsReply) {
  std::string first;
  FakeTcpServer mixer([&](const std::string& line, int index) {
    if (index == 0) first = line;
    return std::optional<std::string>(reversed_line(index == 5 ? first : line));
  });
  Child bench("echo_bench", bench_args(mixer.port(), {"--count", "10"}));
  EXPECT_EQ(run_bench(bench), "exit 3");
  EXPECT_EQ(summary(bench)["wrong"], "1");
}

// A server that closes after 3 replies: the 4th message is missing; a silent one: the reply times out.
TEST(EchoBench, CountsMissingAndTimedOutReplies) {
  FakeTcpServer quitter([](const std::string& line, int index) {
    return index < 3 ? std::optional<std::string>(reversed_line(line)) : std::nullopt;
  });
  Child bench("echo_bench", bench_args(quitter.port(), {"--count", "10"}));
  EXPECT_EQ(run_bench(bench), "exit 3");
  auto s = summary(bench);
  EXPECT_EQ(s["messages"], "3");
  EXPECT_EQ(s["missing"], "1");

  FakeTcpServer mute([](const std::string&, int) { return std::optional<std::string>(""); });
  Child waiting("echo_bench", bench_args(mute.port(), {"--count", "10", "--timeout", "0.2"}));
  EXPECT_EQ(run_bench(waiting), "exit 3");
  auto w = summary(waiting);
  EXPECT_EQ(w["timed out"], "1");
  EXPECT_EQ(w["messages"], "0");
}

// No server: connect is refused, exit 1 with the call and its subject (TCP), and the same for UDP.
TEST(EchoBench, NoServerIsExitOne) {
  unsigned short port = free_tcp_port();
  Child bench("echo_bench", bench_args(port, {"--count", "1"}));
  EXPECT_EQ(run_bench(bench), "exit 1");
  EXPECT_EQ(bench.stderr_text(),
            "echo_bench: connect 127.0.0.1:" + std::to_string(port) + ": Connection refused\n");
  unsigned short udp_port = free_udp_port();
  Child udp("echo_bench", bench_args(udp_port, {"--count", "3", "--udp"}));
  EXPECT_EQ(run_bench(udp), "exit 1");
  EXPECT_NE(udp.stderr_text().find("Connection refused"), std::string::npos) << udp.stderr_text();
  EXPECT_TRUE(udp.stdout_lines().empty());
}

// --udp: a reversing UDP echo that drops every 4th datagram. echo_bench reports 25 % lost, no wrong reply,
// and exits 0 (loss is what --udp measures). A late reply to a lost datagram is recognised, not counted as
// wrong.
TEST(EchoBench, UdpCountsLostDatagrams) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof a;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length), 0);
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    timeval tv{0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string held;  // the datagram dropped last time: sent late, after the next reply
    sockaddr_in held_to{};
    for (int index = 0; !stop;) {
      char buffer[2048];
      sockaddr_in from{};
      socklen_t from_length = sizeof from;
      ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
      if (n <= 0) continue;
      std::string line(buffer, static_cast<std::size_t>(n) - 1);  // without its '\n'
      std::string reply = reversed_line(line);
      if (index++ % 4 == 3) {
        held = reply;
        held_to = from;
        continue;  // lost
      }
      sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_length);
      if (!held.empty()) {  // the lost one's reply, too late
        sendto(fd, held.data(), held.size(), 0, reinterpret_cast<sockaddr*>(&held_to), sizeof held_to);
        held.clear();
      }
    }
  });
  Child bench("echo_bench",
              bench_args(ntohs(a.sin_port), {"--udp", "--count", "40", "--size", "50", "--timeout", "0.1"}));
  std::string status = run_bench(bench);
  stop = true;
  echo.join();
  close(fd);
  EXPECT_EQ(status, "exit 0") << bench.stderr_text();
  auto s = summary(bench);
  EXPECT_EQ(s["lost"], "25.00");
  EXPECT_EQ(s["timed out"], "10");
  EXPECT_EQ(s["wrong"], "0");
  EXPECT_EQ(s["messages"], "30");
}

// --csv: one row per second; the rows add up to the summary's messages.
TEST(EchoBench, WritesThePerSecondSeries) {
  unsigned short port = free_tcp_port();
  auto server = start_server("thread_server", port);
  std::string csv = ::testing::TempDir() + "/lab7_rate_" + std::to_string(port) + ".csv";
  Child bench("echo_bench", bench_args(port, {"--clients", "2", "--duration", "2.2", "--csv", csv}));
  EXPECT_EQ(run_bench(bench), "exit 0") << bench.stderr_text();
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "second,messages,bytes,p50_us,p99_us,errors");
  long long total = 0;
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    std::istringstream fields(line);
    std::string second, messages, bytes;
    std::getline(fields, second, ',');
    std::getline(fields, messages, ',');
    std::getline(fields, bytes, ',');
    EXPECT_EQ(std::stoi(second), rows) << line;
    EXPECT_EQ(std::stoll(bytes), std::stoll(messages) * 64) << line;
    total += std::stoll(messages);
  }
  EXPECT_EQ(rows, 3);  // seconds 1, 2 and the last 0.2 s
  EXPECT_EQ(std::to_string(total), summary(bench)["messages"]);
  std::remove(csv.c_str());
}

// The epoll loop (more connections than CPUs) checks every byte as well: 4 clients on one CPU, each
// connection's 18th reply has one byte wrong, and one client's server closes after 3 replies.
TEST(EchoBench, TheLoopOfManyConnectionsChecksEveryReplyToo) {
  FakeTcpServer almost([](const std::string& line, int index) {
    std::string reply = reversed_line(line);
    if (index == 17) reply[reply.size() / 2] ^= 1;
    return std::optional<std::string>(reply);
  });
  std::optional<Child> bench;
  {
    OneCpu one_cpu;
    bench.emplace("echo_bench",
                  bench_args(almost.port(), {"--clients", "4", "--count", "40", "--size", "300"}));
  }
  EXPECT_EQ(run_bench(*bench), "exit 3");
  auto s = summary(*bench);
  EXPECT_EQ(s["wrong"], "4");
  EXPECT_EQ(s["messages"], "156");

  FakeTcpServer quitter([](const std::string& line, int index) {
    return index < 3 ? std::optional<std::string>(reversed_line(line)) : std::nullopt;
  });
  std::optional<Child> short_lived;
  {
    OneCpu one_cpu;
    short_lived.emplace("echo_bench", bench_args(quitter.port(), {"--clients", "3", "--count", "10"}));
  }
  EXPECT_EQ(run_bench(*short_lived), "exit 3");
  auto q = summary(*short_lived);
  EXPECT_EQ(q["messages"], "9");
  EXPECT_EQ(q["missing"], "3");
}

// A silent server, in the loop: each connection times out once and is given up.
TEST(EchoBench, TheLoopTimesOutASilentServer) {
  FakeTcpServer mute([](const std::string&, int) { return std::optional<std::string>(""); });
  std::optional<Child> bench;
  {
    OneCpu one_cpu;
    bench.emplace("echo_bench",
                  bench_args(mute.port(), {"--clients", "3", "--count", "5", "--timeout", "0.2"}));
  }
  EXPECT_EQ(run_bench(*bench), "exit 3");
  EXPECT_EQ(summary(*bench)["timed out"], "3");
}
