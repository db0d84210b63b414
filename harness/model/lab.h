// The lab model: what a lab folder's manifest (experiments/<lab>/lab.xml) says, already validated.
//
// A lab is a folder: its manifest names the lab, its handout and the programs its experiments start, and says for
// each whether the student hands it in or the reference provides it; the folder's other *.xml files are the
// experiments. socklab knows no lab list of its own: adding a folder adds a lab. See docs/labs.md.
#pragma once

#include <string>
#include <vector>

#include "model/experiment.h"

namespace socklab::harness {

// Where a program the lab's experiments start comes from when a submission is graded.
enum class ProgramSource {
  kSubmission,  // the student writes it: built from the submission and found there by name
  kReference,   // the course provides it: socklab's reference build, or a file of the lab folder (path="...")
};

struct LabProgram {
  std::string name;  // as the experiments' <start program="..."> call it
  ProgramSource source = ProgramSource::kSubmission;
  std::string path;  // kReference with path="...": the program's file (absolute); empty: the reference build's
  int line = 0;
};

struct Lab {
  std::string file;   // the manifest, as found
  std::string dir;    // its folder: every other *.xml in it (recursively) is one of the lab's experiments
  std::string id;     // "1", "echo-py": what `socklab grade --lab ID` takes
  std::string title;
  std::string handout;  // the handout students read: a URL, or a file (given relative to the lab folder; absolute here)
  int points = 100;     // the graded experiments must add up to this (checked when the lab is loaded)
  std::vector<LabProgram> programs;
  Millis build_timeout{120000};  // building one submission
  Millis cpu_time{30000};        // CPU time each student program may use in one experiment

  std::vector<std::string> submission_programs() const {
    std::vector<std::string> names;
    for (const LabProgram& p : programs) {
      if (p.source == ProgramSource::kSubmission) names.push_back(p.name);
    }
    return names;
  }
};

}  // namespace socklab::harness
