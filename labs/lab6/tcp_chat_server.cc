// Lab 6 — TCP chat server: one to one (p2p) or a room (hub).
//
//   tcp_chat_server PORT --mode p2p|hub [--max-clients N]
//
// One thread and one poll() over everything: the listener, every client, and in p2p the operator's keyboard.
// Every client socket is non-blocking and has an output queue of its own: a line for a client is appended to
// its queue, and the queue drains as fast as that client reads. A client that stops reading only makes its
// own queue grow, and past kMaxQueued bytes it is dropped. (With blocking sends, the server would sleep in
// send() to that one client, and the whole room with it.)
// p2p: the operator's lines go to the one client; its lines appear here as "IP:PORT: text"; a second client
//      is told "busy" and closed.
// hub: each client's line goes to every *other* client as "IP:PORT: text"; they also see "IP:PORT joined"
//      and "IP:PORT left"; beyond --max-clients a client is told "room full" and closed.
// A client leaves with the line "q", by closing (EOF) or by a reset.
// stdout: "listening 0.0.0.0:PORT", "connected IP:PORT", "refused IP:PORT busy|room full",
//         "dropped IP:PORT: not reading (over 1048576 bytes queued)", "disconnected IP:PORT",
//         and in p2p "IP:PORT: text".
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <list>
#include <stdexcept>
#include <string>
#include <vector>

#include "fd.h"
#include "line_reader.h"
#include "net.h"
#include "program.h"

using namespace socklab;

namespace {

const char* kUsage =
    "usage: tcp_chat_server PORT --mode p2p|hub [--max-clients N]\n"
    "  PORT             TCP port to listen on (1-65535)\n"
    "  --mode p2p       chat with one client: your lines go to it, its lines appear here; q quits\n"
    "  --mode hub       a room: every client's line goes to all the other clients\n"
    "  --max-clients N  hub: refuse clients beyond N with \"room full\" (1-1000, default 100)\n"
    "example: tcp_chat_server 9999 --mode hub --max-clients 10\n";

constexpr std::size_t kMaxLine = 64 * 1024;  // longer lines end that client's session
// Bytes for one client that its kernel send buffer has no room for yet: more, and the client is dropped.
constexpr std::size_t kMaxQueued = 1024 * 1024;

enum class Mode { kP2p, kHub };

struct Options {
  std::uint16_t port = 0;
  Mode mode = Mode::kHub;
  int max_clients = 100;
};

Options parse_args(int argc, char* argv[]) {
  Options options;
  bool have_port = false, have_mode = false, have_max = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 == argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      throw HelpRequested{};
    } else if (arg == "--mode") {
      std::string mode = value();
      if (mode != "p2p" && mode != "hub") throw UsageError("bad mode \"" + mode + "\" (p2p or hub)");
      options.mode = mode == "p2p" ? Mode::kP2p : Mode::kHub;
      have_mode = true;
    } else if (arg == "--max-clients") {
      options.max_clients = parse_count("max-clients", value(), 1000, 1);
      have_max = true;
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
  if (!have_mode) throw UsageError("missing --mode p2p|hub");
  if (have_max && options.mode == Mode::kP2p) throw UsageError("--max-clients is for --mode hub");
  return options;
}

void set_nonblocking(int fd, const std::string& subject) {
  // From now on recv(), send() and accept() never wait: they fail with EAGAIN instead (fcntl(2), O_NONBLOCK).
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw sys_error("fcntl O_NONBLOCK " + subject);
}

struct Client {
  Client(FileDescriptor s, std::string n)
      : sock(std::move(s)), name(std::move(n)), reader(sock.get(), "recv " + name, kMaxLine) {}
  FileDescriptor sock;
  std::string name;    // "127.0.0.1:40312": how the others know this member
  LineReader reader;   // TCP is a byte stream: lines are cut out of it here
  std::string outbox;  // bytes for this client that its kernel send buffer has not taken yet
  bool gone = false;   // left, reset or dropped: closed and announced by sweep()
};

class ChatServer {
 public:
  ChatServer(const Options& options, FileDescriptor listener)
      : options_(options), listener_(std::move(listener)), keyboard_(STDIN_FILENO, "read stdin") {}

  // Serves until SIGINT/SIGTERM, or in p2p until the operator types q or ends the input.
  void run() {
    bool p2p = options_.mode == Mode::kP2p;
    for (;;) {
      std::vector<pollfd> fds{{listener_.get(), POLLIN, 0}};
      if (p2p) fds.push_back({STDIN_FILENO, POLLIN, 0});
      for (const Client& c : clients_) {
        // POLLOUT only while something waits to go out: a socket with room in its buffer is always writable.
        fds.push_back({c.sock.get(), static_cast<short>(POLLIN | (c.outbox.empty() ? 0 : POLLOUT)), 0});
      }
      wait_for(fds.data(), fds.size());  // the only place the server sleeps (Ctrl-C / SIGTERM end the wait)

      std::size_t i = p2p ? 2 : 1;
      for (Client& c : clients_) {
        short events = fds[i++].revents;
        if (!c.gone && (events & POLLOUT)) flush(c);
        if (!c.gone && (events & (POLLIN | POLLHUP | POLLERR))) receive(c);
      }
      if (p2p && fds[1].revents != 0 && !operator_types()) return;
      sweep();
      if (fds[0].revents != 0) accept_client();
      sweep();
    }
  }

