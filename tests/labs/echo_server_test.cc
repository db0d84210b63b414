// echo_server (lab 1, 3) over real loopback sockets, driven by a bare test socket.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>

#include "lab_fixture.h"

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

class EchoServerTest : public ::testing::Test {
 protected:
  void SetUp() override { server = start_server("echo_server", port); }
  unsigned short port = free_tcp_port();
  std::unique_ptr<Child> server;
};

}  // namespace

// Every line comes back reversed by UTF-8 character; an empty line comes back empty.
TEST_F(EchoServerTest, RepliesEachLineReversed) {
  TcpPeer client(port);
  client.send("hello\nh\xC3\xA9llo w\xC3\xB6rld\n\n");
  EXPECT_EQ(client.read_line(), "olleh");
  EXPECT_EQ(client.read_line(), "dlr\xC3\xB6w oll\xC3\xA9h");
  EXPECT_EQ(client.read_line(), "");
}

// Invalid UTF-8 bytes are reversed as single bytes.
TEST_F(EchoServerTest, ReversesInvalidUtf8ByteByByte) {
  TcpPeer client(port);
  client.send("a\xFF\xFE" "b\xC3\n");
  EXPECT_EQ(client.read_line(), "\xC3" "b\xFE\xFF" "a");
}

// A 1 MiB line (mixed ASCII and multi-byte characters) comes back whole and reversed.
TEST_F(EchoServerTest, ReversesAOneMebibyteLine) {
  std::string line, expected;
  while (line.size() < (1u << 20)) line += "ab\xC3\xA9" "cd\xE6\x97\xA5";
  for (std::size_t i = 0; i < line.size(); i += 9) expected.insert(0, "\xE6\x97\xA5" "dc\xC3\xA9" "ba");
  TcpPeer client(port);
  client.send(line + "\n");
  auto reply = client.read_line(10s);
  ASSERT_TRUE(reply.has_value()) << "no reply to a " << line.size() << "-byte line";
  EXPECT_EQ(reply->size(), expected.size());
  EXPECT_TRUE(*reply == expected) << "the reply's bytes are not the reversed line";
}

// A line that arrives in two TCP segments is answered once, whole.
TEST_F(EchoServerTest, JoinsALineSplitAcrossSegments) {
  TcpPeer client(port);
  client.send("hel");
  EXPECT_FALSE(client.read_line(200ms).has_value()) << "the server answered half a line";
  client.send("lo\nwor");
  EXPECT_EQ(client.read_line(), "olleh");
  client.send("ld\n");
  EXPECT_EQ(client.read_line(), "dlrow");
}

// "bye" -> "eyb", then the server waits for the client to close first (TIME-WAIT lands on the client).
TEST_F(EchoServerTest, ByeIsAnsweredAndTheClientClosesFirst) {
  auto client = std::make_unique<TcpPeer>(port);
  ASSERT_EQ(server->next_line().value_or(""), "connected 127.0.0.1:" + std::to_string(client->local_port()));
  client->send("bye\n");
  EXPECT_EQ(client->read_line(), "eyb");
  EXPECT_FALSE(client->wait_eof(300ms)) << "the server closed first after bye";
  client.reset();  // close our side: now the server closes too
  EXPECT_TRUE(server->wait_for_line_starting("disconnected ").has_value());
}

// Iterative: a second client waits until the first leaves, and its line is answered then, not lost.
TEST_F(EchoServerTest, ServesTheSecondClientOnlyAfterTheFirstLeaves) {
  auto first = std::make_unique<TcpPeer>(port);
  first->send("one\n");
  EXPECT_EQ(first->read_line(), "eno");
  TcpPeer second(port);  // completes the handshake: the kernel queues it until accept()
  second.send("two\n");
  EXPECT_FALSE(second.read_line(300ms).has_value()) << "an iterative server answered two clients at once";
  first->send("bye\n");
  EXPECT_EQ(first->read_line(), "eyb");
  first.reset();
  EXPECT_EQ(second.read_line(), "owt");
}

// A client that resets in the middle of a line does not take the server down; the next one is served.
TEST_F(EchoServerTest, SurvivesAClientThatResetsMidLine) {
  {
    TcpPeer rude(port);
    rude.send("half a li");
    ASSERT_TRUE(server->wait_for_line_starting("connected ").has_value());
    rude.reset();
  }
  EXPECT_TRUE(server->wait_for_line_starting("disconnected ").has_value());
  TcpPeer next(port);
  next.send("still there?\n");
  EXPECT_EQ(next.read_line(), "?ereht llits");
  EXPECT_NE(server->stderr_text().find("Connection reset by peer"), std::string::npos) << server->stderr_text();
}

// A client that just closes (no bye) ends its session; the next client is served.
TEST_F(EchoServerTest, SurvivesAClientThatLeavesWithoutBye) {
  {
    TcpPeer quiet(port);
    quiet.send("x\n");
    EXPECT_EQ(quiet.read_line(), "x");
  }
  EXPECT_TRUE(server->wait_for_line_starting("disconnected ").has_value());
  TcpPeer next(port);
  next.send("ok\n");
  EXPECT_EQ(next.read_line(), "ko");
}

// SIGTERM while a client is connected: sockets closed, exit 0, and the client sees EOF.
TEST_F(EchoServerTest, ExitsZeroOnSigterm) {
  TcpPeer client(port);
  ASSERT_TRUE(server->wait_for_line_starting("connected ").has_value());
  server->signal(SIGTERM);
  auto status = server->wait_exit();
  ASSERT_TRUE(status.has_value()) << "echo_server did not exit after SIGTERM";
  EXPECT_TRUE(status->exited && status->code == 0) << status->describe();
  EXPECT_TRUE(client.wait_eof(2s));
}

// A second server on the same port fails with the documented message and exit 1.
TEST_F(EchoServerTest, BindFailureIsReportedWithExitOne) {
  Child second("echo_server", {std::to_string(port)});
  auto status = second.wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 1");
  EXPECT_EQ(second.stderr_text(),
            "echo_server: bind 0.0.0.0:" + std::to_string(port) + ": Address already in use\n");
}
