// Loopback sockets for the benchmarks: a listener, and a crowd of idle connections to measure against.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace socklab::bench {

struct Listener {
  int fd = -1;
  std::uint16_t port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = address(0);
    socklen_t n = sizeof a;
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 4096);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
    port = ntohs(a.sin_port);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener() { close(fd); }
  static sockaddr_in address(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
  }
};

// About `count` idle sockets (connected pairs, each with two ends), closed with RST so they leave no TIME-WAIT
// behind to slow down the next measurement.
struct IdleSockets {
  Listener listener;
  std::vector<int> fds;
  explicit IdleSockets(int count) {
    sockaddr_in a = Listener::address(listener.port);
    for (int i = 1; i + 1 < count; i += 2) {
      int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fds.push_back(c);
      fds.push_back(accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
    }
  }
  ~IdleSockets() {
    linger reset{1, 0};
    for (int fd : fds) {
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      close(fd);
    }
  }
};

}  // namespace socklab::bench
