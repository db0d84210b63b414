// socklab: runs XML experiments against the lab programs and reports what happened, in the programs' output
// and in the kernel. See docs/harness.md (command line) and docs/experiments.md (the file format).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "experiment.h"
#include "process.h"
#include "reports.h"
#include "runner.h"
#include "sockets.h"

using namespace socklab::harness;

namespace {

std::filesystem::path executable_dir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : self.parent_path();
}

// experiments/ of the source tree: ./experiments, else next to the build (build/bin/../../experiments).
std::string default_experiments_dir() {
  if (std::filesystem::is_directory("experiments")) return "experiments";
  auto guess = executable_dir() / ".." / ".." / "experiments";
  return std::filesystem::is_directory(guess) ? guess.lexically_normal().string() : "experiments";
}

// Loads every file; prints each problem as FILE:LINE: message. nullopt if anything was wrong.
std::optional<std::vector<Experiment>> load_all(const std::vector<std::string>& paths) {
  std::vector<LoadError> errors;
  std::vector<Experiment> experiments;
  for (const std::string& file : experiment_files(paths, errors)) {
    if (auto e = load_experiment(file, errors)) experiments.push_back(std::move(*e));
  }
  for (const LoadError& e : errors) std::cerr << "socklab: " << e.text() << "\n";
  if (!errors.empty()) return std::nullopt;
  return experiments;
}

int command_run(const std::vector<std::string>& paths, const RunOptions& options, const std::string& format,
                const std::string& out_path, bool graded_only) {
  auto experiments = load_all(paths);
  if (!experiments) return 2;
  if (graded_only) {
    std::erase_if(*experiments, [](const Experiment& e) { return !e.graded; });
  }

  std::ofstream out_file;
  if (!out_path.empty()) {
    out_file.open(out_path);
    if (!out_file) {
      std::cerr << "socklab: cannot write " << out_path << "\n";
      return 2;
    }
  }
  // The machine-readable report goes to --out or stdout; the live text goes to stdout unless that is taken.
  bool machine = format != "text";
  std::ostream& machine_out = out_path.empty() ? std::cout : static_cast<std::ostream&>(out_file);
  std::ostream& text_out = machine && out_path.empty() ? std::cerr : (format == "text" && !out_path.empty() ? out_file : std::cout);
  bool colour = &text_out == &std::cout ? isatty(STDOUT_FILENO) : &text_out == &std::cerr ? isatty(STDERR_FILENO) : false;

  TeeReporter tee;
  auto text = make_text_reporter(text_out, colour, options.verbose);
  tee.add(text.get());
  std::unique_ptr<Reporter> machine_reporter;
  if (format == "json") machine_reporter = make_json_reporter(machine_out);
  if (format == "junit") machine_reporter = make_junit_reporter(machine_out);
  if (machine_reporter) tee.add(machine_reporter.get());

  become_subreaper();
  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  Runner runner(loop, *launcher, options, tee);
  // Ctrl-C / SIGTERM: stop the current experiment, clean up everything it started, report, exit.
  boost::asio::signal_set stop(loop.context(), SIGINT, SIGTERM);
  stop.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) runner.interrupt();
  });

  std::vector<ExperimentResult> results;
  for (const Experiment& e : *experiments) {
    if (runner.interrupted()) break;
    results.push_back(runner.run(e));
  }
  tee.finish(results);
  stop.cancel();
  loop.poll();
  if (runner.interrupted()) {
    std::cerr << "socklab: interrupted; every program it started has been stopped\n";
    return 130;
  }
  bool all_passed = std::all_of(results.begin(), results.end(), [](const ExperimentResult& r) { return r.passed(); });
  return all_passed ? 0 : 1;
}

int command_validate(const std::vector<std::string>& paths) {
  auto experiments = load_all(paths);
  if (!experiments) return 2;
  for (const Experiment& e : *experiments) {
    int checks = 0;
    for (const Step& s : e.steps) checks += is_check(s.kind);
    std::cout << e.file << ": ok (" << e.steps.size() << " steps, " << checks << " checks, " << e.max_points()
              << " points)\n";
  }
  return 0;
}

