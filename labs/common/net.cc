#include "net.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

#include "program.h"

namespace socklab {

std::uint16_t parse_port(std::string_view text) {
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 65535) {
    throw UsageError("bad port \"" + std::string(text) + "\" (1-65535)");
  }
  return static_cast<std::uint16_t>(value);
}

int parse_count(std::string_view option, std::string_view text, int max, int min) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    throw UsageError("bad " + std::string(option) + " \"" + std::string(text) + "\" (" + std::to_string(min) + "-" +
                     std::to_string(max) + ")");
  }
  return value;
}

int parse_seconds_ms(std::string_view option, std::string_view text, double max) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds, std::chars_format::fixed);
  double ms = seconds * 1000;
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !(ms >= 1) || seconds > max) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%g", max);
    throw UsageError("bad " + std::string(option) + " \"" + std::string(text) + "\" (seconds, 0.001-" + limit + ")");
  }
  return static_cast<int>(ms + 0.5);
}

sockaddr_in make_ipv4_address(std::string_view host, std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);  // network byte order on the wire
  std::string name(host == "localhost" ? "127.0.0.1" : host);
  if (inet_pton(AF_INET, name.c_str(), &address.sin_addr) != 1) {
    throw UsageError("bad address \"" + std::string(host) + "\" (IPv4 dotted quad or localhost)");
  }
  return address;
}

sockaddr_in any_ipv4_address(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  return address;
}

std::string to_string(const sockaddr_in& address) {
  char ip[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &address.sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(address.sin_port));
}

sockaddr_in local_address(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) throw sys_error("getsockname");
  return address;
}

sockaddr_in peer_address(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) throw sys_error("getpeername");
  return address;
}

void write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;  // interrupted before anything was written: just try again
      throw sys_error(what);
    }
    data.remove_prefix(static_cast<std::size_t>(n));  // a short write: send the rest
  }
}

}  // namespace socklab
