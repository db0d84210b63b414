#include "run/runner.h"

#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "capture/isolation.h"
#include "capture/packets.h"
#include "capture/timeline.h"

namespace socklab::harness {

namespace asio = boost::asio;

namespace {

using boost::system::error_code;

std::string quoted(const std::string& text, std::size_t max = 80) {
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

std::string seconds(Millis d) {
  std::ostringstream s;
  if (d.count() % 1000 == 0) s << d.count() / 1000 << "s";
  else s << d.count() << "ms";
  return s.str();
}

std::string repeated(const std::string& text, std::size_t n) {
  std::string out;
  out.reserve(text.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += text;
  return out;
}

struct Aborted {
  std::string reason;
};

// A filled-in port ("8888"): 1-65535, or the step cannot be carried out.
std::uint16_t port_number(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 5 && std::all_of(text.begin(), text.end(), ::isdigit);
  int value = digits ? std::stoi(text) : 0;
  if (value < 1 || value > 65535) throw Aborted{"bad port \"" + text + "\" (1-65535)"};
  return static_cast<std::uint16_t>(value);
}

// A raw TCP connection of the harness (tcp-connect).
struct RawTcp {
  explicit RawTcp(asio::io_context& context) : socket(context) {}
  asio::ip::tcp::socket socket;
  bool connected = false, eof = false, closed = false;
  std::string error;  // connect or read error
  std::vector<std::string> lines;
  std::string partial;
  std::size_t cursor = 0;
  std::deque<std::string> pending;
  std::array<char, 65536> buffer{};
  std::uint16_t local_port = 0;
};

// A raw UDP socket of the harness (udp-send / expect-datagram).
struct RawUdp {
  explicit RawUdp(asio::io_context& context) : socket(context) {}
  asio::ip::udp::socket socket;
  asio::ip::udp::endpoint sender;
  std::vector<std::string> datagrams;
  std::size_t cursor = 0;
  std::vector<char> buffer = std::vector<char>(65536);
  std::uint16_t local_port = 0;
};

struct ProcState {
  std::unique_ptr<Process> process;
  std::string program;
  std::string command_line;
  int fd_baseline = -1;
  std::size_t cursor_out = 0, cursor_err = 0;
};

class ExperimentRun {
 public:
  ExperimentRun(EventLoop& loop, Launcher& launcher, const RunOptions& options, Reporter& reporter,
                const Experiment& experiment, const bool& interrupted)
      : loop_(loop), launcher_(launcher), options_(options), reporter_(reporter), experiment_(experiment),
        interrupted_(interrupted), placeholders_([] { return free_port(); }) {}

  ~ExperimentRun() { cleanup(); }

  ExperimentResult run() {
    start_ = Clock::now();
    deadline_ = start_ + scaled(experiment_.timeout);
    result_.file = experiment_.file;
    result_.id = experiment_.id;
    result_.title = experiment_.title;
    result_.about = experiment_.about;
    result_.lab = experiment_.lab;
    result_.graded = experiment_.graded;
    for (const Step& s : experiment_.steps) {
      if (is_check(s.kind)) {
        CheckResult c;
        c.name = s.check_name;
        c.line = s.line;
        c.max_points = s.points;
        c.hint = s.hint;
        pending_checks_.push_back(c);
      }
    }
    std::size_t next_check = 0;
    bool began = false, in_check = false;
    try {
      isolate();
      allocate_ports();
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
      reporter_.begin(experiment_, result_);
      began = true;
      for (const Step& step : experiment_.steps) {
        if (interrupted_) throw Aborted{"interrupted (Ctrl-C)"};
        if (is_check(step.kind)) {
          CheckResult c = pending_checks_[next_check];
          in_check = true;
          evaluate(step, c);  // may throw Aborted: then this check is reported as not run, below
          in_check = false;
          ++next_check;
          c.at = elapsed();
          if (c.status == CheckResult::Status::kPassed) c.points = c.max_points;
          result_.checks.push_back(c);
          reporter_.check(c);
          if (c.status != CheckResult::Status::kPassed && step.fatal) {
            throw Aborted{"check \"" + c.name + "\" failed and is marked fatal"};
          }
        } else {
          act(step);
        }
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

 private:
  // The experiment stops here: every check from `next_check` on is reported as not run, with the reason — or, when
  // `fail_current`, that one as failed.
  void abort_with(const std::string& reason, bool began, std::size_t next_check, bool fail_current) {
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

  void finish_capture() {
    if (timeline_ && !interrupted_) capture();  // the states at the end (TIME-WAIT for the tracepoint)
    cleanup();
    if (timeline_) {
      result_.timeline = timeline_->finish();
      if (result_.isolation == Isolation::kNetns) {  // what this namespace saw: packets on its lo, sockets in its snapshots
        for (const Packet& p : result_.packets) seen_connections_.insert(p.src + "|" + p.dst);
        keep_own_connections(result_.timeline, seen_connections_);
      }
    }
  }

  // --- time -------------------------------------------------------------------------------------------------
  Millis scaled(Millis d) const { return Millis(static_cast<long>(static_cast<double>(d.count()) * options_.time_scale)); }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  Clock::time_point deadline_after(Millis d) const { return std::min(Clock::now() + scaled(d), deadline_); }

  void check_limits() {
    if (interrupted_) throw Aborted{"interrupted (Ctrl-C)"};
    if (Clock::now() >= deadline_) {
      throw Aborted{"the experiment ran out of time (" + seconds(scaled(experiment_.timeout)) + " in all)"};
    }
  }

  // Waits for an event (output, exit, data) that makes done() true; false at the deadline.
  bool wait_event(const std::function<bool()>& done, Clock::time_point deadline) {
    bool ok = loop_.run_until([&] { return interrupted_ || done(); }, deadline);
    if (interrupted_) throw Aborted{"interrupted (Ctrl-C)"};
    return ok;
  }

  // For kernel state, which announces nothing: look every 25 ms until done() or the deadline, handling
  // output and other events meanwhile.
  bool wait_polling(const std::function<bool()>& done, Clock::time_point deadline) {
    for (;;) {
      if (done()) return true;
      if (Clock::now() >= deadline) return false;
      auto next = std::min(deadline, Clock::now() + std::chrono::milliseconds(25));
      loop_.run_until([&] { return interrupted_; }, next);
      if (interrupted_) throw Aborted{"interrupted (Ctrl-C)"};
    }
  }

  // Every {port...} placeholder gets its port now, so the timeline can filter on them from the start.
  void allocate_ports() {
    static const std::regex port_placeholder("\\{port[^}]*\\}");
    auto visit = [&](const std::string& text) {
      for (auto it = std::sregex_iterator(text.begin(), text.end(), port_placeholder); it != std::sregex_iterator(); ++it) {
        placeholders_.fill(it->str());
      }
    };
    for (const Step& s : experiment_.steps) {
      for (const std::string& t : {s.text, s.ready_listen, s.ready_bound, s.local_port, s.peer_port, s.port, s.from_port}) visit(t);
      for (const std::string& a : s.args) visit(a);
    }
  }

  // The polling fallback of the timeline: a sock_diag snapshot every 100 ms (and one at every step).
  void poll_states() {
    poll_timer_ = std::make_unique<asio::steady_timer>(loop_.context());
    poll_timer_->expires_after(std::chrono::milliseconds(100));
    poll_timer_->async_wait([this](error_code ec) {
      if (ec || cleaned_) return;
      capture();
      poll_states();
    });
  }

  void record_step(const Step& step, const std::string& text, bool ok = true) {
    StepRecord r{elapsed(), step.line, text, ok};  // its time first: the snapshot below may see what the step caused
    if (timeline_ && timeline_->wants_polling()) capture();
    result_.steps.push_back(r);
    reporter_.step(r);
  }

  // --- isolation and capture -----------------------------------------------------------------------------
  void isolate() {
    Isolation mode = options_.isolation == Isolation::kAuto ? experiment_.isolation : options_.isolation;
    if (experiment_.isolation == Isolation::kHost) mode = Isolation::kHost;
    std::string why_not;  // (this process is the experiment's own: it starts in socklab's namespace)
    if (mode != Isolation::kHost && enter_new_network_namespace(why_not)) {
      result_.isolation = Isolation::kNetns;
      for (const auto& [name, value] : experiment_.sysctls) {
        std::string problem;
        if (set_sysctl(name, value, problem)) {
          result_.notes.push_back("set " + name + "=" + value + " in the experiment's namespace");
        } else {
          result_.notes.push_back(problem);
        }
      }
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

  std::vector<SocketInfo> capture() {
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

  bool owned_by(const SocketInfo& s, const std::string& process_id) {
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

  // --- processes -----------------------------------------------------------------------------------------
  ProcState& proc(const std::string& id) {
    auto it = processes_.find(id);
    if (it == processes_.end()) throw Aborted{"process \"" + id + "\" was not started (an earlier step failed?)"};
    return it->second;
  }

  std::string program_path(const std::string& program) {
    auto it = options_.bins.find(program);
    if (it != options_.bins.end()) return it->second;
    return options_.bin_dir + "/" + program;
  }

  std::string exit_note(ProcState& p) {
    // Its output just ended? Then its exit is usually a moment away: let the message say how it ended.
    if (p.process->out().closed && !p.process->exit_status()) {
      loop_.run_until([&] { return p.process->exit_status().has_value(); }, Clock::now() + std::chrono::milliseconds(200));
    }
    auto status = p.process->exit_status();
    if (!status) return "";
    return "; " + p.process->spec().name + " has exited (" + status->describe() + ")";
  }

  std::string output_detail(ProcState& p) {
    std::string detail;
    std::string out = p.process->out().tail(8), err = p.process->err().tail(8);
    detail += p.process->spec().name + " stdout (last lines):\n" + (out.empty() ? "(nothing)\n" : out);
    detail += p.process->spec().name + " stderr (last lines):\n" + (err.empty() ? "(nothing)\n" : err);
    return detail;
  }

  void act_start(const Step& step) {
    ProcessSpec spec;
    spec.name = step.process;
    spec.path = program_path(step.program);
    for (const Template& a : step.args) spec.args.push_back(placeholders_.fill(a));
    for (const auto& [k, v] : step.env) spec.env[k] = placeholders_.fill(v);
    spec.stdout_pty = step.stdout_pty;
    spec.working_dir = placeholders_.fill(step.working_dir);
    std::string command = step.program;
    for (const std::string& a : spec.args) command += " " + a;
    if (auto gone = options_.missing.find(step.program); gone != options_.missing.end()) {
      record_step(step, "start " + step.process + ": " + command + " — " + gone->second, false);
      throw Aborted{step.program + " " + gone->second};
    }
    if (access(spec.path.c_str(), X_OK) != 0) {
      record_step(step, "start " + step.process + ": " + command + " — program not found", false);
      throw Aborted{"program " + step.program + " not found (" + spec.path + ")"};
    }
    ProcState state;
    try {
      state.process = launcher_.start(spec);
    } catch (const std::exception& e) {
      record_step(step, "start " + step.process + ": " + command + " — " + e.what(), false);
      throw Aborted{e.what()};
    }
    state.program = step.program;
    state.command_line = command;
    int pid = state.process->pid();
    placeholders_.set_pid(step.process, pid);
    ProcState& p = processes_.emplace(step.process, std::move(state)).first->second;

    std::string ready;
    bool ok = true;
    auto deadline = deadline_after(step.timeout);
    if (!step.ready_listen.empty()) {
      std::string port = placeholders_.fill(step.ready_listen);
      ready = "a LISTEN socket on port " + port;
      ok = wait_polling([&] {
        if (p.process->exit_status()) return true;
        for (const SocketInfo& s : capture()) {
          if (s.protocol == Protocol::kTcp && s.state == "LISTEN" && std::to_string(s.local_port) == port &&
              owned_by(s, step.process)) {
            return true;
          }
        }
        return false;
      }, deadline) && !p.process->exit_status();
    } else if (!step.ready_bound.empty()) {
      std::string port = placeholders_.fill(step.ready_bound);
      ready = "a UDP socket bound to port " + port;
      ok = wait_polling([&] {
        if (p.process->exit_status()) return true;
        for (const SocketInfo& s : capture()) {
          if (s.protocol == Protocol::kUdp && std::to_string(s.local_port) == port && owned_by(s, step.process)) return true;
        }
        return false;
      }, deadline) && !p.process->exit_status();
    } else if (!step.ready_output.empty()) {
      std::regex pattern(step.ready_output);
      ready = "a stdout line matching /" + step.ready_output + "/";
      bool matched = false;
      wait_event([&] {
        const auto& lines = p.process->out().lines;
        for (std::size_t i = p.cursor_out; i < lines.size() && !matched; ++i) {
          if (std::regex_search(lines[i], pattern)) {
            p.cursor_out = i + 1;
            matched = true;
          }
        }
        return matched || p.process->out().closed;
      }, deadline);
      ok = matched;
    }
    std::string text = "start " + step.process + ": " + command + " (pid " + std::to_string(pid) + ")";
    if (!ok) {
      record_step(step, text + " — not ready", false);
      std::string reason = step.process + " did not become ready: expected " + ready + " within " +
                           seconds(scaled(step.timeout)) + exit_note(p);
      throw Aborted{reason + "\n" + output_detail(p)};
    }
    p.fd_baseline = open_fd_count(pid);
    record_step(step, text + (ready.empty() ? "" : ", ready: " + ready));
  }

  // --- raw actors ----------------------------------------------------------------------------------------
  void read_tcp(RawTcp* c) {
    c->socket.async_read_some(asio::buffer(c->buffer), [this, c](error_code ec, std::size_t n) {
      c->partial.append(c->buffer.data(), n);
      std::size_t start = 0;
      for (std::size_t nl; (nl = c->partial.find('\n', start)) != std::string::npos; start = nl + 1) {
        c->lines.emplace_back(c->partial, start, nl - start);
      }
      c->partial.erase(0, start);
      if (ec) {
        if (ec == asio::error::eof) c->eof = true;
        else if (ec != asio::error::operation_aborted) c->error = ec.message();
        return;
      }
      read_tcp(c);
    });
  }

  void write_tcp(RawTcp* c) {
    if (c->pending.empty() || !c->connected || c->closed) return;
    asio::async_write(c->socket, asio::buffer(c->pending.front()), [this, c](error_code ec, std::size_t) {
      if (ec) {
        if (ec != asio::error::operation_aborted) c->error = ec.message();
        c->pending.clear();
        return;
      }
      c->pending.pop_front();
      write_tcp(c);
    });
  }

  void act_tcp_connect(const Step& step) {
    std::string port_text = placeholders_.fill(step.port);
    std::string from = step.from_port.empty() ? "" : placeholders_.fill(step.from_port);
    auto& conns = tcp_[step.conn];
    for (int i = 0; i < step.conn_count; ++i) {
      auto c = std::make_unique<RawTcp>(loop_.context());
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) throw Aborted{std::string("socket: ") + std::strerror(errno)};
      int on = 1;
      if (step.reuseaddr) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
      if (!from.empty()) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_port = htons(port_number(from));
        if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
          std::string e = std::strerror(errno);
          close(fd);
          record_step(step, "tcp-connect " + step.conn + ": bind port " + from + ": " + e, false);
          throw Aborted{"tcp-connect " + step.conn + ": bind port " + from + ": " + e};
        }
      }
      c->socket.assign(asio::ip::tcp::v4(), fd);
      RawTcp* raw = c.get();
      asio::ip::tcp::endpoint server(asio::ip::address_v4::loopback(), port_number(port_text));
      // Not waited for: against a full listen queue the connection may stay in SYN-SENT (lab 3).
      raw->socket.async_connect(server, [this, raw](error_code ec) {
        if (ec) {
          if (ec != asio::error::operation_aborted) raw->error = "connect: " + ec.message();
          return;
        }
        raw->connected = true;
        error_code ignored;
        raw->local_port = raw->socket.local_endpoint(ignored).port();
        read_tcp(raw);
        write_tcp(raw);
      });
      sockaddr_in bound{};
      socklen_t length = sizeof bound;
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0) raw->local_port = ntohs(bound.sin_port);
      conns.push_back(std::move(c));
    }
    record_step(step, "tcp-connect " + step.conn + ": " + std::to_string(step.conn_count) + " connection(s) to port " +
                          port_text + (from.empty() ? "" : " from port " + from));
  }

  std::vector<std::unique_ptr<RawTcp>>& connections(const std::string& id) {
    auto it = tcp_.find(id);
    if (it == tcp_.end()) throw Aborted{"connection \"" + id + "\" was not opened"};
    return it->second;
  }

  RawUdp& udp_socket(const std::string& id) {
    auto it = udp_.find(id);
    if (it != udp_.end()) return *it->second;
    auto u = std::make_unique<RawUdp>(loop_.context());
    u->socket.open(asio::ip::udp::v4());
    u->socket.bind(asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
    u->local_port = u->socket.local_endpoint().port();
    RawUdp* raw = u.get();
    receive_udp(raw);
    return *udp_.emplace(id, std::move(u)).first->second;
  }

  void receive_udp(RawUdp* u) {
    u->socket.async_receive_from(asio::buffer(u->buffer), u->sender, [this, u](error_code ec, std::size_t n) {
      if (!ec) {
        u->datagrams.emplace_back(u->buffer.data(), n);
      } else if (ec != asio::error::connection_refused) {
        return;  // closed (operation_aborted) or broken: stop; ECONNREFUSED (left by an earlier send) is transient
      }
      receive_udp(u);
    });
  }

  // --- actions -------------------------------------------------------------------------------------------
  void act(const Step& step) {
    check_limits();
    switch (step.kind) {
      case StepKind::kStart:
        act_start(step);
        break;
      case StepKind::kSend: {
        ProcState& p = proc(step.process);
        std::string line = repeated(placeholders_.fill(step.text), step.repeat);
        bool gone = p.process->exit_status().has_value() || p.process->stdin_write_failed();
        p.process->write_stdin(line + (step.newline ? "\n" : ""));
        record_step(step, "send to " + step.process + ": " + quoted(line) + (gone ? " (but it has exited)" : ""), !gone);
        break;
      }
      case StepKind::kCloseStdin:
        proc(step.process).process->close_stdin();
        record_step(step, "close stdin of " + step.process);
        break;
      case StepKind::kSignal: {
        ProcState& p = proc(step.process);
        bool gone = p.process->exit_status().has_value();
        p.process->send_signal(step.signal);
        record_step(step, std::string("signal ") + step.process + ": SIG" + sigabbrev_np(step.signal) +
                              (gone ? " (but it has exited)" : ""));
        break;
      }
      case StepKind::kWait:
        record_step(step, "wait " + seconds(scaled(step.timeout)) + (step.title.empty() ? "" : ": " + step.title));
        wait_event([] { return false; }, deadline_after(step.timeout));
        break;
      case StepKind::kSnapshot: {
        SnapshotRecord s{step.title, step.line, elapsed(), capture()};
        result_.snapshots.push_back(s);
        reporter_.snapshot(s);
        break;
      }
      case StepKind::kTcpConnect:
        act_tcp_connect(step);
        break;
      case StepKind::kTcpSend: {
        std::string data = repeated(placeholders_.fill(step.text), step.repeat) + (step.newline ? "\n" : "");
        for (auto& c : connections(step.conn)) {
          c->pending.push_back(data);
          if (c->pending.size() == 1) write_tcp(c.get());
        }
        record_step(step, "tcp-send " + step.conn + ": " + quoted(data));
        break;
      }
      case StepKind::kTcpClose:
        for (auto& c : connections(step.conn)) {
          error_code ignored;
          if (step.reset) c->socket.set_option(asio::socket_base::linger(true, 0), ignored);  // close sends RST
          c->closed = true;
          c->socket.close(ignored);
        }
        record_step(step, "tcp-close " + step.conn + (step.reset ? " with RST (SO_LINGER 0)" : ""));
        break;
      case StepKind::kUdpSend: {
        RawUdp& u = udp_socket(step.conn);
        std::string data = repeated(placeholders_.fill(step.text), step.repeat) + (step.newline ? "\n" : "");
        std::string port = placeholders_.fill(step.port);
        error_code ec;
        u.socket.send_to(asio::buffer(data),
                         asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), port_number(port)),
                         0, ec);
        record_step(step, "udp-send from " + step.conn + " to port " + port + ": " + quoted(data) +
                              (ec ? " — " + ec.message() : ""), !ec);
        break;
      }
      default:
        break;
    }
  }

  // --- checks --------------------------------------------------------------------------------------------
  bool text_matches(const Step& step, const std::string& candidate, const std::string& expected) {
    switch (step.match) {
      case Step::Match::kExact: return candidate == expected;
      case Step::Match::kContains: return candidate.find(expected) != std::string::npos;
      case Step::Match::kRegex: return std::regex_search(candidate, std::regex(expected));
    }
    return false;
  }

  std::string describe_match(const Step& step, const std::string& expected, const char* noun) {
    switch (step.match) {
      case Step::Match::kExact: return std::string("a ") + noun + " " + quoted(expected);
      case Step::Match::kContains: return std::string("a ") + noun + " containing " + quoted(expected);
      case Step::Match::kRegex: return std::string("a ") + noun + " matching /" + expected + "/";
    }
    return "";
  }

  static std::string seen_lines(const std::vector<std::string>& lines, std::size_t from) {
    if (from >= lines.size()) return "no new line";
    std::string out;
    std::size_t shown = 0;
    for (std::size_t i = from; i < lines.size() && shown < 5; ++i, ++shown) out += (out.empty() ? "" : ", ") + quoted(lines[i]);
    if (lines.size() - from > shown) out += ", … (" + std::to_string(lines.size() - from) + " lines)";
    return out;
  }

  void evaluate(const Step& step, CheckResult& c) {
    check_limits();
    auto deadline = deadline_after(step.timeout);
    auto fail = [&](std::string expected, std::string actual, std::string detail = "") {
      c.status = CheckResult::Status::kFailed;
      c.expected = std::move(expected);
      c.actual = std::move(actual);
      c.detail = std::move(detail);
    };
    c.status = CheckResult::Status::kPassed;
    switch (step.kind) {
      case StepKind::kExpectOutput: {
        std::string expected = repeated(placeholders_.fill(step.text), step.repeat);
        for (const std::string& id : step.processes) {  // every listed process must print it
          ProcState& p = proc(id);
          bool err = step.stream == "stderr";
          const OutputStream& stream = err ? p.process->err() : p.process->out();
          std::size_t& cursor = err ? p.cursor_err : p.cursor_out;
          std::size_t from = cursor;
          bool found = wait_event([&] {
            for (std::size_t i = cursor; i < stream.lines.size(); ++i) {
              if (text_matches(step, stream.lines[i], expected)) {
                cursor = i + 1;
                return true;
              }
            }
            return stream.closed;
          }, deadline) && cursor > from;
          if (!found) {
            fail(describe_match(step, expected, "line") + " on " + id + "'s " + step.stream + " within " +
                     seconds(scaled(step.timeout)),
                 seen_lines(stream.lines, from) + exit_note(p), output_detail(p));
            cursor = stream.lines.size();  // those lines were looked at: the next check starts after them
            break;
          }
        }
        break;
      }
      case StepKind::kExpectNoOutput: {
        // Nothing unread may be there now, nor arrive during the whole duration: a line that came before the
        // check started counts as much as one that comes during it. With line=/regex=/contains=, only lines
        // matching that count.
        ProcState& p = proc(step.process);
        bool err = step.stream == "stderr";
        const OutputStream& stream = err ? p.process->err() : p.process->out();
        std::size_t cursor = err ? p.cursor_err : p.cursor_out;
        bool filtered = step.only_matching;
        std::string unwanted = filtered ? placeholders_.fill(step.text) : "";
        auto offending = [&]() -> std::optional<std::string> {
          for (std::size_t i = cursor; i < stream.lines.size(); ++i) {
            if (!filtered || text_matches(step, stream.lines[i], unwanted)) return stream.lines[i];
          }
          if (!filtered && !stream.partial.empty()) return stream.partial;
          return std::nullopt;
        };
        wait_event([&] { return offending().has_value(); }, deadline);
        if (auto line = offending()) {
          fail((filtered ? "no " + describe_match(step, unwanted, "line").substr(2) : std::string("no output")) + " on " +
                   step.process + "'s " + step.stream + " for " + seconds(scaled(step.timeout)),
               quoted(*line), output_detail(p));
        }
        break;
      }
      case StepKind::kExpectExit: {
        std::string expected = step.exit_signal ? std::string("killed by SIG") + sigabbrev_np(*step.exit_signal)
                               : step.any_exit_code_but_zero ? "a non-zero exit code"
                                                             : "exit " + std::to_string(*step.exit_code);
        for (const std::string& id : step.processes) {
          ProcState& p = proc(id);
          wait_event([&] { return p.process->exit_status().has_value(); }, deadline);
          auto status = p.process->exit_status();
          std::string what = id + " ends with " + expected + " within " + seconds(scaled(step.timeout));
          if (!status) {
            fail(what, "still running", output_detail(p));
            break;
          }
          if ((step.exit_signal && (status->exited || status->signal != *step.exit_signal)) ||
              (step.exit_code && (!status->exited || status->code != *step.exit_code)) ||
              (step.any_exit_code_but_zero && (!status->exited || status->code == 0))) {
            fail(what, status->describe(), output_detail(p));
            break;
          }
        }
        break;
      }
      case StepKind::kExpectRunning: {
        ProcState& p = proc(step.process);
        loop_.poll();
        if (auto status = p.process->exit_status()) {
          fail(step.process + " still running", "it has exited (" + status->describe() + ")", output_detail(p));
        }
        break;
      }
      case StepKind::kExpectSocket:
        evaluate_socket(step, c, deadline);
        break;
      case StepKind::kExpectFdCount: {
        ProcState& p = proc(step.process);
        int want = p.fd_baseline + *step.fd_change;
        int now = -1;
        bool ok = wait_polling([&] { return (now = open_fd_count(p.process->pid())) == want; }, deadline);
        if (!ok) {
          fail(step.process + " has " + std::to_string(want) + " open file descriptors (" + std::to_string(p.fd_baseline) +
                   " when it became ready, change " + (*step.fd_change >= 0 ? "+" : "") + std::to_string(*step.fd_change) + ")",
               now < 0 ? "cannot read /proc/" + std::to_string(p.process->pid()) + "/fd" + exit_note(p)
                       : std::to_string(now) + " open file descriptors");
        }
        break;
      }
      case StepKind::kExpectNoZombies: {
        ProcState& p = proc(step.process);
        std::vector<int> zombies;
        bool ok = wait_polling([&] { return (zombies = zombie_children(p.process->pid())).empty(); }, deadline);
        if (!ok) {
          std::string list;
          for (int z : zombies) list += (list.empty() ? "" : ", ") + std::to_string(z);
          fail("no zombie (exited but not reaped) children of " + step.process + " within " + seconds(scaled(step.timeout)),
               std::to_string(zombies.size()) + " zombie(s): pid " + list);
        }
        break;
      }
      case StepKind::kExpectTcpLine: {
        std::string expected = repeated(placeholders_.fill(step.text), step.repeat);
        for (auto& conn : connections(step.conn)) {
          RawTcp* r = conn.get();
          std::size_t from = r->cursor;
          bool found = wait_event([&] {
            for (std::size_t i = r->cursor; i < r->lines.size(); ++i) {
              if (text_matches(step, r->lines[i], expected)) {
                r->cursor = i + 1;
                return true;
              }
            }
            return r->eof || !r->error.empty();
          }, deadline) && r->cursor > from;
          if (!found) {
            fail(describe_match(step, expected, "line") + " on connection " + step.conn + " within " + seconds(scaled(step.timeout)),
                 seen_lines(r->lines, from) + (r->eof ? "; the server closed the connection" : "") +
                     (r->error.empty() ? "" : "; " + r->error));
            break;
          }
        }
        break;
      }
      case StepKind::kExpectTcpEof:
        for (auto& conn : connections(step.conn)) {
          RawTcp* r = conn.get();
          if (!wait_event([&] { return r->eof || !r->error.empty(); }, deadline) || !r->error.empty()) {
            fail("the server closes connection " + step.conn + " (EOF) within " + seconds(scaled(step.timeout)),
                 r->error.empty() ? "no EOF" : r->error);
            break;
          }
        }
        break;
      case StepKind::kExpectDatagram: {
        RawUdp& u = udp_socket(step.conn);
        std::string expected = placeholders_.fill(step.text);
        std::size_t from = u.cursor;
        bool found = wait_event([&] {
          for (std::size_t i = u.cursor; i < u.datagrams.size(); ++i) {
            if (text_matches(step, u.datagrams[i], expected)) {
              u.cursor = i + 1;
              return true;
            }
          }
          return false;
        }, deadline);
        if (!found) {
          fail(describe_match(step, expected, "datagram") + " to socket " + step.conn + " within " + seconds(scaled(step.timeout)),
               seen_lines(u.datagrams, from));
        }
        break;
      }
      default:
        break;
    }
  }

  void evaluate_socket(const Step& step, CheckResult& c, Clock::time_point deadline) {
    std::string local = placeholders_.fill(step.local_port), peer = placeholders_.fill(step.peer_port);
    std::vector<SocketInfo> seen, matching;
    auto count_ok = [&](std::size_t n) {
      if (step.count && static_cast<int>(n) != *step.count) return false;
      if (step.min_count && static_cast<int>(n) < *step.min_count) return false;
      if (step.max_count && static_cast<int>(n) > *step.max_count) return false;
      return true;
    };
    bool ok = wait_polling([&] {
      seen = capture();
      matching.clear();
      for (const SocketInfo& s : seen) {
        if (s.protocol_name() != step.protocol) continue;
        if (!step.states.empty() && std::find(step.states.begin(), step.states.end(), s.state) == step.states.end()) continue;
        if (!local.empty() && std::to_string(s.local_port) != local) continue;
        if (!peer.empty() && std::to_string(s.peer_port) != peer) continue;
        if (step.recv_q && s.recv_q != *step.recv_q) continue;
        if (step.send_q && s.send_q != *step.send_q) continue;
        if (!step.owner.empty() && !owned_by(s, step.owner)) continue;
        matching.push_back(s);
      }
      if (!count_ok(matching.size())) return false;
      if (step.distinct_owners) {
        std::set<int> pids;
        for (const SocketInfo& s : matching) {
          for (const SocketOwner& o : s.owners) pids.insert(o.pid);
        }
        for (const SocketInfo& s : matching) {
          if (s.owners.size() != 1) return false;  // each held by exactly one process...
        }
        if (pids.size() != matching.size()) return false;  // ...and no two by the same one
      }
      return true;
    }, deadline);
    if (ok) return;
    std::string what = step.protocol + " socket";
    if (!step.states.empty()) {
      what += " in ";
      for (std::size_t i = 0; i < step.states.size(); ++i) what += (i ? " or " : "") + step.states[i];
    }
    if (!local.empty()) what += ", local port " + local;
    if (!peer.empty()) what += ", peer port " + peer;
    if (step.recv_q) what += ", Recv-Q " + std::to_string(*step.recv_q);
    if (step.send_q) what += ", Send-Q " + std::to_string(*step.send_q);
    if (!step.owner.empty()) what += ", owned by " + step.owner + " (or its children)";
    if (step.distinct_owners) what += ", each held by a different process";
    std::string how_many = step.count ? (*step.count == 0 ? "no " : "exactly " + std::to_string(*step.count) + " ")
                           : step.min_count && step.max_count ? "between " + std::to_string(*step.min_count) + " and " + std::to_string(*step.max_count) + " "
                           : step.min_count ? "at least " + std::to_string(*step.min_count) + " "
                                            : "at most " + std::to_string(*step.max_count) + " ";
    c.status = CheckResult::Status::kFailed;
    c.expected = how_many + what + " within " + seconds(scaled(step.timeout));
    c.actual = std::to_string(matching.size()) + " matching";
    c.detail = "the experiment's sockets at the deadline:\n" + format_table(seen);
  }

  // --- the end -------------------------------------------------------------------------------------------
  void cleanup() {
    if (cleaned_) return;
    cleaned_ = true;
    if (poll_timer_) poll_timer_->cancel();
    for (auto& [id, p] : processes_) {
      bool was_running = !p.process->exit_status().has_value();
      p.process->terminate_group(scaled(options_.grace));
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
      result_.processes.push_back(r);
    }
    std::vector<pid_t> keep;
    kill_stray_children(keep);  // grandchildren that left their group (reparented to us, the subreaper)
    error_code ignored;
    for (auto& [id, conns] : tcp_) {
      for (auto& c : conns) c->socket.close(ignored);
    }
    for (auto& [id, u] : udp_) u->socket.close(ignored);
    if (packets_) {  // after the programs ended: their last FIN or RST is on the wire too
      packets_->stop();
      result_.packets = packets_->packets();
      if (!options_.pcap_dir.empty()) {
        std::string path = options_.pcap_dir + "/" + experiment_.id + ".pcap", why;
        if (packets_->write_pcap(path, why)) {
          result_.pcap = path;
        } else {
          result_.notes.push_back(why);
        }
      }
    }
    loop_.poll();  // let cancelled operations finish while their objects still exist
    processes_.clear();
    loop_.poll();
  }

  EventLoop& loop_;
  Launcher& launcher_;
  const RunOptions& options_;
  Reporter& reporter_;
  const Experiment& experiment_;
  const bool& interrupted_;
  Placeholders placeholders_;
  std::set<std::string> seen_connections_;  // "local|peer" of every TCP socket this experiment's snapshots saw
  std::unique_ptr<SocketSource> source_;
  std::map<std::string, ProcState> processes_;
  std::map<std::string, std::vector<std::unique_ptr<RawTcp>>> tcp_;
  std::map<std::string, std::unique_ptr<RawUdp>> udp_;
  std::vector<CheckResult> pending_checks_;
  ExperimentResult result_;
  Clock::time_point start_, deadline_;
  bool cleaned_ = false;
  std::unique_ptr<TimelineRecorder> timeline_;
  std::unique_ptr<PacketCapture> packets_;
  std::unique_ptr<asio::steady_timer> poll_timer_;
};

}  // namespace

const char* CheckResult::status_name() const {
  switch (status) {
    case Status::kPassed: return "passed";
    case Status::kFailed: return "failed";
    case Status::kNotRun: return "not run";
  }
  return "?";
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

Placeholders::Placeholders(std::function<std::uint16_t()> allocate_port) : allocate_port_(std::move(allocate_port)) {}

std::string Placeholders::fill(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    std::size_t close = text[i] == '{' ? text.find('}', i) : std::string::npos;
    if (close == std::string::npos) {
      out += text[i];
      continue;
    }
    std::string name = text.substr(i + 1, close - i - 1);
    if (name.rfind("pid:", 0) == 0) {
      auto it = pids_.find(name.substr(4));
      if (it == pids_.end()) throw std::runtime_error("{" + name + "}: that process has not been started");
      out += std::to_string(it->second);
    } else if (name.rfind("port", 0) == 0) {
      std::string key = name == "port" ? "port1" : name;
      auto it = ports_.find(key);
      if (it == ports_.end()) {
        std::uint16_t p;
        do {
          p = allocate_port_();  // never hand out the same port twice in one experiment
        } while (std::any_of(ports_.begin(), ports_.end(), [&](auto& kv) { return kv.second == p; }));
        it = ports_.emplace(key, p).first;
      }
      out += std::to_string(it->second);
    } else {
      out += text.substr(i, close - i + 1);
    }
    i = close;
  }
  return out;
}

std::vector<std::uint16_t> Placeholders::ports() const {
  std::vector<std::uint16_t> result;
  for (const auto& [k, v] : ports_) result.push_back(v);
  return result;
}

std::uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    int saved = errno;
    if (fd >= 0) close(fd);
    throw std::system_error(saved, std::generic_category(), "allocating a free port");
  }
  close(fd);
  return ntohs(address.sin_port);
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
