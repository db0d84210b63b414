// Lab 2 — concurrent TCP echo server: one child process per client (fork).
//
//   fork_server PORT [--no-parent-close] [--idle-timeout S]
//
// Same protocol as echo_server, but clients are served at the same time. After fork() the two processes
// share every open descriptor, so each closes the one it does not need: the child the listener, the parent
// the connection. Children are reaped by a SIGCHLD handler, so none lingers as a zombie.
// --no-parent-close keeps the parent's copy of each connection open on purpose (the lab's "what if?"):
// the parent's fd count grows and the server side of finished connections stays in CLOSE-WAIT.
// --idle-timeout S (lab 7): the child lets a client silent for S seconds go, and closes first.
// stdout: "listening ...", "connected IP:PORT", "child PID serving IP:PORT", "idle IP:PORT", "disconnected IP:PORT".
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "echo_session.h"
#include "fd.h"
#include "net.h"
#include "program.h"

using namespace socklab;

namespace {

const char* kUsage =
    "usage: fork_server PORT [--no-parent-close] [--idle-timeout S]\n"
    "  PORT               TCP port to listen on (1-65535)\n"
    "  --no-parent-close  keep the parent's copy of each connection open (to watch CLOSE-WAIT pile up)\n"
    "  --idle-timeout S   close a connection that sent nothing for S seconds (e.g. 30 or 0.5)\n"
    "example: fork_server 8888\n";

struct Options {
  std::uint16_t port = 0;
  bool parent_close = true;
  int idle_timeout_ms = -1;  // -1: wait for a client as long as it takes
};

Options parse_args(int argc, char* argv[]) {
  Options options;
  bool have_port = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") throw HelpRequested{};
    if (arg == "--no-parent-close") {
      options.parent_close = false;
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

// Reap every child that has exited. waitpid() is async-signal-safe; printf() is not, so nothing is printed
// here. One SIGCHLD may stand for several exits (signals do not queue), hence the loop. (Stevens, UNP 5.10)
extern "C" void reap_children(int) {
  int saved_errno = errno;  // the interrupted code may be about to look at errno
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  errno = saved_errno;
}

void run(const Options& options) {
  install_signal_handlers();
  struct sigaction sa {};
  sa.sa_handler = reap_children;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // restart read()/write() in the children; accept() is retried below anyway
  if (sigaction(SIGCHLD, &sa, nullptr) < 0) throw sys_error("sigaction SIGCHLD");

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
  if (listen(listener.get(), 5) < 0) throw sys_error("listen " + to_string(address));
  emit("listening " + to_string(address));

  for (;;) {
    wait_readable(listener.get());  // sleep until a client connects (or Ctrl-C / SIGTERM)
    sockaddr_in client{};
    socklen_t length = sizeof client;
    FileDescriptor conn(accept(listener.get(), reinterpret_cast<sockaddr*>(&client), &length));
    if (!conn.is_open()) {
      if (errno == ECONNABORTED || errno == EINTR) continue;  // the client gave up first; a SIGCHLD
      throw sys_error("accept");
    }
    std::string peer = to_string(client);
    emit("connected " + peer);

    pid_t pid = fork();
    if (pid < 0) {
      throw sys_error("fork");
    }
    if (pid == 0) {
      // child: serve this one client, then exit
      listener.close();  // the listener belongs to the parent; our copy would only keep the port busy
      serve_echo_client(conn.get(), peer, options.idle_timeout_ms);
      conn.close();
      emit("disconnected " + peer);
      _exit(0);  // not exit(): no stdio buffers or atexit handlers of the parent to run twice
    }
    emit("child " + std::to_string(pid) + " serving " + peer);
    if (options.parent_close) {
      conn.close();  // parent: the child owns this connection now
    } else {
      conn.release();  // the mistake, on purpose: this descriptor stays open until the server exits
    }
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  return run_program("fork_server", kUsage, [&] { run(parse_args(argc, argv)); });
}
