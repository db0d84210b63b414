// Running one experiment: the sequence of its steps, time and waiting, its network namespace, the kernel's
// sockets, and the cleanup at the end. Actions are in actions.cc, checks in checks.cc.
#include "run/runner.h"

#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "capture/isolation.h"
#include "model/placeholders.h"
#include "model/numbers.h"
#include "run/experiment_run.h"

namespace socklab::harness {

using boost::system::error_code;

std::string quoted(const std::string& text, std::size_t max) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == 0x1b) out += "\\e";
    else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else out += static_cast<char>(c);
  }
  out += "\"";
  if (text.size() > max) out += "… (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string seconds(Millis d) { return duration_text(d); }

std::string repeated(const std::string& text, std::size_t n) {
  std::string out;
  out.reserve(text.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += text;
  return out;
}

// --- the sequence ------------------------------------------------------------------------------------------

ExperimentResult ExperimentRun::run() {
  begin_result();
  std::size_t next_check = 0;
  bool began = false, in_check = false;
  try {
    isolate();
    allocate_ports();
    start_capture();
    reporter_.begin(experiment_, result_);
    began = true;
    for (const Step& step : experiment_.steps) {
      if (interrupted_) throw Aborted{"interrupted (Ctrl-C)"};
      std::visit(Overloaded{[&](const Action& action) { perform(action); },
                            [&](const Check& check) { run_check(check, next_check, in_check); }},
                 step);
    }
  } catch (const Aborted& a) {
    abort_with(a.reason, began, next_check, false);
  } catch (const std::exception& e) {
    // Not a verdict about the programs but a fault of the harness or of the machine: the check under way fails
    // with its message, the rest of the experiment is not run, and the run goes on (the report is written).
    abort_with(std::string("internal error: ") + e.what(), began, next_check, in_check);
  }
  try {
    finish_capture();
  } catch (const std::exception& e) {
    result_.notes.push_back(std::string("capture at the end failed: ") + e.what());
  }
  result_.duration = elapsed();
  reporter_.end(result_);
  return result_;
}

// The result's header, and every check as not yet run (what an abort reports).
void ExperimentRun::begin_result() {
  start_ = Clock::now();
  deadline_ = start_ + scaled(experiment_.timeout);
  result_ = result_header(experiment_);
  pending_checks_ = planned_checks(experiment_);
}

ExperimentResult result_header(const Experiment& experiment) {
  ExperimentResult r;
  r.file = experiment.file;
  r.id = experiment.id;
  r.title = experiment.title;
  r.about = experiment.about;
  r.lab = experiment.lab;
  r.graded = experiment.graded;
  r.charts = experiment.charts;
  return r;
}

std::vector<CheckResult> planned_checks(const Experiment& experiment) {
  std::vector<CheckResult> checks;
  for (const Step& s : experiment.steps) {
    const Check* check = std::get_if<Check>(&s);
    if (!check) continue;
    const CheckInfo& info = check_info(*check);
    CheckResult c;
    c.name = info.name;
    c.line = step_base(s).line;
    c.max_points = info.points;
    c.hint = info.hint;
    c.visibility = info.visibility;
    checks.push_back(c);
  }
  return checks;
}

// The timeline and the packets, filtered on the experiment's ports (allocated by now).
void ExperimentRun::start_capture() {
  std::vector<std::uint16_t> ports = placeholders_.ports();
  timeline_ = start_timeline(std::set<std::uint16_t>(ports.begin(), ports.end()), start_);
  if (timeline_->wants_polling()) poll_states();
  if (result_.isolation == Isolation::kNetns) {  // only there are the packets on lo the experiment's and nobody else's
    std::string why_not;
    packets_ = start_packet_capture(loop_.context(), std::set<std::uint16_t>(ports.begin(), ports.end()), start_, why_not);
    if (!packets_) result_.notes.push_back(why_not);
  } else {
    result_.notes.push_back("no packet capture: it needs the experiment's own network namespace");
  }
}

void ExperimentRun::run_check(const Check& check, std::size_t& next_check, bool& in_check) {
  CheckResult c = pending_checks_[next_check];
  in_check = true;
  evaluate_check(check, c);  // may throw Aborted: then this check is reported as not run, by abort_with
  in_check = false;
  ++next_check;
  c.at = elapsed();
  if (c.status == CheckResult::Status::kPassed) c.points = c.max_points;
  result_.checks.push_back(c);
  reporter_.check(c);
  if (c.status != CheckResult::Status::kPassed && check_info(check).fatal) {
    throw Aborted{"check \"" + c.name + "\" failed and is marked fatal"};
  }
}

// The experiment stops here: every check from `next_check` on is reported as not run, with the reason — or, when
// `fail_current`, that one as failed.
void ExperimentRun::abort_with(const std::string& reason, bool began, std::size_t next_check, bool fail_current) {
  if (!began) reporter_.begin(experiment_, result_);
  result_.error = reason;
  result_.interrupted = interrupted_;
  for (std::size_t i = next_check; i < pending_checks_.size(); ++i) {
    CheckResult c = pending_checks_[i];
    bool failed = fail_current && i == next_check;
    c.status = failed ? CheckResult::Status::kFailed : CheckResult::Status::kNotRun;
    c.actual = failed ? reason : "not run: " + reason;
    c.at = elapsed();
    result_.checks.push_back(c);
    reporter_.check(c);
  }
}

void ExperimentRun::finish_capture() {
  if (timeline_ && !interrupted_) capture();  // the states at the end (TIME-WAIT for the tracepoint)
  cleanup();
  if (timeline_) {
    result_.timeline = timeline_->finish();
    if (result_.isolation == Isolation::kNetns) {  // what this namespace saw: packets on its lo, sockets in its snapshots
      for (const Packet& p : result_.packets) seen_connections_.insert(p.src + "|" + p.dst);
      keep_own_connections(result_.timeline, seen_connections_);
    }
    order_connects_by_syn(result_.timeline, result_.packets);
  }
}

// --- time --------------------------------------------------------------------------------------------------

void ExperimentRun::check_limits() {
  if (interrupted_) throw Aborted{"interrupted (Ctrl-C)"};
  if (Clock::now() >= deadline_) {
    throw Aborted{"the experiment ran out of time (" + seconds(scaled(experiment_.timeout)) + " in all)"};
  }
}

// Waits for an event (output, exit, data) that makes done() true; false at the deadline.
bool ExperimentRun::wait_event(const std::function<bool()>& done, Clock::time_point deadline) {
  bool ok = loop_.run_until([&] { return interrupted_ || done(); }, deadline);
  if (interrupted_) throw Aborted{"interrupted (Ctrl-C)"};
  return ok;
}

// For kernel state, which announces nothing: look every 25 ms until done() or the deadline, handling
// output and other events meanwhile.
bool ExperimentRun::wait_polling(const std::function<bool()>& done, Clock::time_point deadline) {
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    auto next = std::min(deadline, Clock::now() + std::chrono::milliseconds(25));
    loop_.run_until([&] { return interrupted_; }, next);
    if (interrupted_) throw Aborted{"interrupted (Ctrl-C)"};
  }
}