 private:
  void accept_client() {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    FileDescriptor conn(accept(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length));
    if (!conn.is_open()) {
      // see accept(2): the client gave up (ECONNABORTED) before we took it
      if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR) return;
      throw sys_error("accept");
    }
    std::string name = to_string(address);
    bool p2p = options_.mode == Mode::kP2p;
    if (clients_.size() >= (p2p ? 1u : static_cast<std::size_t>(options_.max_clients))) {
      std::string no = p2p ? "busy" : "room full";
      std::string line = no + "\n";
      (void)!send(conn.get(), line.data(), line.size(),
                  MSG_NOSIGNAL);  // a new socket's buffer has room for it
      emit("refused " + name + " " + no);
      return;  // conn closes here
    }
    set_nonblocking(conn.get(), name);
    emit("connected " + name);
    Client& c = clients_.emplace_back(std::move(conn), name);
    if (!p2p) broadcast(name + " joined", &c);
  }

  void receive(Client& c) {
    try {
      c.reader.read_some();  // one recv(): poll() said there is something (bytes, EOF or an error)
    } catch (const std::exception& e) {  // a reset (ECONNRESET)
      std::cerr << program_name() << ": " << e.what() << "\n";
      c.gone = true;
      return;
    }
    std::string line;
    try {
      while (!c.gone && c.reader.take_line(line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();  // telnet and nc -C end lines with \r\n
        if (line == "q") {
          c.gone = true;
        } else if (options_.mode == Mode::kP2p) {
          emit(c.name + ": " + line);
        } else {
          broadcast(c.name + ": " + line, &c);  // never back to the sender: it has its own words
        }
      }
    } catch (const std::length_error& e) {  // a line longer than kMaxLine: that client's end, not the server's
      std::cerr << program_name() << ": " << e.what() << "\n";
      c.gone = true;
      return;
    }
    if (c.reader.at_eof()) c.gone = true;  // the client closed its side: it will send nothing more
  }

  // p2p: the operator's lines go to the client. False when the operator leaves (q or end of input).
  bool operator_types() {
    keyboard_.read_some();
    std::string line;
    while (keyboard_.take_line(line)) {
      if (line == "q") return false;
      if (clients_.empty()) {
        std::cerr << program_name() << ": nobody is connected; line not sent\n";
      } else {
        deliver(clients_.front(), line);
      }
    }
    return !keyboard_.at_eof();
  }

  void broadcast(const std::string& line, const Client* except) {
    for (Client& c : clients_) {
      if (&c != except) deliver(c, line);
    }
  }

  // Queues the line and sends what the kernel takes now; the rest goes out when poll() says POLLOUT.
  void deliver(Client& c, const std::string& line) {
    if (c.gone) return;
    c.outbox += line;
    c.outbox += '\n';
    flush(c);
    if (c.outbox.size() >
        kMaxQueued) {  // it has not read for a long time: it must not cost us unbounded memory
      emit("dropped " + c.name + ": not reading (over " + std::to_string(kMaxQueued) + " bytes queued)");
      c.gone = true;
    }
  }

  void flush(Client& c) {
    while (!c.outbox.empty()) {
      ssize_t n = send(c.sock.get(), c.outbox.data(), c.outbox.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // its send buffer is full: keep the rest queued
        std::cerr << program_name() << ": send " << c.name << ": " << std::strerror(errno) << "\n";
        c.gone = true;
        return;
      }
      c.outbox.erase(0, static_cast<std::size_t>(n));  // a short write: the rest stays queued
    }
  }

  // Closes and announces the departed clients; telling the others may drop another: the loop sees it too.
  void sweep() {
    for (auto it = find_gone(); it != clients_.end(); it = find_gone()) {
      std::string name = it->name;
      clients_.erase(it);  // its FileDescriptor closes the socket
      emit("disconnected " + name);
      if (options_.mode == Mode::kHub) broadcast(name + " left", nullptr);
    }
  }

  std::list<Client>::iterator find_gone() {
    return std::find_if(clients_.begin(), clients_.end(), [](const Client& c) { return c.gone; });
  }

  Options options_;
  FileDescriptor listener_;
  LineReader keyboard_;
  std::list<Client> clients_;  // a list: a Client never moves, so references to it stay valid
};

void run(const Options& options) {
  install_signal_handlers();  // also ignores SIGPIPE (send() to a vanished client fails with EPIPE instead)

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
  if (listen(listener.get(), 16) < 0) throw sys_error("listen " + to_string(address));
  // Non-blocking: a client that vanishes between poll() and accept() must not leave us asleep in accept().
  set_nonblocking(listener.get(), to_string(address));
  emit("listening " + to_string(address));

  ChatServer(options, std::move(listener)).run();
}

}  // namespace

int main(int argc, char* argv[]) {
  return run_program("tcp_chat_server", kUsage, [&] { run(parse_args(argc, argv)); });
}
