#include "report/charts.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "model/numbers.h"
#include "report/html_parts.h"
#include "report/text.h"

namespace socklab::harness {

using html::esc;
using html::num;

std::optional<double> ChartData::ratio(const std::string& name, double x) const {
  auto base = points.find(spec.baseline), mine = points.find(name);
  if (spec.baseline.empty() || name == spec.baseline || base == points.end() || mine == points.end()) return std::nullopt;
  auto at = [x](const std::vector<MeasurementRecord::Point>& list) -> std::optional<double> {
    for (const auto& p : list) {
      if (p.x == x) return p.y;
    }
    return std::nullopt;
  };
  std::optional<double> b = at(base->second), m = at(mine->second);
  if (!b || !m || *b == 0) return std::nullopt;
  return *m / *b;
}

std::vector<ChartData> chart_data(const ExperimentResult& r) {
  std::vector<ChartData> charts;
  for (const ChartSpec& spec : r.charts) {
    ChartData c{spec, {}, {}};
    for (const MeasurementRecord& m : r.measurements) {
      if (m.chart != spec.id) continue;
      if (!c.points.count(m.series)) c.series.push_back(m.series);
      auto& list = c.points[m.series];
      list.insert(list.end(), m.points.begin(), m.points.end());
    }
    if (c.series.empty()) continue;
    for (auto& [name, list] : c.points) {
      std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.x < b.x; });
    }
    charts.push_back(std::move(c));
  }
  return charts;
}

std::string chart_csv(const ChartData& chart) {
  std::string out = "series," + csv_cell(chart.spec.x_label) + "," + csv_cell(chart.spec.y_label) + "\n";
  for (const std::string& name : chart.series) {
    for (const auto& p : chart.points.at(name)) out += csv_cell(name) + "," + number_text(p.x) + "," + number_text(p.y) + "\n";
  }
  return out;
}

std::string measurements_text(const ExperimentResult& r) {
  if (r.measurements.empty()) return "";
  std::vector<ChartData> charts = chart_data(r);
  std::string out = text::measured() + "\n";
  for (const MeasurementRecord& m : r.measurements) {
    std::string value = m.value_text();
    for (const ChartData& c : charts) {
      if (c.spec.id != m.chart || !m.single) continue;
      if (auto ratio = c.ratio(m.series, m.points.front().x)) value += "  (" + text::ratio_to(ratio_text(*ratio), c.spec.baseline) + ")";
    }
    out += "  " + m.name + ": " + value + "\n";
  }
  return out;
}

namespace {

constexpr double kWidth = 640, kHeight = 300, kLeft = 70, kRight = 170, kTop = 30, kBottom = 45;
const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

// Round steps (1, 2, 5 × 10^n) from 0 up past `high`.
std::vector<double> nice_ticks(double high) {
  if (high <= 0) return {0, 1};
  double raw = high / 5, magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude * (raw / magnitude <= 1 ? 1 : raw / magnitude <= 2 ? 2 : raw / magnitude <= 5 ? 5 : 10);
  std::vector<double> ticks;
  for (double t = 0; t < high + step * 0.999; t += step) ticks.push_back(t);
  return ticks;
}

void chart_svg(std::ostream& out, const ChartData& c) {
  std::set<double> xs;
  double y_high = 0;
  for (const auto& [name, list] : c.points) {
    for (const auto& p : list) xs.insert(p.x), y_high = std::max(y_high, p.y);
  }
  bool log = c.spec.x_log && *xs.begin() > 0;
  auto xv = [log](double x) { return log ? std::log2(x) : x; };
  double x_low = xv(*xs.begin()), x_high = xv(*xs.rbegin());
  if (!log && x_low > 0) x_low = 0;
  if (x_high == x_low) x_high = x_low + 1;
  std::vector<double> y_ticks = nice_ticks(y_high);
  double y_top = y_ticks.back();
  double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (xv(x) - x_low) / (x_high - x_low) * plot_w; };
  auto py = [&](double y) { return kTop + plot_h - y / y_top * plot_h; };
  out << "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(kWidth) << "\" height=\"" << num(kHeight)
      << "\" role=\"img\" aria-label=\"" << esc(text::chart_aria(c.spec.title)) << "\">";
  out << "<text class=\"chart-title\" x=\"" << num(kLeft) << "\" y=\"18\">" << esc(c.spec.title) << "</text>";
  for (double t : y_ticks) {
    out << "<line class=\"grid\" x1=\"" << num(kLeft) << "\" y1=\"" << num(py(t)) << "\" x2=\"" << num(kLeft + plot_w) << "\" y2=\""
        << num(py(t)) << "\"/><text class=\"tick\" text-anchor=\"end\" x=\"" << num(kLeft - 6) << "\" y=\"" << num(py(t) + 4) << "\">"
        << esc(number_text(t)) << "</text>";
  }
  std::vector<double> x_ticks;
  if (log || xs.size() <= 8) {
    x_ticks.assign(xs.begin(), xs.end());
  } else {
    x_ticks = nice_ticks(*xs.rbegin());
  }
  for (double t : x_ticks) {
    out << "<text class=\"tick\" text-anchor=\"middle\" x=\"" << num(px(t)) << "\" y=\"" << num(kTop + plot_h + 16) << "\">"
        << esc(number_text(t)) << "</text>";
  }
  out << "<line class=\"axis\" x1=\"" << num(kLeft) << "\" y1=\"" << num(kTop + plot_h) << "\" x2=\"" << num(kLeft + plot_w)
      << "\" y2=\"" << num(kTop + plot_h) << "\"/><line class=\"axis\" x1=\"" << num(kLeft) << "\" y1=\"" << num(kTop)
      << "\" x2=\"" << num(kLeft) << "\" y2=\"" << num(kTop + plot_h) << "\"/>";
  out << "<text class=\"axis-label\" text-anchor=\"middle\" x=\"" << num(kLeft + plot_w / 2) << "\" y=\"" << num(kHeight - 8) << "\">"
      << esc(c.spec.x_label) << "</text><text class=\"axis-label\" text-anchor=\"middle\" transform=\"translate(14 "
      << num(kTop + plot_h / 2) << ") rotate(-90)\">" << esc(c.spec.y_label) << "</text>";
  for (std::size_t i = 0; i < c.series.size(); ++i) {
    const std::string& name = c.series[i];
    const char* colour = kColours[i % std::size(kColours)];
    const auto& list = c.points.at(name);
    std::string path;
    for (const auto& p : list) path += (path.empty() ? "M" : " L") + num(px(p.x)) + "," + num(py(p.y));
    out << "<g class=\"series\" data-series=\"" << esc(name) << "\"><path fill=\"none\" stroke=\"" << colour
        << "\" stroke-width=\"2\"" << (name == c.spec.baseline ? " stroke-dasharray=\"6 3\"" : "") << " d=\"" << path << "\"/>";
    if (list.size() <= 64) {
      for (const auto& p : list) {
        out << "<circle cx=\"" << num(px(p.x)) << "\" cy=\"" << num(py(p.y)) << "\" r=\"3\" fill=\"" << colour << "\"><title>"
            << esc(name + ": " + number_text(p.x) + " " + c.spec.x_label + ", " + number_text(p.y) + " " + c.spec.y_label)
            << "</title></circle>";
      }
    }
    double ly = kTop + 10 + static_cast<double>(i) * 18;
    out << "<line x1=\"" << num(kWidth - kRight + 12) << "\" y1=\"" << num(ly) << "\" x2=\"" << num(kWidth - kRight + 32) << "\" y2=\""
        << num(ly) << "\" stroke=\"" << colour << "\" stroke-width=\"2\"/><text class=\"legend\" x=\"" << num(kWidth - kRight + 38)
        << "\" y=\"" << num(ly + 4) << "\">" << esc(name) << "</text></g>";
  }
  out << "</svg>\n";
}

