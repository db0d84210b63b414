// Reporters: text for people (as it happens, colour on a terminal), JSON and JUnit XML for machines.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <ostream>
#include <string>

#include "run/results.h"

namespace socklab::harness {

std::unique_ptr<Reporter> make_text_reporter(std::ostream& out, bool colour, bool verbose, bool timeline = false);
std::unique_ptr<Reporter> make_json_reporter(std::ostream& out);
std::unique_ptr<Reporter> make_junit_reporter(std::ostream& out);

// The full JSON record of one experiment (checks, steps, snapshots, timeline, packets, processes), as the JSON
// report writes it.
nlohmann::json experiment_json(const ExperimentResult& r);

// Text made safe for XML and HTML: & < > " escaped, control characters (not allowed in XML 1.0) replaced by '?'.
std::string xml_escape(const std::string& text);

// Text from programs made safe to print on a terminal: control characters other than newline and tab (ESC, BEL,
// backspace, carriage return, the C1 controls) and bytes that are not UTF-8 are shown escaped (\x1b, \u009b), so
// output cannot clear the screen, move the cursor, hide text or fake a line of socklab's.
std::string terminal_safe(const std::string& text);

// A CSV cell: control characters escaped as terminal_safe() does, quoted when needed, and a cell that a spreadsheet
// would take for a formula (=, +, -, @ or tab first) neutralised with a leading apostrophe, as OWASP recommends.
std::string csv_cell(const std::string& text);

// Sends every event to several reporters (live text on the terminal plus a JSON file, for instance).
class TeeReporter : public Reporter {
 public:
  void add(Reporter* r) { reporters_.push_back(r); }
  void begin(const Experiment& e, const ExperimentResult& r) override { for (auto* x : reporters_) x->begin(e, r); }
  void step(const StepRecord& s) override { for (auto* x : reporters_) x->step(s); }
  void check(const CheckResult& c) override { for (auto* x : reporters_) x->check(c); }
  void snapshot(const SnapshotRecord& s) override { for (auto* x : reporters_) x->snapshot(s); }
  void end(const ExperimentResult& r) override { for (auto* x : reporters_) x->end(r); }
  void finish(const std::vector<ExperimentResult>& all) override { for (auto* x : reporters_) x->finish(all); }

 private:
  std::vector<Reporter*> reporters_;
};

}  // namespace socklab::harness
