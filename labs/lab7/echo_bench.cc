// Lab 7 — how fast is an echo server? A load generator that checks every byte.
//
//   echo_bench -a ADDR -p PORT [--clients N] [--size BYTES] [--duration S | --count N] [--udp]
//              [--timeout S] [--csv FILE]
//
// N clients, each on its own connection and in its own thread, send messages back to back: one line of
// SIZE-1 bytes and '\n', then wait for the whole reply, then the next — one message in flight per connection,
// so each round trip is timed alone. Our echo servers reverse each line, so the bench knows the exact reply
// to expect and checks every byte of it. Up to one connection per CPU, each has a thread that sleeps in
// recv() until its own reply is complete — the cheapest round trip there is. With more connections than CPUs,
// one thread per CPU runs an epoll loop over its share: one wake-up then serves every reply that has arrived,
// instead of a wake-up and a context switch per reply.
// The last lines of stdout say how much CPU the bench itself used, so a reader can see it was not the
// bottleneck. The exact output is a contract: docs/programs.md.
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "fd.h"
#include "net.h"
#include "program.h"

using namespace socklab;
using Clock = std::chrono::steady_clock;

namespace {

const char* kUsage =
    "usage: echo_bench -a ADDR -p PORT [--clients N] [--size BYTES] [--duration S | --count N] [--udp]\n"
    "                  [--timeout S] [--csv FILE]\n"
    "  -a ADDR       server address (IPv4 dotted quad or localhost), default 127.0.0.1\n"
    "  -p PORT       server port (1-65535)\n"
    "  --clients N   concurrent connections, one thread each (1-10000), default 1\n"
    "  --size BYTES  bytes per message, its '\\n' included (1-4194305; with --udp 1-65507), default 64\n"
    "  --duration S  send for S seconds (e.g. 5 or 0.5), default 5\n"
    "  --count N     instead: each connection sends exactly N messages (1-1000000000)\n"
    "  --udp         one datagram per message to a UDP echo server; a reply not back within the timeout is "
    "lost\n"
    "  --timeout S   how long to wait for one reply, default 2 (at most 30)\n"
    "  --csv FILE    write a per-second series: second,messages,bytes,p50_us,p99_us,errors\n"
    "example: echo_bench -a 127.0.0.1 -p 8888 --clients 16 --size 1000 --duration 10 --csv rate.csv\n";

constexpr std::size_t kMaxTcpSize = 4 * 1024 * 1024 + 1;  // the servers' line limit (4 MiB) and its '\n'
constexpr std::size_t kMaxUdpSize = 65507;                // the largest UDP payload over IPv4

struct Options {
  sockaddr_in server{};
  int clients = 1;
  std::size_t size = 64;
  int duration_ms = 5000;
  long long count = 0;  // > 0: --count instead of --duration
  bool udp = false;
  int timeout_ms = 2000;
  std::string csv;
};

Options parse_args(int argc, char* argv[]) {
  Options options;
  std::string host = "127.0.0.1";
  std::string port;
  bool have_duration = false;
  long long size = 64;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") throw HelpRequested{};
    if (arg == "--udp") {
      options.udp = true;
      continue;
    }
    if (arg != "-a" && arg != "-p" && arg != "--clients" && arg != "--size" && arg != "--duration" &&
        arg != "--count" && arg != "--timeout" && arg != "--csv") {
      throw UsageError((!arg.empty() && arg[0] == '-' ? "unknown option \"" : "unexpected argument \"") +
                       arg + "\"");
    }
    if (i + 1 == argc) throw UsageError(arg + " needs a value");
    std::string value = argv[++i];
    if (arg == "-a") host = value;
    if (arg == "-p") port = value;
    if (arg == "--clients") options.clients = parse_count("clients", value, 10000, 1);
    if (arg == "--size") size = parse_count("size", value, static_cast<int>(kMaxTcpSize), 1);
    if (arg == "--duration") {
      options.duration_ms = parse_seconds_ms("duration", value, 86400);
      have_duration = true;
    }
    if (arg == "--count") options.count = parse_count("count", value, 1000000000, 1);
    if (arg == "--timeout") options.timeout_ms = parse_seconds_ms("timeout", value, 30);
    if (arg == "--csv") {
      if (value.empty()) throw UsageError("--csv needs a file name");
      options.csv = value;
    }
  }
  if (port.empty()) throw UsageError("missing -p PORT");
  if (have_duration && options.count > 0) throw UsageError("--duration and --count exclude each other");
  if (options.udp && static_cast<std::size_t>(size) > kMaxUdpSize) {
    throw UsageError("bad size \"" + std::to_string(size) + "\" (with --udp 1-65507)");
  }
  options.size = static_cast<std::size_t>(size);
  options.server = make_ipv4_address(host, parse_port(port));
  return options;
}

