#include "bwrap.h"

#include <filesystem>

namespace socklab::sandbox {

namespace fs = std::filesystem;

HostLayout HostLayout::probe(const std::vector<std::string>& hide) {
  HostLayout host;
  std::error_code ec;
  host.directories.push_back("/usr");
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    if (fs::is_symlink(top, ec)) {
      host.symlinks.emplace_back(fs::read_symlink(top, ec).string(), top);
    } else if (fs::is_directory(top, ec)) {
      host.directories.push_back(top);
    }
  }
  // What toolchains and the C library read from /etc. Not /etc itself: the machine's configuration stays out of reach.
  for (const char* entry : {"/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                            "/etc/localtime", "/etc/hosts", "/etc/host.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
                            "/etc/services", "/etc/protocols", "/etc/passwd", "/etc/group", "/etc/python3",
                            "/etc/python3.11", "/etc/python3.12", "/etc/python3.13"}) {
    if (fs::exists(entry, ec)) host.etc_entries.push_back(entry);
  }
  for (const std::string& dir : hide) {
    std::string real = fs::weakly_canonical(dir, ec).string();
    for (const std::string& bound : host.directories) {
      if (!ec && real.rfind(bound + "/", 0) == 0 && fs::is_directory(real, ec)) host.hidden.push_back(real);
    }
  }
  return host;
}

std::map<std::string, std::string> minimal_environment() {
  return {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", "/tmp"}, {"TMPDIR", "/tmp"},
          {"LANG", "C.UTF-8"},                      {"USER", "student"}, {"LOGNAME", "student"}};
}

std::vector<std::string> bwrap_arguments(const HostLayout& host, const WritablePlaces& places, const SandboxCommand& command) {
  std::vector<std::string> a{
      // New user, pid, ipc, uts, cgroup and (for the build) network namespaces; no way back to more rights.
      "--unshare-all", "--unshare-user", "--disable-userns", "--uid", std::to_string(command.uid), "--gid",
      std::to_string(command.gid), "--cap-drop", "ALL", "--hostname", "sandbox",
      // A session of its own: no controlling terminal to type into (TIOCSTI); dies with socklab.
      "--new-session", "--die-with-parent", "--clearenv"};
  if (command.network == Network::kShared) a.push_back("--share-net");
  std::map<std::string, std::string> env = minimal_environment();
  for (const auto& [key, value] : command.env) env[key] = value;
  for (const auto& [key, value] : env) a.insert(a.end(), {"--setenv", key, value});
  for (const std::string& dir : host.directories) a.insert(a.end(), {"--ro-bind", dir, dir});
  for (const auto& [target, path] : host.symlinks) a.insert(a.end(), {"--symlink", target, path});
  for (const std::string& entry : host.etc_entries) a.insert(a.end(), {"--ro-bind", entry, entry});
  for (const std::string& dir : host.hidden) a.insert(a.end(), {"--tmpfs", dir, "--remount-ro", dir});
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev"});
  if (places.work_fd >= 0) a.insert(a.end(), {"--bind-fd", std::to_string(places.work_fd), kWorkDir});
  if (places.tmp_fd >= 0) {
    a.insert(a.end(), {"--bind-fd", std::to_string(places.tmp_fd), "/tmp"});
  } else {
    a.insert(a.end(), {"--size", std::to_string(places.tmp_size), "--tmpfs", "/tmp"});
  }
  if (places.shm_fd >= 0) a.insert(a.end(), {"--bind-fd", std::to_string(places.shm_fd), "/dev/shm"});
  // Nothing else is writable: the sandbox's own root and /dev (bwrap makes them tmpfs) become read-only.
  a.insert(a.end(), {"--remount-ro", "/dev", "--remount-ro", "/", "--chdir", command.working_dir, "--", command.program});
  a.insert(a.end(), command.args.begin(), command.args.end());
  return a;
}

}  // namespace socklab::sandbox
