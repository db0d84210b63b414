#include "cli/common.h"

#include <iostream>

#include "cli/text.h"
#include "load/loader.h"

namespace socklab::harness {

std::filesystem::path executable_dir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : self.parent_path();
}

std::string self_path() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "socklab" : self.string();
}

std::string default_experiments_dir() {
  if (std::filesystem::is_directory("experiments")) return "experiments";
  auto guess = executable_dir() / ".." / ".." / "experiments";
  return std::filesystem::is_directory(guess) ? guess.lexically_normal().string() : "experiments";
}

void complain(const std::string& message) { std::cerr << cli_text::kPrefix << message << "\n"; }

bool open_output(const std::string& path, std::ofstream& file) {
  if (path.empty()) return true;
  file.open(path);
  if (file) return true;
  complain(cli_text::cannot_write(path));
  return false;
}

std::optional<std::vector<Experiment>> load_all(const std::vector<std::string>& paths) {
  std::vector<LoadError> errors;
  std::vector<Experiment> experiments;
  for (const std::string& file : experiment_files(paths, errors)) {
    if (auto e = load_experiment(file, errors)) experiments.push_back(std::move(*e));
  }
  for (const LoadError& e : errors) complain(e.text());
  if (!errors.empty()) return std::nullopt;
  return experiments;
}

}  // namespace socklab::harness