// One reply's round trip, and the second of the run (1, 2, ...) in which it completed.
struct Sample {
  std::uint32_t rtt_10ns;  // in units of 10 ns: 0.01 µs resolution, up to 42 s
  std::uint32_t second;
};

// What one client measured. Only its own thread writes it; main reads it after the thread has finished.
struct ClientResult {
  std::vector<Sample> samples;
  std::vector<std::uint32_t> error_seconds;  // the second of each error
  long long sent = 0, wrong = 0, missing = 0, timed_out = 0;
  Clock::time_point end;
  std::string fatal;  // a failure that means the server is not there at all (UDP: Connection refused)
};

// The message a client sends: "#CLIENT:SEQ:" and then letters, SIZE-1 bytes in all, then '\n'. The client
// and sequence number make every message of the run different, so a reply meant for another client (a server
// that mixes up its buffers) or an old reply (UDP) never passes as the right one.
class Message {
 public:
  Message(int client, std::size_t size) : client_(client), bytes_(size, '\n') {
    for (std::size_t i = 0; i + 1 < size; ++i) bytes_[i] = static_cast<char>('a' + i % 26);
  }
  void number(long long seq) {
    char header[48];
    int n = std::snprintf(header, sizeof header, "#%d:%lld:", client_, seq);
    std::size_t length = std::min(static_cast<std::size_t>(n), bytes_.size() - 1);
    std::memcpy(bytes_.data(), header, length);
  }
  const std::string& bytes() const { return bytes_; }
  // The expected reply is the line reversed, then '\n' (all of it ASCII: byte reversal is character
  // reversal).
  bool is_reply(const char* reply, std::size_t length) const {
    std::size_t line = bytes_.size() - 1;
    if (length != bytes_.size() || reply[line] != '\n') return false;
    for (std::size_t i = 0; i < line; ++i) {
      if (reply[i] != bytes_[line - 1 - i]) return false;
    }
    return true;
  }

 private:
  int client_;
  std::string bytes_;
};

struct Shared {
  const Options& options;
  std::latch& start_gate;
  Clock::time_point start;
  std::atomic<bool> stop{false};  // SIGINT/SIGTERM: finish the message in flight, then stop
  int done_fd;                    // an eventfd each client thread bumps when it finishes
};

std::uint32_t second_of(const Shared& shared, Clock::time_point t) {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(t - shared.start).count() + 1);
}

bool more_to_send(const Shared& shared, const ClientResult& result) {
  if (shared.stop.load(std::memory_order_relaxed)) return false;
  if (shared.options.count > 0) return result.sent < shared.options.count;
  return Clock::now() - shared.start < std::chrono::milliseconds(shared.options.duration_ms);
}

void record(const Shared& shared, ClientResult& result, Clock::time_point sent_at, Clock::time_point now) {
  auto rtt = std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent_at).count() / 10;
  result.samples.push_back(
      {static_cast<std::uint32_t>(std::min<long long>(rtt, UINT32_MAX)), second_of(shared, now)});
}