// --- ports, isolation, kernel state ------------------------------------------------------------------------

// Every {port...} placeholder gets its port now, so the timeline can filter on them from the start.
void ExperimentRun::allocate_ports() {
  for (const Step& s : experiment_.steps) {
    for_each_template(s, [&](const Template& text) {
      for (const TextPiece& piece : split_placeholders(text)) {
        if (piece.placeholder && piece.placeholder->kind == Placeholder::Kind::kPort) placeholders_.fill(piece.placeholder->text());
      }
    });
  }
}

// The polling fallback of the timeline: a sock_diag snapshot every 100 ms (and one at every step).
void ExperimentRun::poll_states() {
  poll_timer_ = std::make_unique<asio::steady_timer>(loop_.context());
  poll_timer_->expires_after(std::chrono::milliseconds(100));
  poll_timer_->async_wait([this](error_code ec) {
    if (ec || cleaned_) return;
    capture();
    poll_states();
  });
}

void ExperimentRun::record_step(const StepBase& step, const std::string& text, bool ok) {
  StepRecord r{action_began_.value_or(elapsed()), step.line, text, ok};  // its time first: the snapshot below may see what the step caused
  if (timeline_ && timeline_->wants_polling()) capture();
  result_.steps.push_back(r);
  reporter_.step(r);
}

void ExperimentRun::isolate() {
  Isolation mode = options_.isolation == Isolation::kAuto ? experiment_.isolation : options_.isolation;
  if (experiment_.isolation == Isolation::kHost) mode = Isolation::kHost;
  std::string why_not;  // (this process is the experiment's own: it starts in socklab's namespace)
  if (mode != Isolation::kHost && enter_new_network_namespace(why_not)) {
    result_.isolation = Isolation::kNetns;
    apply_sysctls();
  } else {
    result_.isolation = Isolation::kHost;
    if (mode == Isolation::kNetns) throw Aborted{"this experiment needs its own network namespace: " + why_not};
    if (!why_not.empty()) result_.notes.push_back("no network namespace (" + why_not + "): free ports on the host");
    for (const auto& [name, value] : experiment_.sysctls) {
      result_.notes.push_back("not set (no namespace of its own): " + name + "=" + value +
                              "; the host's value applies and results may differ");
    }
  }
  source_ = options_.socket_source ? options_.socket_source() : make_best_source();
  result_.capture = source_->name();
}

