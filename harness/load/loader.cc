// Strict loading of experiment files: pugixml parses, this file validates. pugixml quietly treats a missing
// attribute as "", so every attribute is checked here for presence and form, and every problem is reported
// as FILE:LINE: message before anything runs.
#include <signal.h>
#include <string.h>  // sigabbrev_np

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <pugixml.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "load/loader.h"

namespace socklab::harness {
namespace {

struct ElementSpec {
  StepKind kind;
  std::set<std::string> required;
  std::set<std::string> optional;
};

const std::set<std::string> kCheckAttributes{"name", "points", "hint", "fatal", "timeout"};

const std::map<std::string, ElementSpec>& element_specs() {
  static const std::map<std::string, ElementSpec> specs{
      {"start", {StepKind::kStart, {"id", "program"}, {"args", "stdout", "ready-listen", "ready-bound", "ready-output", "timeout", "dir"}}},
      {"send", {StepKind::kSend, {"to", "text"}, {"repeat", "newline"}}},
      {"close-stdin", {StepKind::kCloseStdin, {"process"}, {}}},
      {"signal", {StepKind::kSignal, {"process", "signal"}, {}}},
      {"wait", {StepKind::kWait, {"for"}, {"title"}}},
      {"snapshot", {StepKind::kSnapshot, {"title"}, {}}},
      {"tcp-connect", {StepKind::kTcpConnect, {"id", "port"}, {"from-port", "reuseaddr", "count"}}},
      {"tcp-send", {StepKind::kTcpSend, {"conn", "text"}, {"repeat", "newline"}}},
      {"tcp-close", {StepKind::kTcpClose, {"conn"}, {"reset"}}},
      {"udp-send", {StepKind::kUdpSend, {"socket", "port", "text"}, {"repeat", "newline"}}},
      {"expect-output", {StepKind::kExpectOutput, {"process"}, {"stream", "line", "regex", "contains", "repeat"}}},
      {"expect-no-output", {StepKind::kExpectNoOutput, {"process", "for"}, {"stream", "line", "regex", "contains"}}},
      {"expect-exit", {StepKind::kExpectExit, {"process"}, {"code", "signal"}}},
      {"expect-running", {StepKind::kExpectRunning, {"process"}, {}}},
      {"expect-socket",
       {StepKind::kExpectSocket, {}, {"proto", "state", "local-port", "peer-port", "owner", "recv-q", "send-q", "count",
                                      "min", "max", "absent", "distinct-owners"}}},
      {"expect-fd-count", {StepKind::kExpectFdCount, {"process", "change"}, {}}},
      {"expect-no-zombies", {StepKind::kExpectNoZombies, {"process"}, {}}},
      {"expect-tcp-line", {StepKind::kExpectTcpLine, {"conn"}, {"line", "regex", "contains", "repeat"}}},
      {"expect-tcp-eof", {StepKind::kExpectTcpEof, {"conn"}, {}}},
      {"expect-datagram", {StepKind::kExpectDatagram, {"socket"}, {"text", "regex", "contains"}}},
  };
  return specs;
}

const std::set<std::string> kStates{"ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
                                    "CLOSE-WAIT", "LAST-ACK", "CLOSING", "LISTEN", "UNCONN"};

// Byte offset -> line number, for pugixml's offset_debug().
class LineIndex {
 public:
  explicit LineIndex(const std::string& text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') newlines_.push_back(i);
    }
  }
  int line_of(std::ptrdiff_t offset) const {
    if (offset < 0) return 0;
    return static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), static_cast<std::size_t>(offset)) -
                            newlines_.begin()) + 1;
  }

 private:
  std::vector<std::size_t> newlines_;
};

class Loader {
 public:
  Loader(std::string path, std::vector<LoadError>& errors) : path_(std::move(path)), errors_(errors) {}

