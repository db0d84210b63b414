// Test support: bare loopback sockets for talking to the lab programs directly (a "raw" peer), so the tests
// can do what echo_client never does: split a line across segments, reset mid-line, send garbage datagrams.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace testing_support {

using Ms = std::chrono::milliseconds;

class TcpPeer {
 public:
  // Connects to 127.0.0.1:port (throws std::runtime_error on failure).
  explicit TcpPeer(unsigned short port);
  TcpPeer(const TcpPeer&) = delete;
  TcpPeer& operator=(const TcpPeer&) = delete;
  ~TcpPeer();

  void send(std::string_view data);
  // The next line, without '\n'; nullopt on timeout or EOF (eof() tells which).
  std::optional<std::string> read_line(Ms timeout = Ms(5000));
  // True when the peer closes (EOF) within timeout; data arriving meanwhile is kept for read_line.
  bool wait_eof(Ms timeout = Ms(5000));
  bool eof() const { return eof_; }
  void shutdown_write();
  // Close with SO_LINGER 0: the kernel sends RST instead of FIN ("connection reset by peer" at the other end).
  void reset();
  unsigned short local_port() const;

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

class UdpPeer {
 public:
  UdpPeer();  // bound to an ephemeral port on 127.0.0.1, not connected
  UdpPeer(const UdpPeer&) = delete;
  UdpPeer& operator=(const UdpPeer&) = delete;
  ~UdpPeer();
  void send_to(unsigned short port, std::string_view datagram);
  // The next datagram, or nullopt when none arrives in time.
  std::optional<std::string> receive(Ms timeout = Ms(5000));
  unsigned short local_port() const;

 private:
  int fd_ = -1;
};

}  // namespace testing_support
