// Lab 5 — UDP chat room server.
//
//   udp_chat_server PORT
//
// One UDP socket, no connections: every datagram arrives with its sender's address (recvfrom), and that
// address is the only thing that says who a member is. A member joins with a nickname that nobody else
// holds; each MSG is relayed to every *other* member; anything malformed is answered with ERR and the
// server carries on. See chat_protocol.h for the datagram format.
// stdout: "listening 0.0.0.0:PORT", "joined NICK IP:PORT", "left NICK IP:PORT", "message NICK TEXT",
//         "refused IP:PORT REASON".
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "chat_protocol.h"
#include "fd.h"
#include "net.h"
#include "program.h"

using namespace socklab;

namespace {

const char* kUsage =
    "usage: udp_chat_server PORT\n"
    "  PORT  UDP port to receive on (1-65535)\n"
    "example: udp_chat_server 9999\n";

struct Member {
  std::string nick;
  sockaddr_in address;
};

bool same_address(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

class ChatRoom {
 public:
  explicit ChatRoom(int sock) : sock_(sock) {}

  void handle(std::string_view datagram, const sockaddr_in& from) {
    auto [verb, argument] = split_command(datagram);
    auto member = std::find_if(members_.begin(), members_.end(),
                               [&](const Member& m) { return same_address(m.address, from); });
    if (verb == "JOIN") {
      join(argument, from, member);  // a bare "JOIN" has an empty nickname: refused as a bad one
    } else if (verb != "MSG" && datagram != "LEAVE") {
      refuse(from, "unknown command");  // garbage, an empty datagram, "join", "LEAVE now": never fatal
    } else if (member == members_.end()) {
      refuse(from, "not joined");  // only the address that joined may speak under a nickname
    } else if (verb == "LEAVE") {
      std::string nick = member->nick;
      members_.erase(member);
      emit("left " + nick + " " + to_string(from));
      broadcast("LEFT " + nick, from);
    } else if (argument.find_first_of("\r\n") != std::string_view::npos) {
      refuse(from, "bad message: line breaks are not allowed");  // they could fake lines on others' screens
    } else if (5 + member->nick.size() + 1 + argument.size() > kMaxDatagram) {
      refuse(from, "message too long");  // "FROM nick text" would not fit in one datagram
    } else {
      emit("message " + member->nick + " " + std::string(argument));
      broadcast("FROM " + member->nick + " " + std::string(argument), from);
    }
  }

 private:
  void join(std::string_view nick, const sockaddr_in& from, std::vector<Member>::iterator member) {
    if (!valid_nickname(nick)) return refuse(from, "bad nickname (1-32 printable characters, no spaces)");
    if (member != members_.end()) {
      // A repeated JOIN (the client resent it after a lost reply) is answered again; a new name is not.
      if (member->nick == nick) return send_to(from, "OK " + member->nick);
      return refuse(from, "already joined as " + member->nick);
    }
    bool taken = std::any_of(members_.begin(), members_.end(), [&](const Member& m) { return m.nick == nick; });
    if (taken) return refuse(from, "nickname taken");
    members_.push_back({std::string(nick), from});
    emit("joined " + std::string(nick) + " " + to_string(from));
    send_to(from, "OK " + std::string(nick));
    broadcast("JOINED " + std::string(nick), from);
  }

  void refuse(const sockaddr_in& to, const std::string& reason) {
    emit("refused " + to_string(to) + " " + reason);
    send_to(to, "ERR " + reason);
  }

  // To every member except the sender: the sender already has its own words.
  void broadcast(const std::string& datagram, const sockaddr_in& sender) {
    for (const Member& m : members_) {
      if (!same_address(m.address, sender)) send_to(m.address, datagram);
    }
  }

  void send_to(const sockaddr_in& to, const std::string& datagram) {
    if (sendto(sock_, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
      // One unreachable member must not stop the room: report and go on.
      std::cerr << program_name() << ": sendto " << to_string(to) << ": " << std::strerror(errno) << "\n";
    }
  }

  int sock_;
  std::vector<Member> members_;
};

void run(std::uint16_t port) {
  install_signal_handlers();

  FileDescriptor sock(socket(AF_INET, SOCK_DGRAM, 0));
  if (!sock.is_open()) throw sys_error("socket");
  sockaddr_in address = any_ipv4_address(port);
  if (bind(sock.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    throw sys_error("bind " + to_string(address));
  }
  emit("listening " + to_string(address));

  ChatRoom room(sock.get());
  std::vector<char> buffer(kMaxDatagram + 1);  // one byte more than fits: tells an oversized datagram apart
  for (;;) {
    wait_readable(sock.get());  // sleep until a datagram arrives (or Ctrl-C / SIGTERM)
    sockaddr_in from{};
    socklen_t length = sizeof from;
    // One recvfrom() = one whole datagram (UDP keeps message boundaries), plus who sent it.
    ssize_t n = recvfrom(sock.get(), buffer.data(), buffer.size(), MSG_TRUNC, reinterpret_cast<sockaddr*>(&from),
                         &length);
    if (n < 0) throw sys_error("recvfrom");
    if (static_cast<std::size_t>(n) > kMaxDatagram) {  // MSG_TRUNC: n is the datagram's real length
      emit("refused " + to_string(from) + " datagram too long");
      continue;
    }
    room.handle(std::string_view(buffer.data(), static_cast<std::size_t>(n)), from);
  }
}

std::uint16_t parse_args(int argc, char* argv[]) {
  if (argc == 2 && (std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help")) throw HelpRequested{};
  if (argc != 2) throw UsageError(argc < 2 ? "missing PORT" : "too many arguments");
  return parse_port(argv[1]);
}

}  // namespace

int main(int argc, char* argv[]) {
  return run_program("udp_chat_server", kUsage, [&] { run(parse_args(argc, argv)); });
}
