#include "model/tcp_states.h"

#include <algorithm>
#include <array>

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
