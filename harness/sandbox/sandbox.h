// The grading sandbox: everything a student's build and programs run in.
//
// Per grading: a private directory under a root-only one (/run/socklab as root), holding a tmpfs of its own (the
// disk cap: build directory, /tmp and /dev/shm together) when socklab runs in a mount namespace of its own; an
// unprivileged uid held by this grading alone (as root); a cgroup (memory incl. tmpfs, process count). Per command:
// bubblewrap (see bwrap.h) with new mount/pid/ipc/uts/user namespaces, no controlling terminal, no network for the
// build and only the experiment's network namespace for programs.
//
// The launchers it hands out wrap a command in bwrap and give back a Process whose pid, signals and exit status are
// the program's own (bwrap's monitor and its pid-1 stand between: see SandboxedProcess in sandbox.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "bwrap.h"
#include "cgroup.h"
#include "copy.h"
#include "process/process.h"

namespace socklab::sandbox {

struct SandboxOptions {
  bool enabled = true;              // false: --no-sandbox (rlimits only, as the grader)
  bool private_mounts = false;      // socklab runs in a mount namespace of its own: the disk can be a tmpfs
  CgroupLimits cgroup;              // --memory, --pids
  std::uint64_t disk_bytes = 256ull << 20;  // --disk
  CopyLimits copy;
  int uid_first = 64000, uid_last = 64999;  // as root: the pool of sandbox uids
  harness::ResourceLimits program_limits, build_limits;
  std::vector<std::string> hidden;  // socklab's own directories: never visible inside, even when under /usr
};

// How the grading was confined, as the report says it.
struct Confinement {
  std::string sandbox, identity, cgroup, disk, network;
  std::uint64_t memory_limit = 0, peak_memory = 0, oom_kills = 0;
};

class Sandbox {
 public:
  // Throws std::runtime_error with text::cannot_sandbox(...) when confinement was asked for and cannot be had.
  explicit Sandbox(const SandboxOptions& options);
  ~Sandbox();  // ends everything of the student's, removes the directory
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& build_dir() const;  // on the host; /work inside
  CopyReport copy_in(const std::string& submission);
  // Every command it starts runs sandboxed without network (the build).
  std::unique_ptr<harness::Launcher> build_launcher(harness::EventLoop& loop, harness::Launcher& inner);
  // Programs under build_dir() run sandboxed in the current network namespace; any other (a reference program) is
  // started by `inner` as it is, out of the student's sight.
  std::unique_ptr<harness::Launcher> program_launcher(harness::EventLoop& loop, harness::Launcher& inner);
  // Kills whatever of the student's is still running (cgroup, sandbox uid); returns how many processes that was.
  std::size_t end_all();
  Confinement confinement() const;
  int uid() const;  // the sandbox uid as root, else -1

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// True when this process is root in the machine's initial user namespace (not just root in one of its own).
bool host_root();
// bwrap's version ("0.8.0"), or nullopt with why not when it is missing or cannot make a sandbox here.
std::optional<std::string> bwrap_version(std::string& why_not);

}  // namespace socklab::sandbox
