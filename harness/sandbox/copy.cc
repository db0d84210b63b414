#include "copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "cgroup.h"  // format_bytes
#include "text.h"

namespace socklab::sandbox {

namespace {

struct Copier {
  const CopyLimits& limits;
  int uid, gid;
  CopyReport report;
  bool full = false;  // the file-count limit was reached: stop

  void leave_out(const std::string& path, const std::string& why) { report.left_out.push_back(path + ": " + why); }

  void owner(int fd) {
    if (uid >= 0 && fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) {
      throw std::runtime_error(std::string("fchown in the build directory: ") + std::strerror(errno));
    }
  }

  // Copies one regular file, already open (O_NOFOLLOW) and checked, into dir_fd/name.
  void copy_file(int from_fd, const struct stat& st, int to_dir, const std::string& name, const std::string& path) {
    mode_t mode = (st.st_mode & S_IXUSR) ? 0700 : 0600;
    int to = openat(to_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (to < 0) throw std::runtime_error("cannot create " + path + " in the build directory: " + std::strerror(errno));
    char buffer[65536];
    std::uint64_t copied = 0;
    for (;;) {
      ssize_t n = read(from_fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      // The file may grow while we read it: the limit holds for what is copied, not just for what stat said.
      if (copied + static_cast<std::uint64_t>(n) > limits.max_file_bytes) {
        close(to);
        unlinkat(to_dir, name.c_str(), 0);
        leave_out(path, text::over_file_limit(copied + static_cast<std::uint64_t>(n), limits.max_file_bytes));
        return;
      }
      if (write(to, buffer, static_cast<std::size_t>(n)) != n) {
        int error = errno;
        close(to);
        throw std::runtime_error("cannot write " + path + " into the build directory: " + std::strerror(error));
      }
      copied += static_cast<std::uint64_t>(n);
    }
    owner(to);
    close(to);
    ++report.files;
    report.bytes += copied;
  }

  void copy_dir(int from_dir, int to_dir, const std::string& prefix, int depth) {
    int listing = dup(from_dir);
    DIR* dir = listing >= 0 ? fdopendir(listing) : nullptr;
    if (!dir) throw std::runtime_error("cannot read the submission " + prefix + ": " + std::strerror(errno));
    std::vector<std::string> names;
    while (dirent* e = readdir(dir)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      std::string path = prefix + name;
      if (full) return;
      if (report.files >= limits.max_files) {
        full = true;
        leave_out(path, text::too_many_files(limits.max_files));
        return;
      }
      struct stat st{};
      if (fstatat(from_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
      if (S_ISLNK(st.st_mode)) {
        leave_out(path, text::symlink_left_out());
      } else if (S_ISDIR(st.st_mode)) {
        if (depth >= limits.max_depth) {
          leave_out(path + "/", text::too_deep(limits.max_depth));
          continue;
        }
        int sub = openat(from_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) continue;
        if (mkdirat(to_dir, name.c_str(), 0700) != 0) {
          close(sub);
          throw std::runtime_error("cannot create " + path + " in the build directory: " + std::strerror(errno));
        }
        int to_sub = openat(to_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (to_sub >= 0) {
          owner(to_sub);
          copy_dir(sub, to_sub, path + "/", depth + 1);
          close(to_sub);
        }
        close(sub);
      } else if (S_ISREG(st.st_mode)) {
        if (static_cast<std::uint64_t>(st.st_size) > limits.max_file_bytes) {
          leave_out(path, text::over_file_limit(static_cast<std::uint64_t>(st.st_size), limits.max_file_bytes));
          continue;
        }
        if (report.bytes + static_cast<std::uint64_t>(st.st_size) > limits.max_total_bytes) {
          leave_out(path, text::over_total_limit(limits.max_total_bytes));
          continue;
        }
        // O_NOFOLLOW | O_NONBLOCK: if it was swapped for a link or a FIFO since fstatat, this fails or is seen below.
        int fd = openat(from_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat opened{};
        if (fstat(fd, &opened) == 0 && S_ISREG(opened.st_mode)) copy_file(fd, opened, to_dir, name, path);
        close(fd);
      } else {
        leave_out(path, text::special_file_left_out());
      }
    }
  }
};

}  // namespace

CopyReport copy_submission(const std::string& from, const std::string& to, const CopyLimits& limits, int uid, int gid) {
  int from_fd = open(from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (from_fd < 0) throw std::runtime_error("cannot read the submission " + from + ": " + std::strerror(errno));
  int to_fd = open(to.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (to_fd < 0) {
    close(from_fd);
    throw std::runtime_error("cannot open the build directory " + to + ": " + std::strerror(errno));
  }
  Copier copier{limits, uid, gid, {}};
  try {
    copier.copy_dir(from_fd, to_fd, "", 0);
  } catch (...) {
    close(from_fd);
    close(to_fd);
    throw;
  }
  close(from_fd);
  close(to_fd);
  return copier.report;
}

}  // namespace socklab::sandbox
