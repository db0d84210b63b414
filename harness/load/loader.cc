// Strict loading of experiment files: pugixml parses, this file validates. pugixml quietly treats a missing
// attribute as "", so every attribute is checked here for presence and form, and every problem is reported
// as FILE:LINE: message before anything runs.
//
// One parse function per element (`parse(node, Tag<SendStep>)`, ...), each beginning with the attributes that
// element takes. The table of elements is made from the model's Action and Check variants, so a step kind without
// its parse function does not compile.
#include <signal.h>
#include <string.h>  // sigabbrev_np

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <pugixml.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "load/loader.h"
#include "model/placeholders.h"
#include "model/tcp_states.h"

namespace socklab::harness {
namespace {

using Names = std::set<std::string>;

const Names kCheckAttributes{"name", "points", "hint", "fatal", "timeout", "visibility"};


template <class S>
struct Tag {};

std::string trimmed(const std::string& s) { return XmlFile::trimmed(s); }

class Loader {
 public:
  Loader(std::string path, std::vector<LoadError>& errors) : path_(path), xml_(std::move(path), errors) {}

  std::optional<Experiment> load() {
    if (!xml_.parse()) return std::nullopt;
    pugi::xml_node root = xml_.root();
    if (std::string(root.name()) != "experiment") {
      error(line(root), "the root element must be <experiment>, not <" + std::string(root.name()) + ">");
      return std::nullopt;
    }
    std::size_t errors_before = xml_.error_count();
    Experiment experiment;
    experiment.file = path_;
    read_root(root, experiment);
    for (pugi::xml_node child : root.children()) read_child(child, experiment);
    if (experiment.steps.empty()) error(line(root), "the experiment has no steps");
    if (xml_.error_count() != errors_before) return std::nullopt;
    return experiment;
  }

 private:
  // --- the experiment --------------------------------------------------------------------------------------
  void read_root(const pugi::xml_node& root, Experiment& e) {
    check_attributes(root, {"id", "title"}, {"lab", "graded", "isolation", "timeout", "visibility"});
    e.id = root.attribute("id").value();
    e.title = root.attribute("title").value();
    e.lab = root.attribute("lab").value();
    e.graded = graded_ = boolean(root, "graded", true);
    if (root.attribute("isolation")) {
      std::string text = root.attribute("isolation").value();
      if (auto i = parse_isolation(text)) {
        e.isolation = isolation_ = *i;
      } else {
        error(line(root), "bad isolation=\"" + text + "\" (auto, host or netns)");
      }
    }
    if (root.attribute("timeout")) {
      if (auto d = duration(root, "timeout")) e.timeout = *d;
    }
    if (root.attribute("visibility")) {
      e.visibility = visibility_ = visibility(root).value_or(Visibility::kVisible);
      if (!graded_) error(line(root), "an observation-only experiment (graded=\"false\") has no visibility: students never see it");
    }
  }

  // visibility="visible|after-due-date" of the experiment or of one check.
  std::optional<Visibility> visibility(const pugi::xml_node& node) {
    std::string text = node.attribute("visibility").value();
    std::optional<Visibility> v = parse_visibility(text);
    if (!v) error(line(node), "bad visibility=\"" + text + "\" (visible or after-due-date)");
    return v;
  }

  void read_child(const pugi::xml_node& child, Experiment& e) {
    if (child.type() == pugi::node_comment) return;
    if (child.type() != pugi::node_element) {
      if (!trimmed(child.value()).empty()) error(line(child), "unexpected text inside <experiment>");
      return;
    }
    std::string name = child.name();
    if (name == "about") {
      check_attributes(child, {}, {});
      // One paragraph per blank-line-separated block; each line's XML indentation removed.
      std::istringstream lines(trimmed(child.text().get()));
      std::string about;
      for (std::string l; std::getline(lines, l);) about += (about.empty() ? "" : "\n") + trimmed(l);
      e.about = about;
    } else if (name == "sysctl") {
      check_attributes(child, {"name", "value"}, {});
      std::string key = child.attribute("name").value();
      if (!std::regex_match(key, std::regex("net\\.[a-z0-9_.]+"))) {
        error(line(child), "sysctl name \"" + key + "\": only net.* sysctls can be set in an experiment");
      }
      e.sysctls.emplace_back(key, child.attribute("value").value());
    } else if (name == "chart") {
      read_chart(child, e);
    } else if (auto parser = parsers().find(name); parser != parsers().end()) {
      if (std::optional<Step> step = (this->*parser->second)(child)) e.steps.push_back(std::move(*step));
    } else {
      error(line(child), "unknown element <" + name + ">");
    }
  }

