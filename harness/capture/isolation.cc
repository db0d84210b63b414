#include "capture/isolation.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace socklab::harness {
namespace {

bool write_file(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

bool in_own_user_namespace = false;

bool bring_loopback_up(std::string& why_not) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why_not = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ioctl(fd, SIOCGIFFLAGS, &request) == 0;
  if (ok) {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);  // a new namespace's lo starts DOWN
    ok = ioctl(fd, SIOCSIFFLAGS, &request) == 0;
  }
  if (!ok) why_not = std::string("bringing lo up: ") + std::strerror(errno);
  close(fd);
  return ok;
}

bool enter_own_user_namespace(int extra_flags, std::string& why_not) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (unshare(CLONE_NEWUSER | extra_flags) != 0) {
    why_not = std::string("unshare(CLONE_NEWUSER): ") + std::strerror(errno);
    return false;
  }
  in_own_user_namespace = true;
  write_file("/proc/self/setgroups", "deny");
  if (!write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
      !write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
    why_not = std::string("writing uid_map/gid_map: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

bool enter_private_mount_namespace(std::string& why_not) {
  if (unshare(CLONE_NEWNS) != 0) {
    if (errno != EPERM || in_own_user_namespace) {
      why_not = std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
      return false;
    }
    if (!enter_own_user_namespace(CLONE_NEWNS, why_not)) return false;
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    why_not = std::string("making mounts private: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool enter_new_network_namespace(std::string& why_not) {
  if (unshare(CLONE_NEWNET) != 0) {
    if (errno != EPERM || in_own_user_namespace) {
      why_not = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return false;
    }
    // Not root: a user namespace of our own makes us root there, allowed to create network namespaces.
    if (!enter_own_user_namespace(CLONE_NEWNET, why_not)) return false;
  }
  return bring_loopback_up(why_not);
}

int current_network_namespace() { return open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC); }

bool return_to_network_namespace(int fd, std::string& why_not) {
  struct stat home {}, now {};
  if (fd < 0 || fstat(fd, &home) != 0 || stat("/proc/self/ns/net", &now) != 0) {
    why_not = "the host's network namespace was not saved";
    return false;
  }
  if (home.st_ino == now.st_ino && home.st_dev == now.st_dev) return true;
  if (setns(fd, CLONE_NEWNET) != 0) {
    why_not = std::string("setns to the host's network namespace: ") + std::strerror(errno) +
              (in_own_user_namespace ? " (socklab is in a user namespace of its own: run it as root)" : "");
    return false;
  }
  return true;
}

bool set_sysctl(const std::string& name, const std::string& value, std::string& why_not) {
  std::string path = "/proc/sys/" + name;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  if (!write_file(path, value)) {
    why_not = "cannot set " + name + "=" + value + " (" + path + ": " + std::strerror(errno) + ")";
    return false;
  }
  return true;
}

}  // namespace socklab::harness
