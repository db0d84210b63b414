// What several socklab commands share: where things are, writing --out files, loading experiments, complaining.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "model/experiment.h"

namespace socklab::harness {

// The directory of the socklab binary (the reference programs are built beside it).
std::filesystem::path executable_dir();
// The socklab binary itself (a batch grading runs one socklab per submission).
std::string self_path();
// experiments/ of the source tree: ./experiments, else next to the build (build/bin/../../experiments).
std::string default_experiments_dir();
// "socklab: MESSAGE" on stderr.
void complain(const std::string& message);
// Opens --out FILE (when given); false, after saying why, if it cannot be written.
bool open_output(const std::string& path, std::ofstream& file);
// Loads every file; prints each problem as FILE:LINE: message. nullopt if anything was wrong.
std::optional<std::vector<Experiment>> load_all(const std::vector<std::string>& paths);

}  // namespace socklab::harness