  // <chart id="" title="" x="clients" y="messages/s" x-scale="linear|log" baseline="SERIES"/>, before the
  // measures that name it.
  void read_chart(const pugi::xml_node& node, Experiment& e) {
    if (!check_attributes(node, {"id", "title", "x", "y"}, {"x-scale", "baseline"})) return;
    ChartSpec c;
    c.line = line(node);
    c.id = node.attribute("id").value();
    c.title = node.attribute("title").value();
    c.x_label = node.attribute("x").value();
    c.y_label = node.attribute("y").value();
    c.baseline = node.attribute("baseline").value();
    std::string scale = node.attribute("x-scale") ? node.attribute("x-scale").value() : "linear";
    if (scale != "linear" && scale != "log") error(c.line, "bad x-scale=\"" + scale + "\" (linear or log)");
    c.x_log = scale == "log";
    if (!std::regex_match(c.id, std::regex("[A-Za-z][A-Za-z0-9_-]*"))) {
      error(c.line, "bad id \"" + c.id + "\" (a letter, then letters, digits, _ or -)");
    }
    for (const ChartSpec& other : e.charts) {
      if (other.id == c.id) error(c.line, "duplicate chart id \"" + c.id + "\"");
    }
    for (const auto& [attribute, text] : {std::pair{"title", c.title}, {"x", c.x_label}, {"y", c.y_label}}) {
      if (trimmed(text).empty()) error(c.line, std::string("<chart> ") + attribute + "= is empty");
    }
    no_child_elements(node);
    charts_[c.id] = c;
    e.charts.push_back(std::move(c));
  }

  // --- the table of step elements --------------------------------------------------------------------------
  using ParseFn = std::optional<Step> (Loader::*)(const pugi::xml_node&);

  template <class Group, class... S>
  static void add_parsers(std::map<std::string, ParseFn>& table, std::variant<S...>*) {
    ((table[S::kElement] = &Loader::parse_step<Group, S>), ...);
  }

  static const std::map<std::string, ParseFn>& parsers() {
    static const std::map<std::string, ParseFn> table = [] {
      std::map<std::string, ParseFn> t;
      add_parsers<Action>(t, static_cast<Action*>(nullptr));
      add_parsers<Check>(t, static_cast<Check*>(nullptr));
      return t;
    }();
    return table;
  }

  template <class Group, class S>
  std::optional<Step> parse_step(const pugi::xml_node& node) {
    std::optional<S> step = parse(node, Tag<S>{});
    if (!step) return std::nullopt;  // its attributes were wrong: reported
    if constexpr (!std::is_same_v<S, StartStep>) no_child_elements(node);  // <start> reads its <env> children
    return Step(Group(std::move(*step)));
  }

  // Every step: its line and its attributes. Returns false (reported) if an attribute is unknown or missing.
  bool begin_action(const pugi::xml_node& node, StepBase& step, const Names& required, const Names& optional) {
    step.line = line(node);
    return check_attributes(node, required, optional);
  }

  // Every check also takes name, points, hint, fatal and timeout.
  bool begin_check(const pugi::xml_node& node, CheckBase& step, const Names& required, Names optional) {
    step.line = line(node);
    optional.insert(kCheckAttributes.begin(), kCheckAttributes.end());
    if (!check_attributes(node, required, optional)) return false;
    CheckInfo& c = step.check;
    c.name = node.attribute("name").value();
    if (c.name.empty()) error(step.line, "<" + std::string(node.name()) + "> needs a name=\"...\" (the check's name)");
    if (!checks_.insert(c.name).second) error(step.line, "duplicate check name \"" + c.name + "\"");
    if (node.attribute("points")) c.points = static_cast<int>(integer(node, "points", 0, 100).value_or(0));
    c.hint = node.attribute("hint").value();
    c.fatal = boolean(node, "fatal", false);
    if (node.attribute("timeout")) c.timeout = duration(node, "timeout").value_or(Millis(0));
    if (c.points > 0 && !graded_) error(step.line, "an observation-only experiment (graded=\"false\") gives no points");
    c.visibility = visibility_;
    if (node.attribute("visibility")) {
      c.visibility = visibility(node).value_or(visibility_);
      if (c.points == 0) error(step.line, "visibility=\"...\" is for checks with points (students see no test for this one)");
    }
    return true;
  }

  // --- actions ---------------------------------------------------------------------------------------------
  std::optional<StartStep> parse(const pugi::xml_node& node, Tag<StartStep>) {
    StartStep s;
    if (!begin_action(node, s, {"id", "program"},
                      {"args", "stdout", "ready-listen", "ready-bound", "ready-output", "timeout", "dir"})) {
      return std::nullopt;
    }
    s.id = node.attribute("id").value();
    if (!std::regex_match(s.id, std::regex("[A-Za-z][A-Za-z0-9_-]*"))) {
      error(s.line, "bad id \"" + s.id + "\" (a letter, then letters, digits, _ or -)");
    }
    if (processes_.count(s.id)) error(s.line, "duplicate process id \"" + s.id + "\"");
    s.program = node.attribute("program").value();
    if (!std::regex_match(s.program, std::regex("[A-Za-z0-9_.-]+"))) {
      error(s.line, "bad program \"" + s.program + "\" (a program name, found in the bin directory)");
    }
    std::istringstream words(text_attribute(node, "args"));
    for (std::string w; words >> w;) s.args.push_back(w);
    if (node.attribute("stdout")) {
      std::string mode = node.attribute("stdout").value();
      if (mode != "pty" && mode != "pipe") error(s.line, "bad stdout=\"" + mode + "\" (pty or pipe)");
      s.stdout_pty = mode != "pipe";
    }
    s.working_dir = text_attribute(node, "dir");
    s.ready_listen = port_attribute(node, "ready-listen");
    s.ready_bound = port_attribute(node, "ready-bound");
    s.ready_output = node.attribute("ready-output").value();
    if (!s.ready_output.empty()) regex_attribute(node, "ready-output", "bad regex ready-output=\"");
    if (node.attribute("timeout")) s.timeout = duration(node, "timeout").value_or(Millis(0));
    s.env = environment(node);
    processes_.insert(s.id);  // only now: its own texts cannot name its {pid:...}
    return s;
  }