void record_error(const Shared& shared, ClientResult& result, long long& counter) {
  ++counter;
  result.error_seconds.push_back(second_of(shared, Clock::now()));
}

// One TCP client: send a line, read until its '\n', check it, again. A connection that closes, resets or
// times out is given up (its message counted as missing or timed out): a byte stream cannot be
// resynchronised.
void run_tcp_client(Shared& shared, int index, int fd, ClientResult& result) {
  const Options& options = shared.options;
  std::string what = to_string(options.server);
  const std::string send_what = "send " + what;  // built once: this loop is what is being timed
  Message message(index, options.size);
  std::vector<char> reply(options.size + 64 * 1024);
  std::size_t have = 0;  // bytes in reply[]
  for (long long seq = 0; more_to_send(shared, result); ++seq) {
    message.number(seq);
    Clock::time_point sent_at = Clock::now();
    try {
      write_all(fd, message.bytes(), send_what);
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "echo_bench: client %d: %s\n", index, e.what());
      record_error(shared, result, result.missing);
      return;
    }
    ++result.sent;
    // Read until the reply line is complete (recv() may return it in pieces; SO_RCVTIMEO bounds each wait).
    char* newline = nullptr;
    std::size_t searched = 0;
    while ((newline = static_cast<char*>(std::memchr(reply.data() + searched, '\n', have - searched))) ==
           nullptr) {
      searched = have;
      if (have == reply.size()) reply.resize(reply.size() * 2);  // a wrong, too long reply
      ssize_t n = recv(fd, reply.data() + have, reply.size() - have, 0);
      if (n > 0) {
        have += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        std::fprintf(stderr, "echo_bench: client %d: no reply within %d ms\n", index, options.timeout_ms);
        record_error(shared, result, result.timed_out);
      } else {
        std::fprintf(stderr, "echo_bench: client %d: %s\n", index,
                     n == 0 ? "server closed the connection" : sys_error("recv " + what).what());
        record_error(shared, result, result.missing);
      }
      return;
    }
    Clock::time_point now = Clock::now();
    std::size_t length = static_cast<std::size_t>(newline - reply.data()) + 1;
    if (message.is_reply(reply.data(), length)) {
      record(shared, result, sent_at, now);
    } else {
      record_error(shared, result, result.wrong);
    }
    std::memmove(reply.data(), reply.data() + length,
                 have - length);  // bytes after the line (a wrong server)
    have -= length;
  }
}

// Several TCP clients on one thread: an epoll loop over non-blocking sockets, each connection a small state
// machine (sending its message, then collecting its reply). One wake-up then serves every reply that arrived,
// where a thread per connection pays a wake-up and a context switch per reply: at 64 clients on 2 CPUs that
// took the bench three times the CPU. The rules are run_tcp_client's: wrong replies are counted and the
// connection goes on; a closed, reset or silent connection is given up.
struct LoopClient {
  int index;
  int fd;
  FileDescriptor* owner;  // closed as soon as this client is done (an iterative server goes on with the next)
  ClientResult* result;
  Message message;
  long long seq = 0;
  std::size_t sent = 0;  // bytes of the message already sent
  std::vector<char> reply;
  std::size_t have = 0, searched = 0;
  Clock::time_point sent_at, deadline;
  bool done = false;
};

