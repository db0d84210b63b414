#include "process/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace socklab::harness {

std::optional<std::string> read_to_end(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      return text;
    } else if (errno != EINTR) {
      return std::nullopt;
    }
  }
}

std::string read_proc_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::optional<std::string> text = read_to_end(fd);
  close(fd);
  return text.value_or("");
}

bool write_proc_file(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);  // (no O_TRUNC: these files are not truncated, only written)
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

std::optional<ProcStat> proc_stat(pid_t pid) {
  std::string text = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
  std::size_t paren = text.rfind(')');  // the command name may hold spaces and parentheses: the last ')' ends it
  if (paren == std::string::npos || paren + 2 > text.size()) return std::nullopt;
  ProcStat s;
  long session = 0, tty = 0, tpgid = 0;
  unsigned long flags = 0;
  std::istringstream(text.substr(paren + 2)) >> s.state >> s.ppid >> s.pgrp >> session >> tty >> tpgid >> flags;
  constexpr unsigned long kPfExiting = 0x4;  // include/linux/sched.h
  s.exiting = (flags & kPfExiting) != 0 || s.state == 'Z' || s.state == 'X';
  return s;
}

std::vector<pid_t> still_alive(const std::vector<pid_t>& pids) {
  std::vector<pid_t> alive;
  for (pid_t pid : pids) {
    if (auto st = proc_stat(pid); st && !st->exiting) alive.push_back(pid);
  }
  return alive;
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (!proc) return pids;
  while (dirent* e = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid > 0) pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

std::vector<pid_t> children_of(pid_t parent) {
  static const bool kernel_lists_children =
      access(("/proc/self/task/" + std::to_string(getpid()) + "/children").c_str(), R_OK) == 0;
  std::vector<pid_t> children;
  if (kernel_lists_children) {
    std::istringstream in(read_proc_file("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children"));
    for (pid_t pid; in >> pid;) children.push_back(pid);
    return children;
  }
  for (pid_t pid : all_pids()) {
    if (auto st = proc_stat(pid); st && st->ppid == parent) children.push_back(pid);
  }
  return children;
}

std::vector<pid_t> zombie_children(pid_t parent) {
  std::vector<pid_t> zombies;
  for (pid_t pid : children_of(parent)) {
    if (auto st = proc_stat(pid); st && st->state == 'Z') zombies.push_back(pid);
  }
  return zombies;
}

pid_t innermost_pid(pid_t pid) {
  std::string status = read_proc_file("/proc/" + std::to_string(pid) + "/status");
  auto at = status.find("\nNSpid:");
  if (at == std::string::npos) return -1;
  std::istringstream line(status.substr(at + 7, status.find('\n', at + 1) - at - 7));
  pid_t last = -1;
  for (pid_t p; line >> p;) last = p;
  return last;
}

std::vector<pid_t> processes_of_uid(uid_t uid) {
  std::vector<pid_t> found;
  for (pid_t pid : all_pids()) {
    std::string status = read_proc_file("/proc/" + std::to_string(pid) + "/status");
    auto uid_at = status.find("\nUid:\t");
    bool zombie = status.find("\nState:\tZ") != std::string::npos;
    if (uid_at != std::string::npos && static_cast<uid_t>(std::atol(status.c_str() + uid_at + 6)) == uid && !zombie) {
      found.push_back(pid);
    }
  }
  return found;
}

int open_fd_count(pid_t pid) {
  DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!dir) return -1;
  int count = 0;
  while (dirent* e = readdir(dir)) count += e->d_name[0] != '.';
  closedir(dir);
  return count;
}

}  // namespace socklab::harness