  // <env name="" value=""/> children of <start>.
  std::vector<std::pair<std::string, Template>> environment(const pugi::xml_node& start) {
    std::vector<std::pair<std::string, Template>> env;
    for (pugi::xml_node child : start.children()) {
      if (child.type() != pugi::node_element) continue;
      if (std::string(child.name()) != "env") {
        error(line(child), "unknown element <" + std::string(child.name()) + "> inside <start> (only <env>)");
        continue;
      }
      if (check_attributes(child, {"name", "value"}, {})) {
        env.emplace_back(child.attribute("name").value(), text_attribute(child, "value"));
      }
    }
    return env;
  }

  std::optional<SendStep> parse(const pugi::xml_node& node, Tag<SendStep>) {
    SendStep s;
    if (!begin_action(node, s, {"to", "text"}, {"repeat", "newline"})) return std::nullopt;
    s.to = process_ref(node, "to");
    s.text = text_attribute(node, "text");
    s.repeat = repeat(node);
    s.newline = boolean(node, "newline", true);
    return s;
  }

  std::optional<CloseStdinStep> parse(const pugi::xml_node& node, Tag<CloseStdinStep>) {
    CloseStdinStep s;
    if (!begin_action(node, s, {"process"}, {})) return std::nullopt;
    s.process = process_ref(node, "process");
    return s;
  }

  std::optional<SignalStep> parse(const pugi::xml_node& node, Tag<SignalStep>) {
    SignalStep s;
    if (!begin_action(node, s, {"process", "signal"}, {})) return std::nullopt;
    s.process = process_ref(node, "process");
    s.signal = signal_attribute(node, "signal");
    return s;
  }

  std::optional<WaitStep> parse(const pugi::xml_node& node, Tag<WaitStep>) {
    WaitStep s;
    if (!begin_action(node, s, {"for"}, {"title"})) return std::nullopt;
    s.duration = duration(node, "for").value_or(Millis(0));
    s.title = node.attribute("title").value();
    return s;
  }

  std::optional<SnapshotStep> parse(const pugi::xml_node& node, Tag<SnapshotStep>) {
    SnapshotStep s;
    if (!begin_action(node, s, {"title"}, {})) return std::nullopt;
    s.title = node.attribute("title").value();
    return s;
  }

  std::optional<TcpConnectStep> parse(const pugi::xml_node& node, Tag<TcpConnectStep>) {
    TcpConnectStep s;
    if (!begin_action(node, s, {"id", "port"}, {"from-port", "reuseaddr", "count", "read"})) return std::nullopt;
    s.conn = connection_id(node, s.line);
    s.port = port_attribute(node, "port");
    s.from_port = port_attribute(node, "from-port");
    s.reuseaddr = boolean(node, "reuseaddr", false);
    if (node.attribute("count")) s.count = static_cast<int>(integer(node, "count", 1, 1000).value_or(1));
    s.read = boolean(node, "read", true);
    if (!s.read) non_reading_.insert(s.conn);
    return s;
  }

  std::optional<TcpListenStep> parse(const pugi::xml_node& node, Tag<TcpListenStep>) {
    TcpListenStep s;
    if (!begin_action(node, s, {"id", "port"}, {"count", "timeout"})) return std::nullopt;
    s.conn = connection_id(node, s.line);
    s.port = port_attribute(node, "port");
    if (node.attribute("count")) s.count = static_cast<int>(integer(node, "count", 1, 1000).value_or(1));
    if (node.attribute("timeout")) s.timeout = duration(node, "timeout").value_or(Millis(0));
    return s;
  }

  // The id of a tcp-connect or tcp-listen: the name its connections go by, unique among them.
  std::string connection_id(const pugi::xml_node& node, int at) {
    std::string id = node.attribute("id").value();
    if (!std::regex_match(id, std::regex("[A-Za-z][A-Za-z0-9_-]*"))) {
      error(at, "bad id \"" + id + "\" (a letter, then letters, digits, _ or -)");
    }
    if (!connections_.insert(id).second) error(at, "duplicate connection id \"" + id + "\"");
    return id;
  }

