// Lab 7 — TCP echo server as an event loop: one thread, epoll, non-blocking sockets.
//
//   epoll_server PORT [--idle-timeout S]
//
// Same protocol as echo_server, for many clients at once without a thread or a process each. The one thread
// sleeps in epoll_wait(2) until some socket is ready, and never blocks anywhere else: every socket is
// non-blocking, so each connection keeps its own state between events —
//   in:  the bytes received so far (a line may come in many recv()s, and one recv() may carry many lines);
//   out: the replies the kernel's send buffer could not take yet (a send() may be short; the rest waits for
//        EPOLLOUT, and reading from that client pauses while too much waits, so a client that never reads
//        cannot make the server's memory grow without bound).
// Timers (the idle timeout, the 10 s after bye) are deadlines the loop checks each time it wakes;
// epoll_wait's timeout is the nearest one. stdout: "listening 0.0.0.0:PORT", "connected IP:PORT", "idle
// IP:PORT", "disconnected IP:PORT".
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <map>
#include <string>

#include "echo_session.h"
#include "fd.h"
#include "line_reader.h"
#include "net.h"
#include "program.h"

using namespace socklab;
using Clock = std::chrono::steady_clock;

namespace {

const char* kUsage =
    "usage: epoll_server PORT [--idle-timeout S]\n"
    "  PORT              TCP port to listen on (1-65535)\n"
    "  --idle-timeout S  close a connection that sent nothing for S seconds (e.g. 30 or 0.5)\n"
    "example: epoll_server 8888 --idle-timeout 30\n";

constexpr std::size_t kMaxLine = LineReader::kDefaultMaxLine;  // 4 MiB before the '\n', as in echo_server
constexpr std::size_t kMaxQueued = 8 * 1024 * 1024;            // stop reading a client while this much waits
constexpr auto kByeTimeout = std::chrono::seconds(10);         // after bye, the client should close first

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

// Everything the loop remembers about one client between two events.
struct Connection {
  FileDescriptor fd;
  std::string peer;
  std::string in;            // received bytes not yet handled: at most the start of one line
  std::size_t searched = 0;  // no '\n' in `in` before this position
  std::string out;           // replies the kernel has not taken yet
  bool said_bye = false;     // "eyb" queued: now only waiting for the client's EOF
  bool eof = false;          // the client closed its side: close ours once `out` is sent
  Clock::time_point deadline = Clock::time_point::max();  // idle timeout or end of the bye wait
  std::uint32_t events = 0;                               // what epoll watches for now (EPOLLIN, EPOLLOUT)
};

class EpollServer {
 public:
  explicit EpollServer(const Options& options) : options_(options) {}
  void run();

 private:
  void accept_clients();
  void on_readable(Connection& c);
  void on_writable(Connection& c);
  void handle_lines(Connection& c);
  void flush(Connection& c);
  void watch(Connection& c, std::uint32_t events);
  void close_connection(int fd, const std::string& why = "");
  void expire_deadlines();
  int next_timeout_ms() const;
  void touch(Connection& c);
  void watch_listener(std::uint32_t events);

  Options options_;
  FileDescriptor epoll_;
  FileDescriptor listener_;
  std::map<int, Connection> connections_;                             // by descriptor
  Clock::time_point accept_paused_until_ = Clock::time_point::max();  // out of descriptors: accept again then
};

void EpollServer::watch_listener(std::uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.fd = listener_.get();
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener_.get(), &event) < 0) throw sys_error("epoll_ctl");
}

