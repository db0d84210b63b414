// How a measured number is written in reports: enough digits to compare two of them, no more.
#pragma once

#include <string>

namespace socklab::harness {

// Four significant digits, no exponent, no trailing zeros: 123457 → "123457", 84.137 → "84.14", 0.000123 → "0.000123".
std::string number_text(double value);

// A ratio to a baseline: "1.23×".
std::string ratio_text(double ratio);

}  // namespace socklab::harness
