// Lab 7 — concurrent TCP echo server: one thread per client.
//
//   thread_server PORT [--idle-timeout S]
//
// Same protocol as echo_server and fork_server, but each client is served by a thread of one process. Threads
// share everything — the descriptor table, the heap — so nothing has to be closed "on the other side" as
// after fork(); instead each thread must own its own connection and its own buffers (a buffer shared between
// threads mixes the replies of different clients). Threads are detached: a finished thread's resources go
// back at once, with nobody to join it. SIGINT/SIGTERM go to the main thread only (the workers block them),
// which stops. stdout: "listening 0.0.0.0:PORT", "connected IP:PORT", "idle IP:PORT", "disconnected IP:PORT".
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <system_error>
#include <thread>

#include "echo_session.h"
#include "fd.h"
#include "net.h"
#include "program.h"

using namespace socklab;

namespace {

const char* kUsage =
    "usage: thread_server PORT [--idle-timeout S]\n"
    "  PORT              TCP port to listen on (1-65535)\n"
    "  --idle-timeout S  close a connection that sent nothing for S seconds (e.g. 30 or 0.5)\n"
    "example: thread_server 8888 --idle-timeout 30\n";

struct Options {
  std::uint16_t port = 0;
  int idle_timeout_ms = -1;  // -1: wait for a client as long as it takes
};

Options parse_args(int argc, char* argv[]) {
  Options options;
  bool have_port = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") throw HelpRequested{};
    if (arg == "--idle-timeout") {
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

// The body of one client's thread. It owns conn (moved in), so the connection is closed when it returns.
void serve_in_thread(FileDescriptor conn, std::string peer, int idle_timeout_ms) {
  leave_stop_signals_to_main_thread();
  serve_echo_client(conn.get(), peer, idle_timeout_ms);  // its LineReader is this thread's own buffer
  conn.close();
  emit("disconnected " + peer);
}

void run(const Options& options) {
  install_signal_handlers();

  FileDescriptor listener(socket(AF_INET, SOCK_STREAM, 0));
  if (!listener.is_open()) throw sys_error("socket");
  int on = 1;
  if (setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) {
    throw sys_error("setsockopt SO_REUSEADDR");
  }
  sockaddr_in address = any_ipv4_address(options.port);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    throw sys_error("bind " + to_string(address));
  }
  // 128 rather than echo_server's 5: a crowd of clients connecting at once should not wait for SYN retries.
  if (listen(listener.get(), 128) < 0) throw sys_error("listen " + to_string(address));
  emit("listening " + to_string(address));

  for (;;) {
    wait_readable(listener.get());  // sleep until a client connects (or Ctrl-C / SIGTERM)
    sockaddr_in client{};
    socklen_t length = sizeof client;
    FileDescriptor conn(accept(listener.get(), reinterpret_cast<sockaddr*>(&client), &length));
    if (!conn.is_open()) {
      if (errno == ECONNABORTED || errno == EINTR) continue;  // see accept(2): the client gave up first
      if (errno == EMFILE || errno == ENFILE) {  // out of descriptors: this client waits, the others go on
        std::cerr << program_name() << ": " << sys_error("accept").what() << "\n";
        wait_readable(listener.get(), 100);
        continue;
      }
      throw sys_error("accept");
    }
    std::string peer = to_string(client);
    emit("connected " + peer);
    try {
      // detach(): nobody waits for this thread; it cleans up after itself when the client leaves.
      std::thread(serve_in_thread, std::move(conn), peer, options.idle_timeout_ms).detach();
    } catch (const std::system_error& e) {  // no thread to be had (EAGAIN): refuse this client, keep serving
      std::cerr << program_name() << ": thread for " << peer << ": " << e.what() << "\n";
      emit("disconnected " + peer);
    }
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  return run_program("thread_server", kUsage, [&] { run(parse_args(argc, argv)); });
}
