#include "cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "process/process.h"  // read_proc_file

namespace socklab::sandbox {

namespace fs = std::filesystem;

namespace {

bool write_text(const std::string& path, const std::string& text, int& error) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    error = errno;
    return false;
  }
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  error = ok ? 0 : errno;
  close(fd);
  return ok;
}

void write_or_throw(const std::string& path, const std::string& text) {
  int error = 0;
  if (!write_text(path, text, error)) {
    throw std::runtime_error("cannot write \"" + text + "\" to " + path + ": " + std::strerror(error));
  }
}

std::uint64_t number_after(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  for (std::string k; in >> k;) {
    std::uint64_t value = 0;
    if (k == key && in >> value) return value;
  }
  return 0;
}

std::uint64_t number_in(const std::string& path) {
  std::string text = harness::read_proc_file(path);
  return text.empty() ? 0 : std::strtoull(text.c_str(), nullptr, 10);
}

// The path of socklab's own group in the hierarchy that has `controller` (v1), or the unified one ("" key, v2).
std::optional<std::string> own_path(const std::string& self_cgroup, const std::string& controller) {
  std::istringstream lines(self_cgroup);
  for (std::string line; std::getline(lines, line);) {
    auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (controller.empty()) {
      if (line.compare(0, first, "0") == 0 && controllers.empty()) return path;
      continue;
    }
    std::istringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');) {
      if (name == controller) return path;
    }
  }
  return std::nullopt;
}