void EpollServer::run() {
  listener_ = FileDescriptor(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  if (!listener_.is_open()) throw sys_error("socket");
  int on = 1;
  if (setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) {
    throw sys_error("setsockopt SO_REUSEADDR");
  }
  sockaddr_in address = any_ipv4_address(options_.port);
  if (bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    throw sys_error("bind " + to_string(address));
  }
  if (listen(listener_.get(), 128) < 0) throw sys_error("listen " + to_string(address));

  epoll_ = FileDescriptor(epoll_create1(0));
  if (!epoll_.is_open()) throw sys_error("epoll_create1");
  epoll_event listen_event{};
  listen_event.events = EPOLLIN;
  listen_event.data.fd = listener_.get();
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &listen_event) < 0)
    throw sys_error("epoll_ctl");
  emit("listening " + to_string(address));

  epoll_event events[64];
  for (;;) {
    // The only place the server sleeps (and where Ctrl-C / SIGTERM get in, see program.h).
    int ready = wait_epoll(epoll_.get(), events, 64, next_timeout_ms());
    for (int i = 0; i < ready; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener_.get()) {
        accept_clients();
        continue;
      }
      auto it = connections_.find(fd);
      if (it == connections_.end()) continue;  // closed by an earlier event of this batch
      // Errors and hang-ups show up as readable too: recv() then says what happened.
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(it->second);
      it = connections_.find(fd);
      if (it != connections_.end() && (events[i].events & EPOLLOUT)) on_writable(it->second);
    }
    expire_deadlines();
  }
}

void EpollServer::accept_clients() {
  for (;;) {  // take every waiting connection: the listener is non-blocking, EAGAIN says the queue is empty
    sockaddr_in client{};
    socklen_t length = sizeof client;
    FileDescriptor conn(
        accept4(listener_.get(), reinterpret_cast<sockaddr*>(&client), &length, SOCK_NONBLOCK));
    if (!conn.is_open()) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == ECONNABORTED || errno == EINTR) continue;  // see accept(2): the client gave up first
      if (errno == EMFILE || errno == ENFILE) {  // out of descriptors: the rest wait in the queue
        std::cerr << program_name() << ": " << sys_error("accept").what() << "\n";
        // The listener stays readable, so epoll would wake us at once, again and again: stop watching it for
        // a moment (a client leaving frees a descriptor meanwhile).
        watch_listener(0);
        accept_paused_until_ = Clock::now() + std::chrono::milliseconds(100);
        return;
      }
      throw sys_error("accept");
    }
    int fd = conn.get();
    Connection& c = connections_[fd];
    c.fd = std::move(conn);
    c.peer = to_string(client);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) < 0) throw sys_error("epoll_ctl " + c.peer);
    c.events = EPOLLIN;
    touch(c);
    emit("connected " + c.peer);
  }
}

void EpollServer::on_readable(Connection& c) {
  char chunk[64 * 1024];
  ssize_t n = recv(c.fd.get(), chunk, sizeof chunk, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;  // nothing after all; wait again
    close_connection(c.fd.get(), sys_error("recv " + c.peer).what());       // e.g. Connection reset by peer
    return;
  }
  if (n == 0) {  // EOF: the client closed its side
    c.eof = true;
    if (!c.said_bye && !c.in.empty()) {  // a last line without '\n' is answered too
      c.out += echo_reply(c.in);
      c.in.clear();
    }
    watch(c, c.events & ~EPOLLIN);  // nothing more to read; stay for the replies still queued
    flush(c);
    return;
  }
  touch(c);
  if (c.said_bye) return;  // after bye, whatever else the client sends is thrown away
  c.in.append(chunk, static_cast<std::size_t>(n));
  handle_lines(c);
}

// Answers every complete line in c.in; keeps the start of the next one.
void EpollServer::handle_lines(Connection& c) {
  std::size_t start = 0;
  for (;;) {
    std::size_t newline = c.in.find('\n', std::max(c.searched, start));
    // The limit counts every byte before the '\n' ('\r' too), however the bytes arrived.
    std::size_t length = (newline == std::string::npos ? c.in.size() : newline) - start;
    if (length > kMaxLine) {
      close_connection(c.fd.get(), "recv " + c.peer + ": line longer than " + std::to_string(kMaxLine) +
                                       " bytes; closing the connection");
      return;
    }
    if (newline == std::string::npos) break;
    std::string_view line(c.in.data() + start, newline - start);
    c.out += echo_reply(line);
    start = newline + 1;
    if (line == "bye" || line == "bye\r") {  // reply, then wait (at most 10 s) for the client to close first
      c.said_bye = true;
      c.deadline = Clock::now() + kByeTimeout;
      c.in.clear();
      start = 0;
      break;
    }
  }
  c.in.erase(0, start);
  c.searched = c.in.size();  // scan each byte once, however many recv()s a long line takes
  flush(c);
}

