// Filling placeholders in, by the grammar of model/placeholders.h (the loader has refused unknown ones already;
// texts that were not loaded, such as a test's, keep them as they are).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "model/placeholders.h"
#include "run/runner.h"

namespace socklab::harness {

Placeholders::Placeholders(std::function<std::uint16_t()> allocate_port) : allocate_port_(std::move(allocate_port)) {}

std::string Placeholders::fill(const std::string& text) {
  std::string out;
  for (const TextPiece& piece : split_placeholders(text)) {
    if (!piece.placeholder) {
      out += piece.literal;
      continue;
    }
    const Placeholder& p = *piece.placeholder;
    switch (p.kind) {
      case Placeholder::Kind::kPort:
        out += std::to_string(port(p.port_key()));
        break;
      case Placeholder::Kind::kPid: {
        auto it = pids_.find(p.pid_id());
        if (it == pids_.end()) throw std::runtime_error(p.text() + ": that process has not been started");
        out += std::to_string(it->second);
        break;
      }
      case Placeholder::Kind::kUnknown:
        out += p.text();
        break;
    }
  }
  return out;
}

// The port of that name, allocated on first use.
std::uint16_t Placeholders::port(const std::string& key) {
  auto it = ports_.find(key);
  if (it != ports_.end()) return it->second;
  std::uint16_t p;
  do {
    p = allocate_port_();  // never hand out the same port twice in one experiment
  } while (std::any_of(ports_.begin(), ports_.end(), [&](auto& kv) { return kv.second == p; }));
  return ports_.emplace(key, p).first->second;
}

std::vector<std::uint16_t> Placeholders::ports() const {
  std::vector<std::uint16_t> result;
  for (const auto& [k, v] : ports_) result.push_back(v);
  return result;
}

std::uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    int saved = errno;
    if (fd >= 0) close(fd);
    throw std::system_error(saved, std::generic_category(), "allocating a free port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace socklab::harness
