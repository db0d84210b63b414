#include "capture/names.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <algorithm>
#include <charconv>

namespace socklab::harness {

namespace {

struct StateName {
  const char* kernel;  // as the tracepoint prints it
  const char* ss;      // as ss prints it
};

// Indexed by the kernel's number: TCP_ESTABLISHED is 1 … TCP_NEW_SYN_RECV is 12 (include/net/tcp_states.h).
constexpr std::array<StateName, 13> kStates{{{"", "?"},
                                             {"TCP_ESTABLISHED", "ESTAB"},
                                             {"TCP_SYN_SENT", "SYN-SENT"},
                                             {"TCP_SYN_RECV", "SYN-RECV"},
                                             {"TCP_FIN_WAIT1", "FIN-WAIT-1"},
                                             {"TCP_FIN_WAIT2", "FIN-WAIT-2"},
                                             {"TCP_TIME_WAIT", "TIME-WAIT"},
                                             {"TCP_CLOSE", "CLOSED"},
                                             {"TCP_CLOSE_WAIT", "CLOSE-WAIT"},
                                             {"TCP_LAST_ACK", "LAST-ACK"},
                                             {"TCP_LISTEN", "LISTEN"},
                                             {"TCP_CLOSING", "CLOSING"},
                                             {"TCP_NEW_SYN_RECV", "SYN-RECV"}}};

}  // namespace

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

std::string tcp_state_name(int kernel_state) {
  if (kernel_state > 0 && kernel_state < static_cast<int>(kStates.size())) return kStates[kernel_state].ss;
  return "UNKNOWN-" + std::to_string(kernel_state);
}

std::optional<int> tcp_state_from_kernel_name(const std::string& name) {
  for (int i = 1; i < static_cast<int>(kStates.size()); ++i) {
    if (name == kStates[i].kernel) return i;
  }
  return std::nullopt;
}

const std::vector<std::string>& socket_state_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (int i = 1; i < static_cast<int>(kStates.size()); ++i) {
      std::string name = kStates[i].ss;
      if (name != "CLOSED" && std::find(all.begin(), all.end(), name) == all.end()) all.push_back(name);
    }
    all.push_back("UNCONN");
    return all;
  }();
  return names;
}

}  // namespace socklab::harness
