// udp_chat_server and udp_chat_client (lab 5): the room, the datagram format, and a hostile network.
#include <signal.h>

#include "lab_fixture.h"

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

class UdpChatTest : public ::testing::Test {
 protected:
  void SetUp() override { server = start_server("udp_chat_server", port); }

  // Starts a client and waits until the server has taken it in.
  std::unique_ptr<Child> join(const std::string& nick) {
    auto member = std::make_unique<Child>(
        "udp_chat_client", std::vector<std::string>{"-a", "127.0.0.1", "-p", std::to_string(port), "-n", nick});
    auto line = server->wait_for_line_starting("joined " + nick + " ");
    EXPECT_TRUE(line.has_value()) << nick << " did not join; stderr: " << member->stderr_text();
    return member;
  }

  unsigned short port = free_udp_port();
  std::unique_ptr<Child> server;
};

}  // namespace

// Three members: join notices, every line reaches all the others, never the sender; exit leaves.
TEST_F(UdpChatTest, RelaysEachLineToEveryOtherMember) {
  auto alice = join("alice");
  auto bob = join("bob");
  EXPECT_EQ(alice->next_line(), "* bob joined");
  auto carol = join("carol");
  EXPECT_EQ(alice->next_line(), "* carol joined");
  EXPECT_EQ(bob->next_line(), "* carol joined");

  alice->write("hi all\n");
  EXPECT_EQ(bob->next_line(), "alice: hi all");
  EXPECT_EQ(carol->next_line(), "alice: hi all");
  bob->write("hello alice\n");
  EXPECT_EQ(alice->next_line(), "bob: hello alice");
  EXPECT_EQ(carol->next_line(), "bob: hello alice");
  EXPECT_TRUE(alice->silent_for(200ms)) << "alice got her own line back: " << alice->stdout_lines().back();

  carol->write("Exit\n");
  auto status = carol->wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0");
  EXPECT_EQ(alice->next_line(), "* carol left");
  EXPECT_EQ(bob->next_line(), "* carol left");
}

// A nickname in use is refused: the client says why on stderr and exits 1; the first holder is unaffected.
TEST_F(UdpChatTest, RefusesADuplicateNickname) {
  auto first = join("alice");
  Child second("udp_chat_client", {"-p", std::to_string(port), "-n", "alice"});
  auto status = second.wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 1");
  EXPECT_EQ(second.stderr_text(), "udp_chat_client: server refused to join: nickname taken\n");
  // Once alice leaves, the name is free again.
  first->close_stdin();
  ASSERT_TRUE(first->wait_exit().has_value());
  auto again = join("alice");
}

// Garbage, empty and maximum-size datagrams get ERR answers; the server keeps serving.
TEST_F(UdpChatTest, SurvivesGarbageEmptyAndHugeDatagrams) {
  UdpPeer raw;
  for (std::string junk : {std::string(), std::string("\xFF\xFE\x00\x01", 4), std::string(65507, 'x'),
                           std::string("JOIN"), std::string("JOIN two words"), std::string("join lower")}) {
    raw.send_to(port, junk);
    auto reply = raw.receive();
    ASSERT_TRUE(reply.has_value()) << "no answer to a " << junk.size() << "-byte datagram";
    EXPECT_EQ(reply->rfind("ERR ", 0), 0u) << "reply: " << *reply;
  }
  raw.send_to(port, "JOIN raw");
  EXPECT_EQ(raw.receive(), "OK raw");
}

// Only the address that joined may speak under a nickname; strangers get "ERR not joined".
TEST_F(UdpChatTest, AStrangerCannotSpeakAsAMember) {
  auto alice = join("alice");
  UdpPeer stranger;
  stranger.send_to(port, "MSG I am alice");
  EXPECT_EQ(stranger.receive(), "ERR not joined");
  stranger.send_to(port, "LEAVE");
  EXPECT_EQ(stranger.receive(), "ERR not joined");
  EXPECT_TRUE(alice->silent_for(200ms)) << "alice saw: " << alice->stdout_lines().back();
}

// The datagram format, spoken by bare sockets: any student's client must work with this server.
TEST_F(UdpChatTest, SpeaksTheDocumentedDatagramFormat) {
  UdpPeer a, b;
  a.send_to(port, "JOIN ann");
  EXPECT_EQ(a.receive(), "OK ann");
  b.send_to(port, "JOIN ben");
  EXPECT_EQ(b.receive(), "OK ben");
  EXPECT_EQ(a.receive(), "JOINED ben");
  b.send_to(port, "MSG hello, ann");
  EXPECT_EQ(a.receive(), "FROM ben hello, ann");
  b.send_to(port, "MSG fake\nFROM ann I owe ben 100");
  EXPECT_EQ(b.receive().value_or("").rfind("ERR bad message", 0), 0u) << "line breaks must be refused";
  a.send_to(port, "JOIN ben");
  EXPECT_EQ(a.receive(), "ERR already joined as ann");
  b.send_to(port, "LEAVE");
  EXPECT_EQ(a.receive(), "LEFT ben");
  EXPECT_FALSE(b.receive(200ms).has_value()) << "the leaver was sent something";
}

// The client shows what the server relays, whoever sent it: a bare-socket member talking to a real client.
TEST_F(UdpChatTest, ClientPrintsRelayedMessages) {
  auto alice = join("alice");
  UdpPeer raw;
  raw.send_to(port, "JOIN zed");
  EXPECT_EQ(raw.receive(), "OK zed");
  EXPECT_EQ(alice->next_line(), "* zed joined");
  raw.send_to(port, "MSG  two  spaces ");
  EXPECT_EQ(alice->next_line(), "zed:  two  spaces ");
  alice->write("hi zed\n");
  EXPECT_EQ(raw.receive(), "FROM alice hi zed");
  alice->signal(SIGINT);  // Ctrl-C still sends LEAVE
  EXPECT_EQ(raw.receive(), "LEFT alice");
  auto status = alice->wait_exit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit 0");
}

// No server: the connected UDP socket gets ECONNREFUSED and the client says so instead of waiting forever.
TEST(UdpChatClient, ReportsAMissingServer) {
  unsigned short port = free_udp_port();
  Child client("udp_chat_client", {"-p", std::to_string(port), "-n", "lonely"});
  auto status = client.wait_exit();
  ASSERT_TRUE(status.has_value()) << "the client waits forever for an absent server";
  EXPECT_EQ(status->describe(), "exit 1");
  EXPECT_EQ(client.stderr_text(), "udp_chat_client: recv 127.0.0.1:" + std::to_string(port) +
                                      " (is the chat server running?): Connection refused\n");
}
