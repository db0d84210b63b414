#include "sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "process/proc.h"
#include "text.h"

namespace socklab::sandbox {

namespace fs = std::filesystem;
using harness::Clock;
using harness::ExitStatus;
using harness::Launcher;
using harness::OutputStream;
using harness::Process;
using harness::ProcessSpec;
using harness::read_proc_file;
using harness::children_of;
using harness::innermost_pid;
using harness::processes_of_uid;

namespace {

// --- small /proc helpers ------------------------------------------------------------------------------------------

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }
constexpr int kPidfdIdType = 3;  // P_PIDFD for waitid(2) (Linux 5.4), not in every libc's headers

bool pid_running(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

std::string uid_map() { return read_proc_file("/proc/self/uid_map"); }

// The uid socklab has outside its own user namespace (the grader's), for naming its directory.
long outer_uid() {
  std::istringstream map(uid_map());
  long inside = -1, outside = -1;
  if (map >> inside >> outside && inside == static_cast<long>(getuid())) return outside;
  return static_cast<long>(getuid());
}

// A directory that must be ours alone: created if missing, refused if it is a link or someone else's, 0711
// (others may pass through to a name they know, never list it: bwrap, running as the sandbox uid, resolves the
// descriptors socklab hands it through such a path).
void private_dir(const std::string& path) {
  mkdir(path.c_str(), 0711);
  struct stat st{};
  if (lstat(path.c_str(), &st) != 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
    throw std::runtime_error(path + " is not a directory of socklab's own user (a link, or someone else's): refusing to use it");
  }
  if (chmod(path.c_str(), 0711) != 0) throw std::runtime_error("chmod " + path + ": " + std::strerror(errno));
}

std::string base_dir() {
  if (host_root()) return "/run/socklab";
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::string parent = runtime && *runtime && access(runtime, W_OK) == 0 ? runtime : "/tmp";
  return parent + "/socklab-" + std::to_string(outer_uid());
}

// --- the sandbox uid ----------------------------------------------------------------------------------------------

// As root, student code runs as an unprivileged uid that this grading holds alone: taken only with an flock on
// /run/socklab/uids/N (opened O_NOFOLLOW in a root-only directory; the kernel drops the lock however socklab ends)
// and only when no process runs as it.
class SandboxUser {
 public:
  SandboxUser(int first, int last) {
    std::string dir = base_dir() + "/uids";
    private_dir(base_dir());
    mkdir(dir.c_str(), 0700);
    struct stat st{};
    if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0) {
      throw std::runtime_error(dir + " is not root's directory: refusing to keep sandbox-uid locks there");
    }
    chmod(dir.c_str(), 0700);
    long count = static_cast<long>(last) - first + 1;
    for (long i = 0; i < count && uid_ < 0; ++i) {
      int uid = first + static_cast<int>((getpid() + i) % count);
      int fd = open((dir + "/" + std::to_string(uid)).c_str(), O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) continue;
      if (flock(fd, LOCK_EX | LOCK_NB) == 0 && processes_of_uid(static_cast<uid_t>(uid)).empty()) {
        uid_ = uid;
        lock_ = fd;
      } else {
        close(fd);
      }
    }
    if (uid_ < 0) {
      throw std::runtime_error("no free sandbox uid in " + std::to_string(first) + "-" + std::to_string(last) +
                               " (each is held by another grading or used by a running process; see --sandbox-uids)");
    }
  }
  SandboxUser(const SandboxUser&) = delete;
  SandboxUser& operator=(const SandboxUser&) = delete;
  ~SandboxUser() {
    end_all();
    if (lock_ >= 0) close(lock_);
  }
  int uid() const { return uid_; }

  // Kills everything still running as the uid, waits until it is gone (at most 5 s); how many there were.
  std::size_t end_all() {
    std::set<pid_t> seen;
    auto deadline = Clock::now() + std::chrono::seconds(5);
    for (;;) {
      std::vector<pid_t> left = processes_of_uid(static_cast<uid_t>(uid_));
      if (left.empty() || Clock::now() > deadline) break;
      for (pid_t pid : harness::still_alive(left)) seen.insert(pid);  // not one already dying (a sandbox tearing down)
      pid_t killer = fork();  // kill(-1) as the uid itself reaches exactly the processes of that uid
      if (killer == 0) {
        if (setgid(static_cast<gid_t>(uid_)) == 0 && setuid(static_cast<uid_t>(uid_)) == 0) kill(-1, SIGKILL);
        _exit(0);
      }
      if (killer > 0) waitpid(killer, nullptr, 0);
      for (pid_t pid : left) waitpid(pid, nullptr, WNOHANG);  // ours to reap when we were their subreaper
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (pid_t pid : seen) waitpid(pid, nullptr, WNOHANG);
    return seen.size();
  }

 private:
  int uid_ = -1;
  int lock_ = -1;
};

// --- the grading's directory ----------------------------------------------------------------------------------------

void remove_stale_workspaces(const std::string& base) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("grade-", 0) != 0) continue;
    pid_t owner = static_cast<pid_t>(std::atoi(name.c_str() + 6));
    if (owner <= 0 || pid_running(owner)) continue;
    umount2((entry.path() / "disk").c_str(), MNT_DETACH);
    fs::remove_all(entry.path(), ec);
  }
}

