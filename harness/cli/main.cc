// socklab: runs XML experiments against the lab programs and reports what happened, in the programs' output
// and in the kernel. See docs/harness.md (command line) and docs/experiments.md (the file format).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>

#include "load/lab_loader.h"
#include "load/loader.h"
#include "grade/batch.h"
#include "grade/class_report.h"
#include "grade/grade.h"
#include "capture/isolation.h"
#include "report/html.h"
#include "cli/watch.h"
#include "process/process.h"
#include "report/reports.h"
#include "run/runner.h"
#include "capture/sockets.h"

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

// "512M", "1G", "1048576": bytes (K, M, G, T are powers of 1024); nullopt if it is not such a size.
std::optional<std::uint64_t> parse_size(const std::string& text) {
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string unit = text.substr(used);
  int shift = unit.empty() ? 0 : unit == "K" || unit == "k" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : unit == "T" ? 40 : -1;
  if (shift < 0 || text[0] == '-' || value > (~0ull >> shift)) return std::nullopt;
  return static_cast<std::uint64_t>(value) << shift;
}

// Opens --out FILE (when given); false, after saying why, if it cannot be written.
bool open_output(const std::string& path, std::ofstream& file) {
  if (path.empty()) return true;
  file.open(path);
  if (file) return true;
  std::cerr << "socklab: cannot write " << path << "\n";
  return false;
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
                const std::string& out_path, bool graded_only, const std::string& html_path) {
  auto experiments = load_all(paths);
  if (!experiments) return 2;
  if (graded_only) {
    std::erase_if(*experiments, [](const Experiment& e) { return !e.graded; });
  }

  std::ofstream out_file;
  if (!open_output(out_path, out_file)) return 2;
  // The machine-readable report goes to --out or stdout; the live text goes to stdout unless that is taken.
  bool machine = format != "text";
  std::ostream& machine_out = out_path.empty() ? std::cout : static_cast<std::ostream&>(out_file);
  std::ostream& text_out = machine && out_path.empty() ? std::cerr : (format == "text" && !out_path.empty() ? out_file : std::cout);
  bool colour = &text_out == &std::cout ? isatty(STDOUT_FILENO) : &text_out == &std::cerr ? isatty(STDERR_FILENO) : false;

  TeeReporter tee;
  auto text = make_text_reporter(text_out, colour, options.verbose, options.show_timeline);
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
  if (!html_path.empty()) {
    std::ofstream html(html_path);
    write_html_report(html, results);
    if (!html) std::cerr << "socklab: cannot write " << html_path << "\n";
  }
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
    for (const Step& s : e.steps) checks += is_check(s);
    std::cout << e.file << ": ok (" << e.steps.size() << " steps, " << checks << " checks, " << e.max_points()
              << " points)\n";
  }
  return 0;
}

