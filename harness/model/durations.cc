#include "model/durations.h"

#include <algorithm>
#include <iomanip>
#include <regex>
#include <sstream>

namespace socklab::harness {

std::optional<Millis> parse_duration(const std::string& text) {
  static const std::regex form("([0-9]+(\\.[0-9]+)?)(ms|s|min)");
  std::smatch m;
  if (!std::regex_match(text, m, form)) return std::nullopt;
  double value = std::stod(m[1]);
  double scale = m[3] == "ms" ? 1 : m[3] == "s" ? 1000 : 60000;
  return Millis(static_cast<long>(value * scale + 0.5));
}

std::string duration_text(Millis d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s" : std::to_string(d.count()) + "ms";
}

std::string seconds_text(double seconds, int decimals) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << seconds << "s";
  return s.str();
}

std::string moment_text(double seconds) { return seconds_text(seconds, 6); }

std::string span_text(double seconds) {
  double us = std::max(0.0, seconds) * 1e6;
  std::ostringstream s;
  if (us < 999.5) {
    s << static_cast<long>(us + 0.5) << " µs";
  } else if (us < 9950) {
    s << std::fixed << std::setprecision(1) << us / 1000 << " ms";
  } else if (us < 99500) {
    s << static_cast<long>(us / 1000 + 0.5) << " ms";
  } else {
    s << std::fixed << std::setprecision(2) << us / 1e6 << " s";
  }
  return s.str();
}

}  // namespace socklab::harness
