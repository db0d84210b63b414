// Addresses, ports and reliable writes: the noise around the socket calls, not the socket calls themselves.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace socklab {

// "8888" -> 8888. Anything else (empty, signs, letters, 0, > 65535) throws
// UsageError: bad port "70000" (1-65535).
std::uint16_t parse_port(std::string_view text);

// A whole number min..max for an option such as --backlog; throws UsageError naming the option:
// bad backlog "-1" (0-65535).
int parse_count(std::string_view option, std::string_view text, int max, int min = 0);

// A duration in seconds for an option such as --idle-timeout: "30", "0.5" (decimal, > 0, at most max), in
// milliseconds. Throws UsageError naming the option: bad idle-timeout "abc" (seconds, 0.001-86400).
int parse_seconds_ms(std::string_view option, std::string_view text, double max = 86400);

// "127.0.0.1" or "localhost" -> an IPv4 socket address with that port. Throws UsageError: bad address "x".
sockaddr_in make_ipv4_address(std::string_view host, std::uint16_t port);
// INADDR_ANY (0.0.0.0) with that port: what a server binds to.
sockaddr_in any_ipv4_address(std::uint16_t port);

// "127.0.0.1:8888"
std::string to_string(const sockaddr_in& address);
// The local / remote address of a connected socket (getsockname(2) / getpeername(2)).
sockaddr_in local_address(int fd);
sockaddr_in peer_address(int fd);

// Writes all of data, however many short writes and EINTRs it takes (write(2) may write less than asked).
// Throws std::system_error on failure; `what` names the call and its subject in the message,
// e.g. "send 127.0.0.1:5000: Broken pipe".
void write_all(int fd, std::string_view data, const std::string& what = "write");

}  // namespace socklab
