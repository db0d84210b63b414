#include "model/placeholders.h"

#include <algorithm>
#include <cctype>

namespace socklab::harness {
namespace {

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

Placeholder::Kind kind_of(const std::string& inside) {
  if (inside.rfind("pid:", 0) == 0) return Placeholder::Kind::kPid;
  if (inside.rfind("port:", 0) == 0) {
    bool named = inside.size() > 5 && std::all_of(inside.begin() + 5, inside.end(), name_char);
    return named ? Placeholder::Kind::kPort : Placeholder::Kind::kUnknown;
  }
  if (inside.rfind("port", 0) == 0 &&
      std::all_of(inside.begin() + 4, inside.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return Placeholder::Kind::kPort;  // {port}, {port2}, ...
  }
  return Placeholder::Kind::kUnknown;
}

}  // namespace

std::vector<TextPiece> split_placeholders(const Template& text) {
  std::vector<TextPiece> pieces;
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    std::size_t close = text[i] == '{' ? text.find_first_of("{}", i + 1) : std::string::npos;
    if (close == std::string::npos || text[close] != '}') {  // no placeholder here: "{" alone, or "{a{port}"
      literal += text[i];
      continue;
    }
    if (!literal.empty()) pieces.push_back({std::move(literal), std::nullopt});
    literal.clear();
    std::string inside = text.substr(i + 1, close - i - 1);
    pieces.push_back({"", Placeholder{kind_of(inside), inside}});
    i = close;
  }
  if (!literal.empty()) pieces.push_back({std::move(literal), std::nullopt});
  return pieces;
}

bool is_port_placeholder(const Template& text) {
  auto pieces = split_placeholders(text);
  return pieces.size() == 1 && pieces[0].placeholder && pieces[0].placeholder->kind == Placeholder::Kind::kPort;
}

}  // namespace socklab::harness
