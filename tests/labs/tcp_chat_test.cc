// tcp_chat_server and tcp_chat_client (lab 6): p2p and hub on the wire, a member that stops reading, duplex.
#include <signal.h>

#include "lab_fixture.h"
#include "proc.h"

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

std::string at(const TcpPeer& peer) {
  return "127.0.0.1:" + std::to_string(peer.local_port());
}

class TcpHubTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--mode", "hub"});
    server = start_server("tcp_chat_server", port, extra);
  }

  // A raw member, once the server has taken it in (its "connected" line).
  std::unique_ptr<TcpPeer> join() {
    auto peer = std::make_unique<TcpPeer>(port);
    EXPECT_EQ(server->next_line(), "connected " + at(*peer));
    return peer;
  }

  unsigned short port = free_tcp_port();
  std::unique_ptr<Child> server;
};

}  // namespace

// Three members: joins announced to the others, every line reaches the others as IP:PORT: text, never the
// sender; "q" leaves and the others see it.
TEST_F(TcpHubTest, RelaysEachLineToEveryOtherMember) {
  start();
  auto a = join();
  auto b = join();
  EXPECT_EQ(a->read_line(), at(*b) + " joined");
  auto c = join();
  EXPECT_EQ(a->read_line(), at(*c) + " joined");
  EXPECT_EQ(b->read_line(), at(*c) + " joined");

  a->send("hi all\n");
  EXPECT_EQ(b->read_line(), at(*a) + ": hi all");
  EXPECT_EQ(c->read_line(), at(*a) + ": hi all");
  c->send("split ");
  c->send("in two\r\n");  // one line in two segments, ended the telnet way
  EXPECT_EQ(a->read_line(), at(*c) + ": split in two");
  EXPECT_EQ(b->read_line(), at(*c) + ": split in two");
  EXPECT_FALSE(a->read_line(200ms).has_value()) << "the sender got its own line back";
  EXPECT_FALSE(c->read_line(200ms).has_value()) << "the sender got its own line back";

  std::string b_at = at(*b);
  b->send("q\n");
  EXPECT_TRUE(b->wait_eof()) << "q should end the session";
  EXPECT_EQ(server->next_line(), "disconnected " + b_at);
  EXPECT_EQ(a->read_line(), b_at + " left");
  EXPECT_EQ(c->read_line(), b_at + " left");
}

// A reset in the middle of a line: the half line is never relayed, the others see the member leave, the room
// goes on.
TEST_F(TcpHubTest, AResetMidLineDisturbsNobody) {
  start();
  auto a = join();
  auto r = join();
  EXPECT_EQ(a->read_line(), at(*r) + " joined");
  std::string r_at = at(*r);
  r->send("half a li");
  r->reset();
  EXPECT_EQ(a->read_line(), r_at + " left") << "the half line must not be relayed";
  EXPECT_EQ(server->next_line(), "disconnected " + r_at);
  auto b = join();
  EXPECT_EQ(a->read_line(), at(*b) + " joined");
  b->send("still here\n");
  EXPECT_EQ(a->read_line(), at(*b) + ": still here");
}

// A line of exactly 65536 bytes (its \r included) is relayed; one byte more ends that member's session, not the
// server: the others see it leave and the room goes on.
TEST_F(TcpHubTest, ATooLongLineEndsOnlyThatMember) {
  start();
  auto a = join();
  auto b = join();
  EXPECT_EQ(a->read_line(), at(*b) + " joined");
  b->send(std::string(65535, 'x') + "\r\n");
  EXPECT_EQ(a->read_line(), at(*b) + ": " + std::string(65535, 'x'));
  std::string b_at = at(*b);
  b->send(std::string(65537, 'y') + "\n");
  EXPECT_EQ(server->next_line(), "disconnected " + b_at);
  EXPECT_EQ(a->read_line(), b_at + " left");
  auto c = join();
  EXPECT_EQ(a->read_line(), at(*c) + " joined");
}

// --max-clients: one more is told "room full" and closed; a place freed by a leaver is free again.
TEST_F(TcpHubTest, RefusesBeyondMaxClients) {
  start({"--max-clients", "2"});
  auto a = join();
  auto b = join();
  EXPECT_EQ(a->read_line(), at(*b) + " joined");
  TcpPeer extra(port);
  EXPECT_EQ(extra.read_line(), "room full");
  EXPECT_TRUE(extra.wait_eof());
  EXPECT_EQ(server->next_line(), "refused " + at(extra) + " room full");
  EXPECT_FALSE(a->read_line(200ms).has_value()) << "a refused client was announced";

  b->send("q\n");
  EXPECT_TRUE(b->wait_eof());
  EXPECT_EQ(server->wait_for_line_starting("disconnected "), "disconnected " + at(*b));
  auto c = join();
  EXPECT_EQ(a->read_line(), at(*b) + " left");
  EXPECT_EQ(a->read_line(), at(*c) + " joined");
}

