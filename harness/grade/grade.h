// Grading student submissions: build one (safely), run a lab's graded experiments against its programs, report
// a score with feedback; or a whole class, in parallel, into a gradebook.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "grade/build.h"
#include "model/lab.h"
#include "process/process.h"
#include "run/results.h"
#include "run/runner.h"
#include "sandbox/sandbox.h"

namespace socklab::harness {

struct GradeOptions {
  std::string lab = "1";         // the lab's id or folder name (see load/lab_loader.h)
  std::string submission;        // the student's directory
  std::string experiments_dir;   // the course's labs: one folder per lab with a lab.xml (default: the project's)
  std::string reference_bin_dir; // the reference programs (build/bin)
  bool sanitize = false;         // build C/C++ with AddressSanitizer + UndefinedBehaviorSanitizer
  double time_scale = 1.0;
  Isolation isolation = Isolation::kAuto;
  bool verbose = false;
  // As root, student code runs as a uid from this range that no other grading holds and no process uses.
  int sandbox_uid_first = 64000, sandbox_uid_last = 64999;
  bool sandbox = true;            // false: --no-sandbox (rlimits, the uid and the cgroup only)
  bool private_mounts = false;    // socklab runs in a mount namespace of its own (the disk cap is a tmpfs)
  std::uint64_t memory_bytes = 1ull << 30;  // --memory: the whole grading's process tree, tmpfs included
  unsigned pids = 128;                      // --pids
  std::uint64_t disk_bytes = 256ull << 20;  // --disk: build directory, /tmp and /dev/shm together
};

struct GradeResult {
  std::string student;           // the submission directory's name
  std::string lab, lab_title;    // the lab's id and title (from its lab.xml)
  BuildStatus build = BuildStatus::kNotRun;
  std::string build_method;      // "make", "cmake", "per program", "none needed"
  std::string build_log;         // its tail
  std::map<std::string, SubmittedProgram> programs;  // each program the student writes: path ("" when missing), language, build
  std::vector<ExperimentResult> experiments;
  std::string sandbox;           // how student code was confined (one line; `confinement` has the parts)
  sandbox::Confinement confinement;
  std::vector<std::string> left_out;  // files of the submission that were not copied, and why
  std::vector<std::string> findings;  // AddressSanitizer / UBSan reports seen on the programs' stderr
  int sandbox_uid = -1;          // the unprivileged uid student code ran as (root only), held by this grading alone
  std::size_t leftovers_killed = 0;  // processes found running as that uid after the build or at the end, killed
  double duration = 0;
  bool interrupted = false;

  int score() const;             // 0..100
  int max_score() const;
  bool graded() const { return build == BuildStatus::kOk || build == BuildStatus::kNoSources; }
};

// Builds the submission in a private copy (in the sandbox: see sandbox/sandbox.h) and runs the lab's graded
// experiments against it, with the programs the lab's manifest takes from the submission. `live` gets the
// experiments' events as they happen (text for a person, or nothing). Never throws for a bad submission: every
// problem ends up in the result. Throws std::runtime_error when the lab itself cannot be loaded (FILE:LINE).
GradeResult grade_submission(const GradeOptions& options, Reporter& live, const bool* interrupted = nullptr);

// The lab `options` name, loaded from options.experiments_dir; throws std::runtime_error with every FILE:LINE
// problem, or with the labs there are when none has that id.
Lab resolve_lab(const GradeOptions& options);

// One check that earns points, as every grading platform's report shows it to the student (Gradescope's tests[],
// PrairieLearn's tests[], Autolab's feedback): the writers share this, each renders it in its platform's form.
struct GradedCheck {
  std::string experiment;  // the experiment's id ("lab1.reverse")
  std::string title;       // the experiment's title
  std::string check;       // the check's name
  std::string name;        // "title: check"
  int points = 0, max_points = 0;
  bool passed = false;
  std::string feedback;    // when it did not pass: expected, but was, the hint, details; "" when it passed
  bool hidden = false;     // visibility="after-due-date": students see it only after the due date
};
// Every check with points, in the order they ran (a failed build: every check of the lab, not run).
std::vector<GradedCheck> graded_checks(const GradeResult& r);
// What every platform shows above the tests: the lab, the build (and its log when it failed), the programs found,
// sanitizer findings, files not copied, the memory limit reached, processes killed.
std::string grade_summary(const GradeResult& r);

// Report writers.
void write_grade_text(std::ostream& out, const GradeResult& r, bool colour);
void write_grade_json(std::ostream& out, const GradeResult& r);
void write_grade_junit(std::ostream& out, const GradeResult& r);
// Gradescope's results.json: score, execution_time, output, tests[] (name, score, max_score, status, output,
// visibility: "after_due_date" for hidden checks). Students see only what is in it.
void write_gradescope(std::ostream& out, const GradeResult& r);
// PrairieLearn's external-grader results.json: gradable, score (0..1), message, output, tests[] (name, points,
// max_points, message, output). A submission that did not build is `gradable: false` (with format_errors), as
// PrairieLearn asks for answers that cannot be graded: it is shown as invalid, not as a score. PrairieLearn has no
// per-test visibility: hidden checks count in the score but are left out of tests[] (the message says how many).
void write_prairielearn(std::ostream& out, const GradeResult& r);
// Autolab's autograder output: feedback lines for the student, a semantic-feedback line, and last the autoresult
// {"scores": {EXPERIMENT_ID: points, ...}, "scoreboard": [score]} (one Autolab problem per graded experiment).
// Autolab shows students all of the output: hidden checks are left out of it, and their points go to a problem of
// their own, "after_due_date", which no other problem's score gives away.
void write_autolab(std::ostream& out, const GradeResult& r);

// Per-student JSON reports (as written by write_grade_json), parsed; false with `error` (FILE: why) when one cannot
// be read or is not a socklab grade report.
bool read_grade_reports(const std::vector<std::string>& json_files, std::vector<nlohmann::json>& reports, std::string& error);

// A gradebook from per-student JSON reports (as written by write_grade_json): one CSV row per student with
// score, build status, duration and the points of every check.
bool write_gradebook(const std::vector<std::string>& json_files, std::ostream& csv, std::string& error);

}  // namespace socklab::harness
