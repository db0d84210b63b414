// Every sentence the sandbox says to an instructor or a student, in one place (for translation).
#pragma once

#include <cstdint>
#include <string>

#include "cgroup.h"  // format_bytes

namespace socklab::sandbox::text {

inline std::string over_file_limit(std::uint64_t size, std::uint64_t limit) {
  return format_bytes(size) + ", over the " + format_bytes(limit) + " limit per file";
}
inline std::string over_total_limit(std::uint64_t limit) {
  return "the submission's files together would pass " + format_bytes(limit);
}
inline std::string too_many_files(std::size_t limit) {
  return "more than " + std::to_string(limit) + " files: this one and all after it";
}
inline std::string too_deep(int limit) { return "directories nested deeper than " + std::to_string(limit); }
inline std::string symlink_left_out() { return "a symbolic link (links are never followed)"; }
inline std::string special_file_left_out() { return "not a regular file or directory"; }

inline std::string cannot_sandbox(std::string why) {
  while (!why.empty() && (why.back() == '.' || why.back() == ' ')) why.pop_back();
  return "cannot confine student code: " + why +
         ". Install bubblewrap (apt-get install bubblewrap) and allow user namespaces "
         "(sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0), or grade without a sandbox with "
         "--no-sandbox (student code then runs with your rights; only for code you trust)";
}
inline std::string no_sandbox_summary() {
  return "none (--no-sandbox): student code ran with the grader's rights, limited only by rlimits";
}
inline std::string sandbox_summary(const std::string& version) {
  return "bubblewrap " + version +
         ": own mount, pid, ipc, uts and user namespaces, no controlling terminal, all capabilities dropped, "
         "no_new_privs, a cleared environment; sees read-only system directories, its build directory, a private "
         "/tmp and /dev/shm";
}
inline std::string network_summary() {
  return "build: no network at all; programs: only the experiment's own network namespace";
}
inline std::string disk_summary(std::uint64_t bytes) {
  return format_bytes(bytes) + " for the build directory, /tmp and /dev/shm together (a tmpfs of the grading's own)";
}
inline std::string disk_unconfined(const std::string& why) { return "not capped (" + why + ")"; }
inline std::string cgroup_unconfined(const std::string& why) {
  return "unconfined (" + why + "); rlimits per process still apply";
}
inline std::string as_uid(int uid) { return "uid " + std::to_string(uid) + ", held by this grading alone"; }
inline std::string as_user_namespace() {
  return "the grader's uid, mapped into user namespaces of its own (socklab was not run as root)";
}
inline std::string oom(std::uint64_t kills, std::uint64_t limit) {
  return "the memory limit (" + format_bytes(limit) + ") was reached: the kernel killed " + std::to_string(kills) +
         " process" + (kills == 1 ? "" : "es");
}
inline std::string start_failed(const std::string& bwrap_says) { return "the sandbox could not start it: " + bwrap_says; }

}  // namespace socklab::sandbox::text
