#include "run/serialize.h"

#include <nlohmann/json.hpp>

namespace socklab::harness {

using nlohmann::json;

namespace {

template <class T>
void read(const json& j, const char* key, T& value) {
  j.at(key).get_to(value);  // throws out_of_range for a missing key, type_error for a wrong type
}

// Enums travel as their number; one beyond `last` is a malformed message, not a value to guess.
template <class E>
void read_enum(const json& j, const char* key, E& value, E last) {
  int number = j.at(key).get<int>();
  if (number < 0 || number > static_cast<int>(last)) {
    throw json::other_error::create(501, std::string(key) + ": no such value: " + std::to_string(number), &j);
  }
  value = static_cast<E>(number);
}

template <class E>
int number(E value) {
  return static_cast<int>(value);
}

}  // namespace

void to_json(json& j, const SocketOwner& o) {
  j = {{"pid", o.pid}, {"command", o.command}, {"fd", o.fd}};
}

void from_json(const json& j, SocketOwner& o) {
  read(j, "pid", o.pid);
  read(j, "command", o.command);
  read(j, "fd", o.fd);
}

void to_json(json& j, const SocketInfo& s) {
  j = {{"protocol", number(s.protocol)},
       {"family", s.family},
       {"state", s.state},
       {"local_address", s.local_address},
       {"peer_address", s.peer_address},
       {"local_port", s.local_port},
       {"peer_port", s.peer_port},
       {"recv_q", s.recv_q},
       {"send_q", s.send_q},
       {"inode", s.inode},
       {"timer", s.timer},
       {"timer_ms", s.timer_ms},
       {"retrans", s.retrans},
       {"owners", s.owners}};
}

void from_json(const json& j, SocketInfo& s) {
  read_enum(j, "protocol", s.protocol, Protocol::kUdp);
  read(j, "family", s.family);
  read(j, "state", s.state);
  read(j, "local_address", s.local_address);
  read(j, "peer_address", s.peer_address);
  read(j, "local_port", s.local_port);
  read(j, "peer_port", s.peer_port);
  read(j, "recv_q", s.recv_q);
  read(j, "send_q", s.send_q);
  read(j, "inode", s.inode);
  read(j, "timer", s.timer);
  read(j, "timer_ms", s.timer_ms);
  read(j, "retrans", s.retrans);
  read(j, "owners", s.owners);
}

void to_json(json& j, const Packet& p) {
  j = {{"at", p.at},           {"src", p.src},         {"dst", p.dst},
       {"sport", p.sport},     {"dport", p.dport},     {"syn", p.syn},
       {"ack", p.ack},         {"fin", p.fin},         {"rst", p.rst},
       {"psh", p.psh},         {"seq", p.seq},         {"ack_number", p.ack_number},
       {"payload", p.payload}, {"preview", p.preview}, {"retransmission", p.retransmission}};
}

void from_json(const json& j, Packet& p) {
  read(j, "at", p.at);
  read(j, "src", p.src);
  read(j, "dst", p.dst);
  read(j, "sport", p.sport);
  read(j, "dport", p.dport);
  read(j, "syn", p.syn);
  read(j, "ack", p.ack);
  read(j, "fin", p.fin);
  read(j, "rst", p.rst);
  read(j, "psh", p.psh);
  read(j, "seq", p.seq);
  read(j, "ack_number", p.ack_number);
  read(j, "payload", p.payload);
  read(j, "preview", p.preview);
  read(j, "retransmission", p.retransmission);
}

void to_json(json& j, const LaneState& s) {
  j = {{"at", s.at}, {"state", s.state}, {"source", s.source}};
}

void from_json(const json& j, LaneState& s) {
  read(j, "at", s.at);
  read(j, "state", s.state);
  read(j, "source", s.source);
}

void to_json(json& j, const Lane& l) {
  j = {{"local", l.local}, {"peer", l.peer}, {"role", l.role}, {"states", l.states}, {"missed", l.missed}};
}

void from_json(const json& j, Lane& l) {
  read(j, "local", l.local);
  read(j, "peer", l.peer);
  read(j, "role", l.role);
  read(j, "states", l.states);
  read(j, "missed", l.missed);
}

void to_json(json& j, const Timeline& t) {
  j = {{"source", t.source},
       {"note", t.note},
       {"lanes", t.lanes},
       {"transitions", t.transitions},
       {"lost", t.lost}};
}

void from_json(const json& j, Timeline& t) {
  read(j, "source", t.source);
  read(j, "note", t.note);
  read(j, "lanes", t.lanes);
  read(j, "transitions", t.transitions);
  read(j, "lost", t.lost);
}

void to_json(json& j, const StepRecord& s) {
  j = {{"at", s.at}, {"line", s.line}, {"text", s.text}, {"ok", s.ok}};
}

void from_json(const json& j, StepRecord& s) {
  read(j, "at", s.at);
  read(j, "line", s.line);
  read(j, "text", s.text);
  read(j, "ok", s.ok);
}

void to_json(json& j, const CheckResult& c) {
  j = {{"name", c.name},
       {"line", c.line},
       {"status", number(c.status)},
       {"points", c.points},
       {"max_points", c.max_points},
       {"at", c.at},
       {"expected", c.expected},
       {"actual", c.actual},
       {"hint", c.hint},
       {"detail", c.detail},
       {"visibility", number(c.visibility)}};
}

void from_json(const json& j, CheckResult& c) {
  read(j, "name", c.name);
  read(j, "line", c.line);
  read_enum(j, "status", c.status, CheckResult::Status::kNotRun);
  read(j, "points", c.points);
  read(j, "max_points", c.max_points);
  read(j, "at", c.at);
  read(j, "expected", c.expected);
  read(j, "actual", c.actual);
  read(j, "hint", c.hint);
  read(j, "detail", c.detail);
  read_enum(j, "visibility", c.visibility, Visibility::kAfterDueDate);
}

void to_json(json& j, const SnapshotRecord& s) {
  j = {{"title", s.title}, {"line", s.line}, {"at", s.at}, {"sockets", s.sockets}};
}

void from_json(const json& j, SnapshotRecord& s) {
  read(j, "title", s.title);
  read(j, "line", s.line);
  read(j, "at", s.at);
  read(j, "sockets", s.sockets);
}

void to_json(json& j, const ProcessRecord& p) {
  j = {{"id", p.id},
       {"program", p.program},
       {"command_line", p.command_line},
       {"pid", p.pid},
       {"ending", p.ending},
       {"stdout_tail", p.stdout_tail},
       {"stderr_tail", p.stderr_tail},
       {"stdout_bytes", p.stdout_bytes},
       {"stderr_bytes", p.stderr_bytes},
       {"truncated", p.truncated},
       {"sanitizer_reports", p.sanitizer_reports}};
}

void from_json(const json& j, ProcessRecord& p) {
  read(j, "id", p.id);
  read(j, "program", p.program);
  read(j, "command_line", p.command_line);
  read(j, "pid", p.pid);
  read(j, "ending", p.ending);
  read(j, "stdout_tail", p.stdout_tail);
  read(j, "stderr_tail", p.stderr_tail);
  read(j, "stdout_bytes", p.stdout_bytes);
  read(j, "stderr_bytes", p.stderr_bytes);
  read(j, "truncated", p.truncated);
  read(j, "sanitizer_reports", p.sanitizer_reports);
}

void to_json(json& j, const ChartSpec& c) {
  j = {{"line", c.line}, {"id", c.id}, {"title", c.title}, {"x_label", c.x_label}, {"y_label", c.y_label},
       {"x_log", c.x_log}, {"baseline", c.baseline}};
}

void from_json(const json& j, ChartSpec& c) {
  read(j, "line", c.line);
  read(j, "id", c.id);
  read(j, "title", c.title);
  read(j, "x_label", c.x_label);
  read(j, "y_label", c.y_label);
  read(j, "x_log", c.x_log);
  read(j, "baseline", c.baseline);
}

void to_json(json& j, const MeasurementRecord::Point& p) {
  j = {{"x", p.x}, {"y", p.y}};
}

void from_json(const json& j, MeasurementRecord::Point& p) {
  read(j, "x", p.x);
  read(j, "y", p.y);
}

void to_json(json& j, const MeasurementRecord& m) {
  j = {{"name", m.name}, {"line", m.line}, {"at", m.at}, {"unit", m.unit}, {"chart", m.chart},
       {"series", m.series}, {"single", m.single}, {"points", m.points}};
}

void from_json(const json& j, MeasurementRecord& m) {
  read(j, "name", m.name);
  read(j, "line", m.line);
  read(j, "at", m.at);
  read(j, "unit", m.unit);
  read(j, "chart", m.chart);
  read(j, "series", m.series);
  read(j, "single", m.single);
  read(j, "points", m.points);
}

void to_json(json& j, const ExperimentResult& r) {
  j = {{"file", r.file},
       {"id", r.id},
       {"title", r.title},
       {"about", r.about},
       {"lab", r.lab},
       {"graded", r.graded},
       {"isolation", number(r.isolation)},
       {"capture", r.capture},
       {"notes", r.notes},
       {"steps", r.steps},
       {"checks", r.checks},
       {"snapshots", r.snapshots},
       {"processes", r.processes},
       {"duration", r.duration},
       {"error", r.error},
       {"interrupted", r.interrupted},
       {"timeline", r.timeline},
       {"packets", r.packets},
       {"listening_ports", r.listening_ports},
       {"pcap", r.pcap},
       {"charts", r.charts},
       {"measurements", r.measurements}};
}

void from_json(const json& j, ExperimentResult& r) {
  read(j, "file", r.file);
  read(j, "id", r.id);
  read(j, "title", r.title);
  read(j, "about", r.about);
  read(j, "lab", r.lab);
  read(j, "graded", r.graded);
  read_enum(j, "isolation", r.isolation, Isolation::kNetns);
  read(j, "capture", r.capture);
  read(j, "notes", r.notes);
  read(j, "steps", r.steps);
  read(j, "checks", r.checks);
  read(j, "snapshots", r.snapshots);
  read(j, "processes", r.processes);
  read(j, "duration", r.duration);
  read(j, "error", r.error);
  read(j, "interrupted", r.interrupted);
  read(j, "timeline", r.timeline);
  read(j, "packets", r.packets);
  read(j, "listening_ports", r.listening_ports);
  read(j, "pcap", r.pcap);
  read(j, "charts", r.charts);
  read(j, "measurements", r.measurements);
}

std::string to_bytes(const json& j) {
  std::vector<std::uint8_t> bytes = json::to_msgpack(j);
  return std::string(bytes.begin(), bytes.end());
}

json from_bytes(const std::string& bytes) {
  return json::from_msgpack(bytes);
}

}  // namespace socklab::harness
