// The floor for lab 7's echo_bench: the least a TCP round trip over loopback can cost a program.
//
//   pingpong serve PORT               a minimal line-reversing echo server: blocking, one connection at a
//   time,
//                                     recv() and send() and nothing else (no poll, no threads, no checks)
//   pingpong ping PORT SIZE SECONDS   a minimal client: send SIZE bytes (a line), recv() until SIZE bytes
//   came
//                                     back, time it; prints "p50 X µs" and "messages/s Y" (nothing is
//                                     verified)
//
// bench/echo_anchors.sh measures echo_bench, sockperf and iperf3 against these and against each other.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "pingpong: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int serve(int port) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in a = loopback(port);
  if (bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) die("bind");
  if (listen(listener, 16) < 0) die("listen");
  std::vector<char> buffer(8 * 1024 * 1024);
  for (;;) {
    int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    std::size_t have = 0;
    for (;;) {
      if (have == buffer.size()) break;  // a line longer than the buffer: drop this client
      ssize_t n = recv(fd, buffer.data() + have, buffer.size() - have, 0);
      if (n <= 0) break;
      have += static_cast<std::size_t>(n);
      std::size_t start = 0;
      for (char* nl; (nl = static_cast<char*>(std::memchr(buffer.data() + start, '\n', have - start)));) {
        std::size_t end = static_cast<std::size_t>(nl - buffer.data());
        std::reverse(buffer.data() + start, buffer.data() + end);
        for (std::size_t sent = start; sent <= end;) {
          ssize_t m = send(fd, buffer.data() + sent, end + 1 - sent, MSG_NOSIGNAL);
          if (m <= 0) break;
          sent += static_cast<std::size_t>(m);
        }
        start = end + 1;
      }
      std::memmove(buffer.data(), buffer.data() + start, have - start);
      have -= start;
    }
    close(fd);
  }
}

int ping(int port, std::size_t size, double seconds) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) die("connect");
  std::string message(size, 'x');
  message.back() = '\n';
  std::vector<char> reply(size);
  std::vector<double> rtts;
  Clock::time_point start = Clock::now();
  Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  Clock::time_point now = start;
  while (now < end) {
    Clock::time_point sent_at = Clock::now();
    for (std::size_t sent = 0; sent < size;) {
      ssize_t n = send(fd, message.data() + sent, size - sent, 0);
      if (n <= 0) die("send");
      sent += static_cast<std::size_t>(n);
    }
    for (std::size_t got = 0; got < size;) {
      ssize_t n = recv(fd, reply.data() + got, size - got, 0);
      if (n <= 0) die("recv");
      got += static_cast<std::size_t>(n);
    }
    now = Clock::now();
    rtts.push_back(std::chrono::duration<double, std::micro>(now - sent_at).count());
  }
  double wall = std::chrono::duration<double>(now - start).count();
  std::size_t count = rtts.size();
  std::nth_element(rtts.begin(), rtts.begin() + static_cast<long>(count / 2), rtts.end());
  std::printf("p50 %.1f µs\nmessages/s %.1f\nbytes/s %.0f\n", rtts[count / 2],
              static_cast<double>(count) / wall, static_cast<double>(count * size) / wall);
  return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc == 3 && std::strcmp(argv[1], "serve") == 0) return serve(std::atoi(argv[2]));
  if (argc == 5 && std::strcmp(argv[1], "ping") == 0) {
    return ping(std::atoi(argv[2]), static_cast<std::size_t>(std::atol(argv[3])), std::atof(argv[4]));
  }
  std::fprintf(stderr, "usage: pingpong serve PORT | pingpong ping PORT SIZE SECONDS\n");
  return 2;
}
