// An experiment's measurements (<measure>) drawn as its charts (<chart>): per chart, a line per series, the values
// as a table with each series' ratio to the chart's baseline at the same x, and the data as CSV. The HTML report
// draws them as SVG; the terminal report lists them.
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "run/results.h"

namespace socklab::harness {

struct ChartData {
  ChartSpec spec;
  std::vector<std::string> series;  // in the order the experiment measured them
  std::map<std::string, std::vector<MeasurementRecord::Point>> points;  // by series, sorted by x
  // The series' value divided by the baseline's at the same x, when both are there.
  std::optional<double> ratio(const std::string& series, double x) const;
};

// One per <chart> that has measurements, in the experiment's order.
std::vector<ChartData> chart_data(const ExperimentResult& r);

// "series,x,y" rows with a header naming the axes.
std::string chart_csv(const ChartData& chart);

// The measurements for the terminal: one line each, with its ratio to its chart's baseline.
std::string measurements_text(const ExperimentResult& r);

// The measurements section of an experiment in the HTML report: charts, tables, CSV links (nothing without any).
void write_measurements_html(std::ostream& out, const ExperimentResult& r);

}  // namespace socklab::harness
