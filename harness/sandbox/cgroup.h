// A control group per grading: memory (tmpfs pages included) and the number of processes of everything the student's
// code starts, on cgroup v1 (one hierarchy per controller) or v2 (one unified hierarchy). The group is created under
// socklab's own group, so a limit set on socklab (a container's, a systemd unit's) still applies around it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace socklab::sandbox {

struct CgroupLimits {
  std::uint64_t memory_bytes = 1ull << 30;
  unsigned pids = 128;
};

enum class CgroupVersion { kV1, kV2 };

class Cgroup {
 public:
  // Creates the group under `fs_root` (normally /sys/fs/cgroup; a test passes a fake tree) for the process described
  // by `self_cgroup` (the text of /proc/self/cgroup). Throws std::runtime_error saying why it cannot.
  static Cgroup create(const std::string& fs_root, const std::string& self_cgroup, const std::string& name,
                       const CgroupLimits& limits);
  Cgroup(Cgroup&& other) noexcept;
  Cgroup& operator=(Cgroup&&) = delete;
  Cgroup(const Cgroup&) = delete;
  ~Cgroup();  // kills what is left, removes the group

  CgroupVersion version() const { return version_; }
  // The cgroup.procs files a process writes "0" to, to join (see ProcessSpec::cgroup_procs).
  const std::vector<std::string>& procs_files() const { return procs_; }
  // Every process in the group (read from cgroup.procs of the first hierarchy).
  std::vector<pid_t> members() const;
  // SIGKILL to every member until none is left (cgroup.kill where v2 has it), at most `seconds`; how many there were.
  std::size_t kill_all(double seconds = 5);
  // How often the kernel's OOM killer killed a member, and the most memory the group used (0 when unknown).
  std::uint64_t oom_kills() const;
  std::uint64_t peak_memory() const;
  std::string describe() const;  // "cgroup v1: memory 1 GiB (tmpfs included), 128 processes"

  // Removes groups that earlier socklabs left under `parent` dirs when they were killed (named socklab-PID-*, PID
  // no longer running).
  static void remove_stale(const std::string& fs_root, const std::string& self_cgroup);

 private:
  Cgroup() = default;
  CgroupVersion version_ = CgroupVersion::kV2;
  CgroupLimits limits_;
  std::vector<std::string> dirs_;   // v1: one per controller (memory, pids); v2: one
  std::vector<std::string> procs_;
};

// Where the group would go, without creating anything: for each hierarchy, the directory of socklab's own group.
// Exposed for tests of the /proc/self/cgroup parsing.
struct CgroupPlacement {
  CgroupVersion version;
  std::vector<std::string> parents;  // v1: memory's, then pids'; v2: the one
};
std::optional<CgroupPlacement> place_cgroup(const std::string& fs_root, const std::string& self_cgroup, std::string& why_not);

std::string format_bytes(std::uint64_t bytes);  // "1 GiB", "256 MiB", "1.5 GiB"

}  // namespace socklab::sandbox