void run_tcp_loop(Shared& shared, std::vector<LoopClient>& clients) {
  const Options& options = shared.options;
  std::string what = to_string(options.server);
  FileDescriptor epoll(epoll_create1(0));
  if (!epoll.is_open()) throw sys_error("epoll_create1");
  std::size_t active = clients.size();
  auto finish = [&](LoopClient& c) {
    c.done = true;
    --active;
    epoll_ctl(epoll.get(), EPOLL_CTL_DEL, c.fd, nullptr);
    c.result->end = Clock::now();
    c.owner->close();
  };
  auto watch = [&](LoopClient& c, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.ptr = &c;
    epoll_ctl(epoll.get(), EPOLL_CTL_MOD, c.fd, &event);
  };
  // Sends what the kernel takes now; true when the whole message is out.
  auto push = [&](LoopClient& c) {
    const std::string& bytes = c.message.bytes();
    while (c.sent < bytes.size()) {
      ssize_t n = send(c.fd, bytes.data() + c.sent, bytes.size() - c.sent, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      if (n < 0) {
        std::fprintf(stderr, "echo_bench: client %d: %s\n", c.index, sys_error("send " + what).what());
        record_error(shared, *c.result, c.result->missing);
        finish(c);
        return false;
      }
      c.sent += static_cast<std::size_t>(n);
    }
    return true;
  };
  auto start_message = [&](LoopClient& c) {
    if (!more_to_send(shared, *c.result)) {
      finish(c);
      return;
    }
    c.message.number(c.seq++);
    c.sent = 0;
    c.sent_at = Clock::now();
    c.deadline = c.sent_at + std::chrono::milliseconds(options.timeout_ms);
    ++c.result->sent;
    bool all_out = push(c);
    if (!c.done) watch(c, all_out ? EPOLLIN : EPOLLIN | EPOLLOUT);
  };
  auto collect = [&](LoopClient& c) {  // reads what arrived; handles a complete reply line
    for (;;) {
      if (c.have == c.reply.size()) c.reply.resize(c.reply.size() * 2);
      ssize_t n = recv(c.fd, c.reply.data() + c.have, c.reply.size() - c.have, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) {
        std::fprintf(stderr, "echo_bench: client %d: %s\n", c.index,
                     n == 0 ? "server closed the connection" : sys_error("recv " + what).what());
        record_error(shared, *c.result, c.result->missing);
        finish(c);
        return;
      }
      c.have += static_cast<std::size_t>(n);
    }
    char* newline = static_cast<char*>(std::memchr(c.reply.data() + c.searched, '\n', c.have - c.searched));
    if (newline == nullptr) {
      c.searched = c.have;
      return;
    }
    std::size_t length = static_cast<std::size_t>(newline - c.reply.data()) + 1;
    if (c.message.is_reply(c.reply.data(), length)) {
      record(shared, *c.result, c.sent_at, Clock::now());
    } else {
      record_error(shared, *c.result, c.result->wrong);
    }
    std::memmove(c.reply.data(), c.reply.data() + length, c.have - length);
    c.have -= length;
    c.searched = 0;
    start_message(c);
  };

  for (LoopClient& c : clients) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = &c;
    if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, c.fd, &event) < 0) throw sys_error("epoll_ctl");
    start_message(c);
  }
  epoll_event events[256];
  while (active > 0) {
    Clock::time_point nearest = Clock::time_point::max();
    for (const LoopClient& c : clients) {
      if (!c.done) nearest = std::min(nearest, c.deadline);
    }
    auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(nearest - Clock::now()).count();
    int ready =
        epoll_wait(epoll.get(), events, 256, static_cast<int>(std::clamp<long long>(wait_ms, 0, 1000)));
    if (ready < 0 && errno != EINTR) throw sys_error("epoll_wait");
    for (int i = 0; i < ready; ++i) {
      auto& c = *static_cast<LoopClient*>(events[i].data.ptr);
      if (c.done) continue;
      if ((events[i].events & EPOLLOUT) && c.sent < c.message.bytes().size()) {
        if (push(c)) watch(c, EPOLLIN);
      }
      if (!c.done && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) collect(c);
    }
    Clock::time_point now = Clock::now();
    for (LoopClient& c : clients) {
      if (c.done || c.deadline > now) continue;
      std::fprintf(stderr, "echo_bench: client %d: no reply within %d ms\n", c.index, options.timeout_ms);
      record_error(shared, *c.result, c.result->timed_out);
      finish(c);
    }
  }
}