  std::optional<TcpSendStep> parse(const pugi::xml_node& node, Tag<TcpSendStep>) {
    TcpSendStep s;
    if (!begin_action(node, s, {"conn", "text"}, {"repeat", "newline"})) return std::nullopt;
    s.conn = reference(node, "conn", connections_, "connection");
    if (half_closed_.count(s.conn)) error(s.line, "<tcp-send> conn=\"" + s.conn + "\": it was shut down for sending (tcp-shutdown) before");
    s.text = text_attribute(node, "text");
    s.repeat = repeat(node);
    s.newline = boolean(node, "newline", true);
    return s;
  }

  std::optional<TcpShutdownStep> parse(const pugi::xml_node& node, Tag<TcpShutdownStep>) {
    TcpShutdownStep s;
    if (!begin_action(node, s, {"conn"}, {})) return std::nullopt;
    s.conn = reference(node, "conn", connections_, "connection");
    if (connections_.count(s.conn) && !half_closed_.insert(s.conn).second) {
      error(s.line, "<tcp-shutdown> conn=\"" + s.conn + "\": it was shut down for sending before");
    }
    return s;
  }

  std::optional<TcpCloseStep> parse(const pugi::xml_node& node, Tag<TcpCloseStep>) {
    TcpCloseStep s;
    if (!begin_action(node, s, {"conn"}, {"reset"})) return std::nullopt;
    s.conn = reference(node, "conn", connections_, "connection");
    s.reset = boolean(node, "reset", false);
    return s;
  }

  std::optional<UdpSendStep> parse(const pugi::xml_node& node, Tag<UdpSendStep>) {
    UdpSendStep s;
    if (!begin_action(node, s, {"socket", "port", "text"}, {"repeat", "newline"})) return std::nullopt;
    s.socket = node.attribute("socket").value();
    udp_sockets_.insert(s.socket);  // the first udp-send of a socket creates it
    s.port = port_attribute(node, "port");
    s.text = text_attribute(node, "text");
    s.repeat = repeat(node);
    s.newline = boolean(node, "newline", false);
    return s;
  }

  // <link loss="10%" delay="20ms" rate="1mbit"/>: each optional, none at all is a clean link again.
  std::optional<LinkStep> parse(const pugi::xml_node& node, Tag<LinkStep>) {
    LinkStep s;
    if (!begin_action(node, s, {}, {"loss", "delay", "rate"})) return std::nullopt;
    if (isolation_ == Isolation::kHost) {
      error(s.line, "<link> impairs the experiment's own loopback: it needs a network namespace of its own "
                    "(isolation=\"auto\" or \"netns\", not \"host\")");
    }
    if (node.attribute("loss")) s.loss = loss_attribute(node);
    if (node.attribute("delay")) {
      s.delay = duration(node, "delay");
      if (s.delay && s.delay->count() == 0) error(s.line, "delay=\"0ms\": leave delay= out for no delay");
    }
    if (node.attribute("rate")) s.rate = rate_attribute(node);
    return s;
  }

  // loss="10%", "0.5%": more than 0 and at most 100 percent, at most two decimals; kept in hundredths of a percent.
  std::optional<int> loss_attribute(const pugi::xml_node& node) {
    std::string text = node.attribute("loss").value();
    std::smatch m;
    if (std::regex_match(text, m, std::regex("([0-9]{1,3})(?:\\.([0-9]{1,2}))?%"))) {
      std::string decimals = m[2].str();
      decimals.resize(2, '0');
      int hundredths = std::stoi(m[1].str()) * 100 + std::stoi(decimals);
      if (hundredths > 0 && hundredths <= 10000) return hundredths;
    }
    error(line(node), "bad loss=\"" + text + "\" (the share of packets dropped: more than 0% and at most 100%, e.g. "
                      "10% or 0.5%)");
    return std::nullopt;
  }

  // rate="1mbit", "500kbit", "2gbit", "64000bit": bits per second, in tc's units (a k is 1000).
  std::optional<std::uint64_t> rate_attribute(const pugi::xml_node& node) {
    std::string text = node.attribute("rate").value();
    std::smatch m;
    if (std::regex_match(text, m, std::regex("([0-9]{1,9})(bit|kbit|mbit|gbit)"))) {
      std::uint64_t unit = m[2] == "gbit" ? 1000000000 : m[2] == "mbit" ? 1000000 : m[2] == "kbit" ? 1000 : 1;
      std::uint64_t rate = std::stoull(m[1].str()) * unit;
      if (rate >= 8000 && rate <= 100000000000ull) return rate;
    }
    error(line(node), "bad rate=\"" + text + "\" (bits per second, from 8kbit to 100gbit: e.g. 1mbit, 500kbit, 2gbit)");
    return std::nullopt;
  }

