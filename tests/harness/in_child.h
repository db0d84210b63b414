// For harness tests that change the process's namespaces: the body runs in a forked child, so the test process
// stays where it is.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <sstream>
#include <string>

// Runs body in a forked child and returns the "key=value" lines it returned; "error" says why it could not.
inline std::map<std::string, std::string> in_child(const std::function<std::string()>& body) {
  int out[2];
  if (pipe(out) != 0) return {{"error", "pipe failed"}};
  pid_t pid = fork();
  if (pid == 0) {
    close(out[0]);
    std::string text;
    try {
      text = body();
    } catch (const std::exception& e) {
      text = std::string("error=") + e.what() + "\n";
    }
    ssize_t ignored = write(out[1], text.data(), text.size());
    (void)ignored;
    _exit(0);
  }
  close(out[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::map<std::string, std::string> result;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) result[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) result["error"] = "the child died (status " + std::to_string(status) + ")";
  return result;
}
