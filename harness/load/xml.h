// Strict reading of socklab's XML files (experiments, lab manifests): pugixml silently defaults what is missing, so
// every attribute is checked for presence and form here, and every problem is reported as FILE:LINE: message.
#pragma once

#include <pugixml.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/experiment.h"

namespace socklab::harness {

// A problem in a file, "FILE:LINE: message".
struct LoadError {
  std::string file;
  int line = 0;
  std::string message;
  std::string text() const { return file + ":" + std::to_string(line) + ": " + message; }
};

// One XML file being read: its document, line numbers for its nodes, and the checks every reader needs.
class XmlFile {
 public:
  XmlFile(std::string path, std::vector<LoadError>& errors) : path_(std::move(path)), errors_(errors) {}
  // Reads and parses the file; false (after reporting why) if it cannot be read or is not well-formed XML.
  bool parse();
  pugi::xml_node root() const { return doc_.document_element(); }
  const std::string& path() const { return path_; }

  int line(const pugi::xml_node& node) const;
  void error(int at, const std::string& message) { errors_.push_back({path_, at, message}); }
  void error(const pugi::xml_node& node, const std::string& message) { error(line(node), message); }
  std::size_t error_count() const { return errors_.size(); }

  // Unknown attributes and missing required ones. Returns false if anything was wrong.
  bool check_attributes(const pugi::xml_node& node, const std::set<std::string>& required,
                        const std::set<std::string>& optional);
  // The value of an attribute as a duration, a whole number in a range, or true/false; each reports a bad value.
  std::optional<Millis> duration(const pugi::xml_node& node, const char* attribute);
  std::optional<long> integer(const pugi::xml_node& node, const char* attribute, long min, long max);
  bool boolean(const pugi::xml_node& node, const char* attribute, bool fallback);
  // Element children only; text other than white space between them is an error ("unexpected text inside <x>").
  std::vector<pugi::xml_node> elements(const pugi::xml_node& parent);

  static std::string trimmed(std::string s);

 private:
  std::string path_;
  std::vector<LoadError>& errors_;
  pugi::xml_document doc_;
  std::vector<std::size_t> newlines_;  // byte offsets, for pugixml's offset_debug()
};

}  // namespace socklab::harness
