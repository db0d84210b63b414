#include "model/experiment.h"

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
void templates(const TcpSendStep& s, const Visit& v) { v(s.text); }
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
void templates(const ExpectOutputCountStep& s, const Visit& v) { v(s.expected.text); }

}  // namespace

void for_each_template(const Step& step, const std::function<void(const Template&)>& visit) {
  std::visit([&](const auto& group) { std::visit([&](const auto& s) { templates(s, visit); }, group); }, step);
}

}  // namespace socklab::harness
