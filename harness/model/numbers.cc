#include "model/numbers.h"

#include <cmath>
#include <cstdio>

namespace socklab::harness {

std::string number_text(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "?" : value > 0 ? "∞" : "-∞";
  if (value == 0) return "0";
  int digits_before_point = static_cast<int>(std::floor(std::log10(std::fabs(value)))) + 1;
  int decimals = std::max(0, 4 - digits_before_point);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string text = buffer;
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

std::string ratio_text(double ratio) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f×", ratio);
  return buffer;
}

}  // namespace socklab::harness
