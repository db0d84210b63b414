// The HTML report's style sheet and script, inlined into every report (no fetches). The script is small and
// plain (no libraries): it moves each experiment's step-through cursor — through the timeline's lanes and
// arrows, the packet ladder, the state diagram and the socket table together — from the buttons, the slider,
// the arrow keys and the address (#step=5, &view=linear, &lane=2, &exp=ID to scroll to one experiment,
// &focus=1 to show only its timeline: for a projector or a screenshot of one step); its words come from the
// page (body's data-t-* attributes, written from report/text.h).
#pragma once

namespace socklab::harness {

extern const char* const kReportStyle;
extern const char* const kReportScript;  // no "]]>": the report embeds it in CDATA, to stay well-formed XML

}  // namespace socklab::harness
