// socklab validate (experiment files checked without running them) and socklab list (the course's labs).
#include <iomanip>
#include <iostream>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/text.h"
#include "load/lab_loader.h"

namespace socklab::harness {
namespace {

class ValidateCommand : public Command {
 public:
  void declare(CLI::App& app) override {
    sub_ = app.add_subcommand("validate", cli_text::kValidate);
    sub_->add_option("paths", paths_, cli_text::kRunPaths)->required();
  }

  int execute() override {
    auto experiments = load_all(paths_);
    if (!experiments) return 2;
    for (const Experiment& e : *experiments) {
      int checks = 0;
      for (const Step& s : e.steps) checks += is_check(s);
      std::cout << cli_text::validated(e.file, e.steps.size(), checks, e.max_points()) << "\n";
    }
    return 0;
  }

 private:
  std::vector<std::string> paths_;
};

// The course's labs from their manifests: id, title, points, the programs a student hands in and those the lab
// provides, the handout, then each experiment.
class ListCommand : public Command {
 public:
  void declare(CLI::App& app) override {
    sub_ = app.add_subcommand("list", cli_text::kList);
    sub_->add_option("dir", dir_, cli_text::kListDir);
  }

  int execute() override {
    std::string dir = dir_.empty() ? default_experiments_dir() : dir_;
    std::vector<LoadError> errors;
    std::vector<Lab> labs = find_labs(dir, errors);
    std::vector<std::vector<Experiment>> experiments;
    for (const Lab& lab : labs) experiments.push_back(load_lab_experiments(lab, false, errors));
    for (const LoadError& e : errors) complain(e.text());
    if (!errors.empty()) return 2;
    for (std::size_t i = 0; i < labs.size(); ++i) show(labs[i], experiments[i]);
    return 0;
  }

 private:
  static void show(const Lab& lab, const std::vector<Experiment>& experiments) {
    std::string theirs, ours;
    for (const LabProgram& p : lab.programs) (p.source == ProgramSource::kSubmission ? theirs : ours) += " " + p.name;
    std::cout << cli_text::lab_heading(lab.id, lab.points, lab.title) << "\n" << cli_text::kHandIn << theirs << "\n";
    if (!ours.empty()) std::cout << cli_text::kProvided << ours << "\n";
    if (!lab.handout.empty()) {
      std::error_code ec;
      std::string here = std::filesystem::relative(lab.handout, ec).string();  // shorter, when it is below us
      std::cout << cli_text::kHandout << (ec || here.empty() || here.rfind("..", 0) == 0 ? lab.handout : here) << "\n";
    }
    for (const Experiment& e : experiments) {
      std::string points = e.graded ? cli_text::points(e.max_points()) : cli_text::kObservationOnly;
      std::cout << "    " << std::left << std::setw(40) << e.file << "  " << e.title << "  [" << points << "]\n";
    }
  }

  std::string dir_;
};

}  // namespace

std::unique_ptr<Command> make_validate_command() { return std::make_unique<ValidateCommand>(); }
std::unique_ptr<Command> make_list_command() { return std::make_unique<ListCommand>(); }

}  // namespace socklab::harness
