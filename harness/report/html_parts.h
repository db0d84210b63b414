// Small pieces the HTML report's files share: escaping, numbers for SVG coordinates, a state's CSS class.
#pragma once

#include <cctype>
#include <iomanip>
#include <sstream>
#include <string>

#include "report/reports.h"

namespace socklab::harness::html {

// Escaped for XML and HTML; bytes that are not UTF-8 (a program's binary output, a step that sent some) and
// control characters shown as \xff, as on a terminal: the page stays valid UTF-8.
inline std::string esc(const std::string& text) {
  return xml_escape(terminal_safe(text));
}

// A coordinate: at most `precision` decimals, none when whole ("14", "14.5"): a report has thousands of them.
inline std::string num(double v, int precision = 1) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(precision) << v;
  std::string text = o.str();
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text == "-0" ? "0" : text;
}

inline std::string css_class(const std::string& state) {  // "FIN-WAIT-1" -> "s-FIN-WAIT-1"
  std::string c = "s-";
  for (char ch : state) c += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ? ch : '_';
  return c;
}

// Characters, not bytes: "→", "µ" and "⋯" are one each (for widths of monospace text).
inline std::size_t characters(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

// At most `limit` characters, "…" at the end when cut (never inside a UTF-8 sequence).
inline std::string shorten(const std::string& text, std::size_t limit) {
  if (characters(text) <= limit) return text;
  std::size_t n = 0, i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80 && ++n == limit) break;
  }
  return text.substr(0, i) + "…";
}

}  // namespace socklab::harness::html
