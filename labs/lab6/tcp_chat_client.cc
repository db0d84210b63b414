// Lab 6 — TCP chat client.
//
//   tcp_chat_client [-a ADDR] -p PORT [--half-duplex]
//
// Full duplex: poll() waits on the keyboard and the socket at once, so a line from the server is printed the
// moment it arrives, whether or not the user is typing, and a typed line is sent the moment Enter is
// pressed. Every line from the server is printed on stdout exactly as it came; the server decides what a
// line says ("IP:PORT: text" in a hub, the operator's words in p2p). "q" or end of input sends "q" and
// closes; exit 0.
// --half-duplex (for the observation experiment): read a line from the keyboard, send it, wait for one line
// from the server, print it, again: the way a program without poll() or threads chats. While it sleeps on
// the keyboard, lines from the others wait unseen in its socket's receive queue (ss: Recv-Q).
// The server closing the connection: "tcp_chat_client: server closed the connection" on stderr, exit 1.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "fd.h"
#include "line_reader.h"
#include "net.h"
#include "program.h"

using namespace socklab;

namespace {

const char* kUsage =
    "usage: tcp_chat_client [-a ADDR] -p PORT [--half-duplex]\n"
    "  -a ADDR        server address, IPv4 or localhost (default 127.0.0.1)\n"
    "  -p PORT        server port (1-65535)\n"
    "  --half-duplex  type, send, wait for one reply, print it (no poll: to see what that costs)\n"
    "example: tcp_chat_client -p 9999\n";

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool half_duplex = false;
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
    } else if (arg == "--half-duplex") {
      options.half_duplex = true;
    } else {
      throw UsageError("unknown argument \"" + arg + "\"");
    }
  }
  if (!have_port) throw UsageError("missing -p PORT");
  return options;
}

// Until the user leaves (q or end of input): returns. The server closing or resetting the connection: throws.
void chat(int sock, LineReader& keyboard, LineReader& incoming, const std::string& server) {
  std::string line;
  for (;;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sock, POLLIN, 0}};
    wait_for(fds, 2);  // poll(2) on both at once; Ctrl-C / SIGTERM ends the wait
    if (fds[1].revents != 0) {
      incoming.read_some();  // one recv(): half a line, a line, or several
      while (incoming.take_line(line)) emit(line);
      if (incoming.at_eof()) throw std::runtime_error("server closed the connection");
    }
    if (fds[0].revents != 0) {
      keyboard.read_some();
      while (keyboard.take_line(line)) {
        if (line == "q") return;
        write_all(sock, line + "\n", "send " + server);
      }
      if (keyboard.at_eof()) return;
    }
  }
}

// The same conversation without poll(): each call blocks until its own descriptor has something.
void chat_half_duplex(int sock, LineReader& keyboard, LineReader& incoming, const std::string& server) {
  std::string line, reply;
  while (keyboard.read_line(line)) {  // asleep here, lines from the others pile up in the socket's Recv-Q
    if (line == "q") return;
    write_all(sock, line + "\n", "send " + server);
    if (!incoming.read_line(reply)) throw std::runtime_error("server closed the connection");
    emit(reply);  // one line, however many arrived meanwhile: the oldest one
  }
}

void run(const Options& options) {
  install_signal_handlers();  // also ignores SIGPIPE: a send to a reset connection fails with EPIPE instead
  sockaddr_in server = make_ipv4_address(options.host, options.port);
  std::string server_name = to_string(server);

  FileDescriptor sock(socket(AF_INET, SOCK_STREAM, 0));
  if (!sock.is_open()) throw sys_error("socket");
  if (connect(sock.get(), reinterpret_cast<sockaddr*>(&server), sizeof server) < 0) {
    throw sys_error("connect " + server_name);
  }
  std::cerr << "connected to " << server_name << " from " << to_string(local_address(sock.get()))
            << "; type lines, q to leave\n";

  LineReader keyboard(STDIN_FILENO, "read stdin");
  LineReader incoming(sock.get(), "recv " + server_name);
  if (options.half_duplex) {
    chat_half_duplex(sock.get(), keyboard, incoming, server_name);
  } else {
    chat(sock.get(), keyboard, incoming, server_name);
  }
  // Leaving: "q" is the chat's goodbye (closing without it is a leave too); the socket closes on the way out.
  // Best effort: if the server is gone there is nobody to tell.
  (void)!send(sock.get(), "q\n", 2, MSG_NOSIGNAL);
}

}  // namespace

int main(int argc, char* argv[]) {
  return run_program("tcp_chat_client", kUsage, [&] { run(parse_args(argc, argv)); });
}