void EpollServer::on_writable(Connection& c) {
  flush(c);
}

// Sends as much of c.out as the kernel takes now; what is left waits for EPOLLOUT.
void EpollServer::flush(Connection& c) {
  while (!c.out.empty()) {
    ssize_t n = send(c.fd.get(), c.out.data(), c.out.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // send buffer full: wait for EPOLLOUT
      close_connection(c.fd.get(), sys_error("send " + c.peer).what());
      return;
    }
    c.out.erase(0, static_cast<std::size_t>(n));  // a short send: the rest stays queued
  }
  if (c.out.empty() && c.eof) {
    close_connection(c.fd.get());  // the client closed and has every reply: close our side too
    return;
  }
  std::uint32_t events = c.out.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT);
  // Read more only while little waits to be sent: a client that does not read stops being read (flow
  // control).
  if (!c.eof && c.out.size() < kMaxQueued) events |= EPOLLIN;
  watch(c, events);
}

void EpollServer::watch(Connection& c, std::uint32_t events) {
  if (events == c.events) return;
  epoll_event event{};
  event.events = events;
  event.data.fd = c.fd.get();
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &event) < 0) throw sys_error("epoll_ctl " + c.peer);
  c.events = events;
}

void EpollServer::close_connection(int fd, const std::string& why) {
  auto it = connections_.find(fd);
  std::string peer = it->second.peer;
  if (!why.empty()) std::cerr << program_name() << ": " << why << "\n";
  connections_.erase(it);  // ~FileDescriptor closes the socket (and epoll forgets it)
  emit("disconnected " + peer);
}

// Activity: the idle timeout starts again (not during the bye wait, which has its own fixed end).
void EpollServer::touch(Connection& c) {
  if (options_.idle_timeout_ms >= 0 && !c.said_bye) {
    c.deadline = Clock::now() + std::chrono::milliseconds(options_.idle_timeout_ms);
  }
}

// Closes every connection whose deadline has passed. (A scan: fine for the hundreds of clients of this lab; a
// server for many thousands keeps its deadlines sorted, e.g. in a heap or a timer wheel.)
void EpollServer::expire_deadlines() {
  Clock::time_point now = Clock::now();
  if (accept_paused_until_ <= now) {
    accept_paused_until_ = Clock::time_point::max();
    watch_listener(EPOLLIN);
  }
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection& c = (it++)->second;  // step first: closing erases the entry
    if (c.deadline > now) continue;
    if (c.said_bye) {
      std::cerr << program_name() << ": " << c.peer << " did not close within 10 s after bye; closing\n";
    } else {
      emit("idle " + c.peer);  // we close first: the TIME-WAIT is on our side
    }
    close_connection(c.fd.get());
  }
}

int EpollServer::next_timeout_ms() const {
  Clock::time_point nearest = accept_paused_until_;
  for (const auto& [fd, c] : connections_) nearest = std::min(nearest, c.deadline);
  if (nearest == Clock::time_point::max()) return -1;  // no deadline: sleep until something happens
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(nearest - Clock::now()).count();
  return static_cast<int>(std::max<long long>(ms, 0));
}

}  // namespace

int main(int argc, char* argv[]) {
  return run_program("epoll_server", kUsage, [&] {
    Options options = parse_args(argc, argv);
    install_signal_handlers();
    EpollServer(options).run();
  });
}
