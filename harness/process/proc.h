// Reading /proc: the one place that knows its formats. Every function copes with a process that ends while it is
// read (the answer is then empty, or nullopt).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace socklab::harness {

// The whole of a small file such as /proc/PID/stat; "" when it cannot be opened or read. A process can end between
// open() and read() (read then fails with ESRCH); std::ifstream read through istreambuf_iterator throws there.
std::string read_proc_file(const std::string& path);
// Writes a small control file (/proc/self/uid_map, a sysctl, a tracefs switch) in one write(); false on any error.
bool write_proc_file(const std::string& path, const std::string& text);
// The same from an open descriptor (read to the end); nullopt on a read error.
std::optional<std::string> read_to_end(int fd);

// /proc/PID/stat: its state letter ('R', 'S', 'Z', …), parent and process group, and whether it is on its way out
// (killed or exited, still tearing down: the kernel's PF_EXITING, or a zombie).
struct ProcStat {
  char state = 0;
  pid_t ppid = 0, pgrp = 0;
  bool exiting = false;
};
std::optional<ProcStat> proc_stat(pid_t pid);

std::vector<pid_t> all_pids();                    // every process now
std::vector<pid_t> children_of(pid_t parent);     // /proc/PID/task/PID/children, or a walk of /proc without it
std::vector<pid_t> zombie_children(pid_t parent); // exited, not yet reaped
pid_t innermost_pid(pid_t pid);                   // its pid in the innermost pid namespace it is in (NSpid); -1
std::vector<pid_t> processes_of_uid(uid_t uid);   // running (not zombies) with this real uid
// Of these, the ones not already on their way out: what "left running" counts.
std::vector<pid_t> still_alive(const std::vector<pid_t>& pids);
int open_fd_count(pid_t pid);                     // entries of /proc/PID/fd; -1 when unreadable

}  // namespace socklab::harness
