// The experiment's loopback as a lossy, slow link, made by the standard tools inside its namespace: `tc` (iproute2)
// for the netem and tbf qdiscs, `nft` (nftables) for a rule that drops a share of the packets. See run/link.h.
#include "run/link.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

extern char** environ;

namespace socklab::harness {
namespace {

constexpr const char* kTable = "socklab_link";  // our nf_tables table, in the experiment's namespace only
constexpr auto kToolDeadline = std::chrono::seconds(5);
// tbf passes no packet larger than its bucket: lo's MTU is 65536, so a bucket holds at least one such packet
// (TCP segments on lo are up to 64 KiB), or 20 ms of the rate if that is more.
constexpr std::uint64_t kMinBurstBytes = 73728;

struct ToolResult {
  int code = -1;       // exit code; -1: it did not exit by itself (killed at the deadline)
  std::string output;  // stdout and stderr together, for messages
};

// The tool by its name: on PATH, or in the sbin directories a user's PATH may lack.
std::string find_tool(const std::string& name) {
  std::string path = getenv("PATH") ? getenv("PATH") : "";
  path += ":/usr/sbin:/sbin";
  for (std::size_t start = 0; start <= path.size();) {
    std::size_t end = std::min(path.find(':', start), path.size());
    std::string candidate = path.substr(start, end - start) + "/" + name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::string command_text(const std::vector<std::string>& argv) {
  std::string text;
  for (const std::string& a : argv) text += (text.empty() ? "" : " ") + a;
  return text;
}

// Runs argv (argv[0] a tool's name), `input` on its stdin, and waits for it, at most kToolDeadline.
ToolResult run_tool(std::vector<std::string> argv, const std::string& input = "") {
  std::string path = find_tool(argv[0]);
  if (path.empty()) {
    throw LinkError("`" + argv[0] + "` not found (on PATH, /usr/sbin or /sbin): install " +
                    (argv[0] == "nft" ? "Debian's nftables" : "Debian's iproute2"));
  }
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) throw LinkError(std::string("pipe: ") + std::strerror(errno));
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]), close(in[1]);
    throw LinkError(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  int error = posix_spawn(&pid, path.c_str(), &actions, nullptr, args.data(), environ);  // returns the error
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]), close(out[1]);
  if (error != 0) {
    close(in[1]), close(out[0]);
    throw LinkError("cannot start " + path + ": " + std::strerror(error));
  }
  // (a short script, within the pipe's buffer; a tool that did not read it says why in its output)
  [[maybe_unused]] ssize_t written = input.empty() ? 0 : write(in[1], input.data(), input.size());
  close(in[1]);
  ToolResult result;
  auto deadline = std::chrono::steady_clock::now() + kToolDeadline;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    int ready = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      kill(pid, SIGKILL);  // every spawn has a deadline
      break;
    }
    char buffer[4096];
    ssize_t n = read(out[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buffer, static_cast<std::size_t>(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.code = WEXITSTATUS(status);
  while (!result.output.empty() && (result.output.back() == '\n' || result.output.back() == ' ')) result.output.pop_back();
  return result;
}

// Runs it and throws LinkError with its command and message if it fails.
void must_run(const std::vector<std::string>& argv, const std::string& input = "") {
  ToolResult r = run_tool(argv, input);
  if (r.code == 0) return;
  std::string what = r.code < 0 ? "did not finish within 5 s" : "failed (exit " + std::to_string(r.code) + ")";
  throw LinkError("`" + command_text(argv) + "` " + what + (r.output.empty() ? "" : ": " + r.output));
}

std::string millis_text(Millis d) { return std::to_string(d.count()) + "ms"; }

}  // namespace

std::string loss_text(int hundredths) {
  std::string text = std::to_string(hundredths / 100);
  int rest = hundredths % 100;  // 50: "0.5%", 5: "0.05%", 25: "0.25%"
  if (rest % 10 != 0) text += (rest < 10 ? ".0" : ".") + std::to_string(rest);
  else if (rest != 0) text += "." + std::to_string(rest / 10);
  return text + "%";
}

std::string rate_text(std::uint64_t bits) {
  for (auto [unit, size] : {std::pair{"gbit", 1000000000ull}, {"mbit", 1000000ull}, {"kbit", 1000ull}}) {
    if (bits % size == 0) return std::to_string(bits / size) + unit;
  }
  return std::to_string(bits) + "bit";
}

// Asks the kernel by making one: lo gets a netem qdisc (replaced at once by the real one) or the kernel says
// "Specified qdisc kind is unknown".
bool Link::kernel_has_netem() {
  if (netem_ >= 0) return netem_ == 1;
  ToolResult r = run_tool({"tc", "qdisc", "replace", "dev", "lo", "root", "netem"});
  if (r.code == 0) {
    qdisc_ = true;
    netem_ = 1;
  } else if (r.output.find("unknown") != std::string::npos) {
    netem_ = 0;
  } else {
    throw LinkError("`tc qdisc replace dev lo root netem` failed: " + r.output);
  }
  return netem_ == 1;
}

void Link::clear() {
  if (qdisc_) must_run({"tc", "qdisc", "del", "dev", "lo", "root"});
  qdisc_ = false;
  if (table_) must_run({"nft", "-f", "-"}, std::string("delete table inet ") + kTable + "\n");
  table_ = false;
}

std::string Link::apply(const LinkStep& step) {
  clear();
  if (!step.loss && !step.delay && !step.rate) return "a clean link again (no loss, no delay, no rate limit)";
  std::vector<std::string> made;
  bool netem = kernel_has_netem();
  if (netem) {  // one qdisc for all three
    std::vector<std::string> tc{"tc", "qdisc", "replace", "dev", "lo", "root", "netem", "limit", "10000"};
    if (step.delay) tc.insert(tc.end(), {"delay", millis_text(*step.delay)}), made.push_back("delay " + millis_text(*step.delay));
    if (step.loss) tc.insert(tc.end(), {"loss", loss_text(*step.loss)}), made.push_back("loss " + loss_text(*step.loss));
    if (step.rate) tc.insert(tc.end(), {"rate", rate_text(*step.rate)}), made.push_back("rate " + rate_text(*step.rate));
    must_run(tc);
    qdisc_ = true;
    made.back() += " (netem)";
  }
  if (step.delay && !netem) {
    throw LinkError("delay=\"" + millis_text(*step.delay) +
                    "\": this kernel has no netem qdisc (sch_netem), and only netem can delay packets; loss and rate "
                    "work without it (nftables and tbf)");
  }
  if (step.loss && !netem) {
    // Every packet of the namespace comes in through lo's prerouting hook once: that share of them is dropped there,
    // on arrival, as a lossy link would. (Not on the output hook: a drop there fails the sender's send() with EPERM,
    // which no link does — the reference chat server took it for a broken socket.)
    std::string script = std::string("table inet ") + kTable + " {\n  chain output {\n" +
                         "    type filter hook prerouting priority 0; policy accept;\n" +
                         "    numgen random mod 10000 < " + std::to_string(*step.loss) + " drop\n  }\n}\n";
    ToolResult r = run_tool({"nft", "-f", "-"}, script);  // all or nothing: a failed load leaves no table
    if (r.code != 0) {
      throw LinkError("`nft -f -` (a table inet " + std::string(kTable) + " dropping " + loss_text(*step.loss) +
                      " of the packets) failed" + (r.output.empty() ? "" : ": " + r.output));
    }
    table_ = true;
    made.push_back("loss " + loss_text(*step.loss) + " (nftables: numgen random drop; no netem in this kernel)");
  }
  if (step.rate && !netem) {
    std::uint64_t burst = std::max(kMinBurstBytes, *step.rate / 8 / 50);
    must_run({"tc", "qdisc", "replace", "dev", "lo", "root", "tbf", "rate", rate_text(*step.rate), "burst",
              std::to_string(burst), "latency", "500ms"});
    qdisc_ = true;
    made.push_back("rate " + rate_text(*step.rate) + " (tbf, burst " + std::to_string(burst) + " bytes)");
  }
  std::string text;
  for (const std::string& m : made) text += (text.empty() ? "" : ", ") + m;
  return text;
}

}  // namespace socklab::harness
