// socklab snapshot (the sockets now, like ss -tanup) and socklab watch (a live view, like watch ss -tanp).
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "capture/sockets.h"
#include "cli/command.h"
#include "cli/common.h"
#include "cli/text.h"
#include "cli/watch.h"

namespace socklab::harness {
namespace {

class SnapshotCommand : public Command {
 public:
  void declare(CLI::App& app) override {
    sub_ = app.add_subcommand("snapshot", cli_text::kSnapshot);
    sub_->add_option("--port", ports_, cli_text::kPortFilter)->check(CLI::Range(1, 65535));
    sub_->add_option("--pid", pids_, cli_text::kPidFilter);
    sub_->add_option("--source", source_, cli_text::kSnapshotSource)->check(CLI::IsMember({"auto", "netlink", "procfs"}));
  }

  int execute() override {
    std::unique_ptr<SocketSource> source;
    try {
      source = source_ == "procfs" ? make_procfs_source() : source_ == "netlink" ? make_netlink_source() : make_best_source();
    } catch (const std::exception& e) {
      complain(e.what());
      return 1;
    }
    auto sockets = source->snapshot();
    attribute_owners(sockets);
    SocketFilter filter;
    for (int p : ports_) filter.ports.insert(static_cast<std::uint16_t>(p));
    for (int p : pids_) filter.pids.insert(p);
    std::cout << format_table(filtered(sockets, filter));
    return 0;
  }

 private:
  std::vector<int> ports_, pids_;
  std::string source_ = "auto";
};

volatile std::sig_atomic_t g_watch_stop = 0;
extern "C" void on_watch_stop(int) { g_watch_stop = 1; }

class WatchCommand : public Command {
 public:
  void declare(CLI::App& app) override {
    sub_ = app.add_subcommand("watch", cli_text::kWatch);
    sub_->add_option("--port", ports_, cli_text::kPortFilter)->check(CLI::Range(1, 65535));
    sub_->add_option("--pid", pids_, cli_text::kPidFilter);
    sub_->add_option("--interval", options_.interval_ms, cli_text::kWatchInterval)->check(CLI::Range(20, 60000));
  }

  int execute() override {
    options_.ports.insert(ports_.begin(), ports_.end());
    options_.pids.insert(pids_.begin(), pids_.end());
    struct sigaction sa {};
    sa.sa_handler = on_watch_stop;  // no SA_RESTART: the sleep between refreshes ends at once
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    options_.tty = isatty(STDOUT_FILENO);
    int status = watch_sockets(options_, std::cout, &g_watch_stop);
    if (options_.tty) std::cout << "\n";
    return status;
  }

 private:
  WatchOptions options_;
  std::vector<int> ports_, pids_;
};

}  // namespace

std::unique_ptr<Command> make_snapshot_command() { return std::make_unique<SnapshotCommand>(); }
std::unique_ptr<Command> make_watch_command() { return std::make_unique<WatchCommand>(); }

}  // namespace socklab::harness
