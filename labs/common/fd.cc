#include "fd.h"

#include <unistd.h>

namespace socklab {

void FileDescriptor::close() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);  // see close(2): never retry on EINTR on Linux, the descriptor is gone either way
    fd_ = -1;
  }
}

}  // namespace socklab
