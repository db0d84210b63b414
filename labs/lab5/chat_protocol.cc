#include "chat_protocol.h"

namespace socklab {

bool valid_nickname(std::string_view nick) {
  if (nick.empty() || nick.size() > kMaxNickname) return false;
  for (char c : nick) {
    if (c < 0x21 || c > 0x7e) return false;  // space, control characters and non-ASCII bytes
  }
  return true;
}

Command split_command(std::string_view datagram) {
  std::size_t space = datagram.find(' ');
  if (space == std::string_view::npos) return {datagram, {}};
  return {datagram.substr(0, space), datagram.substr(space + 1)};
}

}  // namespace socklab
