// echo_client (labs 1 and 4) against the real echo_server, or against a server that goes away.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lab_fixture.h"

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

class EchoClientTest : public ::testing::Test {
 protected:
  void SetUp() override { server = start_server("echo_server", port); }
  std::unique_ptr<Child> client(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"-p", std::to_string(port)};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Child>("echo_client", args);
  }
  // Says bye from a fixed local port and exits: the client closed first, so that port is now in TIME-WAIT.
  void say_bye_from(unsigned short local, std::vector<std::string> extra);
  unsigned short port = free_tcp_port();
  std::unique_ptr<Child> server;
};

void expect_exit(Child& child, const std::string& expected) {
  auto status = child.wait_exit();
  ASSERT_TRUE(status.has_value()) << "still running; stderr: " << child.stderr_text();
  EXPECT_EQ(status->describe(), expected) << "stderr: " << child.stderr_text();
}

void EchoClientTest::say_bye_from(unsigned short local, std::vector<std::string> extra) {
  extra.insert(extra.begin(), {"--bind", std::to_string(local)});
  auto first = client(extra);
  first->write("bye\n");
  EXPECT_EQ(first->next_line(), "eyb");
  expect_exit(*first, "exit 0");
  // Only when the server has closed too is the client's side in TIME-WAIT; until then it is FIN-WAIT-2, and
  // connecting the same 4-tuple again fails with EADDRNOTAVAIL (seen under load).
  EXPECT_TRUE(server->wait_for_line_starting("disconnected 127.0.0.1:" + std::to_string(local)).has_value());
}

}  // namespace

// Each stdin line is sent and its reply printed; "bye" prints "eyb" and exits 0.
TEST_F(EchoClientTest, PrintsEachReplyAndExitsOnBye) {
  auto c = client();
  c->write("hello\n");
  EXPECT_EQ(c->next_line(), "olleh");
  c->write("h\xC3\xA9\n");
  EXPECT_EQ(c->next_line(), "\xC3\xA9h");
  c->write("bye\n");
  EXPECT_EQ(c->next_line(), "eyb");
  expect_exit(*c, "exit 0");
  EXPECT_TRUE(server->wait_for_line_starting("disconnected ").has_value());
}

// A line starting with ESC (an arrow key, a lone Esc) says bye too.
TEST_F(EchoClientTest, EscapeLineSendsBye) {
  auto c = client();
  c->write("\x1b[A\n");
  EXPECT_EQ(c->next_line(), "eyb");
  expect_exit(*c, "exit 0");
}

// End of stdin half-closes; the replies still due are printed; exit 0.
TEST_F(EchoClientTest, EndOfInputHalfClosesAndExitsZero) {
  auto c = client();
  c->write("abc\n");
  c->close_stdin();
  EXPECT_EQ(c->next_line(), "cba");
  expect_exit(*c, "exit 0");
}

// The server goes away while the client waits for input: the next line finds the connection closed,
// reported on stderr with exit 1, never death by SIGPIPE.
TEST_F(EchoClientTest, ReportsThatTheServerClosedTheConnection) {
  auto c = client();
  c->write("x\n");
  EXPECT_EQ(c->next_line(), "x");
  server->signal(SIGTERM);
  ASSERT_TRUE(server->wait_exit().has_value());
  c->write("anyone there?\n");
  expect_exit(*c, "exit 1");
  EXPECT_NE(c->stderr_text().find("echo_client: server closed the connection"), std::string::npos)
      << c->stderr_text();
}

// --bind fixes the client's port: the server sees the connection come from it.
TEST_F(EchoClientTest, BindsTheRequestedLocalPort) {
  unsigned short local = free_tcp_port();
  auto c = client({"--bind", std::to_string(local)});
  EXPECT_EQ(server->next_line(), "connected 127.0.0.1:" + std::to_string(local));
  c->write("bye\n");
  EXPECT_EQ(c->next_line(), "eyb");
  expect_exit(*c, "exit 0");
}

// Rebinding the port of a connection in TIME-WAIT fails with EADDRINUSE (exit 1), even with SO_REUSEADDR on
// the new socket alone: the TIME-WAIT socket keeps the old socket's setting (Linux, measured).
TEST_F(EchoClientTest, RebindDuringTimeWaitFailsWithoutReuseaddrOnTheOldSocket) {
  unsigned short local = free_tcp_port();
  say_bye_from(local, {});
  for (std::vector<std::string> option : {std::vector<std::string>{}, std::vector<std::string>{"--reuseaddr"}}) {
    std::vector<std::string> extra{"--bind", std::to_string(local)};
    extra.insert(extra.end(), option.begin(), option.end());
    auto again = client(extra);
    expect_exit(*again, "exit 1");
    EXPECT_EQ(again->stderr_text(),
              "echo_client: bind 0.0.0.0:" + std::to_string(local) + ": Address already in use\n");
  }
}

// With SO_REUSEADDR on both sockets the rebind succeeds, and the same 4-tuple connects again.
TEST_F(EchoClientTest, RebindDuringTimeWaitSucceedsWithReuseaddrOnBothSockets) {
  unsigned short local = free_tcp_port();
  say_bye_from(local, {"--reuseaddr"});
  auto again = client({"--bind", std::to_string(local), "--reuseaddr"});
  again->write("bye\n");
  EXPECT_EQ(again->next_line(), "eyb") << again->stderr_text();
  expect_exit(*again, "exit 0");
}

// No server on the port: connect() fails with the documented message and exit 1.
TEST(EchoClient, ReportsRefusedConnection) {
  unsigned short port = free_tcp_port();
  Child c("echo_client", {"-a", "localhost", "-p", std::to_string(port)});
  expect_exit(c, "exit 1");
  EXPECT_EQ(c.stderr_text(), "echo_client: connect 127.0.0.1:" + std::to_string(port) + ": Connection refused\n");
}