// One UDP client: one datagram per message. A reply not back within the timeout is lost (counted as timed
// out); a late reply to an earlier message is recognised by its number and ignored.
void run_udp_client(Shared& shared, int index, int fd, ClientResult& result) {
  const Options& options = shared.options;
  std::string what = to_string(options.server);
  Message message(index, options.size);
  std::vector<char> reply(kMaxUdpSize + 1);
  for (long long seq = 0; more_to_send(shared, result); ++seq) {
    message.number(seq);
    Clock::time_point sent_at = Clock::now();
    if (send(fd, message.bytes().data(), message.bytes().size(), 0) < 0) {
      if (errno == ECONNREFUSED && result.samples.empty()) {
        result.fatal = sys_error("send " + what + " (is the server running?)").what();
        return;
      }
      std::fprintf(stderr, "echo_bench: client %d: %s\n", index, sys_error("send " + what).what());
      record_error(shared, result, result.missing);
      continue;
    }
    ++result.sent;
    Clock::time_point deadline = sent_at + std::chrono::milliseconds(options.timeout_ms);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        record_error(shared, result, result.timed_out);
        break;
      }
      timeval tv{static_cast<time_t>(left / 1000000), static_cast<suseconds_t>(left % 1000000)};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ssize_t n = recv(fd, reply.data(), reply.size(), 0);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;  // the loop checks the time
        if (errno == ECONNREFUSED && result.samples.empty()) {
          result.fatal = sys_error("recv " + what + " (is the server running?)").what();
          return;
        }
        std::fprintf(stderr, "echo_bench: client %d: %s\n", index, sys_error("recv " + what).what());
        record_error(shared, result, result.missing);
        break;
      }
      std::size_t length = static_cast<std::size_t>(n);
      if (message.is_reply(reply.data(), length)) {
        record(shared, result, sent_at, Clock::now());
        break;
      }
      // An earlier message's reply, come late (that message is already counted lost): keep waiting.
      std::string text(reply.data(), length);
      std::string mine = "#" + std::to_string(index) + ":";
      if (length == options.size && text.size() > mine.size() + 1 && text.back() == '\n') {
        std::string line(text.rbegin() + 1, text.rend());  // reversed back
        if (line.compare(0, mine.size(), mine) == 0) continue;
      }
      record_error(shared, result, result.wrong);
      break;
    }
  }
}

FileDescriptor connect_client(const Options& options) {
  FileDescriptor fd(socket(AF_INET, options.udp ? SOCK_DGRAM : SOCK_STREAM, 0));
  if (!fd.is_open()) throw sys_error("socket");
  // A connected UDP socket talks to the server only, and hears about a closed port (ECONNREFUSED).
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&options.server), sizeof options.server) < 0) {
    throw sys_error("connect " + to_string(options.server));
  }
  if (!options.udp) {
    timeval tv{options.timeout_ms / 1000, (options.timeout_ms % 1000) * 1000};
    if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
      throw sys_error("setsockopt SO_RCVTIMEO");
  }
  return fd;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Nearest-rank percentile of rtts (in 10 ns units, sorted), in µs.
double percentile_us(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  std::size_t rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1] / 100.0;
}

std::string format(const char* fmt, double value) {
  char text[64];
  std::snprintf(text, sizeof text, fmt, value);
  return text;
}

