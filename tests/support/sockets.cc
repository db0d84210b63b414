#include "sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace testing_support {
namespace {

std::runtime_error errno_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_in loopback(unsigned short port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

unsigned short port_of(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) throw errno_error("getsockname");
  return ntohs(address.sin_port);
}

}  // namespace

TcpPeer::TcpPeer(unsigned short port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw errno_error("socket");
  sockaddr_in address = loopback(port);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    int saved = errno;
    close(fd_);
    errno = saved;
    throw errno_error("connect 127.0.0.1:" + std::to_string(port));
  }
}

TcpPeer::~TcpPeer() {
  if (fd_ >= 0) close(fd_);
}

void TcpPeer::send(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw errno_error("send");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool TcpPeer::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  int ready = poll(&p, 1, remaining_ms(deadline));
  if (ready <= 0) return false;
  char chunk[65536];
  ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
  if (n < 0) throw errno_error("recv");
  if (n == 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::string> TcpPeer::read_line(Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

bool TcpPeer::wait_eof(Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fill(deadline)) {
  }
  return eof_;
}

void TcpPeer::shutdown_write() {
  if (::shutdown(fd_, SHUT_WR) < 0) throw errno_error("shutdown");
}

void TcpPeer::reset() {
  linger abort_on_close{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  close(fd_);
  fd_ = -1;
}

unsigned short TcpPeer::local_port() const { return port_of(fd_); }

UdpPeer::UdpPeer() {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw errno_error("socket");
  sockaddr_in address = loopback(0);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) throw errno_error("bind");
}

UdpPeer::~UdpPeer() {
  if (fd_ >= 0) close(fd_);
}

void UdpPeer::send_to(unsigned short port, std::string_view datagram) {
  sockaddr_in address = loopback(port);
  if (sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    throw errno_error("sendto");
  }
}

std::optional<std::string> UdpPeer::receive(Ms timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  std::vector<char> buffer(65536);
  ssize_t n = recv(fd_, buffer.data(), buffer.size(), 0);
  if (n < 0) throw errno_error("recv");
  return std::string(buffer.data(), static_cast<std::size_t>(n));
}

unsigned short UdpPeer::local_port() const { return port_of(fd_); }

}  // namespace testing_support
