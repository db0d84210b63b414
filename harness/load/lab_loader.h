// Loading lab manifests (experiments/<lab>/lab.xml) and finding a course's labs; strict, FILE:LINE errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "load/xml.h"
#include "model/lab.h"

namespace socklab::harness {

inline constexpr const char* kLabManifest = "lab.xml";

// Loads one manifest. On errors returns nullopt and appends every problem found to `errors`.
std::optional<Lab> load_lab(const std::string& manifest, std::vector<LoadError>& errors);

// Every lab of a course tree: each folder directly under `root` that holds a lab.xml, ordered by id (numbers by
// value: 2 before 10). Two labs with one id are an error.
std::vector<Lab> find_labs(const std::string& root, std::vector<LoadError>& errors);

// The lab a user means by `wanted`: its id ("1", "echo-py"), or its folder's name ("lab1").
const Lab* choose_lab(const std::vector<Lab>& labs, const std::string& wanted);

// The lab's experiments (with `graded_only`, those that are graded) and, for graded ones, the check that their
// points add up to the manifest's.
std::vector<Experiment> load_lab_experiments(const Lab& lab, bool graded_only, std::vector<LoadError>& errors);

}  // namespace socklab::harness
