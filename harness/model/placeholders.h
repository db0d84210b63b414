// The one grammar of placeholders in experiment texts, used by the loader (to refuse unknown ones at load time)
// and by the runner (to fill them in):
//   {port} = {port1}, {port2}, ..., {port:NAME}   a free port, the same everywhere in the experiment
//   {pid:ID}                                      the pid of the process started as ID
//   \{                                            a literal brace (the loader keeps it escaped in a Template)
// A placeholder is "{", then anything but braces, then "}"; a brace without a closing one is literal text.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/experiment.h"

namespace socklab::harness {

struct Placeholder {
  enum class Kind { kPort, kPid, kUnknown };
  Kind kind = Kind::kUnknown;
  std::string inside;  // what stood between the braces: "port", "port:web", "pid:server", "json"

  // kPort: the port's name, the same for {port} and {port1}. kPid: the process id.
  std::string port_key() const { return inside == "port" ? "port1" : inside; }
  std::string pid_id() const { return inside.substr(4); }
  std::string text() const { return "{" + inside + "}"; }
};

// A piece of a text: literal text (with "\{" already turned into "{"), or one placeholder.
struct TextPiece {
  std::string literal;
  std::optional<Placeholder> placeholder;
};

std::vector<TextPiece> split_placeholders(const Template& text);

// The whole text is exactly one port placeholder ("{port2}", "{port:web}").
bool is_port_placeholder(const Template& text);

// For messages: the placeholders there are.
inline constexpr const char* kKnownPlaceholders = "{port}, {port2}, {port:NAME}, {pid:ID}";

}  // namespace socklab::harness