  // --- checks ----------------------------------------------------------------------------------------------
  std::optional<ExpectOutputStep> parse(const pugi::xml_node& node, Tag<ExpectOutputStep>) {
    ExpectOutputStep s;
    if (!begin_check(node, s, {"process"}, {"stream", "line", "regex", "contains", "repeat"})) return std::nullopt;
    s.stream = stream(node);
    s.processes = process_list(node, "process");
    s.expected = text_match(node, "line");
    return s;
  }

  std::optional<ExpectNoOutputStep> parse(const pugi::xml_node& node, Tag<ExpectNoOutputStep>) {
    ExpectNoOutputStep s;
    if (!begin_check(node, s, {"process", "for"}, {"stream", "line", "regex", "contains"})) return std::nullopt;
    s.stream = stream(node);
    s.process = process_ref(node, "process");
    s.duration = duration(node, "for").value_or(Millis(0));
    if (node.attribute("line") || node.attribute("regex") || node.attribute("contains")) s.only = text_match(node, "line");
    return s;
  }

  // <expect-output-count process for (line|regex|contains) (count | min [max] | max)>
  std::optional<ExpectOutputCountStep> parse(const pugi::xml_node& node, Tag<ExpectOutputCountStep>) {
    ExpectOutputCountStep s;
    if (!begin_check(node, s, {"process", "for"}, {"stream", "line", "regex", "contains", "count", "min", "max"})) {
      return std::nullopt;
    }
    s.stream = stream(node);
    s.process = process_ref(node, "process");
    s.duration = duration(node, "for").value_or(Millis(0));
    s.expected = text_match(node, "line");
    auto number = [&](const char* attribute) { return static_cast<std::size_t>(integer(node, attribute, 0, 10000000).value_or(0)); };
    bool count = node.attribute("count"), min = node.attribute("min"), max = node.attribute("max");
    if (count && (min || max)) error(s.line, "<expect-output-count>: give count= or min= / max=, not both");
    if (!count && !min && !max) error(s.line, "<expect-output-count> needs count=, min= or max=");
    if (count) s.min = number("count"), s.max = s.min;
    if (min) s.min = number("min");
    if (max) s.max = number("max");
    if (s.max && *s.max < s.min) error(s.line, "<expect-output-count>: max= is below min=");
    return s;
  }

  std::optional<ExpectExitStep> parse(const pugi::xml_node& node, Tag<ExpectExitStep>) {
    ExpectExitStep s;
    if (!begin_check(node, s, {"process"}, {"code", "signal"})) return std::nullopt;
    s.processes = process_list(node, "process");
    bool code = node.attribute("code"), sig = node.attribute("signal");
    if (code == sig) error(s.line, "<expect-exit> needs exactly one of code= or signal=");
    if (code && std::string(node.attribute("code").value()) == "nonzero") {
      s.want = ExpectExitStep::Want::kNonzeroCode;
    } else if (code) {
      s.want = ExpectExitStep::Want::kCode;
      s.value = static_cast<int>(integer(node, "code", 0, 255).value_or(0));
    } else if (sig) {
      s.want = ExpectExitStep::Want::kSignal;
      s.value = signal_attribute(node, "signal");
    }
    return s;
  }

  std::optional<ExpectRunningStep> parse(const pugi::xml_node& node, Tag<ExpectRunningStep>) {
    ExpectRunningStep s;
    if (!begin_check(node, s, {"process"}, {})) return std::nullopt;
    s.process = process_ref(node, "process");
    return s;
  }

  std::optional<ExpectSocketStep> parse(const pugi::xml_node& node, Tag<ExpectSocketStep>) {
    ExpectSocketStep s;
    if (!begin_check(node, s, {}, {"proto", "state", "local-port", "peer-port", "owner", "recv-q", "send-q", "count",
                                   "min", "max", "absent", "distinct-owners", "min-retrans"})) {
      return std::nullopt;
    }
    std::string proto = node.attribute("proto") ? node.attribute("proto").value() : "tcp";
    if (proto != "tcp" && proto != "udp") error(s.line, "bad proto=\"" + proto + "\" (tcp or udp)");
    s.proto = proto == "udp" ? Proto::kUdp : Proto::kTcp;
    s.states = states(node);
    s.local_port = port_attribute(node, "local-port");
    s.peer_port = port_attribute(node, "peer-port");
    if (node.attribute("owner")) s.owner = process_ref(node, "owner");
    s.recv_q = queue_size(node, "recv-q");
    s.send_q = queue_size(node, "send-q");
    socket_count(node, s);
    s.distinct_owners = boolean(node, "distinct-owners", false);
    if (node.attribute("min-retrans")) {
      s.min_retrans = static_cast<std::uint32_t>(integer(node, "min-retrans", 1, 1L << 30).value_or(1));
      if (s.proto != Proto::kTcp) error(s.line, "min-retrans= counts TCP retransmissions: not with proto=\"udp\"");
    }
    return s;
  }

