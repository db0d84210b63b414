// FileDescriptor: the one owner of a socket or other file descriptor.
//
// Move-only, so a descriptor has exactly one owner at a time and is closed exactly once, when its owner
// goes out of scope. This is what makes the fork() lesson visible in lab 2: after fork() the child closes
// its copy of the listener and the parent closes its copy of the connection, each with an explicit close().
#pragma once

#include <utility>

namespace socklab {

class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { close(); }

  int get() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }

  // Closes now (never throws: there is nothing useful to do if close(2) fails on a socket).
  void close() noexcept;
  // Gives up ownership without closing: the descriptor stays open for the rest of the process.
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace socklab
