// The HTML report's timeline of one experiment: the step-through controls, the lanes on an event-ordered axis
// (and, behind a toggle, on linear time), the state diagram with each connection's path, the socket table at
// the cursor, and every event in words. The page's script (html_assets) moves the cursor; without it the page
// still shows everything, the cursor at the last event.
#pragma once

#include <ostream>

#include "report/events.h"

namespace socklab::harness {

void write_html_timeline(std::ostream& out, const ExperimentResult& result, const EventOrder& order);

}  // namespace socklab::harness
