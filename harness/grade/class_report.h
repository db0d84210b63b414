// The class report: what a whole class's gradings say at once, as one self-contained HTML file (inline CSS and
// SVG, nothing fetched) — the score histogram, the pass rate of every check (which mistakes the class makes),
// the submissions that did not build, and the slowest gradings.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

namespace socklab::harness {

// From per-student JSON reports (read_grade_reports). Student names and build logs are the students' own text:
// everything is escaped. The file is also well-formed XML, so tools and tests can parse it.
void write_class_report(std::ostream& out, const std::vector<nlohmann::json>& reports);

}  // namespace socklab::harness