void write_csv(const Options& options, const std::vector<ClientResult>& results) {
  std::uint32_t seconds = 0;
  for (const ClientResult& r : results) {
    for (const Sample& s : r.samples) seconds = std::max(seconds, s.second);
    for (std::uint32_t s : r.error_seconds) seconds = std::max(seconds, s);
  }
  std::vector<std::vector<std::uint32_t>> rtts(seconds + 1);
  std::vector<long long> errors(seconds + 1);
  for (const ClientResult& r : results) {
    for (const Sample& s : r.samples) rtts[s.second].push_back(s.rtt_10ns);
    for (std::uint32_t s : r.error_seconds) ++errors[s];
  }
  std::ofstream csv(options.csv);
  if (!csv) throw sys_error("open " + options.csv);
  csv << "second,messages,bytes,p50_us,p99_us,errors\n";
  for (std::uint32_t s = 1; s <= seconds; ++s) {
    std::sort(rtts[s].begin(), rtts[s].end());
    csv << s << ',' << rtts[s].size() << ',' << rtts[s].size() * options.size << ',';
    if (!rtts[s].empty())
      csv << format("%.1f", percentile_us(rtts[s], 0.50)) << ','
          << format("%.1f", percentile_us(rtts[s], 0.99));
    else
      csv << ',';
    csv << ',' << errors[s] << '\n';
  }
  if (!csv.flush()) throw sys_error("write " + options.csv);
}

// Prints the summary (the contract in docs/programs.md); returns the exit status: 0, or 3 when replies were
// wrong, missing, or (TCP) timed out.
int report(const Options& options, const std::vector<ClientResult>& results, double wall_s, double cpu_s) {
  std::vector<std::uint32_t> rtts;
  long long sent = 0, wrong = 0, missing = 0, timed_out = 0;
  for (const ClientResult& r : results) {
    for (const Sample& s : r.samples) rtts.push_back(s.rtt_10ns);
    sent += r.sent;
    wrong += r.wrong;
    missing += r.missing;
    timed_out += r.timed_out;
  }
  std::sort(rtts.begin(), rtts.end());
  double messages = static_cast<double>(rtts.size());
  emit("clients " + std::to_string(options.clients));
  emit("size " + std::to_string(options.size) + " B");
  emit("wall " + format("%.3f", wall_s) + " s");
  emit("messages " + std::to_string(rtts.size()));
  emit("messages/s " + format("%.1f", messages / wall_s));
  emit("bytes/s " + format("%.0f", messages * static_cast<double>(options.size) / wall_s));
  emit("p50 " + format("%.1f", percentile_us(rtts, 0.50)) + " µs");
  emit("p90 " + format("%.1f", percentile_us(rtts, 0.90)) + " µs");
  emit("p99 " + format("%.1f", percentile_us(rtts, 0.99)) + " µs");
  emit("max " + format("%.1f", rtts.empty() ? 0.0 : rtts.back() / 100.0) + " µs");
  emit("errors " + std::to_string(wrong + missing + timed_out));
  emit("wrong " + std::to_string(wrong));
  emit("missing " + std::to_string(missing));
  emit("timed out " + std::to_string(timed_out));
  if (options.udp) {
    emit(
        "lost " +
        format("%.2f", sent == 0 ? 0.0 : 100.0 * static_cast<double>(timed_out) / static_cast<double>(sent)) +
        " %");
  }
  emit("cpu " + format("%.3f", cpu_s) + " s");
  emit("cpu share " + format("%.1f", 100.0 * cpu_s / wall_s) + " %");
  // With --udp a lost datagram is what is being measured; only wrong or missing replies are failures.
  bool failed = wrong > 0 || missing > 0 || (!options.udp && timed_out > 0);
  return failed ? 3 : 0;
}