// The course's labs from their manifests: id, title, points, the programs a student hands in and those the lab
// provides, the handout, then each experiment.
int command_list(const std::string& dir) {
  std::vector<LoadError> errors;
  std::vector<Lab> labs = find_labs(dir, errors);
  std::vector<std::vector<Experiment>> experiments;
  for (const Lab& lab : labs) experiments.push_back(load_lab_experiments(lab, false, errors));
  for (const LoadError& e : errors) std::cerr << "socklab: " << e.text() << "\n";
  if (!errors.empty()) return 2;
  for (std::size_t i = 0; i < labs.size(); ++i) {
    const Lab& lab = labs[i];
    std::string theirs, ours;
    for (const LabProgram& p : lab.programs) (p.source == ProgramSource::kSubmission ? theirs : ours) += " " + p.name;
    std::cout << "lab " << lab.id << " (" << lab.points << " points): " << lab.title << "\n"
              << "  hand in:" << theirs << "\n";
    if (!ours.empty()) std::cout << "  provided:" << ours << "\n";
    if (!lab.handout.empty()) {
      std::error_code ec;
      std::string here = std::filesystem::relative(lab.handout, ec).string();  // shorter, when it is below us
      std::cout << "  handout: " << (ec || here.empty() || here.rfind("..", 0) == 0 ? lab.handout : here) << "\n";
    }
    for (const Experiment& e : experiments[i]) {
      std::string points = e.graded ? std::to_string(e.max_points()) + " points" : "observation only";
      std::cout << "    " << std::left << std::setw(40) << e.file << "  " << e.title << "  [" << points << "]\n";
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

volatile std::sig_atomic_t g_watch_stop = 0;
extern "C" void on_watch_stop(int) { g_watch_stop = 1; }

int command_watch(WatchOptions options) {
  struct sigaction sa {};
  sa.sa_handler = on_watch_stop;  // no SA_RESTART: the sleep between refreshes ends at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  options.tty = isatty(STDOUT_FILENO);
  int status = watch_sockets(options, std::cout, &g_watch_stop);
  if (options.tty) std::cout << "\n";
  return status;
}

std::string self_path() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "socklab" : self.string();
}

// What a student checking their own work asks for on top of the grade: timelines in the text, an HTML report.
struct GradeExtras {
  bool timeline = false;
  std::string html_path;
};

int command_grade(const GradeOptions& options, const std::string& format, const std::string& out_path, const GradeExtras& extras) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.submission, ec)) {
    std::cerr << "socklab: " << options.submission << ": not a directory\n";
    return 2;
  }
  std::ofstream out_file;
  if (!open_output(out_path, out_file)) return 2;
  std::ostream& out = out_path.empty() ? std::cout : static_cast<std::ostream&>(out_file);
  // Live text as the experiments run, unless stdout carries the machine report.
  bool live_text = format == "text" || !out_path.empty();
  std::ostream& live_out = format == "text" ? out : std::cout;
  auto live = make_text_reporter(live_out, &live_out == &std::cout && isatty(STDOUT_FILENO), options.verbose, extras.timeline);
  Reporter silent;
  GradeResult result = grade_submission(options, live_text ? *live : silent);
  if (!extras.html_path.empty()) {
    std::ofstream html(extras.html_path);
    write_html_report(html, result.experiments);
    if (!html) std::cerr << "socklab: cannot write " << extras.html_path << "\n";
  }
  if (format == "text") write_grade_text(out, result, &out == &std::cout && isatty(STDOUT_FILENO));
  if (format == "json") write_grade_json(out, result);
  if (format == "junit") write_grade_junit(out, result);
  if (format == "gradescope") write_gradescope(out, result);
  if (format == "prairielearn") write_prairielearn(out, result);
  if (format == "autolab") write_autolab(out, result);
  if (format != "text" && live_text) write_grade_text(std::cout, result, isatty(STDOUT_FILENO));
  if (result.interrupted) return 130;
  if (!result.graded()) {
    std::cerr << "socklab: could not grade " << terminal_safe(options.submission) << ": build " << build_status_name(result.build) << " (score 0)\n";
    return 2;
  }
  return 0;
}

