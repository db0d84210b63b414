#include "load/xml.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

#include "load/loader.h"

namespace socklab::harness {

bool XmlFile::parse() {
  std::ifstream file(path_, std::ios::binary);
  if (!file) {
    error(0, "cannot read the file");
    return false;
  }
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') newlines_.push_back(i);
  }
  pugi::xml_parse_result parsed = doc_.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_comments);
  if (!parsed) {
    error(static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), static_cast<std::size_t>(parsed.offset)) -
                           newlines_.begin()) + 1,
          std::string("not well-formed XML: ") + parsed.description());
    return false;
  }
  return true;
}

int XmlFile::line(const pugi::xml_node& node) const {
  std::ptrdiff_t offset = node.offset_debug();
  if (offset < 0) return 0;
  return static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), static_cast<std::size_t>(offset)) -
                          newlines_.begin()) + 1;
}

std::string XmlFile::trimmed(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

bool XmlFile::check_attributes(const pugi::xml_node& node, const std::set<std::string>& required,
                               const std::set<std::string>& optional) {
  bool ok = true;
  for (pugi::xml_attribute a : node.attributes()) {
    if (!required.count(a.name()) && !optional.count(a.name())) {
      error(node, "unknown attribute \"" + std::string(a.name()) + "\" on <" + node.name() + ">");
      ok = false;
    }
  }
  for (const std::string& r : required) {
    if (!node.attribute(r.c_str())) {
      error(node, "<" + std::string(node.name()) + "> needs the attribute \"" + r + "\"");
      ok = false;
    }
  }
  return ok;
}

std::optional<Millis> XmlFile::duration(const pugi::xml_node& node, const char* attribute) {
  std::string text = node.attribute(attribute).value();
  auto d = parse_duration(text);
  if (!d) error(node, "bad duration " + std::string(attribute) + "=\"" + text + "\" (e.g. 500ms, 2s, 1.5s, 1min)");
  return d;
}

std::optional<long> XmlFile::integer(const pugi::xml_node& node, const char* attribute, long min, long max) {
  std::string text = node.attribute(attribute).value();
  try {
    std::size_t used = 0;
    long value = std::stol(text, &used);
    if (used == text.size() && value >= min && value <= max) return value;
  } catch (const std::exception&) {
  }
  error(node, "bad " + std::string(attribute) + "=\"" + text + "\" (a whole number from " + std::to_string(min) + " to " +
                  std::to_string(max) + ")");
  return std::nullopt;
}

bool XmlFile::boolean(const pugi::xml_node& node, const char* attribute, bool fallback) {
  if (!node.attribute(attribute)) return fallback;
  std::string text = node.attribute(attribute).value();
  if (text == "true") return true;
  if (text == "false") return false;
  error(node, "bad " + std::string(attribute) + "=\"" + text + "\" (true or false)");
  return fallback;
}

std::vector<pugi::xml_node> XmlFile::elements(const pugi::xml_node& parent) {
  std::vector<pugi::xml_node> found;
  for (pugi::xml_node child : parent.children()) {
    if (child.type() == pugi::node_element) {
      found.push_back(child);
    } else if (child.type() != pugi::node_comment && !trimmed(child.value()).empty()) {
      error(child, "unexpected text inside <" + std::string(parent.name()) + ">");
    }
  }
  return found;
}

}  // namespace socklab::harness
