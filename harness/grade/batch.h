// Grading a whole class: every sub-directory of a root is one student's submission, graded in a socklab process of
// its own (its own mount namespace, sandbox and limits; -j at a time), into NAME.json and NAME.txt, then a gradebook.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "grade/grade.h"

namespace socklab::harness {

struct BatchOptions {
  std::string root;      // one sub-directory per student
  std::string out_dir;   // per-student reports (default ./grades)
  std::string csv_path;  // the gradebook (default OUT_DIR/gradebook.csv)
  std::string socklab;   // this program, run once per submission
  int jobs = 1;
};

// The command line that grades one submission as `o` says, writing its JSON report to json_out.
std::vector<std::string> grade_arguments(const GradeOptions& o, const std::string& submission, const std::string& json_out);

// Progress on `out` (one line per student as it finishes, then the gradebook's path), problems on `err`; the exit
// status of `socklab grade --batch`: 0, 2 when the root cannot be read or a report is not socklab's, 130 on Ctrl-C.
int grade_batch(const GradeOptions& base, BatchOptions batch, std::ostream& out, std::ostream& err);

}  // namespace socklab::harness
