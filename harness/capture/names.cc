#include "capture/names.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>

namespace socklab::harness {


std::string address_text(int family, const void* raw) {
  if (family == AF_INET) {  // by hand: inet_ntop's sprintf was a tenth of a snapshot of 1000 sockets
    const auto* byte = static_cast<const unsigned char*>(raw);
    if ((byte[0] | byte[1] | byte[2] | byte[3]) == 0) return "*";
    char text[16];
    char* end = text;
    for (int i = 0; i < 4; ++i) {
      if (i > 0) *end++ = '.';
      end = std::to_chars(end, text + sizeof text, byte[i]).ptr;
    }
    return std::string(text, end);
  }
  char text[INET6_ADDRSTRLEN] = "?";
  inet_ntop(family, raw, text, sizeof text);
  std::string s = text;
  return s == "::" ? "*" : s;
}

std::string endpoint_text(int family, const std::string& address, std::uint16_t port) {
  std::string p = port == 0 ? "*" : std::to_string(port);
  std::string a = address.empty() || address == "0.0.0.0" || address == "::" ? "*" : address;
  if (family == AF_INET6 && a != "*") return "[" + a + "]:" + p;
  return a + ":" + p;
}

}  // namespace socklab::harness
