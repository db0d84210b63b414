// LineReader: lines out of a byte stream.
//
// TCP delivers bytes, not messages: one read() may return half a line, or three lines and a bit. The
// reader keeps what it has read in a buffer and hands out whole lines, however the bytes were split
// into segments. A line ends with '\n'; the '\n' is not part of the line returned.
#pragma once

#include <cstddef>
#include <string>

namespace socklab {

// Thrown by LineReader when nothing arrived for its idle timeout (servers' --idle-timeout).
struct IdleTimeout {};

class LineReader {
 public:
  static constexpr std::size_t kDefaultMaxLine = 4 * 1024 * 1024;

  // Reads from fd (a socket, a pipe, stdin); `what` names it in error messages ("recv 127.0.0.1:5000").
  explicit LineReader(int fd, std::string what = "read", std::size_t max_line = kDefaultMaxLine);

  // From now on read_line()/read_some() throw IdleTimeout when no byte arrives for timeout_ms (-1: wait forever).
  void set_idle_timeout(int timeout_ms) { idle_timeout_ms_ = timeout_ms; }

  // Blocks until a whole line is there, stores it in `line` and returns true. Returns false at end of
  // stream; a last line without '\n' is returned first, as a line. Throws std::system_error when read()
  // fails (for a socket e.g. "recv 127.0.0.1:5000: Connection reset by peer"), std::length_error when a
  // line has more than max_line bytes before its '\n' (a '\r' counts, the '\n' does not), and
  // StopRequested when SIGINT/SIGTERM interrupts the wait, IdleTimeout when the idle timeout passes first.
  bool read_line(std::string& line);

  // For poll()-driven programs: read_some() makes exactly one read() (call it when poll says the fd is
  // readable), then take_line() hands out the complete lines buffered so far, without blocking.
  void read_some();
  bool take_line(std::string& line);
  bool at_eof() const { return eof_ && start_ == buffer_.size(); }

 private:
  int fd_;
  std::string what_;
  std::size_t max_line_;
  std::string buffer_;       // bytes read so far; lines are taken from the front
  std::size_t start_ = 0;    // where the next line begins in buffer_
  std::size_t searched_ = 0;  // no '\n' in buffer_ before this position
  bool eof_ = false;
  int idle_timeout_ms_ = -1;
};

}  // namespace socklab
