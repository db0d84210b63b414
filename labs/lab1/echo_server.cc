// Lab 1 — iterative TCP echo server.
//
//   echo_server PORT [--backlog N] [--idle-timeout S]
//
// Listens on 0.0.0.0:PORT and serves one client at a time: every line comes back reversed. While one client
// is served, the next ones wait in the listen queue (lab 3 measures how many fit).
// --idle-timeout S (lab 7): a client silent for S seconds is let go; the server closes first.
// stdout: "listening 0.0.0.0:PORT", "connected IP:PORT", "idle IP:PORT", "disconnected IP:PORT".
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "echo_session.h"
#include "fd.h"
#include "net.h"
#include "program.h"

using namespace socklab;

namespace {

const char* kUsage =
    "usage: echo_server PORT [--backlog N] [--idle-timeout S]\n"
    "  PORT              TCP port to listen on (1-65535)\n"
    "  --backlog N       listen(2) backlog, default 5\n"
    "  --idle-timeout S  close a connection that sent nothing for S seconds (e.g. 30 or 0.5)\n"
    "example: echo_server 8888 --backlog 1\n";

struct Options {
  std::uint16_t port = 0;
  int backlog = 5;
  int idle_timeout_ms = -1;  // -1: wait for a client as long as it takes
};

Options parse_args(int argc, char* argv[]) {
  Options options;
  bool have_port = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") throw HelpRequested{};
    if (arg == "--backlog") {
      if (i + 1 == argc) throw UsageError("--backlog needs a value");
      options.backlog = parse_count("backlog", argv[++i], 65535);
    } else if (arg == "--idle-timeout") {
      if (i + 1 == argc) throw UsageError("--idle-timeout needs a value");
      options.idle_timeout_ms = parse_seconds_ms("idle-timeout", argv[++i]);
    } else if (!arg.empty() && arg[0] == '-') {
      throw UsageError("unknown option \"" + arg + "\"");
    } else if (have_port) {
      throw UsageError("unexpected argument \"" + arg + "\"");
    } else {
      options.port = parse_port(arg);
      have_port = true;
    }
  }
  if (!have_port) throw UsageError("missing PORT");
  return options;
}

void run(const Options& options) {
  install_signal_handlers();

  FileDescriptor listener(socket(AF_INET, SOCK_STREAM, 0));
  if (!listener.is_open()) throw sys_error("socket");

  // Without SO_REUSEADDR a restarted server cannot bind while old connections on PORT are in TIME-WAIT.
  int on = 1;
  if (setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) {
    throw sys_error("setsockopt SO_REUSEADDR");
  }
  sockaddr_in address = any_ipv4_address(options.port);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    throw sys_error("bind " + to_string(address));
  }
  // The backlog bounds the queue of connections the kernel has completed but we have not accepted yet.
  if (listen(listener.get(), options.backlog) < 0) throw sys_error("listen " + to_string(address));
  emit("listening " + to_string(address));

  for (;;) {
    wait_readable(listener.get());  // sleep until a client connects (or Ctrl-C / SIGTERM)
    sockaddr_in client{};
    socklen_t length = sizeof client;
    FileDescriptor conn(accept(listener.get(), reinterpret_cast<sockaddr*>(&client), &length));
    if (!conn.is_open()) {
      if (errno == ECONNABORTED || errno == EINTR) continue;  // see accept(2): the client gave up first
      throw sys_error("accept");
    }
    std::string peer = to_string(client);
    emit("connected " + peer);
    // One client at a time: the others wait until this returns.
    serve_echo_client(conn.get(), peer, options.idle_timeout_ms);
    conn.close();
    emit("disconnected " + peer);
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  return run_program("echo_server", kUsage, [&] { run(parse_args(argc, argv)); });
}
