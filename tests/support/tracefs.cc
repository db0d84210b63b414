#include "tracefs.h"

#include <sys/stat.h>

#include <filesystem>

namespace testing_support {

std::string tracefs_instance_prefix(pid_t pid) {
  struct stat st {};
  std::string ns = stat("/proc/self/ns/pid", &st) == 0 ? std::to_string(st.st_ino) : "0";
  return "socklab-" + ns + "-" + std::to_string(pid) + "-";
}

std::vector<std::string> tracefs_instances_of(pid_t pid) {
  std::vector<std::string> found;
  std::string prefix = tracefs_instance_prefix(pid);
  for (const char* root : {"/sys/kernel/tracing/instances", "/sys/kernel/debug/tracing/instances"}) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
      if (entry.path().filename().string().rfind(prefix, 0) == 0) found.push_back(entry.path());
    }
    if (!ec) break;
  }
  return found;
}

}  // namespace testing_support
