// socklab gradebook: per-student JSON grade reports merged into a CSV gradebook and, on request, the class report.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/text.h"
#include "grade/class_report.h"
#include "grade/grade.h"

namespace socklab::harness {
namespace {

class GradebookCommand : public Command {
 public:
  void declare(CLI::App& app) override {
    sub_ = app.add_subcommand("gradebook", cli_text::kGradebook);
    sub_->add_option("reports", paths_, cli_text::kGradebookReports)->required();
    sub_->add_option("--csv", csv_path_, cli_text::kGradebookCsv);
    sub_->add_option("--html", html_path_, cli_text::kGradebookHtml);
  }

  int execute() override {
    std::vector<std::string> files = report_files();
    std::string error;
    if (!html_path_.empty()) {
      std::vector<nlohmann::json> reports;
      if (!read_grade_reports(files, reports, error)) {
        complain(error);
        return 2;
      }
      std::ofstream html(html_path_);
      write_class_report(html, reports);
      if (!html) {
        complain(cli_text::cannot_write(html_path_));
        return 2;
      }
      if (csv_path_.empty()) return 0;  // the report alone was asked for
    }
    std::ofstream file;
    if (!csv_path_.empty()) file.open(csv_path_);
    std::ostream& out = csv_path_.empty() ? std::cout : static_cast<std::ostream&>(file);
    if (!write_gradebook(files, out, error)) {
      complain(error);
      return 2;
    }
    return 0;
  }

 private:
  // The JSON files named, and those in the directories named, sorted.
  std::vector<std::string> report_files() const {
    std::vector<std::string> files;
    for (const std::string& p : paths_) {
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
    return files;
  }

  std::vector<std::string> paths_;
  std::string csv_path_, html_path_;
};

}  // namespace

std::unique_ptr<Command> make_gradebook_command() { return std::make_unique<GradebookCommand>(); }

}  // namespace socklab::harness