void ExperimentRun::apply_sysctls() {
  for (const auto& [name, value] : experiment_.sysctls) {
    std::string problem;
    if (set_sysctl(name, value, problem)) {
      result_.notes.push_back("set " + name + "=" + value + " in the experiment's namespace");
    } else {
      result_.notes.push_back(problem);
    }
  }
}

std::vector<SocketInfo> ExperimentRun::capture() {
  auto when = Clock::now();  // the snapshot shows the sockets as they were at some moment after this
  std::vector<SocketInfo> all = source_->snapshot();
  std::vector<int> ours;
  for (auto& [id, p] : processes_) {
    if (p.process->exit_status()) continue;  // (its children, if any, were in its group: see below)
    auto tree = process_tree(p.process->pid());
    ours.insert(ours.end(), tree.begin(), tree.end());
  }
  attribute_owners(all, ours);
  SocketFilter filter;
  for (std::uint16_t p : placeholders_.ports()) filter.ports.insert(p);
  for (auto& [id, conn] : tcp_) {
    for (auto& c : conn) {
      if (c->local_port) filter.ports.insert(c->local_port);
    }
  }
  for (auto& [id, u] : udp_) filter.ports.insert(u->local_port);
  for (int pid : ours) filter.pids.insert(pid);
  std::vector<SocketInfo> mine = filtered(all, filter);
  if (timeline_) timeline_->observe(mine, when);
  for (const SocketInfo& s : mine) {
    if (s.protocol == Protocol::kTcp) seen_connections_.insert(s.local() + "|" + s.peer());
  }
  for (const SocketInfo& s : mine) {
    if (s.state == "LISTEN" && std::find(result_.listening_ports.begin(), result_.listening_ports.end(), s.local_port) ==
                                   result_.listening_ports.end()) {
      result_.listening_ports.push_back(s.local_port);
    }
  }
  return mine;
}

bool ExperimentRun::owned_by(const SocketInfo& s, const std::string& process_id) {
  auto it = processes_.find(process_id);
  if (it == processes_.end()) return false;
  int leader = it->second.process->pid();
  for (const SocketOwner& o : s.owners) {
    // It, or a process it started (a child of a fork server): follow the parents up (a sandboxed program's group
    // is led by the sandbox's pid 1, not by the program, so its group says nothing).
    int pid = o.pid;
    for (int depth = 0; pid > 1 && depth < 64; ++depth) {
      if (pid == leader) return true;
      auto st = proc_stat(pid);
      if (!st) break;
      pid = st->ppid;
    }
  }
  return false;
}

// --- processes ---------------------------------------------------------------------------------------------
ProcState& ExperimentRun::proc(const std::string& id) {
  auto it = processes_.find(id);
  if (it == processes_.end()) throw Aborted{"process \"" + id + "\" was not started (an earlier step failed?)"};
  return it->second;
}

std::string ExperimentRun::program_path(const std::string& program) {
  auto it = options_.bins.find(program);
  if (it != options_.bins.end()) return it->second;
  return options_.bin_dir + "/" + program;
}

std::string ExperimentRun::exit_note(ProcState& p) {
  // Its output just ended? Then its exit is usually a moment away: let the message say how it ended.
  if (p.process->out().closed && !p.process->exit_status()) {
    loop_.run_until([&] { return p.process->exit_status().has_value(); }, Clock::now() + std::chrono::milliseconds(200));
  }
  auto status = p.process->exit_status();
  if (!status) return "";
  return "; " + p.process->spec().name + " has exited (" + status->describe() + ")";
}

std::string ExperimentRun::output_detail(ProcState& p) {
  std::string detail;
  std::string out = p.process->out().tail(8), err = p.process->err().tail(8);
  detail += p.process->spec().name + " stdout (last lines):\n" + (out.empty() ? "(nothing)\n" : out);
  detail += p.process->spec().name + " stderr (last lines):\n" + (err.empty() ? "(nothing)\n" : err);
  return detail;
}


// --- the end -----------------------------------------------------------------------------------------------

void ExperimentRun::cleanup() {
  if (cleaned_) return;
  cleaned_ = true;
  if (poll_timer_) poll_timer_->cancel();
  for (auto& [id, p] : processes_) result_.processes.push_back(process_record(id, p));
  std::vector<pid_t> keep;
  kill_stray_children(keep);  // grandchildren that left their group (reparented to us, the subreaper)
  error_code ignored;
  for (auto& [id, l] : listeners_) l->acceptor.close(ignored);
  for (auto& [id, conns] : tcp_) {
    for (auto& c : conns) c->socket.close(ignored);
  }
  for (auto& [id, u] : udp_) u->socket.close(ignored);
  finish_packets();
  loop_.poll();  // let cancelled operations finish while their objects still exist
  processes_.clear();
  loop_.poll();
}

