#include "program.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>

#include "net.h"

namespace socklab {
namespace {

volatile sig_atomic_t g_stop = 0;
sigset_t g_wait_mask;  // the signal mask while waiting: the usual one, with SIGINT/SIGTERM let in
const char* g_name = "socklab";
thread_local bool t_worker = false;  // leave_stop_signals_to_main_thread() was called in this thread

// The mask for a wait: the stop signals let in, except in worker threads (which keep their mask as it is).
const sigset_t* waiting_mask() {
  static thread_local sigset_t current;
  if (!t_worker) return &g_wait_mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &current);
  return &current;
}

extern "C" void on_stop_signal(int) { g_stop = 1; }  // async-signal-safe: only sets a flag

}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  if (sigaction(SIGINT, &sa, nullptr) < 0 || sigaction(SIGTERM, &sa, nullptr) < 0) throw sys_error("sigaction");
  signal(SIGPIPE, SIG_IGN);  // see send(2): EPIPE instead of death when the peer is gone

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  // From now on the stop signals wait (pending) until the program sleeps in ppoll() below.
  if (sigprocmask(SIG_BLOCK, &stop_signals, &g_wait_mask) < 0) throw sys_error("sigprocmask");
  sigdelset(&g_wait_mask, SIGINT);
  sigdelset(&g_wait_mask, SIGTERM);
}

void throw_if_stopped() {
  if (g_stop) throw StopRequested{};
}

int wait_for(pollfd* fds, nfds_t count, int timeout_ms) {
  timespec timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
  for (;;) {
    // ppoll(2) installs g_wait_mask for the duration of the wait only: a pending SIGINT/SIGTERM is
    // delivered at once, one arriving during the wait interrupts it (EINTR).
    int ready = ppoll(fds, count, timeout_ms < 0 ? nullptr : &timeout, waiting_mask());
    if (ready >= 0) return ready;
    if (errno != EINTR) throw sys_error("ppoll");
    throw_if_stopped();  // else another signal (SIGCHLD in fork_server): wait again
  }
}

int wait_epoll(int epoll_fd, epoll_event* events, int max_events, int timeout_ms) {
  for (;;) {
    int ready = epoll_pwait(epoll_fd, events, max_events, timeout_ms, waiting_mask());
    if (ready >= 0) return ready;
    if (errno != EINTR) throw sys_error("epoll_wait");
    throw_if_stopped();
  }
}

void leave_stop_signals_to_main_thread() {
  t_worker = true;
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
}

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return wait_for(&p, 1, timeout_ms) > 0;
}

void emit(const std::string& line) {
  std::string out = line + "\n";
  try {
    write_all(STDOUT_FILENO, out);
  } catch (const std::system_error&) {
    // stdout is gone (closed pipe): events are lost, but the server keeps serving its clients
  }
}

const char* program_name() { return g_name; }

int run_program(const char* name, const char* usage, const std::function<void()>& body) {
  g_name = name;
  try {
    body();
    return 0;
  } catch (const HelpRequested&) {
    std::cout << usage;
    return 0;
  } catch (const StopRequested&) {
    return 0;  // SIGINT/SIGTERM: sockets were closed by their owners while unwinding
  } catch (const UsageError& e) {
    std::cerr << name << ": " << e.what() << "\n" << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace socklab
