// socklab watch: a live, `watch ss`-like view for students experimenting by hand.
#pragma once

#include <csignal>
#include <ostream>
#include <set>

namespace socklab::harness {

struct WatchOptions {
  std::set<int> ports, pids;  // empty: everything
  int interval_ms = 500;
  bool tty = false;           // refresh in place (else: print changes line by line)
  int max_refreshes = -1;     // for tests: stop after this many (-1: until Ctrl-C)
};

// Runs until *stop becomes non-zero (a SIGINT/SIGTERM handler sets it). Returns the exit status.
int watch_sockets(const WatchOptions& options, std::ostream& out, const volatile std::sig_atomic_t* stop);

}  // namespace socklab::harness
