#include "grade/grade.h"
#include "load/lab_loader.h"
#include "load/loader.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <boost/asio/signal_set.hpp>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "report/reports.h"
#include "sandbox/text.h"

namespace socklab::harness {

namespace fs = std::filesystem;

int GradeResult::score() const {
  int total = 0;
  for (const auto& e : experiments) total += e.points();
  return graded() ? total : 0;
}

int GradeResult::max_score() const {
  int total = 0;
  for (const auto& e : experiments) total += e.max_points();
  return total > 0 ? total : 100;
}

namespace {

// Limits for code we did not write: a fork bomb, an endless loop, a memory hog or a disk filler stops there.
ResourceLimits student_limits(bool sanitize, Millis cpu_time) {
  ResourceLimits l;
  l.cpu_seconds = static_cast<int>(std::max<long>(1, (cpu_time.count() + 999) / 1000));
  l.address_space = sanitize ? 0 : 2ul << 30;
  l.processes = 128;
  l.open_files = 256;
  l.file_size = 64ul << 20;
  return l;
}

ResourceLimits build_limits() {
  ResourceLimits l;
  l.cpu_seconds = 300;
  l.processes = 512;
  l.file_size = 512ul << 20;
  return l;
}

std::string tail_of(const std::string& text, std::size_t max_lines) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  if (first > 0) out += "… (" + std::to_string(first) + " earlier lines)\n";
  for (std::size_t i = first; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

// The experiments' view of the programs: the student's from the build, the others from the reference (socklab's
// build, or a file of the lab folder); a program not handed in makes only its own checks fail, saying why.
void choose_programs(const Lab& lab, const fs::path& work, const BuildOutcome& build, GradeResult& r, RunOptions& run) {
  for (const LabProgram& program : lab.programs) {
    if (program.source == ProgramSource::kReference) {
      if (!program.path.empty()) run.bins[program.name] = program.path;
      continue;
    }
    SubmittedProgram found = describe_program(work, program.name, build);
    if (found.path.empty()) {
      run.missing[program.name] = "was not found in the submission (looked in ., build/, bin/ and build/bin/)";
    } else {
      run.bins[program.name] = (work / found.path).string();
    }
    r.programs[program.name] = found;
  }
}

// An experiment that was never run: its checks as planned, each "not run: WHY".
ExperimentResult not_run(const Experiment& e, const std::string& why) {
  ExperimentResult x = result_header(e);
  x.isolation = e.isolation;
  x.error = why;
  x.checks = planned_checks(e);
  for (CheckResult& c : x.checks) c.actual = "not run: " + why;
  return x;
}

}  // namespace

Lab resolve_lab(const GradeOptions& o) {
  std::vector<LoadError> errors;
  std::vector<Lab> labs = find_labs(o.experiments_dir, errors);
  if (!errors.empty()) throw std::runtime_error(errors.front().text());
  if (const Lab* lab = choose_lab(labs, o.lab)) return *lab;
  std::string known;
  for (const Lab& lab : labs) known += (known.empty() ? "" : ", ") + lab.id;
  throw std::runtime_error("no lab \"" + o.lab + "\" in " + o.experiments_dir + " (its labs: " + known + ")");
}

namespace {

// The grading's sandbox: its own directory (the copy, /tmp, /dev/shm), uid, cgroup; bwrap around every command.
sandbox::SandboxOptions sandbox_options(const GradeOptions& o, const Lab& lab) {
  sandbox::SandboxOptions box;
  box.enabled = o.sandbox;
  box.private_mounts = o.private_mounts;
  box.cgroup.memory_bytes = o.memory_bytes;
  box.cgroup.pids = o.pids;
  box.disk_bytes = o.disk_bytes;
  box.copy.max_total_bytes = o.disk_bytes / 2;
  box.uid_first = o.sandbox_uid_first;
  box.uid_last = o.sandbox_uid_last;
  box.program_limits = student_limits(o.sanitize, lab.cpu_time);
  box.build_limits = build_limits();
  std::error_code self_error;
  box.hidden = {o.reference_bin_dir, o.experiments_dir, fs::read_symlink("/proc/self/exe", self_error).parent_path().string()};
  return box;
}

// The lab's graded experiments against the programs chosen for them, the student's sandboxed; Ctrl-C stops,
// cleans up and reports what ran.
void run_experiments(const GradeOptions& o, const Lab& lab, const std::vector<Experiment>& experiments,
                     const BuildOutcome& build, sandbox::Sandbox& box, Reporter& live, const bool* interrupted,
                     GradeResult& r) {
  RunOptions run;
  run.bin_dir = o.reference_bin_dir;
  run.time_scale = o.time_scale;
  // Sandboxed programs share the experiment's network namespace, so it must be one of the experiment's own.
  run.isolation = o.sandbox && o.isolation == Isolation::kAuto ? Isolation::kNetns : o.isolation;
  run.verbose = o.verbose;
  choose_programs(lab, box.build_dir(), build, r, run);
  EventLoop loop;
  auto plain = make_boost_launcher(loop);
  auto launcher = box.program_launcher(loop, *plain);  // the student's programs sandboxed, reference ones as they are
  Runner runner(loop, *launcher, run, live);
  boost::asio::signal_set stop(loop.context(), SIGINT, SIGTERM);
  stop.async_wait([&](const boost::system::error_code& error, int) {
    if (!error) runner.interrupt();
  });
  for (const Experiment& e : experiments) {
    if (runner.interrupted() || (interrupted && *interrupted)) break;
    r.experiments.push_back(runner.run(e));
  }
  r.interrupted = runner.interrupted();
  stop.cancel();
  loop.poll();
}

// Sanitizer reports go to a program's stderr, whichever check failed because of them: collect them all, once each.
std::vector<std::string> sanitizer_findings(const std::vector<ExperimentResult>& experiments) {
  std::vector<std::string> findings;
  for (const auto& e : experiments) {
    for (const auto& p : e.processes) {
      for (const std::string& report : p.sanitizer_reports) {
        std::string finding = e.id + ": " + p.program + ": " + report;
        if (std::find(findings.begin(), findings.end(), finding) == findings.end()) findings.push_back(finding);
      }
    }
  }
  return findings;
}

std::string student_name(const std::string& submission) {
  std::string name = fs::path(submission).lexically_normal().filename().string();
  if (name.empty() || name == ".") name = fs::absolute(submission).lexically_normal().parent_path().filename().string();
  return name;
}

}  // namespace

GradeResult grade_submission(const GradeOptions& o, Reporter& live, const bool* interrupted) {
  auto started = Clock::now();
  Lab lab = resolve_lab(o);
  std::vector<LoadError> errors;
  std::vector<Experiment> experiments = load_lab_experiments(lab, true, errors);
  if (!errors.empty()) throw std::runtime_error(errors.front().text());
  GradeResult r;
  r.lab = lab.id;
  r.lab_title = lab.title;
  r.student = student_name(o.submission);

  sandbox::Sandbox box(sandbox_options(o, lab));
  r.sandbox_uid = box.uid();
  become_subreaper();  // without the sandbox: a daemon the build starts is reparented to us, not to init
  r.left_out = box.copy_in(o.submission).left_out;

  BuildOutcome b = build_submission(BuildRequest{lab.submission_programs(), o.sanitize, lab.build_timeout}, box.build_dir(), box);
  r.leftovers_killed = box.end_all();  // nothing the build started runs on into the experiments
  r.build = b.status;
  r.build_method = b.method;
  r.build_log = tail_of(b.log, 40);
  if (r.graded()) {
    run_experiments(o, lab, experiments, b, box, live, interrupted, r);
  } else {
    // Nothing ran, but every platform still lists the lab's checks (at 0) and knows its experiments (Autolab's
    // problems): each experiment as its model says, its checks not run.
    for (const Experiment& e : experiments) r.experiments.push_back(not_run(e, "the build " + std::string(build_status_name(r.build))));
  }
  r.findings = sanitizer_findings(r.experiments);

  // Every process of the student's is gone before this returns (and so before any report is written).
  r.leftovers_killed += box.end_all();
  r.confinement = box.confinement();
  r.sandbox = r.confinement.sandbox;
  r.duration = std::chrono::duration<double>(Clock::now() - started).count();
  return r;
}

static std::string left_running(const GradeResult& r) {
  return std::to_string(r.leftovers_killed) + " process" + (r.leftovers_killed == 1 ? " was" : "es were") +
         " left running (started in the background by the build, or detached from the programs) and killed";
}

void write_grade_text(std::ostream& out, const GradeResult& r, bool colour) {
  auto bold = [&](const std::string& s) { return colour ? "\033[1m" + s + "\033[0m" : s; };
  out << "\n" << bold("socklab grade: lab " + r.lab + " (" + r.lab_title + "), submission " + terminal_safe(r.student)) << "\n";
  out << "  confined: " << r.confinement.identity << "; " << r.confinement.cgroup << "\n";
  for (const std::string& l : r.left_out) out << "  not copied: " << terminal_safe(l) << "\n";
  out << "  build: " << build_status_name(r.build) << (r.build_method.empty() ? "" : " (" + r.build_method + ")") << "\n";
  if (r.build != BuildStatus::kOk) {
    std::istringstream lines(r.build_log);
    for (std::string l; std::getline(lines, l);) out << "    │ " << terminal_safe(l) << "\n";
  }
  for (const auto& [program, p] : r.programs) {
    out << "  " << program << ": " << (p.path.empty() ? "MISSING" : terminal_safe(p.path) + " — " + p.language + ", " + p.built) << "\n";
  }
  for (const auto& e : r.experiments) {
    out << "  " << std::setw(3) << e.points() << "/" << std::setw(3) << std::left << e.max_points() << std::right << "  "
        << e.title << "\n";
  }
  for (const GradedCheck& c : graded_checks(r)) {  // the instructor sees them all, and which students do not yet
    if (c.hidden) out << "  shown to students after the due date: " << c.name << " (" << c.points << "/" << c.max_points << ")\n";
  }
  for (const std::string& f : r.findings) out << "  sanitizer finding: " << terminal_safe(f) << "\n";
  if (r.confinement.oom_kills) out << "  " << sandbox::text::oom(r.confinement.oom_kills, r.confinement.memory_limit) << "\n";
  if (r.leftovers_killed) out << "  " << left_running(r) << "\n";
  out << bold("  score: " + std::to_string(r.score()) + "/" + std::to_string(r.max_score())) << "  ("
      << std::fixed << std::setprecision(1) << r.duration << " s)\n";
}

// A lab's id in JSON: a number for the numbered labs (as it always was), else the id as text.
nlohmann::json lab_json(const std::string& id) {
  bool number = !id.empty() && id.size() < 9 && std::all_of(id.begin(), id.end(), ::isdigit);
  return number ? nlohmann::json(std::stoi(id)) : nlohmann::json(id);
}

void write_grade_json(std::ostream& out, const GradeResult& r) {
  std::map<std::string, std::string> paths;
  nlohmann::json details = nlohmann::json::object();
  for (const auto& [name, p] : r.programs) {
    paths[name] = p.path;
    details[name] = {{"path", p.path}, {"language", p.language}, {"built", p.built}};
  }
  nlohmann::json j{{"tool", "socklab grade"}, {"student", r.student}, {"lab", lab_json(r.lab)}, {"lab_title", r.lab_title},
                   {"score", r.score()},
                   {"max_score", r.max_score()}, {"build", build_status_name(r.build)}, {"build_method", r.build_method},
                   {"build_log", r.build_log}, {"sandbox", r.sandbox}, {"duration_s", r.duration},
                   {"interrupted", r.interrupted}, {"programs", paths}, {"program_details", details}, {"findings", r.findings},
                   {"sandbox_uid", r.sandbox_uid}, {"leftovers_killed", r.leftovers_killed}, {"left_out", r.left_out}};
  const sandbox::Confinement& conf = r.confinement;
  j["confinement"] = {{"sandbox", conf.sandbox}, {"identity", conf.identity}, {"cgroup", conf.cgroup}, {"disk", conf.disk},
                      {"network", conf.network}, {"memory_limit_bytes", conf.memory_limit},
                      {"peak_memory_bytes", conf.peak_memory}, {"oom_kills", conf.oom_kills}};
  j["checks"] = nlohmann::json::array();
  for (const auto& e : r.experiments) {
    for (const auto& c : e.checks) {
      j["checks"].push_back({{"experiment", e.id}, {"name", c.name}, {"status", c.status_name()}, {"points", c.points},
                             {"max_points", c.max_points}, {"expected", c.expected}, {"actual", c.actual},
                             {"hint", c.hint}, {"detail", c.detail}, {"visibility", visibility_name(c.visibility)}});
    }
  }
  j["experiments"] = nlohmann::json::array();
  for (const auto& e : r.experiments) j["experiments"].push_back(experiment_json(e));
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void write_grade_junit(std::ostream& out, const GradeResult& r) {
  auto reporter = make_junit_reporter(out);
  reporter->finish(r.experiments);
}

std::vector<GradedCheck> graded_checks(const GradeResult& r) {
  std::vector<GradedCheck> checks;
  for (const auto& e : r.experiments) {
    for (const auto& c : e.checks) {
      if (c.max_points == 0) continue;  // steps without points are context, not tests
      GradedCheck g;
      g.experiment = e.id;
      g.title = e.title;
      g.check = c.name;
      g.name = e.title + ": " + c.name;
      g.points = c.points;
      g.max_points = c.max_points;
      g.passed = c.status == CheckResult::Status::kPassed;
      g.hidden = c.visibility == Visibility::kAfterDueDate;
      if (!g.passed) {
        g.feedback = "Expected: " + c.expected + "\nBut was: " + c.actual;
        if (!c.hint.empty()) g.feedback += "\nHint: " + c.hint;
        if (!c.detail.empty()) g.feedback += "\n\n" + c.detail;
      }
      checks.push_back(std::move(g));
    }
  }
  return checks;
}

std::string grade_summary(const GradeResult& r) {
  std::string summary = "Lab " + r.lab + " (" + r.lab_title + "): build " + build_status_name(r.build) +
                        (r.build_method.empty() ? "" : " (" + r.build_method + ")") + ".";
  if (r.build != BuildStatus::kOk) summary += "\n\nBuild log (end):\n" + r.build_log;
  for (const auto& [program, p] : r.programs) {
    summary += "\n" + program + (p.path.empty() ? " was not found in your submission." : ": " + p.path + " (" + p.language + ", " + p.built + ")");
  }
  for (const std::string& f : r.findings) summary += "\nSanitizer finding (a memory or undefined-behaviour bug): " + f;
  for (const std::string& l : r.left_out) summary += "\nNot copied from your submission: " + l;
  if (r.confinement.oom_kills) summary += "\n" + sandbox::text::oom(r.confinement.oom_kills, r.confinement.memory_limit);
  if (r.leftovers_killed) summary += "\n" + left_running(r);
  return summary;
}

namespace {

void dump(std::ostream& out, const nlohmann::json& j, int indent = 2) {
  out << j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace

void write_gradescope(std::ostream& out, const GradeResult& r) {
  nlohmann::json j;
  j["score"] = r.score();
  j["execution_time"] = static_cast<int>(r.duration + 0.5);
  j["output"] = grade_summary(r);
  j["visibility"] = "visible";
  j["stdout_visibility"] = "hidden";
  j["tests"] = nlohmann::json::array();
  for (const GradedCheck& c : graded_checks(r)) {
    j["tests"].push_back({{"name", c.name}, {"score", c.points}, {"max_score", c.max_points},
                          {"status", c.passed ? "passed" : "failed"}, {"output", c.feedback},
                          {"visibility", c.hidden ? "after_due_date" : "visible"}});
  }
  dump(out, j);
}

// The format: PrairieLearn's docs/externalGrading.md, "Grading results".
void write_prairielearn(std::ostream& out, const GradeResult& r) {
  nlohmann::json j;
  std::string summary = grade_summary(r);
  j["gradable"] = r.graded();
  j["score"] = r.graded() ? static_cast<double>(r.score()) / r.max_score() : 0.0;
  if (r.graded()) {
    j["message"] = "Lab " + r.lab + ": " + std::to_string(r.score()) + "/" + std::to_string(r.max_score()) + " points.";
  } else {
    j["message"] = "Your submission did not build (" + std::string(build_status_name(r.build)) +
                   "), so it could not be graded: see the build log below.";
    j["format_errors"] = nlohmann::json::array({"build " + std::string(build_status_name(r.build)) + ":\n" + r.build_log});
  }
  j["tests"] = nlohmann::json::array();
  int hidden = 0, hidden_points = 0;
  for (const GradedCheck& c : graded_checks(r)) {
    if (c.hidden) {
      ++hidden, hidden_points += c.max_points;
      continue;
    }
    j["tests"].push_back({{"name", c.name}, {"points", c.points}, {"max_points", c.max_points},
                          {"message", c.passed ? "passed" : "failed"}, {"output", c.feedback}});
  }
  if (hidden) {
    summary += "\n" + std::to_string(hidden) + " further check" + (hidden == 1 ? "" : "s") + " (" +
               std::to_string(hidden_points) + " points) will be shown after the due date.";
  }
  j["output"] = summary;
  dump(out, j);
}

// The format: Autolab's docs/lab.md ("Writing Autograders": the last line of stdout is the autoresult) and
// docs/features/formatted-feedback.md (a semantic-feedback JSON line just before it).
void write_autolab(std::ostream& out, const GradeResult& r) {
  std::vector<GradedCheck> checks = graded_checks(r);
  out << grade_summary(r) << "\n\n";
  nlohmann::json scores = nlohmann::json::object();
  nlohmann::json feedback{{"_presentation", "semantic"}, {"stages", nlohmann::json::array()}};
  int hidden = 0, shown = 0, shown_max = 0;  // the scoreboard is the class's: it shows only visible points
  for (const GradedCheck& c : checks) {
    std::string problem = c.hidden ? "after_due_date" : c.experiment;
    scores[problem] = scores.value(problem, 0) + (r.graded() ? c.points : 0);
    if (c.hidden) {
      ++hidden;
      continue;
    }
    shown += r.graded() ? c.points : 0;
    shown_max += c.max_points;
    out << (c.passed ? "PASS " : "FAIL ") << c.points << "/" << c.max_points << "  " << c.name << "\n";
    if (!c.passed) {
      std::istringstream lines(c.feedback);
      for (std::string l; std::getline(lines, l);) out << "    " << l << "\n";
    }
    if (!feedback.contains(c.title)) {  // one stage per experiment, one test per check
      feedback["stages"].push_back(c.title);
      feedback[c.title] = nlohmann::json::object();
    }
    nlohmann::json test{{"passed", c.passed}};
    if (!c.passed && !c.feedback.empty()) test["hint"] = c.feedback;
    feedback[c.title][c.check] = test;
  }
  out << "score: " << shown << "/" << shown_max << "\n";
  if (hidden) out << hidden << " further check" << (hidden == 1 ? "" : "s") << " will be shown after the due date.\n";
  dump(out, feedback, -1);
  dump(out, {{"scores", scores}, {"scoreboard", nlohmann::json::array({shown})}}, -1);
}

bool read_grade_reports(const std::vector<std::string>& json_files, std::vector<nlohmann::json>& reports, std::string& error) {
  for (const std::string& f : json_files) {
    std::ifstream in(f);
    try {
      reports.push_back(nlohmann::json::parse(in));
    } catch (const std::exception& e) {
      error = f + ": not a socklab grade report (" + e.what() + ")";
      return false;
    }
    if (!reports.back().contains("student") || !reports.back().contains("checks")) {
      error = f + ": not a socklab grade report (no student/checks)";
      return false;
    }
  }
  return true;
}

bool write_gradebook(const std::vector<std::string>& json_files, std::ostream& csv, std::string& error) {
  std::vector<nlohmann::json> reports;
  if (!read_grade_reports(json_files, reports, error)) return false;
  std::vector<std::string> columns;  // "experiment/check", in first-seen order
  std::set<std::string> seen;
  for (const auto& r : reports) {
    for (const auto& c : r["checks"]) {
      std::string key = c["experiment"].get<std::string>() + "/" + c["name"].get<std::string>();
      if (c["max_points"].get<int>() > 0 && seen.insert(key).second) columns.push_back(key);
    }
  }
  csv << "student,lab,score,max_score,build,duration_s";
  for (const auto& c : columns) csv << "," << csv_cell(c);
  csv << "\n";
  std::sort(reports.begin(), reports.end(), [](auto& a, auto& b) { return a["student"] < b["student"]; });
  for (const auto& r : reports) {
    std::map<std::string, int> points;
    for (const auto& c : r["checks"]) points[c["experiment"].get<std::string>() + "/" + c["name"].get<std::string>()] = c["points"];
    std::ostringstream duration;
    duration << std::fixed << std::setprecision(1) << r["duration_s"].get<double>();
    std::string lab = r["lab"].is_string() ? r["lab"].get<std::string>() : r["lab"].dump();
    csv << csv_cell(r["student"]) << "," << csv_cell(lab) << "," << r["score"].get<int>() << ","
        << r["max_score"].get<int>() << "," << csv_cell(r["build"]) << "," << duration.str();
    for (const auto& c : columns) csv << "," << (points.count(c) ? std::to_string(points[c]) : "0");
    csv << "\n";
  }
  return true;
}

}  // namespace socklab::harness
