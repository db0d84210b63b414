#include "line_reader.h"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "program.h"

namespace socklab {

LineReader::LineReader(int fd, std::string what, std::size_t max_line)
    : fd_(fd), what_(std::move(what)), max_line_(max_line) {}

bool LineReader::read_line(std::string& line) {
  while (!take_line(line)) {
    if (eof_) return false;
    read_some();
  }
  return true;
}

bool LineReader::take_line(std::string& line) {
  std::size_t newline = buffer_.find('\n', searched_);
  // The limit counts every byte before the '\n' (a '\r' too), however the bytes arrived: a line of exactly
  // max_line bytes is taken, one byte more is refused even when its '\n' came in the same read.
  std::size_t length = (newline != std::string::npos ? newline : buffer_.size()) - start_;
  if (length > max_line_) {
    throw std::length_error(what_ + ": line longer than " + std::to_string(max_line_) + " bytes");
  }
  if (newline != std::string::npos) {
    line.assign(buffer_, start_, newline - start_);
    start_ = searched_ = newline + 1;
    return true;
  }
  searched_ = buffer_.size();  // scan each byte once, however many reads a long line takes
  if (eof_ && start_ < buffer_.size()) {
    line.assign(buffer_, start_);  // the last line had no '\n'
    start_ = searched_ = buffer_.size();
    return true;
  }
  return false;
}

void LineReader::read_some() {
  // Drop the lines already handed out before the buffer grows.
  buffer_.erase(0, start_);
  searched_ -= start_;
  start_ = 0;

  // Sleep here, where Ctrl-C / SIGTERM can wake us (see program.h); a quiet peer past the idle timeout ends it.
  if (!wait_readable(fd_, idle_timeout_ms_)) throw IdleTimeout{};
  char chunk[64 * 1024];
  ssize_t n;
  while ((n = read(fd_, chunk, sizeof chunk)) < 0) {
    if (errno != EINTR) throw sys_error(what_);  // EINTR: see read(2); just read again
  }
  if (n == 0) eof_ = true;  // the peer closed its side (or shut down writing): no more bytes will come
  buffer_.append(chunk, static_cast<std::size_t>(n));
}

}  // namespace socklab
