// fork_server (lab 2): concurrency, reaping, and who closes which descriptor.
#include <signal.h>

#include <set>

#include "lab_fixture.h"
#include "proc.h"

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

pid_t serving_pid(const std::string& line) {  // "child 1234 serving 127.0.0.1:5555"
  return static_cast<pid_t>(std::stol(line.substr(6)));
}

}  // namespace

// Two clients are served at the same time, each by its own child process.
TEST(ForkServer, ServesClientsConcurrentlyEachInItsOwnChild) {
  unsigned short port = free_tcp_port();
  auto server = start_server("fork_server", port);
  TcpPeer first(port), second(port);
  std::set<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    auto line = server->wait_for_line_starting("child ");
    ASSERT_TRUE(line.has_value()) << "no 'child PID serving' line";
    children.insert(serving_pid(*line));
  }
  EXPECT_EQ(children.size(), 2u) << "both clients were given to the same process";
  EXPECT_EQ(children.count(server->pid()), 0u);
  // The second client is answered while the first is still connected and silent.
  second.send("two\n");
  EXPECT_EQ(second.read_line(), "owt");
  first.send("one\n");
  EXPECT_EQ(first.read_line(), "eno");
}

// After the clients leave, every child has been reaped (no zombie) and the parent's fd count is back to
// where it was; the client saw EOF after bye, which only happens if the parent closed its copy.
TEST(ForkServer, ReapsChildrenAndClosesTheParentsCopy) {
  unsigned short port = free_tcp_port();
  auto server = start_server("fork_server", port);
  int baseline = open_fd_count(server->pid());
  for (int i = 0; i < 3; ++i) {
    TcpPeer client(port);
    client.send("bye\n");
    EXPECT_EQ(client.read_line(), "eyb");
    client.shutdown_write();
    EXPECT_TRUE(client.wait_eof(2s)) << "no EOF after bye: did the parent close the connected socket?";
  }
  EXPECT_TRUE(eventually([&] { return children_of(server->pid()).empty(); }))
      << children_of(server->pid()).size() << " children left, first state "
      << children_of(server->pid()).front().state;
  EXPECT_EQ(open_fd_count(server->pid()), baseline);
}

// --no-parent-close keeps the mistake on purpose: no EOF reaches the client and the fd count grows.
TEST(ForkServer, NoParentCloseLeaksTheConnection) {
  unsigned short port = free_tcp_port();
  auto server = start_server("fork_server", port, {"--no-parent-close"});
  int baseline = open_fd_count(server->pid());
  TcpPeer client(port);
  client.send("bye\n");
  EXPECT_EQ(client.read_line(), "eyb");
  client.shutdown_write();
  ASSERT_TRUE(server->wait_for_line_starting("disconnected ").has_value()) << "the child did not finish";
  EXPECT_FALSE(client.wait_eof(300ms)) << "EOF arrived although the parent kept its copy open";
  EXPECT_EQ(open_fd_count(server->pid()), baseline + 1);
}

// SIGTERM: the parent exits 0.
TEST(ForkServer, ExitsZeroOnSigterm) {
  unsigned short port = free_tcp_port();
  auto server = start_server("fork_server", port);
  server->signal(SIGTERM);
  auto status = server->wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0");
}
