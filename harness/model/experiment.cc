#include "model/experiment.h"

#include <algorithm>

namespace socklab::harness {

const StepBase& step_base(const Step& step) {
  return std::visit([](const auto& group) -> const StepBase& {
    return std::visit([](const auto& s) -> const StepBase& { return s; }, group);
  }, step);
}

const CheckInfo& check_info(const Check& check) {
  return std::visit([](const CheckBase& c) -> const CheckInfo& { return c.check; }, check);
}

const char* step_element(const Step& step) {
  return std::visit([](const auto& group) {
    return std::visit([](const auto& s) { return std::decay_t<decltype(s)>::kElement; }, group);
  }, step);
}

bool QueueSize::holds(std::uint32_t size) const {
  switch (compare) {
    case Compare::kEqual: return size == value;
    case Compare::kAbove: return size > value;
    case Compare::kAtLeast: return size >= value;
    case Compare::kBelow: return size < value;
    case Compare::kAtMost: return size <= value;
  }
  return false;
}

std::string QueueSize::text() const {
  std::string n = std::to_string(value);
  switch (compare) {
    case Compare::kEqual: return n;
    case Compare::kAbove: return "above " + n;
    case Compare::kAtLeast: return "at least " + n;
    case Compare::kBelow: return "below " + n;
    case Compare::kAtMost: return "at most " + n;
  }
  return n;
}

// "N", ">N", ">=N", "<N", "<=N" (N: 0 to 2^30); anything else, nullopt.
std::optional<QueueSize> parse_queue_size(const std::string& text) {
  using C = QueueSize::Compare;
  QueueSize q;
  std::size_t at = 0;
  for (auto [prefix, compare] : {std::pair{">=", C::kAtLeast}, {"<=", C::kAtMost}, {">", C::kAbove}, {"<", C::kBelow}}) {
    if (text.rfind(prefix, 0) == 0) {
      q.compare = compare;
      at = std::string(prefix).size();
      break;
    }
  }
  std::string digits = text.substr(at);
  if (digits.empty() || digits.size() > 10 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
  unsigned long long value = std::stoull(digits);
  if (value > (1ULL << 30)) return std::nullopt;
  q.value = static_cast<std::uint32_t>(value);
  if (q.compare == C::kBelow && q.value == 0) return std::nullopt;  // "<0" never holds
  return q;
}

int Experiment::max_points() const {
  int total = 0;
  for (const Step& s : steps) {
    if (const Check* c = std::get_if<Check>(&s)) total += check_info(*c).points;
  }
  return total;
}

namespace {

// One overload per kind: the texts each may hold placeholders in.
using Visit = std::function<void(const Template&)>;
void templates(const StartStep& s, const Visit& v) {
  for (const Template& a : s.args) v(a);
  for (const auto& [name, value] : s.env) v(value);
  for (const Template* t : {&s.working_dir, &s.ready_listen, &s.ready_bound}) v(*t);
}
void templates(const SendStep& s, const Visit& v) { v(s.text); }
void templates(const CloseStdinStep&, const Visit&) {}
void templates(const SignalStep&, const Visit&) {}
void templates(const WaitStep&, const Visit&) {}
void templates(const SnapshotStep&, const Visit&) {}
void templates(const TcpConnectStep& s, const Visit& v) { v(s.port), v(s.from_port); }
void templates(const TcpListenStep& s, const Visit& v) { v(s.port); }
void templates(const TcpSendStep& s, const Visit& v) { v(s.text); }
void templates(const TcpShutdownStep&, const Visit&) {}
void templates(const TcpCloseStep&, const Visit&) {}
void templates(const UdpSendStep& s, const Visit& v) { v(s.port), v(s.text); }
void templates(const LinkStep&, const Visit&) {}
void templates(const ExpectOutputStep& s, const Visit& v) { v(s.expected.text); }
void templates(const ExpectNoOutputStep& s, const Visit& v) {
  if (s.only) v(s.only->text);
}
void templates(const ExpectExitStep&, const Visit&) {}
void templates(const ExpectRunningStep&, const Visit&) {}
void templates(const ExpectSocketStep& s, const Visit& v) { v(s.local_port), v(s.peer_port); }
void templates(const ExpectFdCountStep&, const Visit&) {}
void templates(const ExpectNoZombiesStep&, const Visit&) {}
void templates(const ExpectTcpLineStep& s, const Visit& v) { v(s.expected.text); }
void templates(const ExpectTcpEofStep&, const Visit&) {}
void templates(const ExpectDatagramStep& s, const Visit& v) { v(s.expected.text); }
void templates(const MeasureStep&, const Visit&) {}
void templates(const ExpectOutputCountStep& s, const Visit& v) { v(s.expected.text); }

}  // namespace

void for_each_template(const Step& step, const std::function<void(const Template&)>& visit) {
  std::visit([&](const auto& group) { std::visit([&](const auto& s) { templates(s, visit); }, group); }, step);
}

}  // namespace socklab::harness