struct Workspace {
  std::string dir, disk, work;
  bool mounted = false;
  WritablePlaces places;

  Workspace(std::uint64_t disk_bytes, bool private_mounts, int uid) {
    std::string base = base_dir();
    private_dir(base);
    remove_stale_workspaces(base);
    std::string pattern = base + "/grade-" + std::to_string(getpid()) + "-XXXXXX";
    if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a directory in " + base + ": " + std::strerror(errno));
    dir = pattern;
    chmod(dir.c_str(), 0711);
    disk = dir + "/disk";
    if (mkdir(disk.c_str(), 0700) != 0) throw std::runtime_error("mkdir " + disk + ": " + std::strerror(errno));
    if (private_mounts) {
      std::string owner = uid >= 0 ? ",uid=" + std::to_string(uid) + ",gid=" + std::to_string(uid) : "";
      std::string data = "size=" + std::to_string(disk_bytes) + ",nr_inodes=65536,mode=0700" + owner;
      if (mount("socklab", disk.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
        throw std::runtime_error("mounting the grading's tmpfs on " + disk + ": " + std::strerror(errno));
      }
      mounted = true;
    } else if (uid >= 0 && chown(disk.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(uid)) != 0) {
      throw std::runtime_error("chown " + disk + ": " + std::strerror(errno));
    }
    work = disk + "/work";
    int* fds[] = {&places.work_fd, &places.tmp_fd, &places.shm_fd};
    const char* names[] = {"work", "tmp", "shm"};
    for (int i = 0; i < 3; ++i) {
      std::string path = disk + "/" + names[i];
      if (mkdir(path.c_str(), 0700) != 0) throw std::runtime_error("mkdir " + path + ": " + std::strerror(errno));
      if (uid >= 0 && chown(path.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(uid)) != 0) {
        throw std::runtime_error("chown " + path + ": " + std::strerror(errno));
      }
      *fds[i] = open(path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (*fds[i] < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    }
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() {
    for (int fd : {places.work_fd, places.tmp_fd, places.shm_fd}) {
      if (fd >= 0) close(fd);
    }
    if (mounted) umount2(disk.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::string find_bwrap() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(std::string(path ? path : "") + ":/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    if (d.empty()) continue;
    std::string candidate = d + "/bwrap";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace

bool host_root() {
  if (getuid() != 0) return false;
  std::istringstream map(uid_map());
  long inside = -1, outside = -1, count = 0;
  return map >> inside >> outside >> count && inside == 0 && outside == 0 && count == 4294967295L;
}

std::optional<std::string> bwrap_version(std::string& why_not) {
  std::string bwrap = find_bwrap();
  if (bwrap.empty()) {
    why_not = "bwrap (bubblewrap) is not installed";
    return std::nullopt;
  }
  std::string command = bwrap + " --version 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    why_not = "cannot run " + bwrap;
    return std::nullopt;
  }
  char line[128] = {};
  bool read = fgets(line, sizeof line, pipe) != nullptr;
  pclose(pipe);
  std::string text = read ? line : "";
  if (text.rfind("bubblewrap ", 0) != 0) {
    why_not = bwrap + " --version said \"" + text + "\"";
    return std::nullopt;
  }
  text = text.substr(11);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// --- the state of one grading's sandbox ------------------------------------------------------------------------------

struct Sandbox::State {
  SandboxOptions options;
  std::string bwrap, version;
  HostLayout host;
  std::optional<SandboxUser> user;
  std::optional<Workspace> workspace;
  std::optional<Cgroup> cgroup;
  std::string cgroup_why_not;

  int uid() const { return user ? user->uid() : -1; }
  // The identity inside the sandbox: the sandbox uid as root; else an ordinary uid mapped onto the grader's.
  int inner_uid() const { return user ? user->uid() : 1000; }

  // The wrapped spec that runs `spec` (a program under the build directory, or a build command) in bwrap.
  ProcessSpec wrap(const ProcessSpec& spec, Network network, const harness::ResourceLimits& limits) const {
    ProcessSpec w;
    w.name = spec.name;
    w.stdout_pty = spec.stdout_pty;
    w.output_cap = spec.output_cap;
    w.limits = limits;
    w.uid = w.gid = uid();
    if (cgroup) w.cgroup_procs = cgroup->procs_files();
    w.inherit_env = false;  // bwrap's own environment is readable in the sandbox (/proc/1/environ): give it nothing
    w.env = minimal_environment();
    if (!options.enabled) {  // --no-sandbox: the limits, the uid, the cgroup and a clean environment, nothing more
      w.path = spec.path;
      w.args = spec.args;
      for (const auto& [key, value] : spec.env) w.env[key] = value;
      w.env["HOME"] = w.env["TMPDIR"] = workspace->disk + "/tmp";
      w.working_dir = spec.working_dir.empty() ? workspace->work : spec.working_dir;
      return w;
    }
    SandboxCommand command;
    command.program = inside(spec.path);
    command.args = spec.args;
    command.working_dir = spec.working_dir.empty() ? std::string(kWorkDir) : inside(spec.working_dir);
    command.env = spec.env;
    command.network = network;
    command.uid = command.gid = inner_uid();
    w.path = bwrap;
    w.args = bwrap_arguments(host, workspace->places, command);
    w.working_dir = "/";
    w.keep_fds = {workspace->places.work_fd, workspace->places.tmp_fd, workspace->places.shm_fd};
    return w;
  }

  bool under_build_dir(const std::string& path) const {
    return path.rfind(workspace->work + "/", 0) == 0 || path == workspace->work;
  }
  std::string inside(const std::string& path) const {
    return under_build_dir(path) ? std::string(kWorkDir) + path.substr(workspace->work.size()) : path;
  }
};

namespace {

// A program running in bwrap. bwrap's monitor is our child; inside, bwrap's pid 1 reaps and the program is pid 2.
// The harness wants the program: its pid (for signals, /proc/PID/fd, its children), its output (the monitor passes
// the descriptors through) and how it ended (the monitor exits with its code, or 128+N for death by signal N, as a
// shell does; read back as a signal). Ending it ends the whole sandbox: the monitor is killed, pid 1 follows
// (--die-with-parent), and with it every process of the sandbox's pid namespace.
class SandboxedProcess : public Process {
 public:
  SandboxedProcess(harness::EventLoop& loop, std::unique_ptr<Process> monitor, const ProcessSpec& spec,
                   const std::string& bwrap)
      : loop_(loop), monitor_(std::move(monitor)), spec_(spec) {
    find_program(bwrap);
  }
  ~SandboxedProcess() override {
    terminate_group(std::chrono::milliseconds(0));
    for (int fd : {init_fd_, program_fd_}) {
      if (fd >= 0) close(fd);
    }
  }

  const ProcessSpec& spec() const override { return spec_; }
  pid_t pid() const override { return program_ > 0 ? program_ : monitor_->pid(); }
  void write_stdin(std::string data) override { monitor_->write_stdin(std::move(data)); }
  void close_stdin() override { monitor_->close_stdin(); }
  const OutputStream& out() const override { return monitor_->out(); }
  const OutputStream& err() const override { return monitor_->err(); }
  bool stdin_write_failed() const override { return monitor_->stdin_write_failed(); }

  void send_signal(int sig) override {
    if (program_fd_ >= 0 && !monitor_->exit_status()) syscall(SYS_pidfd_send_signal, program_fd_, sig, nullptr, 0);
  }

  std::optional<ExitStatus> exit_status() const override {
    auto status = monitor_->exit_status();
    if (status && status->exited && status->code > 128 && status->code < 128 + 65) {
      ExitStatus signalled;
      signalled.signal = status->code - 128;
      return signalled;
    }
    return status;
  }

  void terminate_group(std::chrono::milliseconds grace) override {
    if (!monitor_->exit_status() && grace.count() > 0 && init_ > 0) {
      kill(-init_, SIGTERM);  // the program's group (bwrap's pid 1 leads it, and ignores SIGTERM from outside)
      loop_.run_until([&] { return monitor_->exit_status().has_value(); }, Clock::now() + grace);
    }
    monitor_->terminate_group(std::chrono::milliseconds(0));
    if (init_fd_ >= 0) {  // until pid 1 is gone, and so every process of the sandbox
      pollfd p{init_fd_, POLLIN, 0};
      poll(&p, 1, 5000);
      // Its parent, the monitor, is gone: as a subreaper (socklab grade is one) we inherited it, and reap it here,
      // or its zombie would count against the sandbox's process limits until socklab ends. (By pidfd: never
      // another child that got the same pid.)
      siginfo_t info{};
      waitid(static_cast<idtype_t>(kPidfdIdType), static_cast<id_t>(init_fd_), &info, WEXITED | WNOHANG);
    }
  }

 private:
  // Finds the program (the child of bwrap's pid 1 that is pid 2 inside) once it has exec'd, or notices that bwrap
  // ended first: at most 10 s. A bwrap that failed to set up the sandbox says why on stderr: that is the error.
  void find_program(const std::string& bwrap) {
    auto deadline = Clock::now() + std::chrono::seconds(10);
    pid_t monitor = monitor_->pid();
    while (Clock::now() < deadline) {
      loop_.poll();
      if (program_ > 0) {
        std::error_code ec;
        std::string exe = fs::read_symlink("/proc/" + std::to_string(program_) + "/exe", ec).string();
        if (!ec && exe != bwrap) return;  // exec'd: the program runs
      } else {
        if (init_ <= 0) {
          for (pid_t child : children_of(monitor)) {
            init_ = child;
            init_fd_ = pidfd_open(init_);
          }
        }
        if (init_ > 0) {
          for (pid_t child : children_of(init_)) {
            if (innermost_pid(child) == 2) {
              program_ = child;
              program_fd_ = pidfd_open(program_);
            }
          }
        }
      }
      if (monitor_->exit_status()) break;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    // bwrap ended before the program was seen running: either it could not start it (its message is on stderr),
    // or the program ran and ended at once.
    loop_.run_until([&] { return monitor_->exit_status().has_value() && monitor_->err().closed; },
                    Clock::now() + std::chrono::milliseconds(500));
    if (monitor_->exit_status()) {
      for (const std::string& line : monitor_->err().lines) {
        if (line.rfind("bwrap: ", 0) == 0) throw std::runtime_error(text::start_failed(line));
      }
    }
  }

  harness::EventLoop& loop_;
  std::unique_ptr<Process> monitor_;
  ProcessSpec spec_;
  pid_t init_ = -1, program_ = -1;
  int init_fd_ = -1, program_fd_ = -1;
};

class SandboxLauncher : public Launcher {
 public:
  SandboxLauncher(harness::EventLoop& loop, Launcher& inner, const Sandbox::State& state, bool build)
      : loop_(loop), inner_(inner), state_(state), build_(build) {}

  std::unique_ptr<Process> start(const ProcessSpec& spec) override {
    if (!build_ && !state_.under_build_dir(spec.path)) return inner_.start(spec);  // a reference program
    const harness::ResourceLimits& limits = build_ ? state_.options.build_limits : state_.options.program_limits;
    ProcessSpec wrapped = state_.wrap(spec, build_ ? Network::kNone : Network::kShared, limits);
    auto started = inner_.start(wrapped);
    if (!state_.options.enabled) return started;
    return std::make_unique<SandboxedProcess>(loop_, std::move(started), spec, state_.bwrap);
  }

 private:
  harness::EventLoop& loop_;
  Launcher& inner_;
  const Sandbox::State& state_;
  bool build_;
};

}  // namespace

Sandbox::Sandbox(const SandboxOptions& options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = options;
  if (options.enabled) {
    std::string why_not;
    auto version = bwrap_version(why_not);
    if (!version) throw std::runtime_error(text::cannot_sandbox(why_not));
    s.version = *version;
    s.bwrap = find_bwrap();
    s.host = HostLayout::probe(options.hidden);
  }
  if (host_root()) s.user.emplace(options.uid_first, options.uid_last);
  s.workspace.emplace(options.disk_bytes, options.private_mounts, s.uid());
  std::string self = read_proc_file("/proc/self/cgroup");
  Cgroup::remove_stale("/sys/fs/cgroup", self);
  try {
    std::string suffix = s.workspace->dir.substr(s.workspace->dir.rfind('-') + 1);  // grade-PID-XXXXXX
    s.cgroup.emplace(Cgroup::create("/sys/fs/cgroup", self, "socklab-" + std::to_string(getpid()) + "-" + suffix, options.cgroup));
  } catch (const std::exception& e) {
    s.cgroup_why_not = e.what();
  }
  if (!options.enabled) return;
  // Try it once, as the build will run: a machine that cannot make the sandbox says so now, not as a failed build.
  harness::EventLoop loop;
  auto plain = harness::make_boost_launcher(loop);
  auto launcher = build_launcher(loop, *plain);
  ProcessSpec probe;
  probe.name = "sandbox probe";
  probe.path = "/bin/true";
  probe.stdout_pty = false;
  std::unique_ptr<Process> p;
  try {
    p = launcher->start(probe);
  } catch (const std::exception& e) {
    throw std::runtime_error(text::cannot_sandbox(e.what()));
  }
  loop.run_until([&] { return p->exit_status().has_value(); }, Clock::now() + std::chrono::seconds(10));
  auto status = p->exit_status();
  if (!status || !status->exited || status->code != 0) {
    throw std::runtime_error(text::cannot_sandbox("a sandboxed /bin/true " + (status ? status->describe() : "did not end") +
                                                  ": " + p->err().tail(3)));
  }
}

Sandbox::~Sandbox() { end_all(); }

const std::string& Sandbox::build_dir() const { return state_->workspace->work; }

CopyReport Sandbox::copy_in(const std::string& submission) {
  return copy_submission(submission, state_->workspace->work, state_->options.copy, state_->uid(), state_->uid());
}

std::unique_ptr<Launcher> Sandbox::build_launcher(harness::EventLoop& loop, Launcher& inner) {
  return std::make_unique<SandboxLauncher>(loop, inner, *state_, true);
}

std::unique_ptr<Launcher> Sandbox::program_launcher(harness::EventLoop& loop, Launcher& inner) {
  return std::make_unique<SandboxLauncher>(loop, inner, *state_, false);
}

std::size_t Sandbox::end_all() {
  std::size_t killed = 0;
  if (state_->cgroup) killed += state_->cgroup->kill_all();
  if (state_->user) killed += state_->user->end_all();
  return killed;
}

int Sandbox::uid() const { return state_->uid(); }

Confinement Sandbox::confinement() const {
  const State& s = *state_;
  Confinement c;
  c.sandbox = s.options.enabled ? text::sandbox_summary(s.version) : text::no_sandbox_summary();
  c.identity = s.user ? text::as_uid(s.user->uid()) : text::as_user_namespace();
  if (s.cgroup) {
    c.cgroup = s.cgroup->describe();
    c.memory_limit = s.options.cgroup.memory_bytes;
    c.peak_memory = s.cgroup->peak_memory();
    c.oom_kills = s.cgroup->oom_kills();
  } else {
    c.cgroup = text::cgroup_unconfined(s.cgroup_why_not);
  }
  c.disk = s.workspace->mounted ? text::disk_summary(s.options.disk_bytes)
                                : text::disk_unconfined("socklab is not in a mount namespace of its own");
  c.network = s.options.enabled ? text::network_summary() : "not confined (--no-sandbox)";
  return c;
}

}  // namespace socklab::sandbox