std::set<std::string> words(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

bool pid_running(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  std::ostringstream out;
  if (value == static_cast<std::uint64_t>(value)) {
    out << static_cast<std::uint64_t>(value);
  } else {
    out.precision(value < 10 ? 2 : 3);
    out << value;
  }
  out << " " << units[unit];
  return out.str();
}

std::optional<CgroupPlacement> place_cgroup(const std::string& fs_root, const std::string& self_cgroup,
                                            std::string& why_not) {
  std::error_code ec;
  if (fs::exists(fs::path(fs_root) / "cgroup.controllers", ec)) {
    auto path = own_path(self_cgroup, "");
    if (!path) {
      why_not = "cgroup v2 is mounted at " + fs_root + " but /proc/self/cgroup has no 0:: line";
      return std::nullopt;
    }
    std::string parent = (fs::path(fs_root) / path->substr(1)).lexically_normal().string();
    if (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    auto available = words(harness::read_proc_file(parent + "/cgroup.controllers"));
    for (const char* c : {"memory", "pids"}) {
      if (!available.count(c)) {
        why_not = std::string("cgroup v2: the ") + c + " controller is not available in " + parent;
        return std::nullopt;
      }
    }
    return CgroupPlacement{CgroupVersion::kV2, {parent}};
  }
  CgroupPlacement placement{CgroupVersion::kV1, {}};
  for (const char* controller : {"memory", "pids"}) {
    auto path = own_path(self_cgroup, controller);
    fs::path dir = fs::path(fs_root) / controller;
    if (!path || !fs::is_directory(dir, ec)) {
      why_not = std::string("no cgroup v2 and no v1 ") + controller + " hierarchy under " + fs_root;
      return std::nullopt;
    }
    std::string parent = (dir / path->substr(1)).lexically_normal().string();
    if (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    placement.parents.push_back(parent);
  }
  return placement;
}

Cgroup Cgroup::create(const std::string& fs_root, const std::string& self_cgroup, const std::string& name,
                      const CgroupLimits& limits) {
  std::string why_not;
  auto placement = place_cgroup(fs_root, self_cgroup, why_not);
  if (!placement) throw std::runtime_error(why_not);
  Cgroup group;
  group.version_ = placement->version;
  group.limits_ = limits;
  if (group.version_ == CgroupVersion::kV2) {
    const std::string& parent = placement->parents.front();
    auto enabled = words(harness::read_proc_file(parent + "/cgroup.subtree_control"));
    if (!enabled.count("memory") || !enabled.count("pids")) {
      int error = 0;
      if (!write_text(parent + "/cgroup.subtree_control", "+memory +pids", error)) {
        throw std::runtime_error("cgroup v2: cannot enable the memory and pids controllers below " + parent + " (" +
                                 std::strerror(error) +
                                 (error == EBUSY ? ": that group holds processes, socklab among them; run socklab in a "
                                                   "group of its own with the controllers delegated"
                                                 : "") +
                                 ")");
      }
    }
  }
  for (const std::string& parent : placement->parents) {
    std::string dir = parent + "/" + name;
    if (mkdir(dir.c_str(), 0755) != 0) {
      throw std::runtime_error("cannot create the cgroup " + dir + ": " + std::strerror(errno));
    }
    group.dirs_.push_back(dir);  // from here on, the destructor removes it
    group.procs_.push_back(dir + "/cgroup.procs");
  }
  std::string memory = std::to_string(limits.memory_bytes);
  if (group.version_ == CgroupVersion::kV2) {
    const std::string& dir = group.dirs_.front();
    write_or_throw(dir + "/memory.max", memory);
    if (fs::exists(dir + "/memory.swap.max")) write_or_throw(dir + "/memory.swap.max", "0");
    write_or_throw(dir + "/pids.max", std::to_string(limits.pids));
  } else {
    const std::string& mem = group.dirs_[0];
    write_or_throw(mem + "/memory.limit_in_bytes", memory);
    if (fs::exists(mem + "/memory.memsw.limit_in_bytes")) write_or_throw(mem + "/memory.memsw.limit_in_bytes", memory);
    write_or_throw(group.dirs_[1] + "/pids.max", std::to_string(limits.pids));
  }
  return group;
}

Cgroup::Cgroup(Cgroup&& other) noexcept
    : version_(other.version_), limits_(other.limits_), dirs_(std::move(other.dirs_)), procs_(std::move(other.procs_)) {
  other.dirs_.clear();
  other.procs_.clear();
}

Cgroup::~Cgroup() {
  if (dirs_.empty()) return;
  kill_all();
  for (const std::string& dir : dirs_) {
    // A group can be removed once its last member is gone; a dying member may take a moment.
    for (int attempt = 0; attempt < 500 && rmdir(dir.c_str()) != 0 && errno == EBUSY; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

std::vector<pid_t> Cgroup::members() const {
  std::set<pid_t> pids;
  for (const std::string& procs : procs_) {
    std::istringstream in(harness::read_proc_file(procs));
    for (pid_t pid; in >> pid;) pids.insert(pid);
  }
  return {pids.begin(), pids.end()};
}

std::size_t Cgroup::kill_all(double seconds) {
  std::set<pid_t> seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  bool kill_file = version_ == CgroupVersion::kV2 && !dirs_.empty() && fs::exists(dirs_.front() + "/cgroup.kill");
  for (;;) {
    std::vector<pid_t> left = members();
    if (left.empty()) break;
    for (pid_t pid : harness::still_alive(left)) seen.insert(pid);  // not one already dying (a sandbox tearing down)
    if (std::chrono::steady_clock::now() > deadline) break;
    int error = 0;
    if (!kill_file || !write_text(dirs_.front() + "/cgroup.kill", "1", error)) {
      for (pid_t pid : left) kill(pid, SIGKILL);  // no member can leave the group: a fork is caught next round
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return seen.size();
}

std::uint64_t Cgroup::oom_kills() const {
  if (dirs_.empty()) return 0;
  const std::string& mem = dirs_.front();
  std::string events = harness::read_proc_file(mem + (version_ == CgroupVersion::kV2 ? "/memory.events" : "/memory.oom_control"));
  return number_after(events, "oom_kill");
}

std::uint64_t Cgroup::peak_memory() const {
  if (dirs_.empty()) return 0;
  const std::string& mem = dirs_.front();
  return number_in(mem + (version_ == CgroupVersion::kV2 ? "/memory.peak" : "/memory.max_usage_in_bytes"));
}

std::string Cgroup::describe() const {
  return std::string(version_ == CgroupVersion::kV2 ? "cgroup v2" : "cgroup v1") + ": memory " +
         format_bytes(limits_.memory_bytes) + " (tmpfs included), " + std::to_string(limits_.pids) + " processes";
}

void Cgroup::remove_stale(const std::string& fs_root, const std::string& self_cgroup) {
  std::string why_not;
  auto placement = place_cgroup(fs_root, self_cgroup, why_not);
  if (!placement) return;
  for (const std::string& parent : placement->parents) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(parent, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("socklab-", 0) != 0 || !entry.is_directory()) continue;
      pid_t owner = static_cast<pid_t>(std::atoi(name.c_str() + 8));
      if (owner <= 0 || pid_running(owner)) continue;
      Cgroup stale;
      stale.version_ = placement->version;
      stale.dirs_ = {entry.path().string()};
      stale.procs_ = {entry.path().string() + "/cgroup.procs"};
    }  // each `stale` kills its members and removes itself here
  }
}

}  // namespace socklab::sandbox