  // recv-q= / send-q=: "N", ">N", ">=N", "<N" or "<=N" (in XML, < is written &lt;).
  std::optional<QueueSize> queue_size(const pugi::xml_node& node, const char* attribute) {
    if (!node.attribute(attribute)) return std::nullopt;
    std::string text = node.attribute(attribute).value();
    std::optional<QueueSize> q = parse_queue_size(text);
    if (!q) {
      error(line(node), std::string("bad ") + attribute + "=\"" + text +
                            "\" (a number of bytes 0-1073741824, or one compared: >0, >=N, <N, <=N; write < as &lt;)");
    }
    return q;
  }

  // state="SYN-SENT ESTAB" (or with commas): ss names.
  std::vector<std::string> states(const pugi::xml_node& node) {
    std::string text = node.attribute("state").value();
    std::replace(text.begin(), text.end(), ',', ' ');
    std::istringstream words(text);
    std::vector<std::string> result;
    for (std::string s; words >> s;) {
      if (s == "ESTABLISHED") s = "ESTAB";
      const auto& known = socket_state_names();
      if (std::find(known.begin(), known.end(), s) == known.end()) error(line(node), "unknown state \"" + s + "\" (ss names: ESTAB, LISTEN, TIME-WAIT, …)");
      result.push_back(s);
    }
    return result;
  }

  // count= | min= [max=] | absent="true"; none of them: at least one.
  void socket_count(const pugi::xml_node& node, ExpectSocketStep& s) {
    auto number = [&](const char* attribute) { return static_cast<int>(integer(node, attribute, 0, 100000).value_or(0)); };
    int forms = 0;
    if (node.attribute("count")) ++forms, s.count = number("count");
    if (node.attribute("min")) ++forms, s.min_count = number("min");
    if (node.attribute("max")) s.max_count = number("max");
    if (boolean(node, "absent", false)) ++forms, s.count = 0;
    if (forms > 1) error(s.line, "<expect-socket>: give one of count=, min= (with max=) or absent=\"true\"");
    if (forms == 0 && !s.max_count) s.min_count = 1;
  }

  std::optional<ExpectFdCountStep> parse(const pugi::xml_node& node, Tag<ExpectFdCountStep>) {
    ExpectFdCountStep s;
    if (!begin_check(node, s, {"process", "change"}, {})) return std::nullopt;
    s.process = process_ref(node, "process");
    std::string text = node.attribute("change").value();
    if (!text.empty() && text[0] == '+') text.erase(0, 1);
    try {
      std::size_t used = 0;
      s.change = std::stoi(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      error(s.line, "bad change=\"" + std::string(node.attribute("change").value()) + "\" (e.g. 0, +1, -2)");
    }
    return s;
  }

  std::optional<ExpectNoZombiesStep> parse(const pugi::xml_node& node, Tag<ExpectNoZombiesStep>) {
    ExpectNoZombiesStep s;
    if (!begin_check(node, s, {"process"}, {})) return std::nullopt;
    s.process = process_ref(node, "process");
    return s;
  }

  std::optional<ExpectTcpLineStep> parse(const pugi::xml_node& node, Tag<ExpectTcpLineStep>) {
    ExpectTcpLineStep s;
    if (!begin_check(node, s, {"conn"}, {"line", "regex", "contains", "repeat"})) return std::nullopt;
    s.conn = reading_connection(node);
    s.expected = text_match(node, "line");
    return s;
  }

  std::optional<ExpectTcpEofStep> parse(const pugi::xml_node& node, Tag<ExpectTcpEofStep>) {
    ExpectTcpEofStep s;
    if (!begin_check(node, s, {"conn"}, {})) return std::nullopt;
    s.conn = reading_connection(node);
    return s;
  }

  std::optional<ExpectDatagramStep> parse(const pugi::xml_node& node, Tag<ExpectDatagramStep>) {
    ExpectDatagramStep s;
    if (!begin_check(node, s, {"socket"}, {"text", "regex", "contains"})) return std::nullopt;
    s.socket = reference(node, "socket", udp_sockets_, "UDP socket (udp-send creates one)");
    s.expected = text_match(node, "text");
    return s;
  }

  std::optional<MeasureStep> parse(const pugi::xml_node& node, Tag<MeasureStep>) {
    MeasureStep s;
    if (!begin_check(node, s, {"process", "regex"}, {"stream", "unit", "chart", "series", "x"})) return std::nullopt;
    if (s.check.points != 0) {
      error(s.line, "<measure> earns no points (a speed depends on the machine): grade behaviour with expect-* checks");
    }
    s.process = process_ref(node, "process");
    s.stream = stream(node);
    s.regex = node.attribute("regex").value();
    std::size_t groups = 0;
    try {
      groups = std::regex(s.regex).mark_count();
    } catch (const std::regex_error& ex) {
      error(s.line, "bad regex \"" + s.regex + "\": " + ex.what());
      return s;
    }
    if (groups != 1 && groups != 2) {
      error(s.line, "<measure> regex needs one group (the value) or two (x, then the value on every line), not " +
                        std::to_string(groups));
    }
    s.chart = node.attribute("chart").value();
    s.series = node.attribute("series").value();
    s.unit = node.attribute("unit").value();
    if (node.attribute("x")) {
      std::string text = node.attribute("x").value();
      char* end = nullptr;
      double x = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !std::isfinite(x)) {
        error(s.line, "bad x=\"" + text + "\" (a number)");
      } else {
        s.x = x;
      }
    }
    if (s.chart.empty()) {
      if (node.attribute("series") || node.attribute("x")) error(s.line, "series= and x= are for a measure on a chart (chart=\"ID\")");
      return s;
    }
    auto chart = charts_.find(s.chart);
    if (chart == charts_.end()) {
      error(s.line, "chart=\"" + s.chart + "\": no <chart> with that id before this measure");
      return s;
    }
    if (node.attribute("unit")) error(s.line, "a measure on a chart takes the chart's unit (its y=): no unit=");
    s.unit = chart->second.y_label;
    if (s.series.empty()) error(s.line, "a measure on a chart needs series=\"...\" (its line on the chart)");
    if (groups == 1 && !node.attribute("x")) error(s.line, "a one-value measure on a chart needs x=\"...\" (where it sits on the x axis)");
    if (groups == 2 && node.attribute("x")) error(s.line, "x= is for a one-value measure: with two groups the regex gives x");
    return s;
  }

