// socklab run: runs experiment files against the lab programs (the reference ones, or --bin NAME=PATH) and reports
// live as text, and as JSON, JUnit or HTML on request.
#include <signal.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <iostream>

#include "capture/isolation.h"
#include "cli/command.h"
#include "cli/common.h"
#include "cli/text.h"
#include "process/process.h"
#include "report/html.h"
#include "report/reports.h"
#include "run/runner.h"

namespace socklab::harness {
namespace {

class RunCommand : public Command {
 public:
  void declare(CLI::App& app) override {
    options_.bin_dir = executable_dir().string();
    sub_ = app.add_subcommand("run", cli_text::kRun);
    sub_->add_option("paths", paths_, cli_text::kRunPaths)->required();
    sub_->add_option("--bin-dir", options_.bin_dir, cli_text::kRunBinDir);
    sub_->add_option("--bin", bin_overrides_, cli_text::kRunBin);
    sub_->add_option("--report", format_, cli_text::kReportFormat)->check(CLI::IsMember({"text", "json", "junit"}));
    sub_->add_option("--out", out_path_, cli_text::kOut);
    sub_->add_flag("--verbose", options_.verbose, cli_text::kVerbose);
    sub_->add_flag("--timeline", options_.show_timeline, cli_text::kTimeline);
    sub_->add_option("--pcap", options_.pcap_dir, cli_text::kRunPcap);
    sub_->add_option("--html", html_path_, cli_text::kRunHtml);
    sub_->add_flag("--graded-only", graded_only_, cli_text::kRunGradedOnly);
    sub_->add_option("--time-scale", options_.time_scale, cli_text::kRunTimeScale)->check(CLI::Range(0.1, 100.0));
    sub_->add_option("--isolation", isolation_, cli_text::kRunIsolation)
        ->check(CLI::IsMember({"auto", "host", "netns"}));
  }

  int execute() override {
    if (!take_bin_overrides()) return 2;
    options_.isolation = parse_isolation(isolation_).value_or(Isolation::kAuto);  // CLI11 let only the three names in
    options_.bin_dir = std::filesystem::absolute(options_.bin_dir).string();
    if (!options_.pcap_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(options_.pcap_dir, ec);
      options_.pcap_dir = std::filesystem::absolute(options_.pcap_dir).string();
    }
    auto experiments = load_all(paths_);
    if (!experiments) return 2;
    if (graded_only_) std::erase_if(*experiments, [](const Experiment& e) { return !e.graded; });
    std::ofstream out_file;
    if (!open_output(out_path_, out_file)) return 2;
    return run(*experiments, out_file);
  }

 private:
  // --bin NAME=PATH, each into options_.bins; false after saying which one is malformed.
  bool take_bin_overrides() {
    for (const std::string& b : bin_overrides_) {
      auto eq = b.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == b.size()) {
        complain(cli_text::bad_bin(b));
        return false;
      }
      options_.bins[b.substr(0, eq)] = std::filesystem::absolute(b.substr(eq + 1)).string();
    }
    return true;
  }

  int run(const std::vector<Experiment>& experiments, std::ofstream& out_file) {
    // The machine-readable report goes to --out or stdout; the live text goes to stdout unless that is taken.
    bool machine = format_ != "text";
    std::ostream& machine_out = out_path_.empty() ? std::cout : static_cast<std::ostream&>(out_file);
    std::ostream& text_out =
        machine && out_path_.empty() ? std::cerr : (format_ == "text" && !out_path_.empty() ? out_file : std::cout);
    bool colour = &text_out == &std::cout ? isatty(STDOUT_FILENO) : &text_out == &std::cerr ? isatty(STDERR_FILENO) : false;

    TeeReporter tee;
    auto text = make_text_reporter(text_out, colour, options_.verbose, options_.show_timeline);
    tee.add(text.get());
    std::unique_ptr<Reporter> machine_reporter;
    if (format_ == "json") machine_reporter = make_json_reporter(machine_out);
    if (format_ == "junit") machine_reporter = make_junit_reporter(machine_out);
    if (machine_reporter) tee.add(machine_reporter.get());

    become_subreaper();
    EventLoop loop;
    auto launcher = make_boost_launcher(loop);
    Runner runner(loop, *launcher, options_, tee);
    // Ctrl-C / SIGTERM: stop the current experiment, clean up everything it started, report, exit.
    boost::asio::signal_set stop(loop.context(), SIGINT, SIGTERM);
    stop.async_wait([&](const boost::system::error_code& ec, int) {
      if (!ec) runner.interrupt();
    });

    std::vector<ExperimentResult> results;
    for (const Experiment& e : experiments) {
      if (runner.interrupted()) break;
      results.push_back(runner.run(e));
    }
    tee.finish(results);
    if (!html_path_.empty()) {
      std::ofstream html(html_path_);
      write_html_report(html, results);
      if (!html) complain(cli_text::cannot_write(html_path_));
    }
    stop.cancel();
    loop.poll();
    if (runner.interrupted()) {
      complain(cli_text::interrupted());
      return 130;
    }
    bool all_passed = std::all_of(results.begin(), results.end(), [](const ExperimentResult& r) { return r.passed(); });
    return all_passed ? 0 : 1;
  }

  RunOptions options_;
  std::vector<std::string> paths_, bin_overrides_;
  std::string format_ = "text", out_path_, html_path_, isolation_ = "auto";
  bool graded_only_ = false;
};

}  // namespace

std::unique_ptr<Command> make_run_command() { return std::make_unique<RunCommand>(); }

}  // namespace socklab::harness
