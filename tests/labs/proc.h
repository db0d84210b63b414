// Test support: what /proc says about a process (its children, zombies, open descriptors).
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace testing_support {

struct ProcessInfo {
  pid_t pid;
  char state;  // R, S, Z (zombie), ...
};

// Direct children of `parent`, from /proc/PID/stat (field 4 is the parent's pid, field 3 the state).
inline std::vector<ProcessInfo> children_of(pid_t parent) {
  std::vector<ProcessInfo> result;
  DIR* proc = opendir("/proc");
  if (!proc) return result;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(atoi(entry->d_name));
    if (pid <= 0) continue;
    // Through operator<< (which catches a read error) rather than istreambuf_iterator (which throws one): a process
    // that ends between open() and read() makes read() fail with ESRCH.
    std::ifstream stat("/proc/" + std::string(entry->d_name) + "/stat");
    std::ostringstream read;
    read << stat.rdbuf();
    std::string text = read.str();
    std::size_t close_paren = text.rfind(')');  // the command name may contain spaces and parentheses
    if (close_paren == std::string::npos) continue;
    std::istringstream fields(text.substr(close_paren + 2));
    char state = 0;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid == parent) result.push_back({pid, state});
  }
  closedir(proc);
  return result;
}

// Number of open file descriptors of pid (entries of /proc/PID/fd).
inline int open_fd_count(pid_t pid) {
  int count = 0;
  DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!dir) return -1;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

}  // namespace testing_support