int run(const Options& options) {
  install_signal_handlers();  // the client threads inherit the blocked stop signals: only main takes them

  // Every connection is made before the clock starts; a server that is not there fails here (exit 1).
  std::vector<FileDescriptor> sockets;
  for (int i = 0; i < options.clients; ++i) sockets.push_back(connect_client(options));
  FileDescriptor done(eventfd(0, 0));
  if (!done.is_open()) throw sys_error("eventfd");

  std::latch start_gate(1);
  Shared shared{options, start_gate, {}, {}, done.get()};
  std::vector<ClientResult> results(static_cast<std::size_t>(options.clients));
  std::vector<std::thread> threads;
  // Connection i belongs to thread i % T. T = N for UDP and for as many TCP clients as there are CPUs: each
  // thread then blocks in recv() on its one connection (the least a round trip can cost). With more TCP
  // clients than CPUs, T = the CPUs, and each thread runs an epoll loop over its share.
  cpu_set_t allowed;  // the CPUs this process may run on (taskset), not all the machine has
  int cpus = sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? std::max(1, CPU_COUNT(&allowed)) : 1;
  int thread_count = options.udp || options.clients <= cpus ? options.clients : cpus;
  auto signal_done = [&shared](int count) {
    std::uint64_t n = static_cast<std::uint64_t>(count);
    [[maybe_unused]] ssize_t written = write(shared.done_fd, &n, sizeof n);
  };
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> mine;
      for (int i = t; i < options.clients; i += thread_count) mine.push_back(i);
      shared.start_gate.wait();
      if (mine.size() == 1) {
        int i = mine.front();
        ClientResult& result = results[static_cast<std::size_t>(i)];
        int fd = sockets[static_cast<std::size_t>(i)].get();
        if (options.udp) {
          run_udp_client(shared, i, fd, result);
        } else {
          run_tcp_client(shared, i, fd, result);
        }
      } else {
        std::vector<LoopClient> loop;
        loop.reserve(mine.size());  // the loop keeps pointers to its elements
        for (int i : mine) {
          int fd = sockets[static_cast<std::size_t>(i)].get();
          fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
          loop.push_back(LoopClient{i,
                                    fd,
                                    &sockets[static_cast<std::size_t>(i)],
                                    &results[static_cast<std::size_t>(i)],
                                    Message(i, options.size),
                                    0,
                                    0,
                                    std::vector<char>(options.size + 64 * 1024),
                                    0,
                                    0,
                                    {},
                                    {},
                                    false});
        }
        try {
          run_tcp_loop(shared, loop);
        } catch (const std::system_error& e) {
          for (LoopClient& c : loop) c.result->fatal = e.what();
        }
      }
      for (int i : mine) {
        if (!sockets[static_cast<std::size_t>(i)].is_open()) continue;  // the loop closed it already
        results[static_cast<std::size_t>(i)].end = Clock::now();
        sockets[static_cast<std::size_t>(i)]
            .close();  // done: an iterative server can go on with the next client
      }
      signal_done(static_cast<int>(mine.size()));
    });
  }
  double cpu_before = cpu_seconds();
  shared.start = Clock::now();
  start_gate.count_down();

  // Wait for the clients here, where SIGINT/SIGTERM can get in: a stop ends the run early, with a report.
  std::uint64_t finished = 0;
  while (finished < static_cast<std::uint64_t>(options.clients)) {
    try {
      wait_readable(done.get());
      std::uint64_t n = 0;
      if (read(done.get(), &n, sizeof n) == sizeof n) finished += n;
    } catch (const StopRequested&) {
      shared.stop = true;  // each client finishes the message in flight (at most the timeout), then stops
    }
  }
  for (std::thread& t : threads) t.join();
  double cpu_s = cpu_seconds() - cpu_before;

  for (const ClientResult& r : results) {
    if (!r.fatal.empty()) throw std::runtime_error(r.fatal);
  }
  Clock::time_point end = shared.start;
  for (const ClientResult& r : results) end = std::max(end, r.end);
  double wall_s = std::max(std::chrono::duration<double>(end - shared.start).count(), 1e-9);
  if (!options.csv.empty()) write_csv(options, results);
  return report(options, results, wall_s, cpu_s);
}

}  // namespace

int main(int argc, char* argv[]) {
  int status = 0;
  int failed = run_program("echo_bench", kUsage, [&] { status = run(parse_args(argc, argv)); });
  return failed != 0 ? failed : status;
}