  std::optional<Experiment> load() {
    std::ifstream file(path_, std::ios::binary);
    if (!file) {
      error(0, "cannot read the file");
      return std::nullopt;
    }
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    LineIndex index(text);
    lines_ = &index;
    pugi::xml_document doc;
    pugi::xml_parse_result parsed = doc.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_comments);
    if (!parsed) {
      error(index.line_of(parsed.offset), std::string("not well-formed XML: ") + parsed.description());
      return std::nullopt;
    }
    std::size_t errors_before = errors_.size();
    Experiment experiment;
    experiment.file = path_;
    pugi::xml_node root = doc.document_element();
    if (std::string(root.name()) != "experiment") {
      error(line(root), "the root element must be <experiment>, not <" + std::string(root.name()) + ">");
      return std::nullopt;
    }
    read_root(root, experiment);
    for (pugi::xml_node child : root.children()) {
      if (child.type() == pugi::node_comment) continue;
      if (child.type() != pugi::node_element) {
        if (!trimmed(child.value()).empty()) error(line(child), "unexpected text inside <experiment>");
        continue;
      }
      std::string name = child.name();
      if (name == "about") {
        check_attributes(child, {}, {});
        // One paragraph per blank-line-separated block; each line's XML indentation removed.
        std::istringstream lines(trimmed(child.text().get()));
        std::string about;
        for (std::string l; std::getline(lines, l);) about += (about.empty() ? "" : "\n") + trimmed(l);
        experiment.about = about;
      } else if (name == "sysctl") {
        check_attributes(child, {"name", "value"}, {});
        std::string key = child.attribute("name").value();
        if (!std::regex_match(key, std::regex("net\\.[a-z0-9_.]+"))) {
          error(line(child), "sysctl name \"" + key + "\": only net.* sysctls can be set in an experiment");
        }
        experiment.sysctls.emplace_back(key, child.attribute("value").value());
      } else if (element_specs().count(name)) {
        read_step(child, element_specs().at(name), experiment);
      } else {
        error(line(child), "unknown element <" + name + ">");
      }
    }
    if (experiment.steps.empty()) error(line(root), "the experiment has no steps");
    if (errors_.size() != errors_before) return std::nullopt;
    return experiment;
  }

 private:
  int line(const pugi::xml_node& node) const { return lines_->line_of(node.offset_debug()); }

  void error(int at, const std::string& message) { errors_.push_back({path_, at, message}); }

  static std::string trimmed(std::string s) {
    auto not_space = [](unsigned char c) { return !std::isspace(c); };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
  }

  // Unknown attributes and missing required ones. Returns false if anything was wrong.
  bool check_attributes(const pugi::xml_node& node, const std::set<std::string>& required,
                        const std::set<std::string>& optional) {
    bool ok = true;
    for (pugi::xml_attribute a : node.attributes()) {
      if (!required.count(a.name()) && !optional.count(a.name())) {
        error(line(node), "unknown attribute \"" + std::string(a.name()) + "\" on <" + node.name() + ">");
        ok = false;
      }
    }
    for (const std::string& r : required) {
      if (!node.attribute(r.c_str())) {
        error(line(node), "<" + std::string(node.name()) + "> needs the attribute \"" + r + "\"");
        ok = false;
      }
    }
    return ok;
  }

  std::optional<Millis> duration(const pugi::xml_node& node, const char* attribute) {
    std::string text = node.attribute(attribute).value();
    auto d = parse_duration(text);
    if (!d) error(line(node), "bad duration " + std::string(attribute) + "=\"" + text + "\" (e.g. 500ms, 2s, 1.5s, 1min)");
    return d;
  }

  std::optional<long> integer(const pugi::xml_node& node, const char* attribute, long min, long max) {
    std::string text = node.attribute(attribute).value();
    try {
      std::size_t used = 0;
      long value = std::stol(text, &used);
      if (used == text.size() && value >= min && value <= max) return value;
    } catch (const std::exception&) {
    }
    error(line(node), "bad " + std::string(attribute) + "=\"" + text + "\" (a whole number from " + std::to_string(min) +
                          " to " + std::to_string(max) + ")");
    return std::nullopt;
  }

  bool boolean(const pugi::xml_node& node, const char* attribute, bool fallback) {
    if (!node.attribute(attribute)) return fallback;
    std::string text = node.attribute(attribute).value();
    if (text == "true") return true;
    if (text == "false") return false;
    error(line(node), "bad " + std::string(attribute) + "=\"" + text + "\" (true or false)");
    return fallback;
  }

  // Decodes \n \r \t \\ \e (ESC) \xHH and checks the placeholders.
  // A port: a number 1-65535, or one {port} placeholder ({port}, {port2}, {port:NAME}) filled in when it runs.
  std::string port_attribute(const pugi::xml_node& node, const char* attribute) {
    std::string text = node.attribute(attribute).value();
    if (text.empty()) return text;
    static const std::regex placeholder("\\{port[0-9]*\\}|\\{port:[A-Za-z0-9_-]+\\}");
    static const std::regex number("[0-9]{1,5}");
    bool ok = std::regex_match(text, placeholder) ||
              (std::regex_match(text, number) && std::stoi(text) >= 1 && std::stoi(text) <= 65535);
    if (!ok) {
      error(line(node), std::string("bad port \"") + text + "\" in " + attribute +
                            "= (a number 1-65535, or a placeholder such as {port}, {port2}, {port:NAME})");
    }
    return text;
  }

  std::string text_attribute(const pugi::xml_node& node, const char* attribute) {
    std::string raw = node.attribute(attribute).value();
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '\\') {
        out += raw[i];
        continue;
      }
      if (i + 1 == raw.size()) {
        error(line(node), std::string(attribute) + ": a lone backslash at the end (write \\\\ for a backslash)");
        break;
      }
      char c = raw[++i];
      switch (c) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'e': out += '\x1b'; break;
        case '0': out += '\0'; break;
        case '\\': out += '\\'; break;
        case '{': out += "\\{"; break;  // a literal brace, kept escaped for the placeholder filler
        case 'x': {
          if (i + 2 < raw.size() + 0 && std::isxdigit(static_cast<unsigned char>(raw[i + 1])) &&
              std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
            out += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
            i += 2;
          } else {
            error(line(node), std::string(attribute) + ": \\x needs two hex digits");
          }
          break;
        }
        default:
          error(line(node), std::string(attribute) + ": unknown escape \\" + std::string(1, c) +
                                " (known: \\n \\r \\t \\e \\0 \\\\ \\{ \\xHH)");
      }
    }
    check_placeholders(node, out);
    return out;
  }

  void check_placeholders(const pugi::xml_node& node, const std::string& text) {
    static const std::regex placeholder("\\{([^{}]*)\\}");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), placeholder); it != std::sregex_iterator(); ++it) {
      std::size_t at = static_cast<std::size_t>(it->position());
      if (at > 0 && text[at - 1] == '\\') continue;
      std::string inside = (*it)[1];
      if (std::regex_match(inside, std::regex("port[0-9]*|port:[A-Za-z0-9_-]+"))) continue;
      if (inside.rfind("pid:", 0) == 0) {
        std::string id = inside.substr(4);
        if (!processes_.count(id)) error(line(node), "{" + inside + "}: no process \"" + id + "\" was started before");
        continue;
      }
      error(line(node), "unknown placeholder {" + inside + "} (known: {port}, {port2}, {port:NAME}, {pid:ID})");
    }
  }

  void reference(const pugi::xml_node& node, const char* attribute, const std::set<std::string>& known,
                 const char* what) {
    std::string id = node.attribute(attribute).value();
    if (known.count(id)) return;
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    error(line(node), "<" + std::string(node.name()) + "> " + attribute + "=\"" + id + "\": no " + what +
                          " with that id " + (list.empty() ? "was defined before" : "(defined before: " + list + ")"));
  }

  void read_root(const pugi::xml_node& root, Experiment& e) {
    check_attributes(root, {"id", "title"}, {"lab", "graded", "isolation", "timeout"});
    e.id = root.attribute("id").value();
    e.title = root.attribute("title").value();
    e.lab = root.attribute("lab").value();
    e.graded = boolean(root, "graded", true);
    if (root.attribute("isolation")) {
      std::string text = root.attribute("isolation").value();
      if (auto i = parse_isolation(text)) {
        e.isolation = *i;
      } else {
        error(line(root), "bad isolation=\"" + text + "\" (auto, host or netns)");
      }
    }
    if (root.attribute("timeout")) {
      if (auto d = duration(root, "timeout")) e.timeout = *d;
    }
  }

  void read_match(const pugi::xml_node& node, Step& step, const char* exact_attribute) {
    int given = 0;
    for (auto [attribute, kind] : {std::pair{exact_attribute, Step::Match::kExact}, {"regex", Step::Match::kRegex},
                                   {"contains", Step::Match::kContains}}) {
      if (!node.attribute(attribute)) continue;
      ++given;
      step.match = kind;
      step.text = kind == Step::Match::kRegex ? node.attribute(attribute).value() : text_attribute(node, attribute);
      if (kind == Step::Match::kRegex) {
        try {
          std::regex check(step.text);
        } catch (const std::regex_error& ex) {
          error(line(node), "bad regex \"" + step.text + "\": " + ex.what());
        }
      }
    }
    if (given != 1) {
      error(line(node), "<" + std::string(node.name()) + "> needs exactly one of " + exact_attribute +
                            "=, regex= or contains=");
    }
  }

  void read_step(const pugi::xml_node& node, const ElementSpec& spec, Experiment& e) {
    Step step;
    step.kind = spec.kind;
    step.line = line(node);
    std::set<std::string> optional = spec.optional;
    if (is_check(spec.kind)) optional.insert(kCheckAttributes.begin(), kCheckAttributes.end());
    if (!check_attributes(node, spec.required, optional)) return;

    if (is_check(spec.kind)) {
      step.check_name = node.attribute("name").value();
      if (step.check_name.empty()) error(step.line, "<" + std::string(node.name()) + "> needs a name=\"...\" (the check's name)");
      if (!checks_.insert(step.check_name).second) error(step.line, "duplicate check name \"" + step.check_name + "\"");
      if (node.attribute("points")) step.points = static_cast<int>(integer(node, "points", 0, 100).value_or(0));
      step.hint = node.attribute("hint").value();
      step.fatal = boolean(node, "fatal", false);
      step.timeout = Millis(2000);
      if (node.attribute("timeout")) step.timeout = duration(node, "timeout").value_or(Millis(0));
      if (step.points > 0 && !e.graded) error(step.line, "an observation-only experiment (graded=\"false\") gives no points");
    }
    if (node.attribute("stream")) {
      step.stream = node.attribute("stream").value();
      if (step.stream != "stdout" && step.stream != "stderr") {
        error(step.line, "bad stream=\"" + step.stream + "\" (stdout or stderr)");
      }
    }
    auto process_ref = [&](const char* attribute) {
      step.process = node.attribute(attribute).value();
      reference(node, attribute, processes_, "process");
    };
    // process="c1 c2 c3": the check must hold for every one of them
    auto process_list = [&](const char* attribute) {
      std::istringstream words(node.attribute(attribute).value());
      for (std::string id; words >> id;) {
        if (!processes_.count(id)) {
          error(step.line, "<" + std::string(node.name()) + "> " + attribute + ": no process \"" + id + "\" was started before");
        }
        step.processes.push_back(id);
      }
      if (step.processes.empty()) error(step.line, "<" + std::string(node.name()) + "> " + attribute + " is empty");
      step.process = step.processes.empty() ? "" : step.processes.front();
    };
    if (node.attribute("repeat")) step.repeat = static_cast<std::size_t>(integer(node, "repeat", 1, 64 << 20).value_or(1));

    switch (spec.kind) {
      case StepKind::kStart: {
        step.process = node.attribute("id").value();
        if (!std::regex_match(step.process, std::regex("[A-Za-z][A-Za-z0-9_-]*"))) {
          error(step.line, "bad id \"" + step.process + "\" (a letter, then letters, digits, _ or -)");
        }
        if (!processes_.insert(step.process).second) error(step.line, "duplicate process id \"" + step.process + "\"");
        step.program = node.attribute("program").value();
        if (!std::regex_match(step.program, std::regex("[A-Za-z0-9_.-]+"))) {
          error(step.line, "bad program \"" + step.program + "\" (a program name, found in the bin directory)");
        }
        std::istringstream words(text_attribute(node, "args"));
        for (std::string w; words >> w;) step.args.push_back(w);
        if (node.attribute("stdout")) {
          std::string mode = node.attribute("stdout").value();
          if (mode != "pty" && mode != "pipe") error(step.line, "bad stdout=\"" + mode + "\" (pty or pipe)");
          step.stdout_pty = mode != "pipe";
        }
        step.working_dir = text_attribute(node, "dir");
        step.ready_listen = port_attribute(node, "ready-listen");
        step.ready_bound = port_attribute(node, "ready-bound");
        step.ready_output = node.attribute("ready-output").value();
        if (!step.ready_output.empty()) {
          try {
            std::regex check(step.ready_output);
          } catch (const std::regex_error& ex) {
            error(step.line, "bad regex ready-output=\"" + step.ready_output + "\": " + ex.what());
          }
        }
        step.timeout = Millis(5000);
        if (node.attribute("timeout")) step.timeout = duration(node, "timeout").value_or(Millis(0));
        for (pugi::xml_node env : node.children()) {
          if (env.type() != pugi::node_element) continue;
          if (std::string(env.name()) != "env") {
            error(line(env), "unknown element <" + std::string(env.name()) + "> inside <start> (only <env>)");
            continue;
          }
          if (check_attributes(env, {"name", "value"}, {})) {
            step.env.emplace_back(env.attribute("name").value(), text_attribute(env, "value"));
          }
        }
        break;
      }
      case StepKind::kSend:
        process_ref("to");
        step.text = text_attribute(node, "text");
        step.newline = boolean(node, "newline", true);
        break;
      case StepKind::kCloseStdin:
      case StepKind::kExpectRunning:
      case StepKind::kExpectNoZombies:
        process_ref("process");
        break;
      case StepKind::kSignal:
        process_ref("process");
        step.signal = parse_signal(node.attribute("signal").value());
        if (step.signal == 0) error(step.line, "unknown signal \"" + std::string(node.attribute("signal").value()) + "\"");
        break;
      case StepKind::kWait:
        step.timeout = duration(node, "for").value_or(Millis(0));
        step.title = node.attribute("title").value();
        break;
      case StepKind::kSnapshot:
        step.title = node.attribute("title").value();
        break;
      case StepKind::kTcpConnect:
        step.conn = node.attribute("id").value();
        if (!connections_.insert(step.conn).second) error(step.line, "duplicate connection id \"" + step.conn + "\"");
        step.port = port_attribute(node, "port");
        step.from_port = port_attribute(node, "from-port");
        step.reuseaddr = boolean(node, "reuseaddr", false);
        if (node.attribute("count")) step.conn_count = static_cast<int>(integer(node, "count", 1, 1000).value_or(1));
        break;
      case StepKind::kTcpSend:
        step.conn = node.attribute("conn").value();
        reference(node, "conn", connections_, "connection");
        step.text = text_attribute(node, "text");
        step.newline = boolean(node, "newline", true);
        break;
      case StepKind::kTcpClose:
        step.conn = node.attribute("conn").value();
        reference(node, "conn", connections_, "connection");
        step.reset = boolean(node, "reset", false);
        break;
      case StepKind::kUdpSend:
        step.conn = node.attribute("socket").value();
        udp_sockets_.insert(step.conn);
        step.port = port_attribute(node, "port");
        step.text = text_attribute(node, "text");
        step.newline = boolean(node, "newline", false);
        break;
      case StepKind::kExpectOutput:
        process_list("process");
        read_match(node, step, "line");
        break;
      case StepKind::kExpectNoOutput:
        process_ref("process");
        step.timeout = duration(node, "for").value_or(Millis(0));
        if (node.attribute("line") || node.attribute("regex") || node.attribute("contains")) {
          read_match(node, step, "line");
          step.only_matching = true;
        }
        break;
      case StepKind::kExpectExit: {
        process_list("process");
        bool code = node.attribute("code"), sig = node.attribute("signal");
        if (code == sig) error(step.line, "<expect-exit> needs exactly one of code= or signal=");
        if (code) {
          std::string text = node.attribute("code").value();
          if (text == "nonzero") {
            step.any_exit_code_but_zero = true;
          } else if (auto c = integer(node, "code", 0, 255)) {
            step.exit_code = static_cast<int>(*c);
          }
        }
        if (sig) {
          step.exit_signal = parse_signal(node.attribute("signal").value());
          if (*step.exit_signal == 0) error(step.line, "unknown signal \"" + std::string(node.attribute("signal").value()) + "\"");
        }
        break;
      }
      case StepKind::kExpectSocket: {
        step.protocol = node.attribute("proto") ? node.attribute("proto").value() : "tcp";
        if (step.protocol != "tcp" && step.protocol != "udp") error(step.line, "bad proto=\"" + step.protocol + "\" (tcp or udp)");
        std::string states = node.attribute("state").value();
        std::replace(states.begin(), states.end(), ',', ' ');
        std::istringstream words(states);
        for (std::string s; words >> s;) {
          if (s == "ESTABLISHED") s = "ESTAB";
          if (!kStates.count(s)) error(step.line, "unknown state \"" + s + "\" (ss names: ESTAB, LISTEN, TIME-WAIT, …)");
          step.states.push_back(s);
        }
        step.local_port = port_attribute(node, "local-port");
        step.peer_port = port_attribute(node, "peer-port");
        if (node.attribute("owner")) {
          step.owner = node.attribute("owner").value();
          reference(node, "owner", processes_, "process");
        }
        if (node.attribute("recv-q")) step.recv_q = static_cast<std::uint32_t>(integer(node, "recv-q", 0, 1L << 30).value_or(0));
        if (node.attribute("send-q")) step.send_q = static_cast<std::uint32_t>(integer(node, "send-q", 0, 1L << 30).value_or(0));
        int forms = 0;
        if (node.attribute("count")) ++forms, step.count = static_cast<int>(integer(node, "count", 0, 100000).value_or(0));
        if (node.attribute("min")) ++forms, step.min_count = static_cast<int>(integer(node, "min", 0, 100000).value_or(0));
        if (node.attribute("max")) step.max_count = static_cast<int>(integer(node, "max", 0, 100000).value_or(0));
        if (boolean(node, "absent", false)) ++forms, step.count = 0;
        if (forms > 1) error(step.line, "<expect-socket>: give one of count=, min= (with max=) or absent=\"true\"");
        if (forms == 0 && !step.max_count) step.min_count = 1;
        step.distinct_owners = boolean(node, "distinct-owners", false);
        break;
      }
      case StepKind::kExpectFdCount: {
        process_ref("process");
        std::string text = node.attribute("change").value();
        if (!text.empty() && text[0] == '+') text.erase(0, 1);
        try {
          std::size_t used = 0;
          step.fd_change = std::stoi(text, &used);
          if (used != text.size()) throw std::invalid_argument(text);
        } catch (const std::exception&) {
          error(step.line, "bad change=\"" + std::string(node.attribute("change").value()) + "\" (e.g. 0, +1, -2)");
        }
        break;
      }
      case StepKind::kExpectTcpLine:
        step.conn = node.attribute("conn").value();
        reference(node, "conn", connections_, "connection");
        read_match(node, step, "line");
        break;
      case StepKind::kExpectTcpEof:
        step.conn = node.attribute("conn").value();
        reference(node, "conn", connections_, "connection");
        break;
      case StepKind::kExpectDatagram:
        step.conn = node.attribute("socket").value();
        reference(node, "socket", udp_sockets_, "UDP socket (udp-send creates one)");
        read_match(node, step, "text");
        break;
      default:
        break;
    }
    for (pugi::xml_node child : node.children()) {
      if (spec.kind == StepKind::kStart && child.type() == pugi::node_element) continue;  // <env>, read above
      if (child.type() == pugi::node_element) error(line(child), "unexpected <" + std::string(child.name()) + "> inside <" + node.name() + ">");
    }
    e.steps.push_back(std::move(step));
  }

  std::string path_;
  std::vector<LoadError>& errors_;
  const LineIndex* lines_ = nullptr;
  std::set<std::string> processes_, connections_, udp_sockets_, checks_;
};

}  // namespace

