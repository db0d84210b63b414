// The TCP state diagram (RFC 9293, figure 5) as SVG, with each connection's path through it: the transitions
// it took, numbered in order, each the edge of the figure it followed (or, for what the figure leaves out —
// an RST, a socket that vanished — a dashed edge of its own); the states it never visited stay dimmed. One
// overlay per lane; the page shows one at a time (the chosen lane's), and the step-through marks the
// transition under its cursor.
#pragma once

#include <ostream>
#include <string>

#include "report/events.h"

namespace socklab::harness {

// The figure itself and its arrowheads, once per page (inside an SVG's <defs>): every diagram shows it with
// <use>.
void write_diagram_definitions(std::ostream& out);

// `shown`: the lane whose path is visible without any script (the first connection's, else the first lane's).
void write_state_diagram(std::ostream& out, const ExperimentResult& result, const EventOrder& order,
                         int shown);
// Beside it: the chooser of the connection, and each connection's path in words (transition, cause, time,
// step).
void write_state_paths(std::ostream& out, const ExperimentResult& result, const EventOrder& order, int shown);

// The lane a student most likely wants to see first: the first client side, else the first lane; -1 if none.
int default_lane(const Timeline& timeline);

}  // namespace socklab::harness