int command_gradebook(const std::vector<std::string>& paths, const std::string& csv_path, const std::string& html_path) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(p, ec)) {
        if (entry.path().extension() == ".json") files.push_back(entry.path().string());
      }
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  std::string error;
  if (!html_path.empty()) {
    std::vector<nlohmann::json> reports;
    if (!read_grade_reports(files, reports, error)) {
      std::cerr << "socklab: " << error << "\n";
      return 2;
    }
    std::ofstream html(html_path);
    write_class_report(html, reports);
    if (!html) {
      std::cerr << "socklab: cannot write " << html_path << "\n";
      return 2;
    }
    if (csv_path.empty()) return 0;  // the report alone was asked for
  }
  std::ofstream file;
  if (!csv_path.empty()) file.open(csv_path);
  std::ostream& out = csv_path.empty() ? std::cout : static_cast<std::ostream&>(file);
  if (!write_gradebook(files, out, error)) {
    std::cerr << "socklab: " << error << "\n";
    return 2;
  }
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
  run->add_flag("--timeline", options.show_timeline, "show each experiment's TCP state timeline and packet ladder");
  run->add_option("--pcap", options.pcap_dir, "write each experiment's packets to DIR/ID.pcap (for Wireshark)");
  std::string html_path;
  run->add_option("--html", html_path, "also write a self-contained HTML report (timelines as SVG) to FILE");
  bool graded_only = false;
  run->add_flag("--graded-only", graded_only, "skip observation-only experiments (graded=\"false\")");
  run->add_option("--time-scale", options.time_scale, "multiply every deadline (slow machines)")
      ->check(CLI::Range(0.1, 100.0));
  std::string isolation = "auto";
  run->add_option("--isolation", isolation, "network namespace per experiment: auto, host (never), netns (required)")
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

  GradeOptions grading;
  grading.reference_bin_dir = executable_dir().string();
  std::string grade_submission_dir, batch_root, grade_format = "text", grade_out, out_dir, csv_path;
  int jobs = 1;
  auto* grade = app.add_subcommand("grade", "grade a student submission (or a class with --batch)");
  grade->add_option("--lab", grading.lab, "the lab: its id (1, 2, ...) or folder name, as `socklab list` shows")->required();
  grade->add_option("submission", grade_submission_dir, "the submission directory");
  grade->add_option("--batch", batch_root, "grade every sub-directory of ROOT (one per student)");
  grade->add_option("--report", grade_format, "report format")->check(CLI::IsMember({"text", "json", "junit", "gradescope", "prairielearn", "autolab"}));
  grade->add_option("--out", grade_out, "write the report to FILE");
  GradeExtras grade_extras;
  grade->add_flag("--timeline", grade_extras.timeline, "show each experiment's TCP state timeline and packet ladder");
  grade->add_option("--html", grade_extras.html_path, "also write a self-contained HTML report to FILE");
  grade->add_option("-j,--jobs", jobs, "parallel gradings with --batch")->check(CLI::Range(1, 64));
  grade->add_option("--csv", csv_path, "gradebook file with --batch (default OUT_DIR/gradebook.csv)");
  grade->add_option("--out-dir", out_dir, "per-student reports with --batch (default ./grades)");
  grade->add_flag("--sanitize", grading.sanitize, "build C/C++ with AddressSanitizer and UndefinedBehaviorSanitizer");
  grade->add_option("--time-scale", grading.time_scale, "multiply every deadline")->check(CLI::Range(0.1, 100.0));
  grade->add_option("--experiments", grading.experiments_dir, "the experiments directory (default: the project's)");
  grade->add_option("--reference-bin-dir", grading.reference_bin_dir, "the reference programs (default: socklab's directory)");
  grade->add_flag("--verbose", grading.verbose, "show every step");
  std::string sandbox_uids, memory = "1G", disk = "256M";
  grade->add_option("--sandbox-uids", sandbox_uids,
                    "as root, run student code as a uid from FIRST-LAST that no other grading holds (default 64000-64999)");
  bool no_sandbox = false;
  grade->add_flag("--no-sandbox", no_sandbox,
                  "run student code without bubblewrap (rlimits, uid and cgroup only): only for code you trust");
  grade->add_option("--memory", memory, "memory for all of a student's processes together, tmpfs included (default 1G)");
  grade->add_option("--pids", grading.pids, "processes (and threads) of a student's at once (default 128)")->check(CLI::Range(8, 65536));
  grade->add_option("--disk", disk, "build directory, /tmp and /dev/shm together (default 256M)");

  WatchOptions watching;
  std::vector<int> watch_ports, watch_pids;
  auto* watch = app.add_subcommand("watch", "a live view of sockets (like watch ss -tanp), for trying labs by hand");
  watch->add_option("--port", watch_ports, "only sockets with this local or peer port (repeatable)")->check(CLI::Range(1, 65535));
  watch->add_option("--pid", watch_pids, "only sockets of this process (repeatable)");
  watch->add_option("--interval", watching.interval_ms, "refresh every MS milliseconds (default 500)")->check(CLI::Range(20, 60000));

  std::vector<std::string> gradebook_paths;
  std::string gradebook_csv;
  auto* gradebook = app.add_subcommand("gradebook", "merge per-student JSON grade reports into a CSV gradebook");
  gradebook->add_option("reports", gradebook_paths, "JSON reports or directories of them")->required();
  gradebook->add_option("--csv", gradebook_csv, "write the CSV here (default: stdout, unless --html alone)");
  std::string gradebook_html;
  gradebook->add_option("--html", gradebook_html, "the class report: score histogram, pass rate of every check, build failures, slowest gradings");

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
  options.isolation = parse_isolation(isolation).value_or(Isolation::kAuto);  // CLI11 let only the three names in
  options.bin_dir = std::filesystem::absolute(options.bin_dir).string();
  if (!options.pcap_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.pcap_dir, ec);
    options.pcap_dir = std::filesystem::absolute(options.pcap_dir).string();
  }

  try {
    if (*run) return command_run(run_paths, options, format, out_path, graded_only, html_path);
    if (*validate) return command_validate(validate_paths);
    if (*list) return command_list(list_dir.empty() ? default_experiments_dir() : list_dir);
    if (*snapshot) return command_snapshot(ports, pids, source);
    if (*gradebook) return command_gradebook(gradebook_paths, gradebook_csv, gradebook_html);
    if (*watch) {
      watching.ports.insert(watch_ports.begin(), watch_ports.end());
      watching.pids.insert(watch_pids.begin(), watch_pids.end());
      return command_watch(watching);
    }
    if (*grade) {
      if (grading.experiments_dir.empty()) grading.experiments_dir = default_experiments_dir();
      grading.reference_bin_dir = std::filesystem::absolute(grading.reference_bin_dir).string();
      grading.experiments_dir = std::filesystem::absolute(grading.experiments_dir).string();
      resolve_lab(grading);  // a lab that does not exist or does not load: say so now, before any build
      if (!sandbox_uids.empty()) {
        unsigned long first = 0, last = 0;
        char dash = 0, extra = 0;
        if (std::sscanf(sandbox_uids.c_str(), "%lu%c%lu%c", &first, &dash, &last, &extra) != 3 || dash != '-' ||
            first < 1000 || last < first || last > 2147483646) {
          std::cerr << "socklab: bad --sandbox-uids \"" << sandbox_uids << "\" (FIRST-LAST, e.g. 64000-64999; uids from 1000)\n";
          return 2;
        }
        grading.sandbox_uid_first = static_cast<int>(first);
        grading.sandbox_uid_last = static_cast<int>(last);
      }
      grading.sandbox = !no_sandbox;
      for (auto [text, name, target] : {std::tuple{&memory, "--memory", &grading.memory_bytes}, std::tuple{&disk, "--disk", &grading.disk_bytes}}) {
        auto bytes = parse_size(*text);
        if (!bytes || *bytes < (16ull << 20)) {
          std::cerr << "socklab: bad " << name << " \"" << *text << "\" (a size of at least 16M, such as 512M or 2G)\n";
          return 2;
        }
        *target = *bytes;
      }
      if (batch_root.empty() == grade_submission_dir.empty()) {
        std::cerr << "socklab: grade needs either a SUBMISSION directory or --batch ROOT\n";
        return 2;
      }
      if (!batch_root.empty()) return grade_batch(grading, BatchOptions{batch_root, out_dir, csv_path, self_path(), jobs}, std::cout, std::cerr);
      grading.submission = grade_submission_dir;
      // The grading's own mounts (its tmpfs) stay private to this process and vanish with it.
      std::string why_not;
      grading.private_mounts = enter_private_mount_namespace(why_not);
      if (!grading.private_mounts) std::cerr << "socklab: note: no mount namespace of its own (" << why_not << "): the disk is not capped\n";
      return command_grade(grading, grade_format, grade_out, grade_extras);
    }
  } catch (const std::exception& e) {
    std::cerr << "socklab: " << e.what() << "\n";
    return 2;
  }
  return 2;
}