// Rows by x, a column per series, then a ratio column per series against the baseline.
void chart_table(std::ostream& out, const ChartData& c) {
  std::set<double> xs;
  for (const auto& [name, list] : c.points) {
    for (const auto& p : list) xs.insert(p.x);
  }
  if (xs.size() > 32) return;  // a long series (a rate per second) is read on the chart and in the CSV
  std::vector<std::string> ratio_series;
  for (const std::string& name : c.series) {
    if (!c.spec.baseline.empty() && name != c.spec.baseline && c.points.count(c.spec.baseline)) ratio_series.push_back(name);
  }
  out << "<table class=\"measurements\"><tr><th>" << esc(c.spec.x_label) << "</th>";
  for (const std::string& name : c.series) out << "<th>" << esc(name) << "</th>";
  for (const std::string& name : ratio_series) out << "<th>" << esc(text::ratio_heading(name, c.spec.baseline)) << "</th>";
  out << "</tr>\n";
  for (double x : xs) {
    out << "<tr><td>" << esc(number_text(x)) << "</td>";
    for (const std::string& name : c.series) {
      std::string cell;
      for (const auto& p : c.points.at(name)) {
        if (p.x == x) cell = number_text(p.y);
      }
      out << "<td>" << esc(cell) << "</td>";
    }
    for (const std::string& name : ratio_series) {
      std::optional<double> ratio = c.ratio(name, x);
      out << "<td class=\"ratio\">" << esc(ratio ? ratio_text(*ratio) : "") << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</table>\n";
}

// For a data: URI (RFC 2397): everything but unreserved characters percent-encoded.
std::string uri_encoded(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace

void write_measurements_html(std::ostream& out, const ExperimentResult& r) {
  if (r.measurements.empty()) return;
  out << "<div class=\"measurements\">\n<h3>" << esc(text::measurements_heading()) << "</h3>\n<p class=\"meta\">"
      << esc(text::measurements_about()) << "</p>\n";
  for (const ChartData& c : chart_data(r)) {
    out << "<figure class=\"chart\" id=\"" << esc(r.id + "-" + c.spec.id) << "\">\n";
    chart_svg(out, c);
    chart_table(out, c);
    out << "<a class=\"csv\" download=\"" << esc(r.id + "-" + c.spec.id + ".csv") << "\" href=\"data:text/csv;charset=utf-8,"
        << uri_encoded(chart_csv(c)) << "\">" << esc(text::chart_data_csv()) << "</a>\n</figure>\n";
  }
  std::vector<const MeasurementRecord*> loose;
  for (const MeasurementRecord& m : r.measurements) {
    if (m.chart.empty()) loose.push_back(&m);
  }
  if (!loose.empty()) {
    out << "<table class=\"measurements\">";
    for (const MeasurementRecord* m : loose) out << "<tr><td>" << esc(m->name) << "</td><td>" << esc(m->value_text()) << "</td></tr>";
    out << "</table>\n";
  }
  out << "</div>\n";
}

}  // namespace socklab::harness