// A member that never reads: the others get every line, in order, and the stuck one is dropped once more than
// 1 MiB waits for it beyond what its kernel buffers hold (about 4 MiB of send buffer and 128 KiB of receive
// buffer).
TEST_F(TcpHubTest, AMemberThatStopsReadingIsDroppedNotWaitedFor) {
  start();
  auto a = join();
  auto b = join();
  EXPECT_EQ(a->read_line(), at(*b) + " joined");
  auto stuck = join();  // never reads from here on
  EXPECT_EQ(a->read_line(), at(*stuck) + " joined");
  EXPECT_EQ(b->read_line(), at(*stuck) + " joined");

  const std::string text(100, 'x');
  const int kRounds = 150, kLinesPerRound = 500;  // 7.5 MB for the stuck member: more than it can ever hold
  int received = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::string batch;
    for (int i = 0; i < kLinesPerRound; ++i) batch += text + "\n";
    a->send(batch);
    for (int i = 0; i < kLinesPerRound; ++i) {  // b keeps reading, as a live member does
      auto line = b->read_line();
      ASSERT_TRUE(line.has_value()) << "b stopped receiving after " << received << " lines";
      if (*line == at(*stuck) + " left") {
        --i;
        continue;
      }
      ASSERT_EQ(*line, at(*a) + ": " + text) << "line " << received;
      ++received;
    }
  }
  EXPECT_EQ(received, kRounds * kLinesPerRound);
  EXPECT_TRUE(
      server->wait_for_line_starting("dropped " + at(*stuck) + ": not reading (over 1048576 bytes queued)"))
      << "server output: " << server->stdout_lines().back();
  EXPECT_EQ(server->next_line(), "disconnected " + at(*stuck));
  EXPECT_EQ(a->read_line(), at(*stuck) + " left");
}

// Departed members leave no descriptor behind (EOF, q and reset alike).
TEST_F(TcpHubTest, ClosesTheDescriptorOfEveryDepartedMember) {
  start();
  int baseline = open_fd_count(server->pid());
  {
    auto a = join();
    auto b = join();
    auto c = join();
    EXPECT_EQ(open_fd_count(server->pid()), baseline + 3);
    b->send("q\n");
    c->reset();
  }  // a closes: EOF
  EXPECT_TRUE(eventually([&] { return open_fd_count(server->pid()) == baseline; }))
      << "fd count " << open_fd_count(server->pid()) << ", baseline " << baseline;
}

// p2p: the operator's lines go to the client, the client's appear on the server's stdout; a second client is
// busy.
TEST(TcpChatP2p, OperatorAndClientChatBothWays) {
  unsigned short port = free_tcp_port();
  auto server = start_server("tcp_chat_server", port, {"--mode", "p2p"});
  TcpPeer client(port);
  EXPECT_EQ(server->next_line(), "connected " + at(client));
  server->write("hello client\n");
  EXPECT_EQ(client.read_line(), "hello client");
  client.send("hello operator\n");
  EXPECT_EQ(server->next_line(), at(client) + ": hello operator");

  TcpPeer second(port);
  EXPECT_EQ(second.read_line(), "busy");
  EXPECT_TRUE(second.wait_eof());
  EXPECT_EQ(server->next_line(), "refused " + at(second) + " busy");

  client.send("bye\nq\n");
  EXPECT_EQ(server->next_line(), at(client) + ": bye");
  EXPECT_EQ(server->next_line(), "disconnected " + at(client));
  TcpPeer next(port);  // the server is free for the next one
  EXPECT_EQ(server->next_line(), "connected " + at(next));
  server->write("q\n");  // the operator leaves: the server closes and exits 0
  EXPECT_TRUE(next.wait_eof());
  auto status = server->wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0");
}

// Full duplex: the client prints what arrives while its user types nothing, and sends what the user types.
TEST_F(TcpHubTest, ClientPrintsLinesWhileItsUserIsNotTyping) {
  start();
  Child client("tcp_chat_client", {"-p", std::to_string(port)});
  std::string client_at = server->next_line().value_or("").substr(std::string("connected ").size());
  auto peer = join();
  EXPECT_EQ(client.next_line(), at(*peer) + " joined");
  peer->send("are you there?\n");
  EXPECT_EQ(client.next_line(), at(*peer) + ": are you there?");
  client.write("yes\n");
  EXPECT_EQ(peer->read_line(), client_at + ": yes");
  client.write("q\n");
  EXPECT_EQ(peer->read_line(), client_at + " left");
  auto status = client.wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0");
}

// --half-duplex: nothing is printed until the user types, and then only the oldest line.
TEST_F(TcpHubTest, HalfDuplexClientSeesNothingUntilItsUserTypes) {
  start();
  Child client("tcp_chat_client", {"-p", std::to_string(port), "--half-duplex"});
  std::string client_at = server->next_line().value_or("").substr(std::string("connected ").size());
  auto peer = join();
  peer->send("one\ntwo\n");
  EXPECT_TRUE(client.silent_for(300ms)) << "printed: " << client.stdout_lines().back();
  client.write("hello\n");
  EXPECT_EQ(peer->read_line(), client_at + ": hello");
  EXPECT_EQ(client.next_line(), at(*peer) + " joined");
  EXPECT_TRUE(client.silent_for(200ms)) << "one line per line typed";
}

// The server going away: the client says so and exits 1; the server exits 0 on SIGTERM.
TEST_F(TcpHubTest, ClientReportsTheServerClosing) {
  start();
  Child client("tcp_chat_client", {"-p", std::to_string(port)});
  ASSERT_TRUE(server->wait_for_line_starting("connected "));
  server->signal(SIGTERM);
  auto status = server->wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0");
  auto client_status = client.wait_exit();
  ASSERT_TRUE(client_status.has_value());
  EXPECT_EQ(client_status->describe(), "exit 1");
  EXPECT_NE(client.stderr_text().find("tcp_chat_client: server closed the connection\n"), std::string::npos)
      << client.stderr_text();
}

// No server: connect fails with the documented message.
TEST(TcpChatClient, ReportsARefusedConnection) {
  unsigned short port = free_tcp_port();
  Child client("tcp_chat_client", {"-p", std::to_string(port)});
  auto status = client.wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 1");
  EXPECT_EQ(client.stderr_text(),
            "tcp_chat_client: connect 127.0.0.1:" + std::to_string(port) + ": Connection refused\n");
}
