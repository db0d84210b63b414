#include "grade/class_report.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "report/reports.h"

namespace socklab::harness {
namespace {

using json = nlohmann::json;

std::string esc(const std::string& text) { return xml_escape(text); }

std::string fixed(double value, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << value;
  return s.str();
}

const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 2px solid #ddd; }
.summary, .note { color: #555; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 2px 10px; text-align: left; vertical-align: top; }
th { border-bottom: 1px solid #ccc; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { margin: 0; font: 12px monospace; white-space: pre-wrap; color: #b71c1c; max-width: 700px; }
svg text { font: 12px system-ui, sans-serif; fill: #222; } svg text.small { font-size: 11px; fill: #555; }
.bin rect { fill: #5c85d6; } .bin.full rect { fill: #2e7d32; } .bin.zero rect { fill: #c62828; }
.check rect.track { fill: #eee; } .check rect.rate { fill: #2e7d32; } .check.low rect.rate { fill: #c62828; }
.check.mid rect.rate { fill: #ef8f00; } .axis line { stroke: #999; }
)";

// What one student's report says, as the class report needs it.
struct Student {
  std::string name, build, build_log;
  int score = 0, max_score = 100;
  double seconds = 0;
  bool graded() const { return build == "ok" || build == "no sources"; }
};

// One check across the class: how many of the graded submissions passed it.
struct CheckStats {
  std::string experiment, name;
  int max_points = 0, passed = 0, of = 0;
  double rate() const { return of ? static_cast<double>(passed) / of : 0; }
};

// Bars of ten points (0-9 … 90-99) and one for full marks: how many students scored in each.
void histogram(std::ostream& out, const std::vector<Student>& students) {
  std::vector<int> bins(11, 0);
  for (const Student& s : students) {
    int percent = s.max_score ? s.score * 100 / s.max_score : 0;
    bins[std::clamp(percent / 10, 0, 10)]++;
  }
  int most = std::max(1, *std::max_element(bins.begin(), bins.end()));
  const int left = 40, bar = 56, gap = 8, height = 200, top = 20;
  int width = left + 11 * (bar + gap) + 10;
  out << "<svg class=\"histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << top + height + 50
      << "\" role=\"img\" aria-label=\"score histogram\">\n";
  out << "<g class=\"axis\"><line x1=\"" << left << "\" y1=\"" << top + height << "\" x2=\"" << width - 10 << "\" y2=\""
      << top + height << "\"/></g>\n";
  for (int i = 0; i <= 10; ++i) {
    int x = left + i * (bar + gap);
    int h = bins[i] * height / most;
    std::string label = i == 10 ? "100" : std::to_string(i * 10) + "–" + std::to_string(i * 10 + 9);
    std::string cls = i == 10 ? "bin full" : i == 0 ? "bin zero" : "bin";
    out << "<g class=\"" << cls << "\" data-from=\"" << i * 10 << "\" data-to=\"" << (i == 10 ? 100 : i * 10 + 9)
        << "\" data-count=\"" << bins[i] << "\"><title>" << bins[i] << " student" << (bins[i] == 1 ? "" : "s") << " scored "
        << label << "</title>";
    if (h > 0) out << "<rect x=\"" << x << "\" y=\"" << top + height - h << "\" width=\"" << bar << "\" height=\"" << h << "\"/>";
    if (bins[i] > 0) {
      out << "<text x=\"" << x + bar / 2 << "\" y=\"" << top + height - h - 5 << "\" text-anchor=\"middle\">" << bins[i] << "</text>";
    }
    out << "<text class=\"small\" x=\"" << x + bar / 2 << "\" y=\"" << top + height + 18 << "\" text-anchor=\"middle\">" << label
        << "</text></g>\n";
  }
  out << "<text class=\"small\" x=\"" << left + 11 * (bar + gap) / 2 << "\" y=\"" << top + height + 40
      << "\" text-anchor=\"middle\">score (percent of the lab's points)</text>\n</svg>\n";
}

// One bar per check, lowest pass rate first: the mistakes the class makes most stand at the top.
void pass_rates(std::ostream& out, std::vector<CheckStats> checks) {
  std::stable_sort(checks.begin(), checks.end(), [](const CheckStats& a, const CheckStats& b) { return a.rate() < b.rate(); });
  const int label = 520, track = 360, row = 22;
  out << "<svg class=\"pass-rates\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << label + track + 110 << "\" height=\""
      << checks.size() * row + 10 << "\" role=\"img\" aria-label=\"pass rate of every check\">\n";
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const CheckStats& c = checks[i];
    int y = static_cast<int>(i) * row + 4;
    const char* cls = c.rate() < 0.5 ? "check low" : c.rate() < 0.9 ? "check mid" : "check";
    std::string name = c.experiment + " / " + c.name;
    out << "<g class=\"" << cls << "\" data-check=\"" << esc(c.experiment + "/" + c.name) << "\" data-passed=\"" << c.passed
        << "\" data-of=\"" << c.of << "\"><title>" << esc(name) << ": " << c.passed << " of " << c.of << " passed ("
        << c.max_points << " points)</title>";
    out << "<text x=\"" << label - 8 << "\" y=\"" << y + 14 << "\" text-anchor=\"end\">" << esc(name.size() > 72 ? name.substr(0, 70) + "…" : name)
        << "</text>";
    out << "<rect class=\"track\" x=\"" << label << "\" y=\"" << y + 2 << "\" width=\"" << track << "\" height=\"" << row - 6 << "\"/>";
    int w = static_cast<int>(std::lround(c.rate() * track));
    if (w > 0) out << "<rect class=\"rate\" x=\"" << label << "\" y=\"" << y + 2 << "\" width=\"" << w << "\" height=\"" << row - 6 << "\"/>";
    out << "<text x=\"" << label + track + 6 << "\" y=\"" << y + 14 << "\">" << std::lround(c.rate() * 100) << " % (" << c.passed << "/" << c.of
        << ")</text></g>\n";
  }
  out << "</svg>\n";
}

// The first lines of a build log that say "error" (else its last lines): what went wrong, in short.
std::string build_excerpt(const std::string& log) {
  std::vector<std::string> lines, errors;
  std::istringstream in(log);
  for (std::string l; std::getline(in, l);) {
    lines.push_back(l);
    if (l.find("error") != std::string::npos || l.find("Error") != std::string::npos) errors.push_back(l);
  }
  const std::vector<std::string>& pick = errors.empty() ? lines : errors;
  std::string out;
  std::size_t first = errors.empty() && pick.size() > 3 ? pick.size() - 3 : 0;
  for (std::size_t i = first; i < pick.size() && i < first + 3; ++i) out += pick[i] + "\n";
  return out;
}

}  // namespace

void write_class_report(std::ostream& out, const std::vector<json>& reports) {
  std::vector<Student> students;
  std::vector<CheckStats> checks;
  std::map<std::string, std::size_t> check_index;  // "experiment/name" -> in checks, in first-seen order
  std::set<std::string> labs;
  for (const json& r : reports) {
    Student s;
    s.name = r.value("student", "?");
    s.build = r.value("build", "?");
    s.build_log = r.value("build_log", "");
    s.score = r.value("score", 0);
    s.max_score = r.value("max_score", 100);
    s.seconds = r.value("duration_s", 0.0);
    std::string lab = r.contains("lab") ? (r["lab"].is_string() ? r["lab"].get<std::string>() : r["lab"].dump()) : "?";
    labs.insert("Lab " + lab + (r.contains("lab_title") ? " (" + r.value("lab_title", "") + ")" : ""));
    for (const json& c : r["checks"]) {
      if (c.value("max_points", 0) == 0) continue;
      std::string key = c.value("experiment", "") + "/" + c.value("name", "");
      auto [at, added] = check_index.emplace(key, checks.size());
      if (added) checks.push_back({c.value("experiment", ""), c.value("name", ""), c.value("max_points", 0)});
      if (!s.graded()) continue;  // a build failure says nothing about any one check
      checks[at->second].of++;
      if (c.value("points", 0) == c.value("max_points", 0)) checks[at->second].passed++;
    }
    students.push_back(s);
  }
  std::sort(students.begin(), students.end(), [](const Student& a, const Student& b) { return a.name < b.name; });

  std::vector<double> scores;
  int full = 0, failed_builds = 0;
  for (const Student& s : students) {
    scores.push_back(s.max_score ? 100.0 * s.score / s.max_score : 0);
    full += s.score == s.max_score;
    failed_builds += !s.graded();
  }
  std::sort(scores.begin(), scores.end());
  double mean = 0;
  for (double v : scores) mean += v;
  mean = scores.empty() ? 0 : mean / scores.size();
  double median = scores.empty() ? 0 : scores.size() % 2 ? scores[scores.size() / 2]
                                                         : (scores[scores.size() / 2 - 1] + scores[scores.size() / 2]) / 2;
  std::string title;
  for (const std::string& l : labs) title += (title.empty() ? "" : ", ") + l;

  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>socklab class report</title><style>" << kStyle
      << "</style></head><body>\n<h1>" << esc(title.empty() ? "No gradings" : title) << ": the class</h1>\n";
  out << "<p class=\"summary\" id=\"summary\" data-students=\"" << students.size() << "\" data-build-failures=\"" << failed_builds
      << "\">" << students.size() << " submission" << (students.size() == 1 ? "" : "s") << " · mean " << fixed(mean, 1)
      << " % · median " << fixed(median, 1) << " % · " << full << " with full marks · " << failed_builds << " did not build</p>\n";

  out << "<section id=\"scores\"><h2>Scores</h2>\n";
  histogram(out, students);
  out << "</section>\n";

  out << "<section id=\"checks\"><h2>Checks, the least passed first</h2>\n<p class=\"note\">The share of the "
      << students.size() - failed_builds << " submissions that built which passed each check (points in full): the mistakes "
      << "the class makes most are at the top.</p>\n";
  pass_rates(out, checks);
  out << "</section>\n";

  out << "<section id=\"build-failures\"><h2>Did not build (" << failed_builds << ")</h2>\n";
  if (failed_builds == 0) {
    out << "<p class=\"note\">Every submission built.</p>\n";
  } else {
    out << "<table class=\"builds\"><tr><th>student</th><th>build</th><th>what the build said</th></tr>\n";
    for (const Student& s : students) {
      if (s.graded()) continue;
      out << "<tr class=\"build-failure\"><td>" << esc(s.name) << "</td><td>" << esc(s.build) << "</td><td><pre>"
          << esc(build_excerpt(s.build_log)) << "</pre></td></tr>\n";
    }
    out << "</table>\n";
  }
  out << "</section>\n";

  std::vector<Student> slowest = students;
  std::stable_sort(slowest.begin(), slowest.end(), [](const Student& a, const Student& b) { return a.seconds > b.seconds; });
  if (slowest.size() > 10) slowest.resize(10);
  out << "<section id=\"slowest\"><h2>Slowest gradings</h2>\n<p class=\"note\">A grading is slow when its checks wait "
      << "for their deadlines: a program that hangs or never answers.</p>\n<table class=\"slowest\"><tr><th>student</th><th>seconds</th>"
      << "<th>score</th><th>build</th></tr>\n";
  for (const Student& s : slowest) {
    out << "<tr class=\"grading\"><td>" << esc(s.name) << "</td><td class=\"num\">" << fixed(s.seconds, 1) << "</td><td class=\"num\">"
        << s.score << "/" << s.max_score << "</td><td>" << esc(s.build) << "</td></tr>\n";
  }
  out << "</table>\n</section>\n</body></html>\n";
}

}  // namespace socklab::harness
