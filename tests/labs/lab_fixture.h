// Shared steps of the lab program tests: start a server on a free port and wait until it listens.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "child.h"
#include "sockets.h"

namespace testing_support {

// Starts `program PORT extra...` and waits for its "listening 0.0.0.0:PORT" line.
inline std::unique_ptr<Child> start_server(const std::string& program, unsigned short port,
                                           std::vector<std::string> extra = {}) {
  std::vector<std::string> args{std::to_string(port)};
  args.insert(args.end(), extra.begin(), extra.end());
  auto server = std::make_unique<Child>(program, args);
  auto line = server->next_line();
  std::string expected = "listening 0.0.0.0:" + std::to_string(port);
  EXPECT_EQ(line.value_or("(no line: " + server->stderr_text() + ")"), expected);
  return server;
}

// Waits, with a deadline, until condition() holds; checks every 10 ms. For state the kernel does not
// announce (a zombie reaped, an fd closed): the wait ends as soon as it holds.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    struct timespec pause{0, 10'000'000};
    nanosleep(&pause, nullptr);
  }
}

}  // namespace testing_support
