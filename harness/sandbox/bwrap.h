// The bubblewrap command line for one sandboxed command: what student code sees and may do. Pure: builds arguments,
// starts nothing (sandbox.cc starts them).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace socklab::sandbox {

// The host's system directories as the sandbox shows them (read-only): /usr, the /bin, /lib… links of a merged-/usr
// system (or the directories themselves), and the few files of /etc that a compiler, python3 and the resolver read.
struct HostLayout {
  std::vector<std::pair<std::string, std::string>> symlinks;  // {target, path}: /bin -> usr/bin
  std::vector<std::string> directories;                       // bound read-only at the same path
  std::vector<std::string> etc_entries;                       // /etc/... that exist here
  // Directories inside those that student code must not see (socklab itself, the reference programs and the
  // experiments, if installed under /usr): covered by an empty read-only tmpfs.
  std::vector<std::string> hidden;
  // Looks at this machine; `hide` lists the directories to cover when they lie in what is bound.
  static HostLayout probe(const std::vector<std::string>& hide = {});
};

// The writable places, as descriptors socklab opened (O_PATH) on the grading's own directories: bound by descriptor,
// so the sandbox user needs no right to the root-only directory above them. -1: a private tmpfs of `tmp_size` bytes
// for /tmp (nothing else writable).
struct WritablePlaces {
  int work_fd = -1;  // -> /work: the build directory, the student's copy
  int tmp_fd = -1;   // -> /tmp
  int shm_fd = -1;   // -> /dev/shm
  std::uint64_t tmp_size = 64ull << 20;
};

enum class Network { kNone, kShared };  // the build: none at all; programs: the experiment's namespace

struct SandboxCommand {
  std::string program;                     // its path inside the sandbox
  std::vector<std::string> args;
  std::string working_dir = "/work";
  std::map<std::string, std::string> env;  // on top of the minimal environment
  Network network = Network::kNone;
  int uid = 1000, gid = 1000;              // the identity inside
};

inline constexpr const char* kWorkDir = "/work";

// The minimal environment of sandboxed code: PATH, HOME, TMPDIR, LANG, USER, LOGNAME; nothing of socklab's.
std::map<std::string, std::string> minimal_environment();

// bwrap's arguments (without "bwrap" itself) for the command.
std::vector<std::string> bwrap_arguments(const HostLayout& host, const WritablePlaces& places, const SandboxCommand& command);

}  // namespace socklab::sandbox
