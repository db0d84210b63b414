// Loading experiment files: strict XML (pugixml) into the experiment model, every problem as FILE:LINE: message.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "load/xml.h"
#include "model/durations.h"
#include "model/experiment.h"

namespace socklab::harness {


// Loads and validates one file. On errors returns nullopt and appends every problem found to `errors`.
std::optional<Experiment> load_experiment(const std::string& path, std::vector<LoadError>& errors);

// Files to load for the given paths: a file as is; a directory: its *.xml files, sorted, recursively.
std::vector<std::string> experiment_files(const std::vector<std::string>& paths, std::vector<LoadError>& errors);

// "TERM", "SIGTERM", "15" -> 15; 0 if unknown.
int parse_signal(const std::string& text);

}  // namespace socklab::harness