// Ends the process (and its group) if it still runs, and says how it ended and what it printed.
ProcessRecord ExperimentRun::process_record(const std::string& id, ProcState& p) {
  bool was_running = !p.process->exit_status().has_value();
  p.process->terminate_group(scaled(options_.grace));
  // What it wrote before it ended may still wait in the pipe or pty: read on to the end (every byte counted), but not
  // for ever (a grandchild that escaped may hold the other end open until kill_stray_children).
  const OutputStream &out = p.process->out(), &err = p.process->err();
  // (cleanup runs from the destructor too: run the loop directly, never throw as wait_event does on Ctrl-C.)
  loop_.run_until([&] { return interrupted_ || (out.closed && err.closed); }, Clock::now() + scaled(Millis(1000)));
  ProcessRecord r;
  r.id = id;
  r.program = p.program;
  r.command_line = p.command_line;
  r.pid = p.process->pid();
  auto status = p.process->exit_status();
  r.ending = status ? status->describe() : "unknown";
  if (was_running) r.ending = "still running at the end: terminated by the harness (" + r.ending + ")";
  r.stdout_tail = p.process->out().tail(20);
  r.stderr_tail = p.process->err().tail(20);
  r.stdout_bytes = p.process->out().total_bytes;
  r.stderr_bytes = p.process->err().total_bytes;
  r.truncated = p.process->out().truncated || p.process->err().truncated;
  for (const std::string& line : p.process->err().lines) {  // the whole kept stderr, not just its tail
    if (line.find("ERROR: AddressSanitizer") != std::string::npos || line.find("runtime error:") != std::string::npos ||
        line.find("ERROR: LeakSanitizer") != std::string::npos) {
      r.sanitizer_reports.push_back(line.substr(std::min(line.find_first_not_of("= 0123456789"), line.size())));
    }
  }
  return r;
}

// After the programs ended: their last FIN or RST is on the wire too.
void ExperimentRun::finish_packets() {
  if (!packets_) return;
  packets_->stop();
  result_.packets = packets_->packets();
  if (options_.pcap_dir.empty()) return;
  std::string path = options_.pcap_dir + "/" + experiment_.id + ".pcap", why;
  if (packets_->write_pcap(path, why)) {
    result_.pcap = path;
  } else {
    result_.notes.push_back(why);
  }
}

const char* CheckResult::status_name() const {
  switch (status) {
    case Status::kPassed: return "passed";
    case Status::kFailed: return "failed";
    case Status::kNotRun: return "not run";
  }
  return "?";
}

std::string MeasurementRecord::value_text() const {
  std::string in_unit = unit.empty() ? "" : " " + unit;
  if (single) return number_text(points.front().y) + in_unit;
  double low = points.front().y, high = low;
  for (const Point& p : points) low = std::min(low, p.y), high = std::max(high, p.y);
  return std::to_string(points.size()) + " values, " + number_text(low) + "–" + number_text(high) + in_unit;
}

int ExperimentResult::points() const {
  int total = 0;
  for (const CheckResult& c : checks) total += c.points;
  return total;
}

int ExperimentResult::max_points() const {
  int total = 0;
  for (const CheckResult& c : checks) total += c.max_points;
  return total;
}

bool ExperimentResult::passed() const {
  return error.empty() &&
         std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) { return c.status == CheckResult::Status::kPassed; });
}

Runner::Runner(EventLoop& loop, Launcher& launcher, RunOptions options, Reporter& reporter)
    : loop_(loop), launcher_(launcher), options_(std::move(options)), reporter_(reporter), child_(loop) {}

Runner::~Runner() = default;

void Runner::interrupt() {
  interrupted_ = true;
  child_.stop();
}

ExperimentResult Runner::run(const Experiment& experiment) {
  RunOptions options = options_;
  if (options_.socket_source) {  // made here, where a test's fake can count the experiments
    auto made = std::make_shared<std::unique_ptr<SocketSource>>(options_.socket_source());
    options.socket_source = [made] { return std::move(*made); };
  }
  return child_.run(experiment, reporter_, interrupted_, options_.time_scale, [&](Reporter& events) {
    ExperimentRun run(loop_, launcher_, options, events, experiment, interrupted_);
    return run.run();
  });
}

}  // namespace socklab::harness
