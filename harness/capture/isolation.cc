#include "capture/isolation.h"

#include "process/proc.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

namespace socklab::harness {
namespace {

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
  write_proc_file("/proc/self/setgroups", "deny");
  if (!write_proc_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
      !write_proc_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
    why_not = std::string("writing uid_map/gid_map: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool unshare_network_namespace(std::string& why_not) {
  if (unshare(CLONE_NEWNET) == 0) return true;
  if (errno != EPERM || in_own_user_namespace) {
    why_not = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    return false;
  }
  // Not root: a user namespace of our own makes us root there, allowed to create network namespaces.
  return enter_own_user_namespace(CLONE_NEWNET, why_not);
}

// --- Small private hash tables for the experiments' namespaces ------------------------------------------------
//
// A namespace shares the kernel's TCP established hash (262144 buckets here) and UDP hash (16384) with the host
// and every other namespace, and a sock_diag dump walks all of it: ~1.1 ms a snapshot here however few sockets the
// experiment has (~25 µs with the small tables). A namespace gets tables of its own, as small as asked, when the namespace of the process that
// creates it has net.ipv4.tcp_child_ehash_entries (Linux 6.1) / udp_child_hash_entries (6.2) set: they are read
// from the creator's namespace at that moment. socklab does not set them on the host, not even for an instant:
// every namespace anybody else created meanwhile would get them, two socklabs could restore each other's values,
// and a socklab killed in between would leave them set. Instead it makes one namespace of its own, the parent,
// sets them there, and creates every experiment's namespace from it (setns into the parent, unshare). Nothing
// outside socklab changes, parallel socklabs each have their own parent, and it vanishes with the process that made
// it — since each experiment runs in a process of its own (run/child.h), that is the experiment's. This works as
// root and in socklab's own user namespace alike. Where the parent's sysctl cannot be written (a kernel
// before 6.1), the parent is the first experiment's namespace and every later one is made as before.
//
// A private TCP table also shrinks the namespace's tcp_max_tw_buckets (to half its size: 512) and
// tcp_max_syn_backlog (to 128), and TIME-WAIT sockets beyond that limit silently never appear; both are set back
// to what any other new namespace has (read in the parent, whose table is the shared one).

constexpr const char* kChildTcpEhash = "net.ipv4.tcp_child_ehash_entries";
constexpr const char* kChildUdpHash = "net.ipv4.udp_child_hash_entries";
constexpr const char* kTcpEhashEntries = "1024";  // buckets; a lab experiment has tens of sockets
constexpr const char* kUdpHashEntries = "128";    // slots, the kernel's smallest
constexpr const char* kTableLimits[] = {"net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_max_syn_backlog"};

struct Parent {
  bool tried = false;
  int fd = -1;            // the parent namespace, once made
  std::string limits[2];  // kTableLimits as a namespace with the shared table has them
} parent;

std::string sysctl_path(const std::string& name) {
  std::string path = "/proc/sys/" + name;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return path;
}

std::string read_sysctl(const std::string& name) {
  int fd = open(sysctl_path(name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char text[32];
  ssize_t n = read(fd, text, sizeof text);
  close(fd);
  std::string value(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!value.empty() && value.back() == '\n') value.pop_back();
  return value;
}

// In the namespace just made: keeps it as the parent, if its children can get small tables.
bool make_parent() {
  parent.tried = true;
  for (int i = 0; i < 2; ++i) {
    parent.limits[i] = read_sysctl(kTableLimits[i]);
    if (parent.limits[i].empty()) return false;
  }
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  if (!write_proc_file(sysctl_path(kChildTcpEhash), kTcpEhashEntries)) {
    close(fd);
    return false;
  }
  write_proc_file(sysctl_path(kChildUdpHash), kUdpHashEntries);  // optional: UDP's walk is the shorter one
  parent.fd = fd;
  return true;
}

// In an experiment's namespace made in the parent.
bool raise_table_limits() {
  for (int i = 0; i < 2; ++i) {
    if (!write_proc_file(sysctl_path(kTableLimits[i]), parent.limits[i])) return false;
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
  if (parent.fd < 0) {
    if (!unshare_network_namespace(why_not)) return false;
    // The first namespace becomes the parent if it can give its children small tables; if not, it is the
    // experiment's namespace, and so is every later one, made as it is.
    if (parent.tried || !make_parent()) return bring_loopback_up(why_not);
  } else if (setns(parent.fd, CLONE_NEWNET) != 0) {
    why_not = std::string("setns(socklab's parent network namespace): ") + std::strerror(errno);
    return false;
  }
  // In the parent: the experiment's namespace is its child, with tables of its own.
  if (unshare(CLONE_NEWNET) != 0) {
    why_not = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    return false;
  }
  if (!raise_table_limits()) {
    // Cannot happen as root of a namespace we made; but no experiment may lose TIME-WAIT sockets to a limit it
    // does not know about: no small tables from now on, and this namespace made as any other.
    if (setns(parent.fd, CLONE_NEWNET) != 0 || !write_proc_file(sysctl_path(kChildTcpEhash), "0")) {
      why_not = std::string("leaving the small TCP hash table behind: ") + std::strerror(errno);
      return false;
    }
    write_proc_file(sysctl_path(kChildUdpHash), "0");
    close(std::exchange(parent.fd, -1));
    if (unshare(CLONE_NEWNET) != 0) {
      why_not = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return false;
    }
  }
  return bring_loopback_up(why_not);
}

bool set_sysctl(const std::string& name, const std::string& value, std::string& why_not) {
  std::string path = sysctl_path(name);
  if (!write_proc_file(path, value)) {
    why_not = "cannot set " + name + "=" + value + " (" + path + ": " + std::strerror(errno) + ")";
    return false;
  }
  return true;
}

}  // namespace socklab::harness
