// The HTML lab report: one self-contained file (inline CSS and SVG, no fetches): per experiment the checks with
// points and hints, the socket tables, an SVG timeline (a lane per connection, a coloured band per TCP state, the
// harness's events as markers on the same time axis, exact times in tooltips) and the packet ladder.
#pragma once

#include <ostream>
#include <vector>

#include "run/results.h"

namespace socklab::harness {

void write_html_report(std::ostream& out, const std::vector<ExperimentResult>& results);

}  // namespace socklab::harness
