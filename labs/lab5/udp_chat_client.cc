// Lab 5 — UDP chat room client.
//
//   udp_chat_client [-a ADDR] -p PORT -n NICK
//
// Joins the chat as NICK, then does two things at once: sends every line typed on stdin, and prints every
// datagram the server relays. Waiting on both with poll() is what lets a line from another member appear
// while we are waiting for the keyboard (a plain blocking read of stdin would hold it back).
// The socket is connect()ed to the server: the kernel then delivers only the server's datagrams, and an
// absent server shows up as ECONNREFUSED instead of an endless wait.
// stdout: "* NICK joined", "* NICK left", "NICK: text". "exit" (any case) or end of stdin leaves.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <strings.h>

#include "chat_protocol.h"
#include "fd.h"
#include "line_reader.h"
#include "net.h"
#include "program.h"

using namespace socklab;

namespace {

const char* kUsage =
    "usage: udp_chat_client [-a ADDR] -p PORT -n NICK\n"
    "  -a ADDR  server address, IPv4 or localhost (default 127.0.0.1)\n"
    "  -p PORT  server UDP port (1-65535)\n"
    "  -n NICK  nickname: 1-32 printable characters, no spaces\n"
    "example: udp_chat_client -p 9999 -n alice\n";

constexpr int kJoinAttempts = 3;
constexpr int kJoinWaitMs = 1000;

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string nick;
};

Options parse_args(int argc, char* argv[]) {
  Options options;
  bool have_port = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 == argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      throw HelpRequested{};
    } else if (arg == "-a") {
      options.host = value();
    } else if (arg == "-p") {
      options.port = parse_port(value());
      have_port = true;
    } else if (arg == "-n") {
      options.nick = value();
      if (!valid_nickname(options.nick)) {
        throw UsageError("bad nickname \"" + options.nick + "\" (1-32 printable characters, no spaces)");
      }
    } else {
      throw UsageError("unknown argument \"" + arg + "\"");
    }
  }
  if (!have_port) throw UsageError("missing -p PORT");
  if (options.nick.empty()) throw UsageError("missing -n NICK");
  return options;
}

class ChatClient {
 public:
  ChatClient(FileDescriptor sock, std::string server) : sock_(std::move(sock)), server_(std::move(server)) {}

  void send(const std::string& datagram) {
    // One send() = one datagram. On a connected UDP socket, send() may report ECONNREFUSED left behind
    // by an earlier datagram that the server's host refused (ICMP port unreachable).
    if (::send(sock_.get(), datagram.data(), datagram.size(), 0) < 0) {
      throw sys_error("send " + server_ + (errno == ECONNREFUSED ? " (is the chat server running?)" : ""));
    }
  }

  // Receives one datagram; false if none arrived within timeout_ms (-1: wait as long as it takes).
  bool receive(std::string& datagram, int timeout_ms) {
    if (!wait_readable(sock_.get(), timeout_ms)) return false;
    char buffer[kMaxDatagram + 1];
    ssize_t n = recv(sock_.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
      throw sys_error("recv " + server_ + (errno == ECONNREFUSED ? " (is the chat server running?)" : ""));
    }
    datagram.assign(buffer, static_cast<std::size_t>(n));
    return true;
  }

  // JOIN, then wait for OK or ERR. UDP may lose a datagram, so JOIN is sent again if no answer comes.
  void join(const std::string& nick) {
    std::string reply;
    for (int attempt = 0; attempt < kJoinAttempts; ++attempt) {
      send("JOIN " + nick);
      while (receive(reply, kJoinWaitMs)) {
        auto [verb, argument] = split_command(reply);
        if (verb == "OK") return;
        if (verb == "ERR") throw std::runtime_error("server refused to join: " + std::string(argument));
        // anything else (a relay meant for us before OK arrived) is ignored
      }
    }
    throw std::runtime_error("no answer from the chat server at " + server_);
  }

  void show(const std::string& datagram) {
    auto [verb, argument] = split_command(datagram);
    if (verb == "JOINED") {
      emit("* " + std::string(argument) + " joined");
    } else if (verb == "LEFT") {
      emit("* " + std::string(argument) + " left");
    } else if (verb == "FROM") {
      auto [nick, text] = split_command(argument);
      emit(std::string(nick) + ": " + std::string(text));
    } else if (verb == "ERR") {
      std::cerr << program_name() << ": server says: " << argument << "\n";
    } else {
      std::cerr << program_name() << ": ignoring unexpected datagram from the server\n";
    }
  }

  // Best effort: LEAVE frees the nickname; if the server is already gone there is nobody to tell.
  void leave() noexcept { ::send(sock_.get(), "LEAVE", 5, 0); }

  int fd() const { return sock_.get(); }

 private:
  FileDescriptor sock_;
  std::string server_;
};

bool is_exit(const std::string& line) { return strcasecmp(line.c_str(), "exit") == 0; }

void chat(ChatClient& client) {
  LineReader keyboard(STDIN_FILENO, "read stdin");  // a line too long for a datagram is refused below
  std::string line, datagram;
  for (;;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {client.fd(), POLLIN, 0}};
    wait_for(fds, 2);  // poll(2) on both at once; Ctrl-C / SIGTERM ends the wait
    if (fds[1].revents != 0) {  // a datagram (or an error such as ECONNREFUSED) from the server
      while (client.receive(datagram, 0)) client.show(datagram);
    }
    if (fds[0].revents != 0) {
      keyboard.read_some();
      while (keyboard.take_line(line)) {
        if (is_exit(line)) return;
        if (line.size() + 4 > kMaxDatagram) {
          std::cerr << program_name() << ": line too long for one datagram (" << kMaxDatagram - 4
                    << " bytes at most), not sent\n";
          continue;
        }
        client.send("MSG " + line);
      }
      if (keyboard.at_eof()) return;
    }
  }
}

void run(const Options& options) {
  install_signal_handlers();
  sockaddr_in server = make_ipv4_address(options.host, options.port);

  FileDescriptor sock(socket(AF_INET, SOCK_DGRAM, 0));
  if (!sock.is_open()) throw sys_error("socket");
  // connect() on UDP sends nothing: it fixes the peer, so send() needs no address and errors come back.
  if (connect(sock.get(), reinterpret_cast<sockaddr*>(&server), sizeof server) < 0) {
    throw sys_error("connect " + to_string(server));
  }
  ChatClient client(std::move(sock), to_string(server));
  client.join(options.nick);
  std::cerr << "joined the chat at " << to_string(server) << " as " << options.nick
            << "; type lines to send, \"exit\" to leave\n";
  try {
    chat(client);
  } catch (const StopRequested&) {
    client.leave();  // Ctrl-C: still say goodbye, so the nickname is free again
    throw;
  }
  client.leave();
}

}  // namespace

int main(int argc, char* argv[]) {
  return run_program("udp_chat_client", kUsage, [&] { run(parse_args(argc, argv)); });
}
