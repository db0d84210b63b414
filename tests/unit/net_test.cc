#include "net.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "chat_protocol.h"
#include "program.h"

using socklab::UsageError;

namespace {

std::string usage_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

}  // namespace

// Ports are 1-65535 written as plain decimal; everything else is refused with the offending text.
TEST(ParsePort, AcceptsTheValidRange) {
  EXPECT_EQ(socklab::parse_port("1"), 1);
  EXPECT_EQ(socklab::parse_port("8888"), 8888);
  EXPECT_EQ(socklab::parse_port("65535"), 65535);
}

TEST(ParsePort, RefusesEverythingElseWithAClearMessage) {
  EXPECT_EQ(usage_message([] { socklab::parse_port("70000"); }), "bad port \"70000\" (1-65535)");
  for (const char* bad : {"0", "65536", "-1", "+1", "", " 1", "1 ", "1x", "0x10", "99999999999999999999999"}) {
    EXPECT_THROW(socklab::parse_port(bad), UsageError) << "port \"" << bad << "\"";
  }
}

TEST(ParseCount, NamesTheOptionAndRange) {
  EXPECT_EQ(socklab::parse_count("backlog", "0", 10), 0);
  EXPECT_EQ(usage_message([] { socklab::parse_count("backlog", "-3", 10); }), "bad backlog \"-3\" (0-10)");
  EXPECT_EQ(usage_message([] { socklab::parse_count("max-clients", "0", 1000, 1); }), "bad max-clients \"0\" (1-1000)");
}

TEST(Ipv4Address, AcceptsDottedQuadAndLocalhost) {
  sockaddr_in a = socklab::make_ipv4_address("localhost", 80);
  EXPECT_EQ(socklab::to_string(a), "127.0.0.1:80");
  EXPECT_EQ(socklab::to_string(socklab::make_ipv4_address("10.1.2.3", 65535)), "10.1.2.3:65535");
  EXPECT_EQ(socklab::to_string(socklab::any_ipv4_address(8888)), "0.0.0.0:8888");
}

TEST(Ipv4Address, RefusesNamesAndMalformedAddresses) {
  EXPECT_EQ(usage_message([] { socklab::make_ipv4_address("256.1.1.1", 1); }),
            "bad address \"256.1.1.1\" (IPv4 dotted quad or localhost)");
  for (const char* bad : {"", "example.org", "1.2.3", "::1", "127.0.0.1 "}) {
    EXPECT_THROW(socklab::make_ipv4_address(bad, 1), UsageError) << "address \"" << bad << "\"";
  }
}

// write_all keeps writing through short writes: 8 MiB into a socket whose buffer holds far less.
TEST(WriteAll, WritesEverythingDespiteShortWrites) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  int small = 4096;
  setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string data(8 << 20, 'z');
  std::size_t received = 0;
  std::thread reader([&] {
    char buffer[65536];
    ssize_t n;
    while ((n = read(fds[1], buffer, sizeof buffer)) > 0) received += static_cast<std::size_t>(n);
  });
  socklab::write_all(fds[0], data, "send test");
  close(fds[0]);
  reader.join();
  close(fds[1]);
  EXPECT_EQ(received, data.size());
}

TEST(WriteAll, ReportsFailureWithItsSubject) {
  try {
    socklab::write_all(-1, "x", "send 127.0.0.1:1");
    FAIL() << "expected a std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(std::string(e.what()), "send 127.0.0.1:1: Bad file descriptor");
  }
}

// Nicknames: 1-32 printable ASCII characters, no spaces.
TEST(ChatProtocol, ValidatesNicknames) {
  EXPECT_TRUE(socklab::valid_nickname("alice"));
  EXPECT_TRUE(socklab::valid_nickname(std::string(32, 'n')));
  EXPECT_TRUE(socklab::valid_nickname("a_b-c!~"));
  for (std::string bad : {std::string(), std::string(33, 'n'), std::string("a b"), std::string("tab\t"),
                          std::string("z\xC3\xB6"), std::string("nl\n"), std::string("\x7f")}) {
    EXPECT_FALSE(socklab::valid_nickname(bad)) << "nickname \"" << bad << "\"";
  }
}

TEST(ChatProtocol, SplitsVerbAndArgumentAtTheFirstSpace) {
  auto [verb, argument] = socklab::split_command("MSG hello  there ");
  EXPECT_EQ(verb, "MSG");
  EXPECT_EQ(argument, "hello  there ");
  auto leave = socklab::split_command("LEAVE");
  EXPECT_EQ(leave.verb, "LEAVE");
  EXPECT_EQ(leave.argument, "");
  EXPECT_EQ(socklab::split_command("").verb, "");
}