int command_list(const std::string& dir) {
  auto experiments = load_all({dir});
  if (!experiments) return 2;
  std::map<std::string, std::vector<const Experiment*>> by_lab;
  for (const Experiment& e : *experiments) by_lab[e.lab.empty() ? "-" : e.lab].push_back(&e);
  for (const auto& [lab, list] : by_lab) {
    int total = 0;
    for (const Experiment* e : list) total += e->max_points();
    std::cout << "lab " << lab << " (" << total << " points)\n";
    for (const Experiment* e : list) {
      std::string points = e->graded ? std::to_string(e->max_points()) + " points" : "observation only";
      std::cout << "  " << std::left << std::setw(40) << e->file << "  " << e->title << "  [" << points << "]\n";
    }
  }
  return 0;
}

int command_snapshot(const std::vector<int>& ports, const std::vector<int>& pids, const std::string& source_name) {
  std::unique_ptr<SocketSource> source;
  try {
    source = source_name == "procfs" ? make_procfs_source() : source_name == "netlink" ? make_netlink_source() : make_best_source();
  } catch (const std::exception& e) {
    std::cerr << "socklab: " << e.what() << "\n";
    return 1;
  }
  auto sockets = source->snapshot();
  attribute_owners(sockets);
  SocketFilter filter;
  for (int p : ports) filter.ports.insert(static_cast<std::uint16_t>(p));
  for (int p : pids) filter.pids.insert(p);
  std::cout << format_table(filtered(sockets, filter));
  return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
  CLI::App app{"socklab: run socket-programming lab experiments and watch the kernel's socket states"};
  app.require_subcommand(1);

  RunOptions options;
  options.bin_dir = executable_dir().string();
  std::vector<std::string> run_paths, bin_overrides;
  std::string format = "text", out_path;
  auto* run = app.add_subcommand("run", "run experiments (files or directories)");
  run->add_option("paths", run_paths, "experiment files or directories")->required();
  run->add_option("--bin-dir", options.bin_dir, "where the programs are (default: socklab's own directory)");
  run->add_option("--bin", bin_overrides, "use PATH for program NAME (NAME=PATH, repeatable)");
  run->add_option("--report", format, "report format")->check(CLI::IsMember({"text", "json", "junit"}));
  run->add_option("--out", out_path, "write the report to FILE");
  run->add_flag("--verbose", options.verbose, "show every step as it runs");
  bool graded_only = false;
  run->add_flag("--graded-only", graded_only, "skip observation-only experiments (graded=\"false\")");
  run->add_option("--time-scale", options.time_scale, "multiply every deadline (slow machines)")
      ->check(CLI::Range(0.1, 100.0));
  run->add_option("--isolation", options.isolation, "network namespace per experiment: auto, host (never), netns (required)")
      ->check(CLI::IsMember({"auto", "host", "netns"}));

  std::vector<std::string> validate_paths;
  auto* validate = app.add_subcommand("validate", "check experiment files without running anything");
  validate->add_option("paths", validate_paths, "experiment files or directories")->required();

  std::string list_dir;
  auto* list = app.add_subcommand("list", "list labs and experiments with titles and points");
  list->add_option("dir", list_dir, "experiments directory");

  std::vector<int> ports, pids;
  std::string source = "auto";
  auto* snapshot = app.add_subcommand("snapshot", "print the current TCP/UDP sockets, like ss -tanup");
  snapshot->add_option("--port", ports, "only sockets with this local or peer port (repeatable)")->check(CLI::Range(1, 65535));
  snapshot->add_option("--pid", pids, "only sockets of this process (repeatable)");
  snapshot->add_option("--source", source, "auto, netlink or procfs")->check(CLI::IsMember({"auto", "netlink", "procfs"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;  // usage errors exit 2, as documented
  }

  for (const std::string& b : bin_overrides) {
    auto eq = b.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == b.size()) {
      std::cerr << "socklab: bad --bin \"" << b << "\" (NAME=PATH)\n";
      return 2;
    }
    options.bins[b.substr(0, eq)] = std::filesystem::absolute(b.substr(eq + 1)).string();
  }
  options.bin_dir = std::filesystem::absolute(options.bin_dir).string();

  try {
    if (*run) return command_run(run_paths, options, format, out_path, graded_only);
    if (*validate) return command_validate(validate_paths);
    if (*list) return command_list(list_dir.empty() ? default_experiments_dir() : list_dir);
    if (*snapshot) return command_snapshot(ports, pids, source);
  } catch (const std::exception& e) {
    std::cerr << "socklab: " << e.what() << "\n";
    return 2;
  }
  return 2;
}
