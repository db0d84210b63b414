// Lab 1 (and lab 4) — TCP echo client.
//
//   echo_client [-a ADDR] -p PORT [--bind LPORT] [--reuseaddr]
//
// Connects to the echo server, then for each line typed on stdin sends it and prints the server's reply.
// "bye" (or a line starting with ESC) says goodbye and exits 0; end of stdin half-closes the connection
// (shutdown SHUT_WR), prints what the server still sends, and exits 0. If the server closes or resets the
// connection, the client says so on stderr and exits 1.
// Lab 4: --bind LPORT binds a fixed local port before connect(); --reuseaddr sets SO_REUSEADDR first.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <string>

#include "fd.h"
#include "line_reader.h"
#include "net.h"
#include "program.h"

using namespace socklab;

namespace {

const char* kUsage =
    "usage: echo_client [-a ADDR] -p PORT [--bind LPORT] [--reuseaddr]\n"
    "  -a ADDR        server address, IPv4 or localhost (default 127.0.0.1)\n"
    "  -p PORT        server port (1-65535)\n"
    "  --bind LPORT   bind this local port before connecting (lab 4)\n"
    "  --reuseaddr    set SO_REUSEADDR before that bind\n"
    "example: echo_client -a 127.0.0.1 -p 8888\n";

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::uint16_t local_port = 0;  // 0: let connect() pick an ephemeral port
  bool reuseaddr = false;
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
    } else if (arg == "--bind") {
      options.local_port = parse_port(value());
    } else if (arg == "--reuseaddr") {
      options.reuseaddr = true;
    } else {
      throw UsageError("unknown argument \"" + arg + "\"");
    }
  }
  if (!have_port) throw UsageError("missing -p PORT");
  if (options.reuseaddr && options.local_port == 0) throw UsageError("--reuseaddr needs --bind LPORT");
  return options;
}

// "bye" exactly (a line typed as "bye\r\n" counts too), or any line starting with ESC; "Bye" and " bye" are
// ordinary lines.
bool is_goodbye(const std::string& line) {
  return line == "bye" || line == "bye\r" || (!line.empty() && line[0] == '\x1b');
}

void run(const Options& options) {
  install_signal_handlers();  // also ignores SIGPIPE: a send to a reset connection fails with EPIPE instead
  sockaddr_in server = make_ipv4_address(options.host, options.port);
  std::string server_name = to_string(server);

  FileDescriptor sock(socket(AF_INET, SOCK_STREAM, 0));
  if (!sock.is_open()) throw sys_error("socket");

  if (options.local_port != 0) {
    if (options.reuseaddr) {
      int on = 1;
      if (setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) {
        throw sys_error("setsockopt SO_REUSEADDR");
      }
    }
    // A fixed local port: fails with EADDRINUSE while an old connection from it is still in TIME-WAIT.
    sockaddr_in local = any_ipv4_address(options.local_port);
    if (bind(sock.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
      throw sys_error("bind " + to_string(local));
    }
  }
  if (connect(sock.get(), reinterpret_cast<sockaddr*>(&server), sizeof server) < 0) {
    throw sys_error("connect " + server_name);
  }
  std::cerr << "connected to " << server_name << " from " << to_string(local_address(sock.get())) << "\n";

  LineReader keyboard(STDIN_FILENO, "read stdin");
  LineReader replies(sock.get(), "recv " + server_name);
  std::string line, reply;
  while (keyboard.read_line(line)) {
    bool goodbye = is_goodbye(line);
    write_all(sock.get(), (goodbye ? "bye" : line) + "\n", "send " + server_name);
    if (!replies.read_line(reply)) throw std::runtime_error("server closed the connection");
    emit(reply);
    if (goodbye) return;  // we close first: TIME-WAIT stays on our side, the server is free at once
  }

  // End of stdin: tell the server we will send nothing more, then print whatever it still sends.
  if (shutdown(sock.get(), SHUT_WR) < 0) throw sys_error("shutdown " + server_name);
  while (replies.read_line(reply)) emit(reply);
}

}  // namespace

int main(int argc, char* argv[]) {
  return run_program("echo_client", kUsage, [&] { run(parse_args(argc, argv)); });
}
