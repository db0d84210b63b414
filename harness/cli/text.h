// Every word the socklab command itself shows a user — option help, errors, notes, `socklab list`'s layout — in one
// place, so that a translation (the courses socklab serves teach mostly in Chinese) has one file to follow.
// Words of the reports are in report/text.h, of grading in grade/; this file is the command line's own.
#pragma once

#include <string>

namespace socklab::harness::cli_text {

// The command as a whole.
inline constexpr const char* kApp = "socklab: run socket-programming lab experiments and watch the kernel's socket states";
inline constexpr const char* kPrefix = "socklab: ";

// Errors and notes any command may print (after kPrefix).
inline std::string cannot_write(const std::string& path) { return "cannot write " + path; }
inline std::string not_a_directory(const std::string& path) { return path + ": not a directory"; }
inline std::string interrupted() { return "interrupted; every program it started has been stopped"; }

// socklab run
inline constexpr const char* kRun = "run experiments (files or directories)";
inline constexpr const char* kRunPaths = "experiment files or directories";
inline constexpr const char* kRunBinDir = "where the programs are (default: socklab's own directory)";
inline constexpr const char* kRunBin = "use PATH for program NAME (NAME=PATH, repeatable)";
inline constexpr const char* kReportFormat = "report format";
inline constexpr const char* kOut = "write the report to FILE";
inline constexpr const char* kVerbose = "show every step as it runs";
inline constexpr const char* kTimeline = "show each experiment's TCP state timeline and packet ladder";
inline constexpr const char* kRunPcap = "write each experiment's packets to DIR/ID.pcap (for Wireshark)";
inline constexpr const char* kRunHtml = "also write a self-contained HTML report (timelines as SVG) to FILE";
inline constexpr const char* kRunGradedOnly = "skip observation-only experiments (graded=\"false\")";
inline constexpr const char* kRunTimeScale = "multiply every deadline (slow machines)";
inline constexpr const char* kRunIsolation = "network namespace per experiment: auto, host (never), netns (required)";
inline std::string bad_bin(const std::string& given) { return "bad --bin \"" + given + "\" (NAME=PATH)"; }

// socklab validate, socklab list
inline constexpr const char* kValidate = "check experiment files without running anything";
inline constexpr const char* kList = "list labs and experiments with titles and points";
inline constexpr const char* kListDir = "experiments directory";
inline std::string validated(const std::string& file, std::size_t steps, int checks, int points) {
  return file + ": ok (" + std::to_string(steps) + " steps, " + std::to_string(checks) + " checks, " +
         std::to_string(points) + " points)";
}
inline std::string lab_heading(const std::string& id, int points, const std::string& title) {
  return "lab " + id + " (" + std::to_string(points) + " points): " + title;
}
inline constexpr const char* kHandIn = "  hand in:";
inline constexpr const char* kProvided = "  provided:";
inline constexpr const char* kHandout = "  handout: ";
inline std::string points(int n) { return std::to_string(n) + " points"; }
inline constexpr const char* kObservationOnly = "observation only";

// socklab snapshot, socklab watch
inline constexpr const char* kSnapshot = "print the current TCP/UDP sockets, like ss -tanup";
inline constexpr const char* kPortFilter = "only sockets with this local or peer port (repeatable)";
inline constexpr const char* kPidFilter = "only sockets of this process (repeatable)";
inline constexpr const char* kSnapshotSource = "auto, netlink or procfs";
inline constexpr const char* kWatch = "a live view of sockets (like watch ss -tanp), for trying labs by hand";
inline constexpr const char* kWatchInterval = "refresh every MS milliseconds (default 500)";

// socklab grade
inline constexpr const char* kGrade = "grade a student submission (or a class with --batch)";
inline constexpr const char* kGradeLab = "the lab: its id (1, 2, ...) or folder name, as `socklab list` shows";
inline constexpr const char* kGradeSubmission = "the submission directory";
inline constexpr const char* kGradeBatch = "grade every sub-directory of ROOT (one per student)";
inline constexpr const char* kGradeHtml = "also write a self-contained HTML report to FILE";
inline constexpr const char* kGradeJobs = "parallel gradings with --batch";
inline constexpr const char* kGradeCsv = "gradebook file with --batch (default OUT_DIR/gradebook.csv)";
inline constexpr const char* kGradeOutDir = "per-student reports with --batch (default ./grades)";
inline constexpr const char* kGradeSanitize = "build C/C++ with AddressSanitizer and UndefinedBehaviorSanitizer";
inline constexpr const char* kGradeTimeScale = "multiply every deadline";
inline constexpr const char* kGradeExperiments = "the experiments directory (default: the project's)";
inline constexpr const char* kGradeReferenceBinDir = "the reference programs (default: socklab's directory)";
inline constexpr const char* kGradeVerbose = "show every step";
inline constexpr const char* kGradeSandboxUids =
    "as root, run student code as a uid from FIRST-LAST that no other grading holds (default 64000-64999)";
inline constexpr const char* kGradeNoSandbox =
    "run student code without bubblewrap (rlimits, uid and cgroup only): only for code you trust";
inline constexpr const char* kGradeMemory = "memory for all of a student's processes together, tmpfs included (default 1G)";
inline constexpr const char* kGradePids = "processes (and threads) of a student's at once (default 128)";
inline constexpr const char* kGradeDisk = "build directory, /tmp and /dev/shm together (default 256M)";
inline std::string bad_sandbox_uids(const std::string& given) {
  return "bad --sandbox-uids \"" + given + "\" (FIRST-LAST, e.g. 64000-64999; uids from 1000)";
}
inline std::string bad_size(const std::string& option, const std::string& given) {
  return "bad " + option + " \"" + given + "\" (a size of at least 16M, such as 512M or 2G)";
}
inline constexpr const char* kSubmissionOrBatch = "grade needs either a SUBMISSION directory or --batch ROOT";
inline std::string no_mount_namespace(const std::string& why) {
  return "note: no mount namespace of its own (" + why + "): the disk is not capped";
}
inline std::string could_not_grade(const std::string& submission, const std::string& build) {
  return "could not grade " + submission + ": build " + build + " (score 0)";
}

// socklab gradebook
inline constexpr const char* kGradebook = "merge per-student JSON grade reports into a CSV gradebook";
inline constexpr const char* kGradebookReports = "JSON reports or directories of them";
inline constexpr const char* kGradebookCsv = "write the CSV here (default: stdout, unless --html alone)";
inline constexpr const char* kGradebookHtml =
    "the class report: score histogram, pass rate of every check, build failures, slowest gradings";

}  // namespace socklab::harness::cli_text
