#include "echo_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <stdexcept>
#include <system_error>

#include "line_reader.h"
#include "net.h"
#include "program.h"
#include "utf8.h"

namespace socklab {
namespace {

constexpr int kByeTimeoutSeconds = 10;

std::string_view without_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// After "bye" the client is expected to close first. Wait for its EOF, discarding anything else it sends,
// but not forever: an iterative server must not be held by one client that never closes.
void wait_for_client_close(int fd, const std::string& peer) {
  char discard[4096];
  for (;;) {
    if (!wait_readable(fd, kByeTimeoutSeconds * 1000)) {
      std::cerr << program_name() << ": " << peer << " did not close within " << kByeTimeoutSeconds
                << " s after bye; closing\n";
      return;
    }
    ssize_t n = recv(fd, discard, sizeof discard, 0);
    if (n == 0) return;  // EOF: the client closed, now we close too
    if (n < 0 && errno != EINTR) throw sys_error("recv " + peer);
  }
}

}  // namespace

std::string echo_reply(std::string_view line) {
  std::string_view text = without_cr(line);
  std::string reply = reverse_utf8(text);
  if (text.size() != line.size()) reply += '\r';
  reply += '\n';
  return reply;
}

void serve_echo_client(int fd, const std::string& peer, int idle_timeout_ms) {
  LineReader reader(fd, "recv " + peer);
  reader.set_idle_timeout(idle_timeout_ms);
  std::string line;
  try {
    while (reader.read_line(line)) {  // false: the client closed its side (EOF)
      write_all(fd, echo_reply(line), "send " + peer);
      if (without_cr(line) == "bye") {
        wait_for_client_close(fd, peer);
        break;
      }
    }
  } catch (const std::system_error& e) {  // e.g. "recv 127.0.0.1:5000: Connection reset by peer"
    std::cerr << program_name() << ": " << e.what() << "\n";
  } catch (const std::length_error& e) {
    std::cerr << program_name() << ": " << e.what() << "; closing the connection\n";
  } catch (const IdleTimeout&) {
    emit("idle " + peer);  // the caller closes now: we close first, so the TIME-WAIT is ours
  }
}

}  // namespace socklab