bool is_check(StepKind kind) { return kind >= StepKind::kExpectOutput; }

const char* step_element(StepKind kind) {
  for (const auto& [name, spec] : element_specs()) {
    if (spec.kind == kind) return name.c_str();
  }
  return "?";
}

int Experiment::max_points() const {
  int total = 0;
  for (const Step& s : steps) total += s.points;
  return total;
}

std::optional<Millis> parse_duration(const std::string& text) {
  static const std::regex form("([0-9]+(\\.[0-9]+)?)(ms|s|min)");
  std::smatch m;
  if (!std::regex_match(text, m, form)) return std::nullopt;
  double value = std::stod(m[1]);
  double scale = m[3] == "ms" ? 1 : m[3] == "s" ? 1000 : 60000;
  return Millis(static_cast<long>(value * scale + 0.5));
}

int parse_signal(const std::string& text) {
  std::string name = text.rfind("SIG", 0) == 0 ? text.substr(3) : text;
  if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
    int n = std::stoi(name);
    return n > 0 && n < 65 ? n : 0;
  }
  for (int sig = 1; sig < 32; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev && name == abbrev) return sig;
  }
  return 0;
}

std::optional<Experiment> load_experiment(const std::string& path, std::vector<LoadError>& errors) {
  return Loader(path, errors).load();
}

std::vector<std::string> experiment_files(const std::vector<std::string>& paths, std::vector<LoadError>& errors) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(p, ec)) {
        // (a lab folder's manifest, lab.xml, is not an experiment: see load/lab_loader.h)
        if (entry.is_regular_file() && entry.path().extension() == ".xml" && entry.path().filename() != "lab.xml") {
          found.push_back(entry.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) errors.push_back({p, 0, "no experiment files (*.xml) in this directory"});
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::exists(p, ec)) {
      files.push_back(p);
    } else {
      errors.push_back({p, 0, "no such file or directory"});
    }
  }
  return files;
}

}  // namespace socklab::harness
