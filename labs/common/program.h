// What every lab program shares: one error format, one shape of main(), stop signals, stdout events.
//
//   echo_server: bind 0.0.0.0:8888: Address already in use      <- a failed system call, exit 1
//   echo_client: bad port "70000" (1-65535)                      <- bad arguments: message + usage, exit 2
//
// SIGINT and SIGTERM: the programs block both signals, and let them in only while they sleep in
// wait_readable() (ppoll(2) unblocks them atomically for the duration of the wait). A stop signal can then
// never slip in between "check the flag" and "block in accept()" and be lost; the wait returns, the program
// throws StopRequested, every socket is closed by its owner on the way out, and the program exits 0.
#pragma once

#include <poll.h>
#include <sys/epoll.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>

namespace socklab {

// Bad command-line arguments: the message is printed with the usage text, exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// -h or --help: main() prints the usage text to stdout and exits 0.
struct HelpRequested {};

// Thrown when SIGINT/SIGTERM arrived; main() turns it into exit status 0.
struct StopRequested {};

// The error for a failed system call; call it right after the call, before anything can change errno.
// what() reads "bind 0.0.0.0:8888: Address already in use".
inline std::system_error sys_error(const std::string& what) {
  return std::system_error(errno, std::generic_category(), what);
}

// Installs SIGINT/SIGTERM handlers, blocks both signals outside wait_readable(), and ignores SIGPIPE
// (a write to a closed connection then fails with EPIPE instead of killing the program).
void install_signal_handlers();
// For the EINTR branch of a retry loop: throws StopRequested if a stop signal arrived, else returns.
void throw_if_stopped();

// Sleeps until fd is readable (a connection to accept, bytes or EOF to read, a datagram): true; or until
// timeout_ms passes (-1: no limit): false. Throws StopRequested on SIGINT/SIGTERM.
bool wait_readable(int fd, int timeout_ms = -1);
// The same for several descriptors at once (poll(2) semantics); returns how many are ready, 0 on timeout.
int wait_for(pollfd* fds, nfds_t count, int timeout_ms = -1);

// epoll_wait(2) with the same signal rule as wait_for(): SIGINT/SIGTERM are let in only during the wait (it
// calls epoll_pwait with the waiting mask). Returns the number of events, 0 on timeout.
int wait_epoll(int epoll_fd, epoll_event* events, int max_events, int timeout_ms);

// For a worker thread (thread_server): its waits keep SIGINT/SIGTERM blocked, so the stop signals always
// reach the main thread, which is the one that decides to stop. Call it first thing in the thread.
void leave_stop_signals_to_main_thread();

// Writes one event line to stdout at once (no buffering, so a harness or a forked child never sees
// half lines or duplicated buffers).
void emit(const std::string& line);

// Runs body(); turns exceptions into the documented message and exit status. usage is printed after a
// UsageError. Returns the exit status for main().
int run_program(const char* name, const char* usage, const std::function<void()>& body);

// The program name as given to run_program, for messages printed along the way ("echo_server: ...").
const char* program_name();

}  // namespace socklab