  // --- attribute values ------------------------------------------------------------------------------------
  // The strict reading every XML file of socklab's gets (load/xml.h).
  int line(const pugi::xml_node& node) const { return xml_.line(node); }
  void error(int at, const std::string& message) { xml_.error(at, message); }
  bool check_attributes(const pugi::xml_node& node, const Names& required, const Names& optional) {
    return xml_.check_attributes(node, required, optional);
  }
  std::optional<Millis> duration(const pugi::xml_node& node, const char* attribute) { return xml_.duration(node, attribute); }
  std::optional<long> integer(const pugi::xml_node& node, const char* attribute, long min, long max) {
    return xml_.integer(node, attribute, min, max);
  }
  bool boolean(const pugi::xml_node& node, const char* attribute, bool fallback) { return xml_.boolean(node, attribute, fallback); }

  void no_child_elements(const pugi::xml_node& node) {
    for (pugi::xml_node child : node.children()) {
      if (child.type() == pugi::node_element) {
        error(line(child), "unexpected <" + std::string(child.name()) + "> inside <" + node.name() + ">");
      }
    }
  }

  std::size_t repeat(const pugi::xml_node& node) {
    if (!node.attribute("repeat")) return 1;
    return static_cast<std::size_t>(integer(node, "repeat", 1, 64 << 20).value_or(1));
  }

  Stream stream(const pugi::xml_node& node) {
    if (!node.attribute("stream")) return Stream::kStdout;
    std::string text = node.attribute("stream").value();
    if (text != "stdout" && text != "stderr") error(line(node), "bad stream=\"" + text + "\" (stdout or stderr)");
    return text == "stderr" ? Stream::kStderr : Stream::kStdout;
  }

  int signal_attribute(const pugi::xml_node& node, const char* attribute) {
    int signal = parse_signal(node.attribute(attribute).value());
    if (signal == 0) error(line(node), "unknown signal \"" + std::string(node.attribute(attribute).value()) + "\"");
    return signal;
  }

  void regex_attribute(const pugi::xml_node& node, const char* attribute, const std::string& message) {
    std::string text = node.attribute(attribute).value();
    try {
      std::regex check(text);
    } catch (const std::regex_error& ex) {
      error(line(node), message + text + "\": " + ex.what());
    }
  }

  // A port: a number 1-65535, or one {port} placeholder ({port}, {port2}, {port:NAME}) filled in when it runs.
  Template port_attribute(const pugi::xml_node& node, const char* attribute) {
    std::string text = node.attribute(attribute).value();
    if (text.empty()) return text;
    bool number = text.size() <= 5 && std::all_of(text.begin(), text.end(), ::isdigit);
    bool ok = is_port_placeholder(text) || (number && std::stoi(text) >= 1 && std::stoi(text) <= 65535);
    if (!ok) {
      error(line(node), std::string("bad port \"") + text + "\" in " + attribute +
                            "= (a number 1-65535, or a placeholder such as {port}, {port2}, {port:NAME})");
    }
    return text;
  }

  // Decodes \n \r \t \\ \e (ESC) \0 \xHH and checks the placeholders; "\{" stays escaped for the filler.
  Template text_attribute(const pugi::xml_node& node, const char* attribute) {
    std::string raw = node.attribute(attribute).value();
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '\\') {
        out += raw[i];
      } else if (i + 1 == raw.size()) {
        error(line(node), std::string(attribute) + ": a lone backslash at the end (write \\\\ for a backslash)");
      } else {
        i = decode_escape(node, attribute, raw, i + 1, out);
      }
    }
    check_placeholders(node, out);
    return out;
  }

