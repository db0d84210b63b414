// Lab 5 — the UDP chat datagram format (UTF-8 text, one command per datagram, no line end):
//
//   client -> server   JOIN nick | MSG text | LEAVE
//   server -> client   OK nick | ERR reason | JOINED nick | LEFT nick | FROM nick text
//
// Any student's client works with any student's server, and a grader can craft datagrams by hand.
#pragma once

#include <cstddef>
#include <string_view>

namespace socklab {

constexpr std::size_t kMaxNickname = 32;
// The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header).
constexpr std::size_t kMaxDatagram = 65507;

// 1-32 printable ASCII characters, no spaces.
bool valid_nickname(std::string_view nick);

// "MSG hello there" -> {"MSG", "hello there"}; "LEAVE" -> {"LEAVE", ""}.
struct Command {
  std::string_view verb;
  std::string_view argument;
};
Command split_command(std::string_view datagram);

}  // namespace socklab
