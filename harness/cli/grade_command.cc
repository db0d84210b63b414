// socklab grade: builds a submission in the sandbox, runs its lab's graded experiments and reports the score — as
// text, JSON, JUnit or a course platform's format; with --batch, a whole class, one socklab per submission.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "capture/isolation.h"
#include "cli/command.h"
#include "cli/common.h"
#include "cli/text.h"
#include "grade/batch.h"
#include "grade/grade.h"
#include "report/html.h"
#include "report/reports.h"

namespace socklab::harness {
namespace {

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

class GradeCommand : public Command {
 public:
  void declare(CLI::App& app) override {
    options_.reference_bin_dir = executable_dir().string();
    sub_ = app.add_subcommand("grade", cli_text::kGrade);
    sub_->add_option("--lab", options_.lab, cli_text::kGradeLab)->required();
    sub_->add_option("submission", submission_, cli_text::kGradeSubmission);
    sub_->add_option("--batch", batch_root_, cli_text::kGradeBatch);
    sub_->add_option("--report", format_, cli_text::kReportFormat)
        ->check(CLI::IsMember({"text", "json", "junit", "gradescope", "prairielearn", "autolab"}));
    sub_->add_option("--out", out_path_, cli_text::kOut);
    sub_->add_flag("--timeline", timeline_, cli_text::kTimeline);
    sub_->add_option("--html", html_path_, cli_text::kGradeHtml);
    sub_->add_option("-j,--jobs", jobs_, cli_text::kGradeJobs)->check(CLI::Range(1, 64));
    sub_->add_option("--csv", csv_path_, cli_text::kGradeCsv);
    sub_->add_option("--out-dir", out_dir_, cli_text::kGradeOutDir);
    sub_->add_flag("--sanitize", options_.sanitize, cli_text::kGradeSanitize);
    sub_->add_option("--time-scale", options_.time_scale, cli_text::kGradeTimeScale)->check(CLI::Range(0.1, 100.0));
    sub_->add_option("--experiments", options_.experiments_dir, cli_text::kGradeExperiments);
    sub_->add_option("--reference-bin-dir", options_.reference_bin_dir, cli_text::kGradeReferenceBinDir);
    sub_->add_flag("--verbose", options_.verbose, cli_text::kGradeVerbose);
    sub_->add_option("--sandbox-uids", sandbox_uids_, cli_text::kGradeSandboxUids);
    sub_->add_flag("--no-sandbox", no_sandbox_, cli_text::kGradeNoSandbox);
    sub_->add_option("--memory", memory_, cli_text::kGradeMemory);
    sub_->add_option("--pids", options_.pids, cli_text::kGradePids)->check(CLI::Range(8, 65536));
    sub_->add_option("--disk", disk_, cli_text::kGradeDisk);
  }

  int execute() override {
    if (options_.experiments_dir.empty()) options_.experiments_dir = default_experiments_dir();
    options_.reference_bin_dir = std::filesystem::absolute(options_.reference_bin_dir).string();
    options_.experiments_dir = std::filesystem::absolute(options_.experiments_dir).string();
    resolve_lab(options_);  // a lab that does not exist or does not load: say so now, before any build
    if (!take_limits()) return 2;
    if (batch_root_.empty() == submission_.empty()) {
      complain(cli_text::kSubmissionOrBatch);
      return 2;
    }
    if (!batch_root_.empty()) {
      return grade_batch(options_, BatchOptions{batch_root_, out_dir_, csv_path_, self_path(), jobs_}, std::cout, std::cerr);
    }
    options_.submission = submission_;
    // The grading's own mounts (its tmpfs) stay private to this process and vanish with it.
    std::string why_not;
    options_.private_mounts = enter_private_mount_namespace(why_not);
    if (!options_.private_mounts) complain(cli_text::no_mount_namespace(why_not));
    return grade_one();
  }

 private:
  // --sandbox-uids, --no-sandbox, --memory and --disk into options_; false after saying which one is wrong.
  bool take_limits() {
    if (!sandbox_uids_.empty()) {
      unsigned long first = 0, last = 0;
      char dash = 0, extra = 0;
      if (std::sscanf(sandbox_uids_.c_str(), "%lu%c%lu%c", &first, &dash, &last, &extra) != 3 || dash != '-' ||
          first < 1000 || last < first || last > 2147483646) {
        complain(cli_text::bad_sandbox_uids(sandbox_uids_));
        return false;
      }
      options_.sandbox_uid_first = static_cast<int>(first);
      options_.sandbox_uid_last = static_cast<int>(last);
    }
    options_.sandbox = !no_sandbox_;
    for (auto [text, name, target] : {std::tuple{&memory_, "--memory", &options_.memory_bytes},
                                      std::tuple{&disk_, "--disk", &options_.disk_bytes}}) {
      auto bytes = parse_size(*text);
      if (!bytes || *bytes < (16ull << 20)) {
        complain(cli_text::bad_size(name, *text));
        return false;
      }
      *target = *bytes;
    }
    return true;
  }

  int grade_one() {
    std::error_code ec;
    if (!std::filesystem::is_directory(options_.submission, ec)) {
      complain(cli_text::not_a_directory(options_.submission));
      return 2;
    }
    std::ofstream out_file;
    if (!open_output(out_path_, out_file)) return 2;
    std::ostream& out = out_path_.empty() ? std::cout : static_cast<std::ostream&>(out_file);
    // Live text as the experiments run, unless stdout carries the machine report.
    bool live_text = format_ == "text" || !out_path_.empty();
    std::ostream& live_out = format_ == "text" ? out : std::cout;
    auto live = make_text_reporter(live_out, &live_out == &std::cout && isatty(STDOUT_FILENO), options_.verbose, timeline_);
    Reporter silent;
    GradeResult result = grade_submission(options_, live_text ? *live : silent);
    if (!html_path_.empty()) {
      std::ofstream html(html_path_);
      write_html_report(html, result.experiments);
      if (!html) complain(cli_text::cannot_write(html_path_));
    }
    if (format_ == "text") write_grade_text(out, result, &out == &std::cout && isatty(STDOUT_FILENO));
    if (format_ == "json") write_grade_json(out, result);
    if (format_ == "junit") write_grade_junit(out, result);
    if (format_ == "gradescope") write_gradescope(out, result);
    if (format_ == "prairielearn") write_prairielearn(out, result);
    if (format_ == "autolab") write_autolab(out, result);
    if (format_ != "text" && live_text) write_grade_text(std::cout, result, isatty(STDOUT_FILENO));
    if (result.interrupted) return 130;
    if (!result.graded()) {
      complain(cli_text::could_not_grade(terminal_safe(options_.submission), build_status_name(result.build)));
      return 2;
    }
    return 0;
  }

  GradeOptions options_;
  std::string submission_, batch_root_, format_ = "text", out_path_, html_path_, out_dir_, csv_path_;
  std::string sandbox_uids_, memory_ = "1G", disk_ = "256M";
  bool timeline_ = false, no_sandbox_ = false;
  int jobs_ = 1;
};

}  // namespace

std::unique_ptr<Command> make_grade_command() { return std::make_unique<GradeCommand>(); }

}  // namespace socklab::harness