  // The escape whose letter is raw[at]: appends what it stands for, returns the index of its last character.
  std::size_t decode_escape(const pugi::xml_node& node, const char* attribute, const std::string& raw, std::size_t at,
                            std::string& out) {
    switch (char c = raw[at]) {
      case 'n': out += '\n'; return at;
      case 'r': out += '\r'; return at;
      case 't': out += '\t'; return at;
      case 'e': out += '\x1b'; return at;
      case '0': out += '\0'; return at;
      case '\\': out += '\\'; return at;
      case '{': out += "\\{"; return at;  // a literal brace, kept escaped for the placeholder filler
      case 'x':
        if (at + 2 < raw.size() && std::isxdigit(static_cast<unsigned char>(raw[at + 1])) &&
            std::isxdigit(static_cast<unsigned char>(raw[at + 2]))) {
          out += static_cast<char>(std::stoi(raw.substr(at + 1, 2), nullptr, 16));
          return at + 2;
        }
        error(line(node), std::string(attribute) + ": \\x needs two hex digits");
        return at;
      default:
        error(line(node), std::string(attribute) + ": unknown escape \\" + std::string(1, c) +
                              " (known: \\n \\r \\t \\e \\0 \\\\ \\{ \\xHH)");
        return at;
    }
  }

  // Unknown placeholders, and {pid:ID} of a process not started by an earlier step, are errors now, not at run time.
  void check_placeholders(const pugi::xml_node& node, const Template& text) {
    for (const TextPiece& piece : split_placeholders(text)) {
      if (!piece.placeholder) continue;
      const Placeholder& p = *piece.placeholder;
      switch (p.kind) {
        case Placeholder::Kind::kPort:
          break;
        case Placeholder::Kind::kPid:
          if (!processes_.count(p.pid_id())) error(line(node), p.text() + ": no process \"" + p.pid_id() + "\" was started before");
          break;
        case Placeholder::Kind::kUnknown:
          error(line(node), "unknown placeholder " + p.text() + " (known: " + kKnownPlaceholders + ")");
          break;
      }
    }
  }

  // line= (or text=) | regex= | contains=, exactly one; and repeat= where the element takes it.
  TextMatch text_match(const pugi::xml_node& node, const char* exact_attribute) {
    TextMatch m;
    int given = 0;
    for (auto [attribute, kind] : {std::pair{exact_attribute, Match::kExact}, {"regex", Match::kRegex},
                                   {"contains", Match::kContains}}) {
      if (!node.attribute(attribute)) continue;
      ++given;
      m.match = kind;
      m.text = kind == Match::kRegex ? node.attribute(attribute).value() : text_attribute(node, attribute);
      if (kind == Match::kRegex) regex_attribute(node, "regex", "bad regex \"");
    }
    if (given != 1) {
      error(line(node), "<" + std::string(node.name()) + "> needs exactly one of " + exact_attribute +
                            "=, regex= or contains=");
    }
    m.repeat = repeat(node);
    return m;
  }

  // conn= of a check on what a connection received: one that reads (not tcp-connect read="false").
  std::string reading_connection(const pugi::xml_node& node) {
    std::string id = reference(node, "conn", connections_, "connection");
    if (non_reading_.count(id)) {
      error(line(node), "<" + std::string(node.name()) + "> conn=\"" + id + "\": that connection never reads (read=\"false\")");
    }
    return id;
  }

  std::string process_ref(const pugi::xml_node& node, const char* attribute) {
    return reference(node, attribute, processes_, "process");
  }

  // process="c1 c2 c3": the check must hold for every one of them.
  std::vector<std::string> process_list(const pugi::xml_node& node, const char* attribute) {
    std::vector<std::string> ids;
    std::istringstream words(node.attribute(attribute).value());
    for (std::string id; words >> id;) {
      if (!processes_.count(id)) {
        error(line(node), "<" + std::string(node.name()) + "> " + attribute + ": no process \"" + id + "\" was started before");
      }
      ids.push_back(id);
    }
    if (ids.empty()) error(line(node), "<" + std::string(node.name()) + "> " + attribute + " is empty");
    return ids;
  }

  // The id in `attribute`, which must be one defined by an earlier step.
  std::string reference(const pugi::xml_node& node, const char* attribute, const Names& known, const char* what) {
    std::string id = node.attribute(attribute).value();
    if (known.count(id)) return id;
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    error(line(node), "<" + std::string(node.name()) + "> " + attribute + "=\"" + id + "\": no " + what +
                          " with that id " + (list.empty() ? "was defined before" : "(defined before: " + list + ")"));
    return id;
  }

  std::string path_;
  XmlFile xml_;
  bool graded_ = true;
  Isolation isolation_ = Isolation::kAuto;  // the experiment's
  Visibility visibility_ = Visibility::kVisible;  // the experiment's, for its checks
  Names processes_, connections_, udp_sockets_, checks_;
  std::map<std::string, ChartSpec> charts_;  // declared so far
  Names non_reading_, half_closed_;  // connections of tcp-connect read="false"; shut down for sending (tcp-shutdown)
};

}  // namespace

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
